"""Audio in any form -> 16 kHz mono float32 ready for lip-sync (decode, resample, loudness, trim).

Decoding always goes through `ffmpeg.py`: probed under an allow-list of demuxers, then decoded with
the detected demuxer forced, within a time limit and a CPU budget (see that module for why).
"""
from __future__ import annotations

import io
import os
import wave
from dataclasses import dataclass, replace
from math import gcd
from pathlib import Path

import numpy as np

from . import ffmpeg
from .ffmpeg import ffmpeg_exe  # noqa: F401 (callers and tests import it from here)
from .types import (AUDIO_INVALID, AUDIO_SILENT, AUDIO_UNSUPPORTED, PIPELINE_FAILED, SAMPLE_RATE, Audio, Phoneme,
                    PipelineError, Speech, Word)

# hyper-parameters
TARGET_RMS_DBFS = -20.0  # loudness of the speech frames after normalisation
PEAK_CEILING = 0.95  # never push a peak above this (~ -0.4 dBFS): no clipping from our gain
MAX_GAIN_DB = 30.0  # a quiet recording is lifted at most this much; beyond it is mostly noise
FRAME_SECONDS = 0.01  # analysis frame for silence detection
SILENCE_REL_DB = -40.0  # a frame quieter than the loudest frame by this much is silence
SILENCE_ABS_DBFS = -60.0  # ... and so is any frame below this absolute level
SILENT_DBFS = -60.0  # the loudest frame below this: there is no speech at all
EDGE_KEEP_SECONDS = 0.05  # of the source's own near-silence kept around the speech: soft onsets live there
LEAD_IN_SECONDS = 0.28  # the speech starts this far in (7 frames at 25 fps: on a frame boundary), mouth closed
TAIL_SECONDS = 0.3  # ... and ends this long before the last frame, so the last word is whole
FADE_SECONDS = 0.01  # the kept source edges fade from/to digital silence: no click at the seam
PAUSE_SYMBOL = "_"  # espeak's silence mnemonic: lip-sync keeps the mouth closed over the lead-in and tail
# A user's upload is decoded inside a web request: 2 minutes of 48 kHz stereo take ~0.4 s of CPU,
# so a few seconds is ample for real recordings and cuts every decoding bomb short.
UPLOAD_CPU_SECONDS = 4
UPLOAD_TIMEOUT_SECONDS = 30.0  # wall clock, for a loaded machine
# decode(): a TTS service's answer or an operator's file, up to an hour of audio
DECODE_MAX_SECONDS = 3600.0
DECODE_CPU_SECONDS = 60
DECODE_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class UploadedAudio:
    """A user's recording that passed validation: its samples and the format to store and decode it as."""

    samples: np.ndarray  # 16 kHz mono float32
    demuxer: str  # what the worker forces when it decodes the stored bytes (ffmpeg.AUDIO_FORMATS key)
    extension: str  # what it is stored as, e.g. ".m4a"
    mime: str  # what it is served as, e.g. "audio/mp4"
    duration: float  # seconds


def _db(value: float) -> float:
    """Decibels to a linear amplitude factor."""
    return 10.0 ** (value / 20.0)


def _source_bytes(data_or_path: bytes | str | os.PathLike) -> bytes:
    """The bytes to decode: given, or read from a path (its name never reaches ffmpeg)."""
    if isinstance(data_or_path, (bytes, bytearray, memoryview)):
        data = bytes(data_or_path)
        if not data:
            raise PipelineError("The audio data is empty.", AUDIO_INVALID)
        return data
    path = Path(data_or_path)
    if not path.is_file():
        raise PipelineError(f"Audio file {path.name!r} does not exist.", AUDIO_INVALID)
    data = path.read_bytes()
    if not data:
        raise PipelineError(f"Audio file {path.name!r} is empty.", AUDIO_INVALID)
    return data


def decode(data_or_path: bytes | str | os.PathLike, sample_rate: int = SAMPLE_RATE,
           timeout: float = DECODE_TIMEOUT_SECONDS, max_seconds: float = DECODE_MAX_SECONDS) -> np.ndarray:
    """Audio bytes or a file (wav, mp3, ogg, flac, m4a, webm, aac) -> mono float32 at `sample_rate`."""
    data = _source_bytes(data_or_path)
    _, _, samples = ffmpeg.read_audio(data, max_seconds=max_seconds, cpu_seconds=DECODE_CPU_SECONDS,
                                      timeout=timeout, sample_rate=sample_rate)
    return samples


def resample(samples: np.ndarray, sr_from: int, sr_to: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling of mono float32 (22050 -> 16000 Hz in ~3 ms for 10 s)."""
    samples = np.asarray(samples, dtype=np.float32)
    if sr_from == sr_to or samples.size == 0:
        return samples
    if sr_from <= 0 or sr_to <= 0:
        raise PipelineError(f"Invalid sample rate {sr_from} -> {sr_to}.", PIPELINE_FAILED)
    from scipy.signal import resample_poly  # scipy.signal takes ~0.5 s to import: only when needed

    g = gcd(int(sr_from), int(sr_to))
    return resample_poly(samples, sr_to // g, sr_from // g).astype(np.float32)


def to_mono_float(samples: np.ndarray) -> np.ndarray:
    """Any numeric array (ints scaled to [-1, 1], channels on either axis) -> mono float32."""
    x = np.asarray(samples)
    if np.issubdtype(x.dtype, np.integer):
        info = np.iinfo(x.dtype)
        x = (x.astype(np.float32) - (info.max + info.min + 1) / 2) / ((info.max - info.min + 1) / 2)
    x = np.nan_to_num(x.astype(np.float32, copy=False), nan=0.0, posinf=1.0, neginf=-1.0)
    if x.ndim == 2:
        x = x.mean(axis=1 if x.shape[1] <= x.shape[0] else 0)  # channels = the short axis
    elif x.ndim != 1:
        raise PipelineError(f"Audio has an unexpected shape {x.shape}.", PIPELINE_FAILED)
    return x


def frame_rms(samples: np.ndarray, frame: int) -> np.ndarray:
    """RMS of consecutive `frame`-sample frames (the last one zero-padded)."""
    n = -(-samples.size // frame)
    padded = np.zeros(n * frame, np.float32)
    padded[: samples.size] = samples
    return np.sqrt(np.mean(padded.reshape(n, frame) ** 2, axis=1))


def speech_bounds(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> tuple[int, int] | None:
    """(first, end) sample of the non-silent part, or None when it is all silence."""
    frame = max(1, round(FRAME_SECONDS * sample_rate))
    rms = frame_rms(samples, frame)
    loudest = float(rms.max()) if rms.size else 0.0
    if loudest < _db(SILENT_DBFS):
        return None
    loud = np.flatnonzero(rms >= max(loudest * _db(SILENCE_REL_DB), _db(SILENCE_ABS_DBFS)))
    return int(loud[0]) * frame, min(samples.size, (int(loud[-1]) + 1) * frame)


def normalize(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Scale speech to TARGET_RMS_DBFS over its non-silent frames, peaks kept under PEAK_CEILING."""
    frame = max(1, round(FRAME_SECONDS * sample_rate))
    rms = frame_rms(samples, frame)
    if rms.size == 0 or rms.max() <= 0:
        return samples
    voiced = rms[rms >= rms.max() * _db(SILENCE_REL_DB)]
    level = float(np.sqrt(np.mean(voiced**2)))
    peak = float(np.abs(samples).max())
    gain = min(_db(TARGET_RMS_DBFS) / level, PEAK_CEILING / peak, _db(MAX_GAIN_DB))
    return (samples * np.float32(gain)).astype(np.float32)


def shift_phonemes(phonemes: list[Phoneme] | None, offset: float, duration: float) -> list[Phoneme] | None:
    """Phonemes moved `offset` seconds earlier, clamped to [0, duration]; ones outside dropped."""
    if phonemes is None:
        return None
    shifted = []
    for p in phonemes:
        start, end = max(0.0, p.start - offset), min(duration, p.end - offset)
        if end > start:
            shifted.append(replace(p, start=start, end=end))
    return shifted


def shift_words(words: list[Word] | None, offset: float, duration: float) -> list[Word] | None:
    """Words moved `offset` seconds earlier, clamped to [0, duration]; ones outside dropped."""
    if words is None:
        return None
    moved = [Word(max(0.0, w.start - offset), min(duration, w.end - offset), w.text) for w in words]
    return [w for w in moved if w.end > w.start]


def _pad_phonemes(phonemes: list[Phoneme] | None, duration: float) -> list[Phoneme] | None:
    """Phonemes with explicit pauses over the lead-in and the tail (nothing said there)."""
    if not phonemes:
        return phonemes
    out = list(phonemes)
    if out[0].start > 0:
        out.insert(0, Phoneme(0.0, out[0].start, PAUSE_SYMBOL))
    if out[-1].end < duration:
        out.append(Phoneme(out[-1].end, duration, PAUSE_SYMBOL))
    return out


def _faded(samples: np.ndarray) -> np.ndarray:
    """`samples` with FADE_SECONDS linear ramps at both ends."""
    n = min(round(FADE_SECONDS * SAMPLE_RATE), samples.size // 2)
    if n:
        ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
        samples = samples.copy()
        samples[:n] *= ramp
        samples[-n:] *= ramp[::-1]
    return samples


def prepare(speech: Speech) -> Audio:
    """TTS output or a recording -> 16 kHz mono float32, loudness-normalised, with a fixed lead-in and tail.

    Whatever silence the source had at its ends is replaced: the speech starts LEAD_IN_SECONDS in and
    ends TAIL_SECONDS before the end, the same for every backend and for uploaded recordings.
    """
    samples = to_mono_float(speech.samples)
    # Uploads were checked for sound already, and text.synthesize_text refuses silent speech: what is
    # left here is audio with nothing in it, whatever made it.
    if samples.size == 0:
        raise PipelineError("TTS returned no audio.", AUDIO_SILENT)
    samples = resample(samples, int(speech.sample_rate), SAMPLE_RATE)
    bounds = speech_bounds(samples)
    if bounds is None:
        raise PipelineError("The synthesized audio is silent.", AUDIO_SILENT)
    keep = round(EDGE_KEEP_SECONDS * SAMPLE_RATE)
    start, end = max(0, bounds[0] - keep), min(samples.size, bounds[1] + keep)
    lead = max(0, round(LEAD_IN_SECONDS * SAMPLE_RATE) - (bounds[0] - start))
    tail = max(0, round(TAIL_SECONDS * SAMPLE_RATE) - (end - bounds[1]))
    body = _faded(np.clip(normalize(samples[start:end]), -1.0, 1.0))
    samples = np.concatenate([np.zeros(lead, np.float32), body, np.zeros(tail, np.float32)])
    offset = (start - lead) / SAMPLE_RATE  # negative: silence was added before the source's first sample
    duration = samples.size / SAMPLE_RATE
    return Audio(samples, offset, _pad_phonemes(shift_phonemes(speech.phonemes, offset, duration), duration),
                 shift_words(speech.words, offset, duration))


def write_wav(path: str | os.PathLike | io.IOBase, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write mono float samples as 16-bit PCM WAV to a path or a binary file object."""
    pcm = (np.clip(to_mono_float(samples), -1.0, 1.0) * 32767.0).round().astype("<i2")
    target = os.fspath(path) if isinstance(path, (str, os.PathLike)) else path
    with wave.open(target, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.tobytes())


def wav_bytes(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """The same WAV in memory (for piping to ffmpeg or returning over HTTP)."""
    buf = io.BytesIO()
    write_wav(buf, samples, sample_rate)
    return buf.getvalue()


def validate_upload(data: bytes, max_seconds: float, max_bytes: int) -> UploadedAudio:
    """A user's own recording, checked and decoded to 16 kHz mono float32, or a PipelineError with a code.

    Only the accepted containers are opened, each stream is checked before decoding, at most
    `max_seconds` (plus a margin) are decoded and the whole check runs on a few seconds of CPU.
    """
    if not data:
        raise PipelineError("The file is empty.", AUDIO_INVALID)
    if len(data) > max_bytes:  # the web side refuses these before reading; no code of its own
        raise PipelineError(f"The file is larger than {max_bytes / 2**20:.0f} MB.", AUDIO_UNSUPPORTED)
    fmt, _, samples = ffmpeg.read_audio(bytes(data), max_seconds=max_seconds, cpu_seconds=UPLOAD_CPU_SECONDS,
                                        timeout=UPLOAD_TIMEOUT_SECONDS)
    if speech_bounds(samples) is None:
        raise PipelineError("The audio is silent.", AUDIO_SILENT)
    return UploadedAudio(samples, fmt.demuxer, fmt.extension, fmt.mime, samples.size / SAMPLE_RATE)


def decode_upload(data: bytes, demuxer: str, max_seconds: float) -> np.ndarray:
    """The worker's decode of exactly the bytes validation accepted, with the demuxer it detected forced."""
    if not data:
        raise PipelineError("The stored recording is empty.", AUDIO_INVALID)
    return ffmpeg.decode_audio(bytes(data), demuxer, max_seconds=max_seconds, cpu_seconds=UPLOAD_CPU_SECONDS,
                               timeout=UPLOAD_TIMEOUT_SECONDS)
