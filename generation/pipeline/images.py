"""Image helpers: load any photo as upright RGB uint8, the demo avatar, face previews."""
from __future__ import annotations

import io
import os
from typing import Union

import numpy as np
from PIL import Image, ImageOps

from .types import AVATAR_UNREADABLE, Face, PipelineError

# Demo avatar: scikit-image's bundled `astronaut` (NASA, public domain), 512x512. The crop keeps
# head and shoulders with the face centred horizontally; the photo has no headroom above the hair.
DEMO_CROP = (46, 0, 398, 416)  # (left, top, right, bottom) -> 352x416, both even
# The worker works on photos at most this many pixels on their long side (a bigger one is decoded
# reduced where the format allows, then scaled down): a 6300x6300 upload made a video of that size
# and a gigabyte of maps, for no detail a talking head shows.
MAX_PHOTO_SIDE = 2048
PREVIEW_BOX_COLOR = (0, 255, 0)
PREVIEW_DOT_COLOR = (255, 64, 64)

ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview]


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert a Pillow image of any mode to RGB; transparency is composited on white."""
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit greyscale: Pillow's convert("RGB") clips instead of scaling. Integer maths in place:
        # a float copy of a 40-megapixel picture took over a gigabyte.
        arr = np.array(img)
        if arr.max() > 255:
            np.clip(arr, 0, 65535, out=arr)
            np.floor_divide(arr, 257, out=arr)
        else:
            np.clip(arr, 0, 255, out=arr)
        grey = arr.astype(np.uint8)
        del arr
        return Image.fromarray(grey, "L").convert("RGB")
    return img.convert("RGB")


def verify_image(data: bytes) -> None:
    """Decode a photo just enough to know it is whole, within a memory budget: the web process's check.

    JPEG decodes at 1/8 scale (Pillow's draft: the same entropy-coded data read in full), anything
    else in its own mode, never converted: at most 4 bytes a pixel (160 MB at 40 megapixels, where a
    full load_image of a 16-bit picture took over a gigabyte). Raises PipelineError(AVATAR_UNREADABLE).
    """
    try:
        with Image.open(io.BytesIO(bytes(data))) as img:
            if img.format == "JPEG":
                img.draft(img.mode, (max(1, img.width // 8), max(1, img.height // 8)))
            img.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise PipelineError(f"Cannot read the image: {exc}", AVATAR_UNREADABLE) from exc


def load_image(source: ImageSource, max_side: int | None = MAX_PHOTO_SIDE) -> np.ndarray:
    """Decode a path or bytes into an upright RGB uint8 array (EXIF orientation applied), its long
    side at most `max_side` (None: as it is)."""
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            img = Image.open(io.BytesIO(bytes(source)))
        else:
            img = Image.open(os.fspath(source))
        with img:
            if max_side and img.format == "JPEG" and max(img.size) > max_side:
                img.draft(img.mode, _fit(img.size, max_side))  # decode at 1/2, 1/4 or 1/8: no bigger than needed
            img.load()
            img = ImageOps.exif_transpose(img)
            rgb = to_rgb(img)
            if max_side and max(rgb.size) > max_side:
                rgb = rgb.resize(_fit(rgb.size, max_side), Image.LANCZOS, reducing_gap=3.0)
            return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise PipelineError(f"Cannot read the image: {exc}", AVATAR_UNREADABLE) from exc


def _fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """`size` scaled down so its long side is `max_side`."""
    scale = max_side / max(size)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def demo_avatar_image() -> np.ndarray:
    """The bundled demo avatar: astronaut Eileen Collins, head and shoulders, 352x416 RGB."""
    from skimage import data  # lazy: scikit-image is slow to import and rarely needed

    left, top, right, bottom = DEMO_CROP
    return np.ascontiguousarray(data.astronaut()[top:bottom, left:right])


def draw_face_preview(image: np.ndarray, face: Face | None) -> np.ndarray:
    """A copy of `image` with the face box and its 68 landmark dots drawn on it."""
    import cv2

    out = np.ascontiguousarray(image.copy())
    if face is None:
        return out
    h, w = out.shape[:2]
    thickness = max(1, round(max(h, w) / 400))  # stays visible on big photos
    left, top, right, bottom = (int(v) for v in face.box)
    cv2.rectangle(out, (left, top), (right - 1, bottom - 1), PREVIEW_BOX_COLOR, thickness, cv2.LINE_AA)
    radius = thickness
    for x, y in np.asarray(face.landmarks, dtype=np.float64):
        cv2.circle(out, (int(round(x)), int(round(y))), radius, PREVIEW_DOT_COLOR, -1, cv2.LINE_AA)
    return out
