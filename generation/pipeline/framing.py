"""Framing: the lip-synced avatar (rendered at its own size) placed on a 16:9, 9:16 or 1:1 frame.

The avatar stands where a presenter stands: its face centred horizontally, the eyes at a set
height, the photo scaled so its lower edge reaches the frame's bottom (shoulders, not a floating
head) and the face has a presenter's size; edges of the photo that lie inside the frame fade into
the background. The background is built once per video: the photo's own surroundings extended and
blurred, a solid colour, or a picture of the user's. Per frame only the avatar's rectangle is
resized (bicubic up, area down) and blended onto a copy of it (bench/framing.py measured this
against letting ffmpeg scale and overlay: README).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Iterable, Iterator

import cv2
import numpy as np

from .types import (BACKGROUND_BLUR, BACKGROUND_COLOUR_PATTERN, BACKGROUND_IMAGE, DEFAULT_RESOLUTION,  # noqa: F401
                    FRAME_ORIGINAL, FRAMES, RESOLUTIONS, Face)

# hyper-parameters
ORIGINAL, BLUR, IMAGE = FRAME_ORIGINAL, BACKGROUND_BLUR, BACKGROUND_IMAGE
ASPECT = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}
# eyes' height from the top, as a share of the frame's height: a portrait frame has more room below
EYE_HEIGHT = {"16:9": 0.40, "1:1": 0.40, "9:16": 0.36}
# the face box's height as a share of the frame's height (9:16: about a third of its width)
FACE_HEIGHT = {"16:9": 0.22, "1:1": 0.22, "9:16": 0.13}
# the photo may be enlarged up to this much beyond the face size above so its bottom reaches the frame's
MAX_FILL_STRETCH = 1.6
FEATHER_SHARE = 0.08  # of the placed photo's short side: the fade from photo to background
BLUR_WORK_SIDE = 96  # the blurred background is made at this short side, then enlarged: it has no detail
BLUR_SIGMA_SHARE = 0.08  # Gaussian sigma, as a share of the work canvas's long side
UPSCALE_NOTE_FROM = 1.05  # enlarging by more than this is said in the request's notes
COLOUR_RE = re.compile(BACKGROUND_COLOUR_PATTERN)
LEFT_EYE, RIGHT_EYE = slice(36, 42), slice(42, 48)  # iBUG 68 landmark indices


def is_colour(value: str) -> bool:
    """True for a background colour as `#rrggbb`."""
    return isinstance(value, str) and bool(COLOUR_RE.match(value))


def parse_colour(value: str) -> tuple[int, int, int]:
    """(r, g, b) of `#rrggbb`."""
    if not is_colour(value):
        raise ValueError(f"not a #rrggbb colour: {value!r}")
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


def output_size(frame: str, resolution: int) -> tuple[int, int]:
    """(width, height) of a frame kind at a resolution (its short side), both even."""
    if frame not in ASPECT:
        raise ValueError(f"unknown frame {frame!r}")
    if resolution not in RESOLUTIONS:
        raise ValueError(f"unknown resolution {resolution!r}")
    aw, ah = ASPECT[frame]
    short = min(aw, ah)
    width, height = resolution * aw / short, resolution * ah / short
    return int(round(width / 2)) * 2, int(round(height / 2)) * 2


@dataclass(frozen=True)
class Format:
    """What a request asked for: frame kind, resolution and background ("blur", "#rrggbb" or IMAGE with `image`)."""

    frame: str = ORIGINAL
    resolution: int = DEFAULT_RESOLUTION
    background: str = BLUR
    image: np.ndarray | None = None  # RGB uint8, for IMAGE

    @property
    def is_original(self) -> bool:
        return self.frame == ORIGINAL


@dataclass(frozen=True)
class Layout:
    """Where the avatar lands: output size, scale, and the source crop that maps onto the output rectangle."""

    width: int
    height: int
    scale: float
    src: tuple[int, int, int, int]  # (left, top, right, bottom) of the avatar frame that stays visible
    dst: tuple[int, int, int, int]  # its rectangle in the output, same order
    feather: tuple[bool, bool, bool, bool]  # which of the rectangle's edges (l, t, r, b) fade into the background
    offset: tuple[float, float]  # output position of the avatar's (0, 0) pixel

    @property
    def dst_size(self) -> tuple[int, int]:
        left, top, right, bottom = self.dst
        return right - left, bottom - top


def eye_point(face: Face) -> tuple[float, float]:
    """Midpoint between the eyes' centres (x, y) from the 68 landmarks."""
    points = np.asarray(face.landmarks, np.float64)
    centre = (points[LEFT_EYE].mean(axis=0) + points[RIGHT_EYE].mean(axis=0)) / 2
    return float(centre[0]), float(centre[1])


def plan_layout(face: Face, avatar_size: tuple[int, int], frame: str, resolution: int) -> Layout:
    """The presenter's place on a `frame` output for an avatar of `avatar_size` (w, h) whose face is `face`."""
    width, height = output_size(frame, resolution)
    src_w, src_h = avatar_size
    face = face.fitted(src_w, src_h)
    left, top, right, bottom = face.box
    face_cx = (left + right) / 2
    _eye_x, eye_y = eye_point(face)
    eye_out = EYE_HEIGHT[frame] * height
    scale = FACE_HEIGHT[frame] * height / max(1.0, bottom - top)
    below = src_h - eye_y  # source pixels from the eyes down to the photo's bottom
    if below > 0:
        fill = (height - eye_out) / below  # the scale at which the bottom edge meets the frame's
        scale = min(max(scale, fill), scale * MAX_FILL_STRETCH)
    ox, oy = width / 2 - face_cx * scale, eye_out - eye_y * scale
    # the visible part of the source in whole source pixels (rounded outwards), and its output rectangle
    # clamped to the frame: the crop's scale then differs from `scale` by under a source pixel
    sx0, sy0 = max(0, int(np.floor(-ox / scale))), max(0, int(np.floor(-oy / scale)))
    sx1 = min(src_w, int(np.ceil((width - ox) / scale)))
    sy1 = min(src_h, int(np.ceil((height - oy) / scale)))
    dx0, dy0 = max(0, int(round(ox + sx0 * scale))), max(0, int(round(oy + sy0 * scale)))
    dx1 = min(width, max(dx0 + 1, int(round(ox + sx1 * scale))))
    dy1 = min(height, max(dy0 + 1, int(round(oy + sy1 * scale))))
    # an edge fades only where the photo ends inside the frame; where the frame cuts it, it runs to the border
    feather = (dx0 > 0, dy0 > 0, dx1 < width, dy1 < height)
    return Layout(width, height, scale, (sx0, sy0, sx1, sy1), (dx0, dy0, dx1, dy1), feather, (ox, oy))


def upscale_note(layout: Layout, avatar_size: tuple[int, int], resolution: int) -> dict | None:
    """The request's note when the photo is enlarged beyond its own detail, else None."""
    if layout.scale <= UPSCALE_NOTE_FROM:
        return None
    return {"code": "upscaled", "params": {"height": int(avatar_size[1]), "scale": round(layout.scale, 1),
                                           "resolution": int(resolution)}}


# ---- backgrounds: built once per video ----

def colour_background(colour: str, layout: Layout) -> np.ndarray:
    """A frame of one colour."""
    out = np.empty((layout.height, layout.width, 3), np.uint8)
    out[...] = parse_colour(colour)
    return out


def image_background(picture: np.ndarray, layout: Layout) -> np.ndarray:
    """The user's picture covering the frame (scaled to fill, centred, the overflow cut)."""
    ph, pw = picture.shape[:2]
    scale = max(layout.width / pw, layout.height / ph)
    w, h = max(layout.width, int(np.ceil(pw * scale))), max(layout.height, int(np.ceil(ph * scale)))
    filt = cv2.INTER_AREA if scale < 1 else cv2.INTER_LANCZOS4
    big = cv2.resize(np.ascontiguousarray(picture[:, :, :3]), (w, h), interpolation=filt)
    x0, y0 = (w - layout.width) // 2, (h - layout.height) // 2
    return np.ascontiguousarray(big[y0:y0 + layout.height, x0:x0 + layout.width])


def blurred_background(photo: np.ndarray, layout: Layout) -> np.ndarray:
    """The photo placed as the layout places it, its edges mirrored out to the frame, heavily blurred.

    Made small (BLUR_WORK_SIDE) and enlarged: a blur this wide has no detail to lose, and it costs
    a few milliseconds instead of a full-size Gaussian. Mirroring keeps the surroundings' own colours.
    """
    k = BLUR_WORK_SIDE / min(layout.width, layout.height)
    small_w, small_h = max(2, round(layout.width * k)), max(2, round(layout.height * k))
    s = layout.scale * k
    ox, oy = layout.offset[0] * k, layout.offset[1] * k
    # shrink the photo with area first (warpAffine has no area filter), then place it with a mirrored border
    ph, pw = photo.shape[:2]
    tw, th = max(1, round(pw * s)), max(1, round(ph * s))
    shrunk = cv2.resize(np.ascontiguousarray(photo), (tw, th), interpolation=cv2.INTER_AREA)
    matrix = np.float32([[s * pw / tw, 0, ox], [0, s * ph / th, oy]])
    small = cv2.warpAffine(shrunk, matrix, (small_w, small_h), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT101)
    sigma = BLUR_SIGMA_SHARE * max(small_w, small_h)
    small = cv2.GaussianBlur(small, (0, 0), sigma, borderType=cv2.BORDER_REFLECT101)
    return cv2.resize(small, (layout.width, layout.height), interpolation=cv2.INTER_CUBIC)


def build_background(fmt: Format, photo: np.ndarray, layout: Layout) -> np.ndarray:
    """The background a Format asks for (an IMAGE without a picture falls back to blur)."""
    if fmt.background == IMAGE and fmt.image is not None:
        return image_background(fmt.image, layout)
    if is_colour(fmt.background):
        return colour_background(fmt.background, layout)
    return blurred_background(photo, layout)


def feather_mask(layout: Layout) -> np.ndarray:
    """(h, w) float32 weights of the avatar in its output rectangle: 1 inside, fading to 0 at feathered edges."""
    w, h = layout.dst_size
    band = max(0.5, FEATHER_SHARE * min(w, h))

    def ramp(n: int, fade_start: bool, fade_end: bool) -> np.ndarray:
        pos = np.arange(n, dtype=np.float32) + 0.5
        r = np.ones(n, np.float32)
        if fade_start:
            r = np.minimum(r, pos / band)
        if fade_end:
            r = np.minimum(r, (n - pos) / band)
        r = np.clip(r, 0, 1)
        return r * r * (3 - 2 * r)  # smoothstep: no visible line where the fade begins

    fl, ft, fr, fb = layout.feather
    return np.ascontiguousarray(np.outer(ramp(h, ft, fb), ramp(w, fl, fr)).astype(np.float32))


def feather_band(layout: Layout) -> int:
    """Width in output pixels of the fade along a feathered edge."""
    w, h = layout.dst_size
    return max(1, int(np.ceil(FEATHER_SHARE * min(w, h))))


def fade_strips(layout: Layout) -> list[tuple[slice, slice]]:
    """The parts of the avatar's rectangle (rows, columns) that fade: everything else is the avatar as it is."""
    w, h = layout.dst_size
    band = feather_band(layout)
    fl, ft, fr, fb = layout.feather
    top, bottom = min(h, band) if ft else 0, max(0, h - band) if fb else h
    strips = []
    if ft:
        strips.append((slice(0, top), slice(0, w)))
    if fb:
        strips.append((slice(bottom, h), slice(0, w)))
    if fl:
        strips.append((slice(top, bottom), slice(0, min(w, band))))
    if fr:
        strips.append((slice(top, bottom), slice(max(0, w - band), w)))
    return [(rows, cols) for rows, cols in strips if rows.stop > rows.start and cols.stop > cols.start]


class Composer:
    """Places avatar frames onto the background: per frame one resize of the avatar's rectangle, a copy, and a
    blend of only the strips along its edges that fade (a whole-rectangle blend cost 4× more)."""

    def __init__(self, layout: Layout, background: np.ndarray):
        self.layout = layout
        self.background = np.ascontiguousarray(background)
        weights = feather_mask(layout)
        left, top, right, bottom = layout.dst
        patch = self.background[top:bottom, left:right]
        self._strips = [(rows, cols, np.ascontiguousarray(weights[rows, cols]),
                         np.ascontiguousarray(1.0 - weights[rows, cols]), np.ascontiguousarray(patch[rows, cols]))
                        for rows, cols in fade_strips(layout)]
        # enlarging: bicubic (OpenCV's Lanczos took ~10× as long and restored a 1.8× enlargement only 2 % closer
        # to the original: bench/framing.py); shrinking: area, which averages instead of skipping pixels
        self.filter = cv2.INTER_CUBIC if layout.scale > 1 else cv2.INTER_AREA

    def compose(self, frame: np.ndarray) -> np.ndarray:
        """A new output frame with `frame` (the avatar at its own size) placed on the background."""
        sx0, sy0, sx1, sy1 = self.layout.src
        left, top, right, bottom = self.layout.dst
        crop = np.asarray(frame)[sy0:sy1, sx0:sx1]
        placed = cv2.resize(crop, (right - left, bottom - top), interpolation=self.filter)
        out = self.background.copy()
        region = out[top:bottom, left:right]
        region[...] = placed
        for rows, cols, weights, inverse, behind in self._strips:
            region[rows, cols] = cv2.blendLinear(np.ascontiguousarray(placed[rows, cols]), behind, weights, inverse)
        return out


class FramedFrames:
    """Wraps a frame iterator: each avatar frame comes out composed onto the frame; `seconds` is the time spent."""

    def __init__(self, frames: Iterable[np.ndarray], composer: Composer):
        self.frames = iter(frames)
        self.composer = composer
        self.seconds = 0.0

    def __iter__(self) -> Iterator[np.ndarray]:
        return self

    def __next__(self) -> np.ndarray:
        frame = next(self.frames)
        started = time.perf_counter()
        out = self.composer.compose(frame)
        self.seconds += time.perf_counter() - started
        return out

    def close(self) -> None:
        """Let the wrapped generator release what it holds (the encoder calls this)."""
        close = getattr(self.frames, "close", None)
        if close is not None:
            close()


def prepare(fmt: Format, face: Face, photo: np.ndarray) -> tuple[Composer, list[dict]]:
    """The composer for a non-original Format and the notes to keep on the request."""
    size = (photo.shape[1], photo.shape[0])
    layout = plan_layout(face, size, fmt.frame, fmt.resolution)
    composer = Composer(layout, build_background(fmt, photo, layout))
    note = upscale_note(layout, size, fmt.resolution)
    return composer, [note] if note else []
