"""Wav2Lip's mel spectrogram and chunking against the official code's output (shared/testdata)."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from generation.pipeline import mel as M
from generation.pipeline.types import frame_count

TESTDATA = Path(__file__).resolve().parents[1] / "data" / "wav2lip"  # copied from ../shared/testdata


@pytest.fixture(scope="module")
def reference():
    path = TESTDATA / "wav2lip_mel_reference.npz"
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def samples() -> np.ndarray:
    with wave.open(str(TESTDATA / "wav2lip_mel_input.wav")) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768.0


def test_mel_matches_official(samples, reference):
    mel = M.melspectrogram(samples)
    assert mel.shape == reference["mel"].shape == (80, 129)
    assert mel.dtype == np.float32
    assert np.abs(mel - reference["mel"]).max() < 1e-3


def test_filterbank_is_slaney():
    fb = M.mel_filterbank()
    assert fb.shape == (80, 401)
    freqs = np.linspace(0, 8000, 401)
    assert fb[:, freqs < M.FMIN].max() == 0 and fb[:, freqs > M.FMAX].max() == 0
    # Slaney normalisation: every triangle has unit area on the Hz axis (height 2 / width)
    area = fb.sum(axis=1) * (freqs[1] - freqs[0])
    assert np.allclose(area[10:], 1.0, rtol=0.05)
    # the mel scale is linear below 1 kHz: the first band centres are equally spaced in Hz
    centres = freqs[fb.argmax(axis=1)]
    assert np.all(np.diff(centres) >= 0)


def test_chunk_starts_match_official_loop(reference):
    starts = M.mel_chunk_starts(129, 25)
    np.testing.assert_array_equal(starts, reference["chunk_starts_25fps"])
    assert M.official_chunk_count(129, 25) == len(reference["chunk_starts_25fps"]) == 37


def test_frames_past_the_official_loop_reuse_the_last_window(samples, reference):
    n = frame_count(len(samples), 25)
    assert n == 40  # 1.6 s: the official loop would stop at 37 and the video would be short
    starts = M.mel_chunk_starts(129, 25, n)
    official = reference["chunk_starts_25fps"]
    np.testing.assert_array_equal(starts[:len(official)], official)
    assert np.all(starts[len(official):] == 129 - M.MEL_STEP)
    chunks = M.mel_chunks(reference["mel"], 25, n)
    assert chunks.shape == (n, 80, 16)
    for i, s in enumerate(starts):
        np.testing.assert_array_equal(chunks[i], reference["mel"][:, s:s + 16])


@pytest.mark.parametrize("fps", [25, 30])
def test_every_frame_gets_a_full_window(fps):
    for n_samples in (16000 * 3 + 123, 16000 * 7):
        cols = 1 + n_samples // M.HOP_LENGTH
        n = frame_count(n_samples, fps)
        starts = M.mel_chunk_starts(cols, fps, n)
        assert len(starts) == n
        assert np.all(np.diff(starts) >= 0) and starts.max() + M.MEL_STEP <= cols


def test_short_and_silent_audio():
    mel = M.melspectrogram(np.zeros(300, np.float32))
    assert mel.shape[0] == 80 and mel.shape[1] >= 1
    assert np.all(mel == -M.MAX_ABS_VALUE)  # silence is the floor, not NaN
    chunks = M.mel_chunks(mel, 25, 1)
    assert chunks.shape == (1, 80, 16)
