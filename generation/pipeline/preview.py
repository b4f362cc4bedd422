"""Contact sheets for judging lip sync at a glance: frames at chosen times over waveform and curves."""
from __future__ import annotations

import os
from typing import Sequence

import cv2
import numpy as np

from .types import FPS, SAMPLE_RATE, Audio, Phoneme

THUMB_HEIGHT = 220
PLOT_HEIGHT = 260
COLUMNS = 6
MARGIN = 8
BACKGROUND = (250, 250, 250)
INK = (40, 40, 40)
WAVE_COLOR = (120, 120, 120)
CURVE_COLORS = {"open": (214, 39, 40), "spread": (31, 119, 180), "round": (44, 160, 44), "blink": (148, 103, 189)}
MARKER_COLOR = (255, 127, 14)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def label(img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.45, color=INK) -> None:
    """Draw anti-aliased text (ASCII; other characters are shown as '?')."""
    text = text.encode("ascii", "replace").decode("ascii")
    cv2.putText(img, text, org, FONT, scale, color, 1, cv2.LINE_AA)


def phoneme_at(phonemes: Sequence[Phoneme] | None, t: float) -> str:
    """The phoneme symbol sounding at time t, or ''."""
    for p in phonemes or ():
        if p.start <= t < p.end:
            return p.symbol
    return ""


def thumbnail(frame: np.ndarray, crop: tuple[int, int, int, int] | None, height: int) -> np.ndarray:
    """Crop (left, top, right, bottom) and scale a frame to `height` px."""
    if crop is not None:
        left, top, right, bottom = crop
        frame = frame[max(0, top):bottom, max(0, left):right]
    scale = height / frame.shape[0]
    return cv2.resize(frame, (max(1, round(frame.shape[1] * scale)), height), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def plot_panel(width: int, samples: np.ndarray, curves: dict[str, np.ndarray], fps: int,
               times: Sequence[float], phonemes: Sequence[Phoneme] | None) -> np.ndarray:
    """Waveform on top, parameter curves below, orange markers at `times`, phonemes along the axis."""
    panel = np.full((PLOT_HEIGHT, width, 3), BACKGROUND, np.uint8)
    duration = max(len(samples) / SAMPLE_RATE, 1e-3)
    left, right = 40, width - 10
    x_of = lambda t: int(round(left + (right - left) * t / duration))  # noqa: E731
    wave_top, wave_bottom = 18, 100
    curve_top, curve_bottom = 112, PLOT_HEIGHT - 34
    # Waveform as a min/max envelope per pixel column
    cols = right - left
    if len(samples):
        edges = np.linspace(0, len(samples), cols + 1).astype(int)
        mid, half = (wave_top + wave_bottom) / 2, (wave_bottom - wave_top) / 2
        peak = max(float(np.abs(samples).max()), 1e-6)
        for c in range(cols):
            chunk = samples[edges[c]:max(edges[c + 1], edges[c] + 1)]
            lo, hi = float(chunk.min()) / peak, float(chunk.max()) / peak
            cv2.line(panel, (left + c, int(mid - hi * half)), (left + c, int(mid - lo * half)), WAVE_COLOR, 1)
    label(panel, "audio", (2, wave_top + 10), 0.35)
    cv2.rectangle(panel, (left, curve_top), (right, curve_bottom), (210, 210, 210), 1)
    label(panel, "1", (left - 14, curve_top + 8), 0.35)
    label(panel, "0", (left - 14, curve_bottom), 0.35)
    for key, (name, values) in enumerate(curves.items()):
        values = np.asarray(values, dtype=float)
        t = (np.arange(len(values)) + 0.5) / fps
        pts = np.stack([np.array([x_of(v) for v in t]), curve_bottom - np.clip(values, 0, 1) * (curve_bottom - curve_top)], axis=1)
        color = CURVE_COLORS.get(name, (0, 0, 0))
        cv2.polylines(panel, [np.round(pts).astype(np.int32)], False, color, 2 if name == "open" else 1, cv2.LINE_AA)
        label(panel, name, (left + 6 + 70 * key, curve_top + 14), 0.4, color)
    for p in phonemes or ():
        if p.end > p.start:
            x = x_of(p.start)
            cv2.line(panel, (x, curve_bottom), (x, curve_bottom + 4), INK, 1)
            label(panel, p.symbol, (x + 1, curve_bottom + 16), 0.33)
    for i, t in enumerate(times):
        x = x_of(t)
        cv2.line(panel, (x, wave_top), (x, curve_bottom), MARKER_COLOR, 1)
        label(panel, str(i + 1), (x - 4, 12), 0.4, MARKER_COLOR)
    # time axis ticks every second
    for s in range(int(duration) + 1):
        label(panel, f"{s}s", (x_of(s) - 6, PLOT_HEIGHT - 4), 0.33)
    return panel


def contact_sheet(frames_at: Sequence[tuple[float, np.ndarray]], audio: Audio | np.ndarray,
                  curves: dict[str, np.ndarray] | np.ndarray, out_png: str | os.PathLike | None = None,
                  fps: int = FPS, crop: tuple[int, int, int, int] | None = None, title: str = "") -> np.ndarray:
    """Frames at their times (numbered, with the phoneme sounding) above waveform + per-frame curves.

    `audio` is an Audio (its phonemes are printed) or 16 kHz samples; `curves` is the per-frame
    mouth-opening array or a dict name -> per-frame array; `crop` (left, top, right, bottom) zooms the
    thumbnails on the face. Returns the RGB sheet and writes it as PNG when `out_png` is given.
    """
    samples = audio.samples if isinstance(audio, Audio) else np.asarray(audio, dtype=np.float32)
    phonemes = audio.phonemes if isinstance(audio, Audio) else None
    if not isinstance(curves, dict):
        curves = {"open": np.asarray(curves)}
    thumbs = []
    for i, (t, frame) in enumerate(frames_at):
        th = thumbnail(frame, crop, THUMB_HEIGHT).copy()
        tag = f"{i + 1}  {t:.2f}s  {phoneme_at(phonemes, t)}"
        cv2.rectangle(th, (0, 0), (th.shape[1], 18), (255, 255, 255), -1)
        label(th, tag, (4, 13), 0.42)
        thumbs.append(th)
    columns = max(1, min(COLUMNS, len(thumbs)))
    tw = max((t.shape[1] for t in thumbs), default=THUMB_HEIGHT)
    width = columns * tw + (columns + 1) * MARGIN
    rows = []
    for r in range(0, len(thumbs), columns):
        row = np.full((THUMB_HEIGHT + MARGIN, width, 3), BACKGROUND, np.uint8)
        for c, th in enumerate(thumbs[r:r + columns]):
            x = MARGIN + c * (tw + MARGIN)
            row[MARGIN:MARGIN + THUMB_HEIGHT, x:x + th.shape[1]] = th
        rows.append(row)
    header = np.full((26, width, 3), BACKGROUND, np.uint8)
    label(header, title, (MARGIN, 18), 0.55)
    sheet = np.vstack([header, *rows, plot_panel(width, samples, curves, fps, [t for t, _ in frames_at], phonemes)])
    if out_png is not None:
        if not cv2.imwrite(os.fspath(out_png), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)):
            raise OSError(f"Cannot write {out_png}")
    return sheet


def lipsync_sheet(engine, state, audio: Audio, out_png: str | os.PathLike | None = None, times: Sequence[float] | None = None,
                  fps: int = FPS, seed: int = 0, crop: tuple[int, int, int, int] | None = None, title: str = "",
                  count: int = 12) -> np.ndarray:
    """Render `audio` with a prepared engine and make its contact sheet (times default: evenly spread)."""
    frames = list(engine.render(state, audio, fps=fps, seed=seed))
    if times is None:
        times = np.linspace(0, len(frames) / fps, count + 2)[1:-1]
    picks = [(float(t), frames[min(len(frames) - 1, int(t * fps))]) for t in times]
    curves: dict[str, np.ndarray] = {}
    if hasattr(engine, "track"):
        track = engine.track(audio, fps, seed)
        curves = {"open": track.open, "spread": track.spread, "round": track.round, "blink": track.blink}
    return contact_sheet(picks, audio, curves, out_png, fps=fps, crop=crop, title=title)
