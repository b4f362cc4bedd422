"""Phoneme boundaries moved onto the audio's own vowel onsets and offsets.

espeak-ng reports each phoneme when its synthesis starts, not where the sound changes: on Russian
«мама» the vowel's energy rises 15-25 ms before its event and the following «м» starts after its
own. Lips drawn from the raw events then open late and too briefly. Each boundary between a vowel
and a non-vowel is moved to the steepest rise (into the vowel) or fall (out of it) of the band
level within a short window, when the audio shows a clear edge there; other boundaries stay.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..types import SAMPLE_RATE, Phoneme
from .visemes_table import VOWEL, viseme

STEP = 0.005  # s: level curve resolution
WINDOW = 0.045  # s: a boundary moves at most this far
MIN_EDGE_DB = 1.2  # dB per STEP: a flatter slope is no edge, the boundary stays
MIN_LENGTH = 0.012  # s: no phoneme is squeezed shorter than this (or than it was)
BAND = (300.0, 2500.0)  # F1/F2 region: loud in vowels, weak in closures and most consonants
WINDOW_SAMPLES = 320  # 20 ms analysis window


def band_level(samples: np.ndarray) -> np.ndarray:
    """Band level in dB every STEP seconds (frame j centred at j * STEP)."""
    hop = int(STEP * SAMPLE_RATE)
    x = np.pad(np.asarray(samples, np.float32), (WINDOW_SAMPLES // 2, WINDOW_SAMPLES // 2 + hop))
    count = max(1, (len(x) - WINDOW_SAMPLES) // hop + 1)
    idx = np.arange(WINDOW_SAMPLES)[None, :] + hop * np.arange(count)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(WINDOW_SAMPLES).astype(np.float32), axis=1)) ** 2
    freqs = np.fft.rfftfreq(WINDOW_SAMPLES, 1.0 / SAMPLE_RATE)
    band = (freqs >= BAND[0]) & (freqs < BAND[1])
    return 10 * np.log10(spec[:, band].sum(axis=1) + 1e-10)


def edge_time(slope: np.ndarray, at: float, lo: float, hi: float, rising: bool) -> float | None:
    """Time of the steepest rise (or fall) of the level in [lo, hi] around `at`, None if there is none."""
    i0, i1 = max(0, int(np.ceil(lo / STEP))), min(len(slope) - 1, int(np.floor(hi / STEP)))
    if i1 <= i0:
        return None
    seg = slope[i0:i1 + 1] * (1 if rising else -1)
    k = int(np.argmax(seg))
    return (i0 + k + 0.5) * STEP if seg[k] >= MIN_EDGE_DB else None


def refine_boundaries(phonemes: list[Phoneme], samples: np.ndarray, language: str | None = None) -> list[Phoneme]:
    """Phonemes (sorted by start) whose vowel boundaries sit on the audio's edges."""
    if len(phonemes) < 2 or len(samples) < WINDOW_SAMPLES:
        return list(phonemes)
    level = band_level(samples)
    slope = np.gradient(np.convolve(level, np.ones(3) / 3, mode="same"))
    out = sorted(phonemes, key=lambda p: p.start)
    starts = [p.start for p in out]
    ends = [p.end for p in out]
    for k in range(len(out) - 1):
        a, b = out[k], out[k + 1]
        if abs(ends[k] - starts[k + 1]) > 1e-4:
            continue  # not touching: a gap or an overlap of espeak's, left as it is
        va, vb = viseme(a.symbol, language).kind == VOWEL, viseme(b.symbol, language).kind == VOWEL
        if va == vb:
            continue
        at = starts[k + 1]
        lo = max(at - WINDOW, starts[k] + min(MIN_LENGTH, a.end - a.start))
        hi = min(at + WINDOW, ends[k + 1] - min(MIN_LENGTH, b.end - b.start))
        moved = edge_time(slope, at, lo, hi, rising=vb)
        if moved is not None:
            ends[k] = starts[k + 1] = moved
    return [replace(p, start=s, end=e) for p, s, e in zip(out, starts, ends)]
