"""Wav2Lip's mel spectrogram and per-frame mel windows, as the official `audio.py` (docs/architecture.md §6).

numpy only (no librosa, no scipy): the Slaney mel filterbank and the centred, reflect-padded STFT are
rebuilt here. tests/pipeline/test_mel.py checks them against the official code's output, kept in
tests/data/wav2lip/ (`wav2lip_mel_input.wav` -> `wav2lip_mel_reference.npz`).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .types import FPS, SAMPLE_RATE

# hyper-parameters (the official hparams.py)
N_FFT = 800
HOP_LENGTH = 200  # 12.5 ms: 80 mel columns per second
WIN_LENGTH = 800
N_MELS = 80
FMIN = 55.0
FMAX = 7600.0
PREEMPHASIS = 0.97
MIN_LEVEL_DB = -100.0
REF_LEVEL_DB = 20.0
MAX_ABS_VALUE = 4.0  # symmetric normalisation to [-4, 4]
MEL_STEP = 16  # mel columns per video frame window (0.2 s): the width of the generator's audio input
MEL_FPS = SAMPLE_RATE / HOP_LENGTH  # 80 columns per second


def _hz_to_mel(freq: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    freq = np.asarray(freq, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    mel = freq / f_sp
    log_part = freq >= min_log_hz
    mel[log_part] = min_log_mel + np.log(freq[log_part] / min_log_hz) / logstep
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """Inverse of `_hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    freq = f_sp * mel
    log_part = mel >= min_log_mel
    freq[log_part] = min_log_hz * np.exp(logstep * (mel[log_part] - min_log_mel))
    return freq


@lru_cache(maxsize=1)
def mel_filterbank() -> np.ndarray:
    """(80, 401) Slaney-normalised triangular filters, as librosa.filters.mel(htk=False, norm='slaney')."""
    fft_freqs = np.linspace(0.0, SAMPLE_RATE / 2, 1 + N_FFT // 2)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(np.array([FMIN]))[0], _hz_to_mel(np.array([FMAX]))[0], N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]  # equal area per band
    return weights.astype(np.float32)  # librosa's default dtype


def stft_magnitude(samples: np.ndarray) -> np.ndarray:
    """|STFT| (401, 1 + n // hop): centred frames, reflect padding, periodic Hann window."""
    y = np.asarray(samples, dtype=np.float32)
    pad = N_FFT // 2
    if y.size <= pad:  # reflect padding needs more samples than the pad; silence is the honest filler
        y = np.pad(y, (0, pad + 1 - y.size))
    y = np.pad(y, pad, mode="reflect")
    n_frames = 1 + (y.size - N_FFT) // HOP_LENGTH
    frames = np.lib.stride_tricks.as_strided(
        y, shape=(n_frames, N_FFT), strides=(y.strides[0] * HOP_LENGTH, y.strides[0]), writeable=False)
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WIN_LENGTH) / WIN_LENGTH)).astype(np.float32)
    return np.abs(np.fft.rfft(frames * window, axis=1)).T.astype(np.float32)


def melspectrogram(samples: np.ndarray) -> np.ndarray:
    """16 kHz mono float -> (80, 1 + n // 200) normalised log-mel in [-4, 4], as Wav2Lip's `audio.melspectrogram`."""
    x = np.asarray(samples, dtype=np.float32)
    emphasised = np.empty_like(x)
    if x.size:
        emphasised[0] = x[0]
        emphasised[1:] = x[1:] - PREEMPHASIS * x[:-1]
    mel = mel_filterbank() @ stft_magnitude(emphasised)
    min_level = np.exp(MIN_LEVEL_DB / 20 * np.log(10))
    db = 20 * np.log10(np.maximum(min_level, mel)) - REF_LEVEL_DB
    norm = 2 * MAX_ABS_VALUE * ((db - MIN_LEVEL_DB) / -MIN_LEVEL_DB) - MAX_ABS_VALUE
    return np.clip(norm, -MAX_ABS_VALUE, MAX_ABS_VALUE).astype(np.float32)


def official_chunk_count(n_mel_cols: int, fps: float = FPS) -> int:
    """How many frames the official inference loop makes from `n_mel_cols` columns."""
    multiplier = MEL_FPS / fps
    i = 0
    while int(i * multiplier) + MEL_STEP <= n_mel_cols:
        i += 1
    return i + 1  # the loop's last chunk is the final 16 columns


def mel_chunk_starts(n_mel_cols: int, fps: float = FPS, n_frames: int | None = None) -> np.ndarray:
    """First mel column of each frame's 16-column window: the official loop's, then the last window."""
    multiplier = MEL_FPS / fps  # computed first, then multiplied, exactly as the official loop rounds
    last = max(0, n_mel_cols - MEL_STEP)
    count = official_chunk_count(n_mel_cols, fps) if n_frames is None else n_frames
    starts = np.array([int(i * multiplier) for i in range(count)], dtype=np.int64)
    return np.minimum(starts, last)


def mel_chunks(mel: np.ndarray, fps: float = FPS, n_frames: int | None = None) -> np.ndarray:
    """(n_frames, 80, 16) windows; a mel shorter than 16 columns is padded with its quietest value."""
    if mel.shape[1] < MEL_STEP:
        mel = np.pad(mel, ((0, 0), (0, MEL_STEP - mel.shape[1])), constant_values=-MAX_ABS_VALUE)
    starts = mel_chunk_starts(mel.shape[1], fps, n_frames)
    return np.stack([mel[:, s:s + MEL_STEP] for s in starts]) if starts.size else np.zeros((0, N_MELS, MEL_STEP), np.float32)
