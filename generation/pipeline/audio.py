"""Audio in any form -> 16 kHz mono float32 ready for lip-sync (decode, resample, loudness, trim)."""
from __future__ import annotations

import io
import subprocess
import wave
from math import gcd
from pathlib import Path

import numpy as np

from .types import SAMPLE_RATE, Audio, Phoneme, PipelineError, Speech

# hyper-parameters
TARGET_RMS_DBFS = -20.0  # loudness of the speech frames after normalisation
PEAK_CEILING = 0.95  # never push a peak above this (~ -0.4 dBFS): no clipping from our gain
MAX_GAIN_DB = 30.0  # a quiet recording is lifted at most this much; beyond it is mostly noise
FRAME_SECONDS = 0.01  # analysis frame for silence detection
SILENCE_REL_DB = -40.0  # a frame quieter than the loudest frame by this much is silence
SILENCE_ABS_DBFS = -60.0  # ... and so is any frame below this absolute level
SILENT_DBFS = -60.0  # the loudest frame below this: there is no speech at all
KEEP_SILENCE_SECONDS = 0.15  # silence left at each end, so the mouth starts closed
DECODE_TIMEOUT_SECONDS = 120


def _db(value: float) -> float:
    """Decibels to a linear amplitude factor."""
    return 10.0 ** (value / 20.0)


def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped in the imageio-ffmpeg wheel (no system ffmpeg needed)."""
    try:
        import imageio_ffmpeg
    except ImportError as exc:
        raise PipelineError("ffmpeg is not installed (the imageio-ffmpeg package).") from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


def decode(data_or_path: bytes | str | Path, sample_rate: int = SAMPLE_RATE,
           timeout: float = DECODE_TIMEOUT_SECONDS) -> np.ndarray:
    """Any audio ffmpeg reads (wav, mp3, ogg, m4a, ...) -> mono float32 at `sample_rate`."""
    if isinstance(data_or_path, (bytes, bytearray, memoryview)):
        data, source, what = bytes(data_or_path), "pipe:0", "The audio data"
        if not data:
            raise PipelineError("The audio data is empty.")
    else:
        path = Path(data_or_path)
        if not path.is_file():
            raise PipelineError(f"Audio file {path.name!r} does not exist.")
        data, source, what = None, f"file:{path}", f"The file {path.name!r}"
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", *(["-nostdin"] if data is None else []),
           "-i", source, "-vn", "-ac", "1", "-ar", str(sample_rate),
           "-f", "f32le", "-acodec", "pcm_f32le", "pipe:1"]
    try:
        proc = subprocess.run(cmd, input=data, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise PipelineError(f"{what} took longer than {timeout:.0f} s to decode.") from exc
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = f": {detail[-1]}" if detail else ""
        raise PipelineError(f"{what} does not decode as audio{reason}")
    samples = np.frombuffer(proc.stdout, dtype="<f4", count=len(proc.stdout) // 4)
    if samples.size == 0:
        raise PipelineError(f"{what} does not decode as audio: it holds no samples.")
    return samples.astype(np.float32)  # a writable copy in native order


def resample(samples: np.ndarray, sr_from: int, sr_to: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling of mono float32 (22050 -> 16000 Hz in ~3 ms for 10 s)."""
    samples = np.asarray(samples, dtype=np.float32)
    if sr_from == sr_to or samples.size == 0:
        return samples
    if sr_from <= 0 or sr_to <= 0:
        raise PipelineError(f"Invalid sample rate {sr_from} -> {sr_to}.")
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
        raise PipelineError(f"Audio has an unexpected shape {x.shape}.")
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
            shifted.append(Phoneme(start, end, p.symbol))
    return shifted


def prepare(speech: Speech) -> Audio:
    """TTS output -> 16 kHz mono float32, loudness-normalised, clipped, end silences trimmed."""
    samples = to_mono_float(speech.samples)
    if samples.size == 0:
        raise PipelineError("TTS returned no audio.")
    samples = resample(samples, int(speech.sample_rate), SAMPLE_RATE)
    bounds = speech_bounds(samples)
    if bounds is None:
        raise PipelineError("The synthesized audio is silent.")
    keep = round(KEEP_SILENCE_SECONDS * SAMPLE_RATE)
    start, end = max(0, bounds[0] - keep), min(samples.size, bounds[1] + keep)
    samples = np.clip(normalize(samples[start:end]), -1.0, 1.0)
    offset = start / SAMPLE_RATE
    return Audio(samples, offset, shift_phonemes(speech.phonemes, offset, samples.size / SAMPLE_RATE))


def write_wav(path, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write mono float samples as 16-bit PCM WAV to a path or a binary file object."""
    pcm = (np.clip(to_mono_float(samples), -1.0, 1.0) * 32767.0).round().astype("<i2")
    target = str(path) if isinstance(path, Path) else path
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


def validate_upload(data: bytes, max_seconds: float, max_bytes: int) -> np.ndarray:
    """A user's own audio file -> 16 kHz mono float32, or a PipelineError fit to show them."""
    if not data:
        raise PipelineError("The file is empty.")
    if len(data) > max_bytes:
        raise PipelineError(f"The file is larger than {max_bytes / 2**20:.0f} MB.")
    # decode at most a little past the limit: a tiny low-bitrate file can hold hours of audio
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", "pipe:0", "-vn",
           "-t", f"{max_seconds + 1:.3f}", "-ac", "1", "-ar", str(SAMPLE_RATE),
           "-f", "f32le", "-acodec", "pcm_f32le", "pipe:1"]
    try:
        proc = subprocess.run(cmd, input=bytes(data), capture_output=True,
                              timeout=DECODE_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as exc:
        raise PipelineError("The file took too long to decode.") from exc
    samples = np.frombuffer(proc.stdout, dtype="<f4", count=len(proc.stdout) // 4).astype(np.float32)
    if proc.returncode != 0 or samples.size == 0:
        raise PipelineError("The file does not decode as audio.")
    if samples.size > max_seconds * SAMPLE_RATE:
        raise PipelineError(f"The audio is longer than {max_seconds:g} s.")
    if speech_bounds(samples) is None:
        raise PipelineError("The audio is silent.")
    return samples
