"""Frames + 16 kHz audio -> H.264/AAC MP4 through an ffmpeg pipe; a frame grab for posters."""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable

import numpy as np

from . import ffmpeg as ff
from . import hls
from .audio import write_wav
from .ffmpeg import ffmpeg_exe  # callers and tests import it from here too
from .types import ENCODE_FAILED, FPS, PIPELINE_FAILED, PipelineError, VideoInfo, frame_count

# x264 on 2 cores: veryfast keeps 250 frames of 512x512 well under a second. Chosen by
# bench/encode.py (README): at crf 23 the decoded eye region kept 0.70x of its Laplacian variance
# (skin grain and lashes smeared, ~280 kb/s); tune grain stops x264 from smoothing fine texture
# away, and crf 20 with it keeps 0.92x at ~630 kb/s (a 10 s answer: ~0.8 MB).
VIDEO_CODEC = "libx264"
PRESET = "veryfast"
CRF = 20
TUNE = "grain"  # x264 -tune; "" = none
THREADS = 2
PIX_FMT = "yuv420p"  # the only chroma layout every browser and phone decodes
# AAC-LC at 48 kHz: some hardware players reject 16 kHz AAC, so resample on the way out
AUDIO_CODEC = "aac"
AUDIO_BITRATE = "128k"
AUDIO_RATE = 48000
LOGLEVEL = "error"  # ffmpeg's chatter is useless on success; on failure the errors are what we quote
STDERR_TAIL = 2000  # characters of ffmpeg's log quoted in an error
PIPE_BUFFER = 1 << 20
FILE_MODE = 0o644  # as Django's FILE_UPLOAD_PERMISSIONS default
PROBE_TIMEOUT = 120  # seconds; probing or grabbing a frame never takes near this


def _tail(text: str | bytes) -> str:
    """The last part of a log, decoded and stripped, for error messages."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.strip()
    return text[-STDERR_TAIL:] if text else "(no output)"


def _run(cmd: list[str], what: str, code: str = PIPELINE_FAILED,
         timeout: float = PROBE_TIMEOUT) -> subprocess.CompletedProcess:
    """Run ffmpeg capturing output; an unstartable or hung binary becomes a PipelineError."""
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except OSError as exc:
        raise PipelineError(f"Cannot start ffmpeg for {what}: {exc}", code) from exc
    except subprocess.TimeoutExpired as exc:
        raise PipelineError(f"ffmpeg timed out during {what}.", code) from exc


def _first_frame(frames: Iterable[np.ndarray]):
    """Split an iterable of frames into (iterator, first frame or None)."""
    it = iter(frames)
    return it, next(it, None)


def _as_frame(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Check a frame's shape and make it contiguous RGB uint8 for the pipe."""
    frame = np.asarray(frame)
    if frame.shape != (height, width, 3):
        raise PipelineError(f"Frame of shape {frame.shape} in a {width}x{height} RGB video.", ENCODE_FAILED)
    if frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(frame)


def encode_command(exe: str, width: int, height: int, fps: int, wav_path: str, out_path: str,
                   crf: int, preset: str, threads: int, tune: str = "", stream_dir: str | None = None,
                   duration: float = 0.0) -> list[str]:
    """The ffmpeg command line: raw rgb24 on stdin + WAV file -> faststart H.264/AAC MP4 (and its HLS stream)."""
    cmd = [
        exe, "-hide_banner", "-nostats", "-loglevel", LOGLEVEL, "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "pipe:0",
        "-i", wav_path,
        "-map", "0:v:0", "-map", "1:a:0",
    ]
    if width % 2 or height % 2:
        # crop, not pad: a 1-px black edge would show, a lost edge pixel does not
        cmd += ["-vf", "crop=trunc(iw/2)*2:trunc(ih/2)*2:0:0"]
    cmd += [
        "-c:v", VIDEO_CODEC, "-preset", preset, "-crf", str(crf), *(["-tune", tune] if tune else []),
        "-pix_fmt", PIX_FMT, "-threads", str(threads),
        "-c:a", AUDIO_CODEC, "-b:a", AUDIO_BITRATE, "-ar", str(AUDIO_RATE), "-ac", "1",
    ]
    if stream_dir is not None:
        return cmd + hls.keyframe_args(duration) + hls.tee_output(out_path, stream_dir)
    return cmd + ["-movflags", "+faststart", "-f", "mp4", out_path]


def encode_mp4(
    frames: Iterable[np.ndarray],
    audio: np.ndarray,
    out_path: str | os.PathLike,
    fps: int = FPS,
    crf: int = CRF,
    preset: str = PRESET,
    threads: int = THREADS,
    ffmpeg: str | None = None,
    tune: str | None = None,
    stream_dir: str | os.PathLike | None = None,
) -> VideoInfo:
    """Stream RGB frames and 16 kHz mono audio into an MP4 whose duration is the audio's.

    Exactly frame_count(len(audio), fps) frames are written: a short iterable is padded by
    repeating its last frame, a long one is cut, so the picture always covers the sound.
    `tune`: x264's -tune (None: TUNE; "" none). `stream_dir`: the same encode is also published
    there as a growing HLS playlist (hls.py) while it runs.
    """
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    if audio.size == 0:
        raise PipelineError("Nothing to encode: the audio is empty.", ENCODE_FAILED)
    total = frame_count(audio.size, fps)
    frames_iter, first = _first_frame(frames)
    if first is None:
        raise PipelineError("Nothing to encode: no video frames.", ENCODE_FAILED)
    first = np.asarray(first)
    if first.ndim != 3 or first.shape[2] != 3 or first.shape[0] < 2 or first.shape[1] < 2:
        raise PipelineError(f"Expected RGB frames of at least 2x2, got shape {first.shape}.", ENCODE_FAILED)
    height, width = first.shape[:2]

    out_path = Path(out_path)
    out_dir = out_path.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    exe = ffmpeg or ffmpeg_exe()
    with tempfile.TemporaryDirectory(prefix="encode-") as tmp:
        wav_path = os.path.join(tmp, "audio.wav")
        write_wav(wav_path, audio)
        # same folder as the target, so the final os.replace is an atomic rename
        fd, part_path = tempfile.mkstemp(prefix=f".{out_path.stem}.", suffix=".part.mp4", dir=out_dir)
        os.close(fd)
        try:
            # stderr goes to a file: a full pipe nobody reads would block ffmpeg and then us
            with open(os.path.join(tmp, "ffmpeg.log"), "w+b") as log:
                if stream_dir is not None:
                    os.makedirs(stream_dir, exist_ok=True)
                cmd = encode_command(exe, width, height, fps, wav_path, part_path, crf, preset, threads,
                                     TUNE if tune is None else tune,
                                     None if stream_dir is None else os.fspath(stream_dir), total / fps)
                _stream(cmd, frames_iter, first, total, width, height, log)
            os.chmod(part_path, FILE_MODE)  # mkstemp makes 0600; the web server must read it
            os.replace(part_path, out_path)
        except BaseException:
            if os.path.exists(part_path):
                os.unlink(part_path)
            raise
    return VideoInfo(
        path=str(out_path),
        duration=total / fps,
        width=width - width % 2,
        height=height - height % 2,
        fps=int(fps),
        size=out_path.stat().st_size,
    )


def _stream(cmd, frames_iter, first, total, width, height, log) -> None:
    """Run ffmpeg and pipe `total` frames into it; raise PipelineError with its log on failure."""
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log,
                                bufsize=PIPE_BUFFER)
    except OSError as exc:
        raise PipelineError(f"Cannot start ffmpeg to encode the video: {exc}", ENCODE_FAILED) from exc
    broken = False
    try:
        frame = _as_frame(first, width, height)
        written = 0
        while written < total:
            try:
                proc.stdin.write(frame.data)
            except (BrokenPipeError, ValueError):
                broken = True  # ffmpeg died; its log says why
                break
            written += 1
            if written < total:
                nxt = next(frames_iter, None)
                if nxt is not None:  # when the frames run out the last one is held
                    frame = _as_frame(nxt, width, height)
        try:
            proc.stdin.close()
        except BrokenPipeError:
            broken = True
        rc = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        with contextlib.suppress(OSError):  # a broken pipe: ffmpeg is gone already
            proc.stdin.close()
        raise
    finally:
        close = getattr(frames_iter, "close", None)
        if close is not None:
            close()  # let a generator release what it holds
    if rc != 0 or broken:
        log.seek(0)
        raise PipelineError(f"ffmpeg failed to encode the video (exit code {rc}): {_tail(log.read())}",
                            ENCODE_FAILED)


def extract_frame(path: str | os.PathLike, t_seconds: float = 0.0, ffmpeg: str | None = None) -> np.ndarray:
    """The decoded frame shown at `t_seconds`, as RGB uint8 (H, W, 3)."""
    from PIL import Image

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise PipelineError(f"No such video file: {path}", ENCODE_FAILED)
    exe = ffmpeg or ffmpeg_exe()
    # -ss before -i seeks fast and, since ffmpeg 2.1, still lands on the exact frame
    cmd = [exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-ss", f"{max(0.0, t_seconds):.3f}",
           "-i", path, "-map", "0:v:0", "-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "pipe:1"]
    result = _run(cmd, "frame extraction", ENCODE_FAILED)
    if result.returncode != 0 or not result.stdout:
        reason = _tail(result.stderr) if result.stderr.strip() else "no frame there (past the end?)"
        raise PipelineError(f"Cannot extract a frame at {t_seconds:.3f}s: {reason}", ENCODE_FAILED)
    with Image.open(io.BytesIO(result.stdout)) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8)
