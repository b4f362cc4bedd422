"""Pause lengths in synthesised speech, for the pace tests and bench/voice.py (a measurement, not the product's)."""
import numpy as np

from generation.pipeline.audio import frame_rms, to_mono_float

FRAME_SECONDS = 0.01
SILENCE_REL_DB = -40  # a frame is silent this far below the loudest one


def longest_pause(speech) -> float:
    """The longest silence between the first and the last sound of a `Speech`, in seconds (10 ms frames)."""
    x = to_mono_float(speech.samples)
    rms = frame_rms(x, round(FRAME_SECONDS * speech.sample_rate))
    loud = rms >= rms.max() * 10 ** (SILENCE_REL_DB / 20)
    idx = np.flatnonzero(loud)
    best = run = 0
    for on in loud[idx[0]:idx[-1] + 1]:
        run = 0 if on else run + 1
        best = max(best, run)
    return best * FRAME_SECONDS
