"""A streamed request's speech in pieces, so its first second is on screen before the rest is planned.

Lip-sync and head motion plan the whole speech before their first frame (the viseme mouth track
and a moving head's plan take ~1 s each for a minute of speech on 2 cores). A stream is cut at the
first pause after FIRST_PIECE_MIN_SECONDS; that piece alone is planned (a few ms) and played, and
the next is planned while it is encoded and watched (a moving head's plan too, eased in at the cut). Each piece is a few times longer than the
speech before it, so planning the next always takes less time than playing what is ready. Cuts
lie in pauses, on frame boundaries: the mouth is shut on both sides, and the frame count is that
of the whole speech. Video avatars are never cut: their clip would restart its loop at a cut.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .audio import shift_phonemes, shift_words
from .captions import speech_segments
from .types import SAMPLE_RATE, Audio

FIRST_PIECE_MIN_SECONDS = 1.0  # the first piece ends at the first pause after this ...
PIECE_GROWTH = 4.0  # ... each next one at the first pause after this many times the speech before it
SEARCH_SECONDS = 5.0  # no pause within this past the mark: the rest is one piece
MIN_CUT_PAUSE_SECONDS = 0.2  # a shorter gap is a stop inside a phrase, where the mouth may not close
MAX_PIECES = 4
EASE_FRAMES = 12  # ~0.5 s, inside the pause at a cut: the head glides from one piece's plan onto the next
PLAN_ARRAYS = ("roll", "shift", "squash", "brow", "blink", "breath", "speech", "gaze", "yaw", "pitch")
EASED = ("roll", "shift", "squash", "brow", "breath", "gaze", "yaw", "pitch")  # blinks and speech flags are not


def cuts(audio: Audio, fps: int) -> list[int]:
    """Samples where pieces end: frame boundaries in the middle of pauses, each piece ~PIECE_GROWTH x the speech before it."""
    segments = speech_segments(audio.samples)
    found, mark = [], FIRST_PIECE_MIN_SECONDS
    for (_, end), (start, _) in zip(segments, segments[1:]):
        if len(found) == MAX_PIECES - 1:
            break
        middle = (end + start) / 2
        if start - end < MIN_CUT_PAUSE_SECONDS or middle < mark:
            continue
        if middle > mark + SEARCH_SECONDS:
            break
        cut = round(middle * fps) * SAMPLE_RATE // fps
        if 0 < cut < len(audio.samples):
            found.append(cut)
            mark = PIECE_GROWTH * middle
    return found


def piece(audio: Audio, start: int, end: int) -> Audio:
    """The speech between two samples, its phonemes and words moved to the piece's own clock."""
    offset, duration = start / SAMPLE_RATE, (end - start) / SAMPLE_RATE
    return Audio(audio.samples[start:end], audio.offset + offset, shift_phonemes(audio.phonemes, offset, duration),
                 shift_words(audio.words, offset, duration))


def split(audio: Audio, fps: int) -> list[Audio]:
    """The speech cut at `cuts` (the whole of it when there is no pause to cut at)."""
    bounds = [0, *cuts(audio, fps), len(audio.samples)]
    return [piece(audio, a, b) for a, b in zip(bounds, bounds[1:])]


def slice_plan(plan, start: int, end: int, after=None):
    """Frames [start, end) of a MotionPlan; `after` (the plan that played before) eases its first frames in.

    Each piece's head follows a plan of its own: without the ease it would jump at every cut.
    """
    parts = {name: getattr(plan, name)[start:end] for name in PLAN_ARRAYS}
    beats = plan.beats[(plan.beats >= start) & (plan.beats < end)] - start
    sliced = replace(plan, **parts, beats=beats)
    if after is not None and len(after):
        n = min(EASE_FRAMES, end - start)
        weight = np.linspace(1.0, 0.0, n + 1, endpoint=False)[1:]
        for name in EASED:
            values = getattr(sliced, name).astype(np.float64, copy=True)
            last = np.asarray(getattr(after, name)[-1], np.float64)
            shape = (n,) + (1,) * (values.ndim - 1)
            values[:n] = weight.reshape(shape) * last + (1 - weight.reshape(shape)) * values[:n]
            setattr(sliced, name, values)
    return sliced
