"""Burned-in subtitles: a frame filter that draws the current cue into the picture.

Drawn with Pillow (OpenCV's putText knows no Cyrillic) in DejaVu Sans Bold, which has every Russian
and Kazakh letter (ә ғ қ ң ө ұ ү һ і). The font comes from the matplotlib wheel (its mpl-data
carries DejaVu, so no apt and no root), or from Debian's fonts-dejavu-core as a fallback. White
letters with a dark outline on a semi-transparent box read on any photo. Each cue's image is
rendered once; per frame it is only alpha-blended into the band it covers.
"""
from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .captions import Cue
from .types import FPS, PIPELINE_FAILED, PipelineError

# hyper-parameters
FONT_FILE = "DejaVuSans-Bold.ttf"
DEBIAN_FONT = Path("/usr/share/fonts/truetype/dejavu") / FONT_FILE
FONT_HEIGHT_SHARE = 0.05  # letter size as a share of the frame's height
MIN_FONT_PX = 12  # below this nothing is readable anyway
MAX_WIDTH_SHARE = 0.92  # the box never spans more of the frame's width than this
BOTTOM_MARGIN_SHARE = 0.05  # of the frame's height, between the box and the bottom edge
LINE_SPACING = 1.25  # line pitch, in font sizes
PAD_SHARE = 0.4  # the box's padding around the text, in font sizes
STROKE_SHARE = 0.09  # the letters' dark outline, in font sizes
BOX_OPACITY = 0.55  # 0 = no box, 1 = opaque black
TEXT_RGB = (255, 255, 255)
OUTLINE_RGB = (0, 0, 0)


def find_font() -> Path:
    """DejaVu Sans Bold: matplotlib's copy (found without importing matplotlib), else Debian's."""
    spec = importlib.util.find_spec("matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "mpl-data" / "fonts" / "ttf" / FONT_FILE
        if candidate.is_file():
            return candidate
    if DEBIAN_FONT.is_file():
        return DEBIAN_FONT
    raise PipelineError("No font for subtitles: install matplotlib (worker requirements) or fonts-dejavu-core.",
                        PIPELINE_FAILED)


@dataclass(frozen=True)
class Overlay:
    """One cue drawn once, in 8-bit fixed point: colour × opacity and 256 − opacity of the band at (top, left)."""

    top: int
    left: int
    color: np.ndarray  # (h, w, 3) uint16: rgb * alpha, alpha in 0..256
    keep: np.ndarray  # (h, w, 1) uint16: 256 - alpha, the share of the frame that shows through

    def blend(self, frame: np.ndarray) -> np.ndarray:
        """A copy of `frame` with the overlay on it (frames may be shared between iterations: never in place)."""
        out = frame.copy()
        h, w = self.keep.shape[:2]
        band = out[self.top:self.top + h, self.left:self.left + w]
        mixed = band.astype(np.uint16)
        mixed *= self.keep
        mixed += self.color
        mixed >>= 8
        band[...] = mixed  # at most (255·256)/256 = 255: no clipping needed
        return out


def _font(path: Path, size: int):
    from PIL import ImageFont

    return ImageFont.truetype(str(path), size)


def _rewrap(lines: tuple[str, ...], font, room: float, measure) -> tuple[str, ...]:
    """Lines re-cut at words to fit `room` pixels (a frame too narrow even for the smallest letters)."""
    out: list[str] = []
    for word in " ".join(lines).split():
        if out and measure(f"{out[-1]} {word}", font=font) <= room:
            out[-1] = f"{out[-1]} {word}"
        else:
            out.append(word)
    return tuple(out)


def render(lines: tuple[str, ...], width: int, height: int, font_path: Path | None = None) -> Overlay:
    """The overlay for `lines` on a width×height frame: centred near the bottom, sized to the frame."""
    from PIL import Image, ImageDraw

    font_path = font_path or find_font()
    size = max(MIN_FONT_PX, round(height * FONT_HEIGHT_SHARE))
    font = _font(font_path, size)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    widest = max(probe.textlength(line, font=font) for line in lines)
    room = width * MAX_WIDTH_SHARE - 2 * PAD_SHARE * size
    if widest > room and size > MIN_FONT_PX:  # a narrow (portrait) frame: smaller letters, never cut ones
        size = max(MIN_FONT_PX, int(size * room / widest))
        font = _font(font_path, size)
        widest = max(probe.textlength(line, font=font) for line in lines)
    if widest > room:
        lines = _rewrap(lines, font, room, probe.textlength)
        widest = max(probe.textlength(line, font=font) for line in lines)
    pad, stroke = round(PAD_SHARE * size), max(1, round(STROKE_SHARE * size))
    pitch = round(LINE_SPACING * size)
    box_w = min(width, int(widest) + 2 * pad + 2 * stroke)
    box_h = min(height, pitch * len(lines) + 2 * pad)
    image = Image.new("RGBA", (box_w, box_h), (0, 0, 0, round(255 * BOX_OPACITY)))
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((box_w / 2, pad + pitch * i + pitch / 2), line, font=font, anchor="mm", fill=TEXT_RGB + (255,),
                  stroke_width=stroke, stroke_fill=OUTLINE_RGB + (255,))
    rgba = np.asarray(image, dtype=np.uint16)
    alpha = (rgba[:, :, 3:4] * 256 + 127) // 255  # 0..256, so that opaque means "only the overlay"
    top = max(0, height - round(BOTTOM_MARGIN_SHARE * height) - box_h)
    return Overlay(top, (width - box_w) // 2, rgba[:, :, :3] * alpha, 256 - alpha)


class SubtitleFilter:
    """Wraps a frame iterator: frame i shows the cue on screen at i / fps; `seconds` is the time spent drawing."""

    def __init__(self, frames: Iterable[np.ndarray], cues: list[Cue], fps: int = FPS, font_path: Path | None = None):
        self.frames = iter(frames)
        self.cues = sorted(cues, key=lambda c: c.start)
        self.fps = fps
        self.font_path = font_path or (find_font() if cues else None)  # fail before the first frame, not during
        self.index = 0
        self.seconds = 0.0
        self._overlays: dict[int, Overlay] = {}
        self._next_cue = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        return self

    def _cue_at(self, t: float) -> int | None:
        """The index of the cue on screen at `t` (frames come in order, so a cursor suffices)."""
        while self._next_cue < len(self.cues) and self.cues[self._next_cue].end <= t:
            self._next_cue += 1
        i = self._next_cue
        return i if i < len(self.cues) and self.cues[i].start <= t else None

    def __next__(self) -> np.ndarray:
        frame = next(self.frames)
        started = time.perf_counter()
        i = self._cue_at(self.index / self.fps)
        self.index += 1
        if i is not None:
            overlay = self._overlays.get(i)
            if overlay is None:
                self._overlays = {i: render(self.cues[i].lines, frame.shape[1], frame.shape[0], self.font_path)}
                overlay = self._overlays[i]
            frame = overlay.blend(np.asarray(frame))
        self.seconds += time.perf_counter() - started
        return frame
