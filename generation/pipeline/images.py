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
        # 16/32-bit greyscale: Pillow's convert("RGB") clips instead of scaling
        arr = np.asarray(img, dtype=np.float64)
        peak = max(arr.max(), 1.0)
        scale = 255.0 / (65535.0 if peak > 255 else 255.0)
        grey = np.clip(arr * scale, 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    return img.convert("RGB")


def load_image(source: ImageSource) -> np.ndarray:
    """Decode a path or bytes into an upright RGB uint8 array (EXIF orientation applied)."""
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            img = Image.open(io.BytesIO(bytes(source)))
        else:
            img = Image.open(os.fspath(source))
        with img:
            img.load()
            img = ImageOps.exif_transpose(img)
            rgb = to_rgb(img)
            return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise PipelineError(f"Cannot read the image: {exc}", AVATAR_UNREADABLE) from exc


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
