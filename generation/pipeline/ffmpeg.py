"""How bytes we did not make are probed (FFmpeg's libraries, via PyAV) and decoded (the ffmpeg binary).

Untrusted bytes never reach FFmpeg by a name that means anything: they are copied to a private
file called `input` (no extension: FFmpeg's probe scores extensions, and `x.m3u8` would pick the
HLS demuxer, which opens every file its playlist lists). Every probe and run allows the `file`
protocol only, and only the demuxers allowed for what is expected (AUDIO_FORMATS here, the video
formats of video_check.py). Probing reads the streams as structures (avprobe.py) in a fork under
a CPU-time, memory and wall-clock budget (probe_run.py); decoding forces the demuxer probing
detected, stops at a time limit, caps its output and runs under the same kind of budget
(ffmpeg_run.py runs it). Video frames are streamed, never held all at once.
"""
from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from .ffmpeg_run import MEMORY_LIMIT_BYTES, LimitedRun, run_limited
from .mediainfo import AudioStream, MediaInfo, VideoStream, media_info  # noqa: F401
from .probe_run import run_probe
from .types import (AUDIO_INVALID, AUDIO_TOO_LONG, AUDIO_UNSUPPORTED, PIPELINE_FAILED, SAMPLE_RATE, VIDEO_INVALID,
                    VIDEO_TOO_LONG, VIDEO_UNSUPPORTED, PipelineError)

# hyper-parameters
MAX_SAMPLE_RATE = 192_000  # the highest rate real recorders use; beyond it is a resampling bomb
MAX_CHANNELS = 8  # 7.1; more is a decoding-cost bomb, never a voice recording
PROBE_CPU_SECONDS = 2  # reading headers and a few frames costs ~20 ms of CPU
PROBE_TIMEOUT_SECONDS = 15.0  # wall clock, for a loaded machine
TIME_MARGIN_SECONDS = 1.0  # decode this far past a limit, so "too long" is seen rather than cut off
LIMIT_TOLERANCE_SECONDS = 0.1  # codec padding: a recording of exactly the limit stays accepted
ERROR_DETAIL_CHARS = 300  # of ffmpeg's last log line quoted in an error (logs only, never users)
INPUT_NAME = "input"  # neutral: no extension for ffmpeg's probe to score
PROTOCOLS = "file"  # we always hand ffmpeg a local file; nothing it opens may be anything else
# video: one frame of 1280x720 RGB is 2.7 MB, so read the pipe in big pieces
VIDEO_READ_BYTES = 1 << 20
VIDEO_DECODE_THREADS = 1  # the worker's other core runs face tracking on the frames as they come
_PPM_DIMS_RE = re.compile(rb"(\d{1,5}) (\d{1,5})\n")
_PROGRESS_TIME_RE = re.compile(rb"^out_time_us=(\d+)$", re.M)
_PROGRESS_FRAME_RE = re.compile(rb"^frame=(\d+)$", re.M)


@dataclass(frozen=True)
class MediaFormat:
    """A container we accept: ffmpeg's demuxer and how the file is stored and served."""

    demuxer: str  # what `-f` and `-format_whitelist` take
    extension: str
    mime: str


AudioFormat = MediaFormat  # its name before video came


@dataclass(frozen=True)
class Expected:
    """What an input should be: the word errors use and the codes refusals carry."""

    noun: str
    invalid: str  # it does not decode as one
    unsupported: str  # a container we refuse, or it costs too much to read


AUDIO = Expected("audio", AUDIO_INVALID, AUDIO_UNSUPPORTED)
VIDEO = Expected("video", VIDEO_INVALID, VIDEO_UNSUPPORTED)


AUDIO_FORMATS: dict[str, AudioFormat] = {f.demuxer: f for f in (
    AudioFormat("wav", ".wav", "audio/wav"),
    AudioFormat("mp3", ".mp3", "audio/mpeg"),
    AudioFormat("ogg", ".ogg", "audio/ogg"),
    AudioFormat("flac", ".flac", "audio/flac"),
    AudioFormat("mov", ".m4a", "audio/mp4"),  # ffmpeg's "mov,mp4,m4a,3gp,3g2,mj2"
    AudioFormat("matroska", ".webm", "audio/webm"),  # ffmpeg's "matroska,webm"
    AudioFormat("aac", ".aac", "audio/aac"),  # raw ADTS
)}
AUDIO_DEMUXERS = tuple(AUDIO_FORMATS)
# mov can reference media in other files ("drefs"); both are ffmpeg's defaults, forced anyway
DEMUXER_OPTIONS = {"mov": ("-enable_drefs", "0", "-use_absolute_path", "0")}


def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped in the imageio-ffmpeg wheel (or IMAGEIO_FFMPEG_EXE)."""
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - a broken install
        raise PipelineError("imageio-ffmpeg is not installed; it provides the ffmpeg binary.",
                            PIPELINE_FAILED) from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


def media_format(name: str | None, formats: dict[str, MediaFormat]) -> MediaFormat | None:
    """The format of `formats` a demuxer name stands for ("mov" or ffmpeg's "mov,mp4,m4a,..."), else None."""
    for part in (name or "").split(","):
        if part.strip() in formats:
            return formats[part.strip()]
    return None


def audio_format(name: str | None) -> AudioFormat | None:
    """The accepted audio format a demuxer name stands for, else None."""
    return media_format(name, AUDIO_FORMATS)


# ---- private copies of untrusted bytes ----

@contextlib.contextmanager
def private_file(data: bytes) -> Iterator[Path]:
    """`data` in a fresh 0700 folder under a neutral name without extension; removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="media-") as folder:
        path = Path(folder) / INPUT_NAME
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        yield path


def input_options(demuxers=AUDIO_DEMUXERS) -> list[str]:
    """Options that keep any input to local files and to the allowed demuxers."""
    return ["-protocol_whitelist", PROTOCOLS, "-format_whitelist", ",".join(demuxers)]


def decode_command(exe: str, path: str | os.PathLike, demuxer: str, sample_rate: int,
                   max_seconds: float | None) -> list[str]:
    """Forced-demuxer decode of the first audio stream to mono float32 on stdout, one thread."""
    cmd = [exe, "-hide_banner", "-nostdin", "-loglevel", "error", *input_options(AUDIO_DEMUXERS),
           "-threads", "1", "-f", demuxer, *DEMUXER_OPTIONS.get(demuxer, ()), "-i", f"file:{os.fspath(path)}",
           "-map", "0:a:0"]
    if max_seconds is not None:
        cmd += ["-t", f"{max_seconds + TIME_MARGIN_SECONDS:.3f}"]
    return cmd + ["-threads", "1", "-filter_threads", "1", "-ac", "1", "-ar", str(int(sample_rate)),
                  "-c:a", "pcm_f32le", "-f", "f32le", "pipe:1"]


def _last_line(log: str) -> str:
    """ffmpeg's last error line (else its last line), shortened, for the log-only part of an error."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [line for line in lines if "rror" in line and not line.startswith("Exiting with")]
    return (errors or lines or ["no output"])[-1][-ERROR_DETAIL_CHARS:]


def _is_picture(demuxer: str) -> bool:
    """ffmpeg's readers of one picture by its content: "png_pipe", "jpeg_pipe", ... (not image2's file patterns)."""
    return demuxer.endswith("_pipe")


def probe_path(path: str | os.PathLike, demuxers=AUDIO_DEMUXERS, expect: Expected = AUDIO) -> MediaInfo:
    """Probe a file FFmpeg may open only with `demuxers`; refusals raise `expect`'s invalid or unsupported code."""
    result = run_probe("describe", os.fspath(path), ",".join(demuxers), cpu_seconds=PROBE_CPU_SECONDS,
                       timeout=PROBE_TIMEOUT_SECONDS, memory_bytes=MEMORY_LIMIT_BYTES)
    if result.timed_out or result.out_of_cpu:
        raise PipelineError(f"Probing took more than {PROBE_CPU_SECONDS} s of CPU or {PROBE_TIMEOUT_SECONDS:g} s.",
                            expect.unsupported)
    facts = result.answer
    if facts is None:  # the child died without an answer: its memory budget, or a decoder's crash
        raise PipelineError(f"Probing stopped without an answer (exit code {result.exitcode}).", expect.unsupported)
    info = media_info(facts)
    if info.opened:
        return info
    if facts.get("refused"):  # probing picked a demuxer the whitelist does not hold
        if info.demuxer and _is_picture(info.demuxer):
            raise PipelineError(f"The data does not decode as {expect.noun}: it is a picture ({info.demuxer}).",
                                expect.invalid)
        raise PipelineError(f"The data is in a format that is not accepted ({info.demuxer or 'unnamed'}).",
                            expect.unsupported)
    raise PipelineError(f"The data does not decode as {expect.noun}: {str(facts.get('error'))[:ERROR_DETAIL_CHARS]}",
                        expect.invalid)


def probe(data: bytes, demuxers=AUDIO_DEMUXERS, expect: Expected = AUDIO) -> MediaInfo:
    """Probe untrusted bytes (from a private, neutrally named copy) with only `demuxers` allowed."""
    if not data:
        raise PipelineError("The data is empty.", expect.invalid)
    with private_file(data) as path:
        return probe_path(path, demuxers, expect=expect)


def accept_audio(info: MediaInfo) -> AudioFormat:
    """The accepted format of a probed input whose first audio stream is sane; else a PipelineError."""
    fmt = audio_format(info.demuxer)
    if fmt is None:
        raise PipelineError(f"The data is in a format that is not accepted ({info.demuxer}).", AUDIO_UNSUPPORTED)
    stream = info.audio
    if stream is None:
        raise PipelineError(f"The data does not decode as audio: the {fmt.demuxer} file holds no audio stream.",
                            AUDIO_INVALID)
    if not stream.sample_rate:
        raise PipelineError(f"The data does not decode as audio: no sample rate ({stream.codec}).", AUDIO_INVALID)
    if stream.sample_rate > MAX_SAMPLE_RATE:
        raise PipelineError(f"Sample rate {stream.sample_rate} Hz is above {MAX_SAMPLE_RATE} Hz.", AUDIO_UNSUPPORTED)
    if stream.channels is None or not 1 <= stream.channels <= MAX_CHANNELS:
        raise PipelineError(f"Channel layout {stream.layout!r} is not 1 to {MAX_CHANNELS} channels.",
                            AUDIO_UNSUPPORTED)
    return fmt


def decode_path(path: str | os.PathLike, demuxer: str, *, max_seconds: float | None, cpu_seconds: float,
                timeout: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode a private file's first audio stream with `demuxer` forced: mono float32 at `sample_rate`.

    At most `max_seconds` (plus a margin) are decoded; more than `max_seconds` raises AUDIO_TOO_LONG.
    """
    fmt = audio_format(demuxer)
    if fmt is None:
        raise PipelineError(f"Demuxer {demuxer!r} is not one we decode.", AUDIO_UNSUPPORTED)
    cap = None
    if max_seconds is not None:
        cap = 4 * math.ceil((max_seconds + TIME_MARGIN_SECONDS + 1) * sample_rate)  # float32 bytes
    result = run_limited(decode_command(ffmpeg_exe(), path, fmt.demuxer, sample_rate, max_seconds),
                         cpu_seconds=cpu_seconds, timeout=timeout, max_output=cap)
    if result.overflowed:
        raise PipelineError(f"The audio is longer than {max_seconds:g} s.", AUDIO_TOO_LONG)
    if result.timed_out or result.out_of_cpu:
        raise PipelineError(f"Decoding took more than {cpu_seconds:g} s of CPU or {timeout:g} s.", AUDIO_UNSUPPORTED)
    if result.returncode != 0:
        raise PipelineError(f"The data does not decode as audio: {_last_line(result.log)}", AUDIO_INVALID)
    samples = np.frombuffer(result.output, dtype="<f4", count=len(result.output) // 4).astype(np.float32, copy=False)
    if samples.size == 0:
        raise PipelineError("The data does not decode as audio: it holds no samples.", AUDIO_INVALID)
    if max_seconds is not None and samples.size > (max_seconds + LIMIT_TOLERANCE_SECONDS) * sample_rate:
        raise PipelineError(f"The audio is longer than {max_seconds:g} s.", AUDIO_TOO_LONG)
    return samples


def decode_audio(data: bytes, demuxer: str, *, max_seconds: float | None, cpu_seconds: float, timeout: float,
                 sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode untrusted bytes with the demuxer probing detected (see decode_path)."""
    if not data:
        raise PipelineError("The data is empty.", AUDIO_INVALID)
    with private_file(data) as path:
        return decode_path(path, demuxer, max_seconds=max_seconds, cpu_seconds=cpu_seconds, timeout=timeout,
                           sample_rate=sample_rate)


def read_audio(data: bytes, *, max_seconds: float | None, cpu_seconds: float, timeout: float,
               sample_rate: int = SAMPLE_RATE) -> tuple[AudioFormat, MediaInfo, np.ndarray]:
    """Probe untrusted bytes, refuse what is not accepted audio, decode the rest with the detected demuxer."""
    if not data:
        raise PipelineError("The data is empty.", AUDIO_INVALID)
    with private_file(data) as path:
        info = probe_path(path)
        fmt = accept_audio(info)
        samples = decode_path(path, fmt.demuxer, max_seconds=max_seconds, cpu_seconds=cpu_seconds,
                              timeout=timeout, sample_rate=sample_rate)
    return fmt, info, samples


# ---- video: frames streamed as they are decoded ----

def video_filters(fps: int, max_side: int) -> str:
    """Constant `fps`, square pixels, at most `max_side` px on the long side, never enlarged, even sizes."""
    # fps first: a 60 fps source is thinned before it is scaled. Rotation metadata is applied by
    # ffmpeg itself before these (its autorotate), so portrait phone clips come out upright.
    return (f"fps={fps},scale='trunc(iw*sar/2)*2':'ih',setsar=1,"
            f"scale='min({max_side},iw)':'min({max_side},ih)':force_original_aspect_ratio=decrease:"
            "force_divisible_by=2:flags=area")


def video_decode_command(exe: str, path: str | os.PathLike, demuxer: str, demuxers, *, fps: int, max_side: int,
                         max_seconds: float) -> list[str]:
    """Forced-demuxer decode of the first video stream (never cover art) to PPM frames on stdout.

    PPM rather than raw RGB: each frame states its size, so the size after rotation and pixel-aspect
    correction need not be predicted, and a stream that changes size midway is seen.
    """
    return [exe, "-hide_banner", "-nostdin", "-loglevel", "error", *input_options(demuxers),
            "-threads", str(VIDEO_DECODE_THREADS), "-f", demuxer, *DEMUXER_OPTIONS.get(demuxer, ()),
            "-i", f"file:{os.fspath(path)}", "-map", "0:V:0", "-t", f"{max_seconds + TIME_MARGIN_SECONDS:.3f}",
            "-vf", video_filters(fps, max_side), "-threads", "1", "-filter_threads", "1",
            "-pix_fmt", "rgb24", "-c:v", "ppm", "-f", "image2pipe", "pipe:1"]


def _ppm_header(run: LimitedRun, max_side: int) -> tuple[bytes, int, int] | None:
    """The next frame's header and size (width, height), or None at the end of the output."""
    magic = run.read(3)
    if not magic:
        return None
    dims = run.readline(16)
    m = _PPM_DIMS_RE.fullmatch(dims)
    if magic != b"P6\n" or m is None or run.read(4) != b"255\n":
        raise PipelineError("ffmpeg's frames are not the PPM it was asked for.", PIPELINE_FAILED)
    width, height = int(m.group(1)), int(m.group(2))
    if not (0 < width <= max_side and 0 < height <= max_side):
        raise PipelineError(f"ffmpeg made a {width}x{height} frame, over {max_side} px.", PIPELINE_FAILED)
    return magic + dims + b"255\n", width, height


# packets that stop this much before the length the file states: an upload cut short, which decodes
# "successfully" up to there and would quietly become a shorter avatar (the last frame's duration
# and container rounding stay well below it)
CUT_SHORT_SECONDS = 0.5


def cut_short(path: str | os.PathLike, demuxer: str, *, cpu_seconds: float = PROBE_CPU_SECONDS,
              timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """Whether the first video stream's packets stop short of the length the file states (avprobe.py)."""
    span = run_probe("packets", os.fspath(path), demuxer, cpu_seconds=cpu_seconds, timeout=timeout,
                     memory_bytes=MEMORY_LIMIT_BYTES).answer
    if span is None:
        return True  # its packets cannot even be read through: not a whole file
    end, stated = span.get("end"), span.get("stated")
    return isinstance(end, (int, float)) and isinstance(stated, (int, float)) and end < stated - CUT_SHORT_SECONDS


def read_frames(path: str | os.PathLike, demuxer: str, demuxers, *, fps: int, max_side: int, max_seconds: float,
                cpu_seconds: float, timeout: float) -> Iterator[np.ndarray]:
    """Decode a private file's first video stream with `demuxer` forced: RGB uint8 (H, W, 3) frames at `fps`.

    One frame is in memory at a time (each its own array, read straight from the pipe). More than `max_seconds`
    raises VIDEO_TOO_LONG; a stream that changes size midway VIDEO_UNSUPPORTED; a file cut short VIDEO_INVALID
    (after the frames before the cut); budgets as for audio.
    """
    if demuxer not in demuxers:
        raise PipelineError(f"Demuxer {demuxer!r} is not one we decode.", VIDEO_UNSUPPORTED)
    max_frames = math.floor((max_seconds + LIMIT_TOLERANCE_SECONDS) * fps) + 1
    cmd = video_decode_command(ffmpeg_exe(), path, demuxer, demuxers, fps=fps, max_side=max_side,
                               max_seconds=max_seconds)
    count, header = 0, None
    with LimitedRun(cmd, cpu_seconds=cpu_seconds, timeout=timeout, read_bytes=VIDEO_READ_BYTES) as run:
        while True:
            if header is None:
                first = _ppm_header(run, max_side)
                if first is None:
                    break
                header, width, height = first
            else:
                again = bytearray(len(header))
                got = run.read_into(memoryview(again))
                if got == 0:
                    break
                if again != header:
                    raise PipelineError("The video changes its picture size midway.", VIDEO_UNSUPPORTED)
            frame = np.empty((height, width, 3), np.uint8)
            if run.read_into(memoryview(frame.reshape(-1))) < frame.size:
                break  # cut short: the outcome below says why
            count += 1
            if count > max_frames:
                raise PipelineError(f"The video is longer than {max_seconds:g} s.", VIDEO_TOO_LONG,
                                    {"seconds": round(count / fps, 1), "limit": max_seconds})
            yield frame
    result = run.outcome
    if result.timed_out or result.out_of_cpu:
        raise PipelineError(f"Decoding took more than {cpu_seconds:g} s of CPU or {timeout:g} s.", VIDEO_UNSUPPORTED)
    if result.returncode != 0:
        raise PipelineError(f"The data does not decode as video: {_last_line(result.log)}", VIDEO_INVALID)
    if count == 0:
        raise PipelineError("The data does not decode as video: it holds no frames.", VIDEO_INVALID)
    if cut_short(path, demuxer):
        raise PipelineError("The video file is cut short: its frames stop before the length it states.",
                            VIDEO_INVALID)


def packets_end(path: str | os.PathLike, demuxer: str, demuxers, **limits) -> float | None:
    """End time (s) of the first video stream's packets, read without decoding: for files whose header
    states no duration (a browser's live WebM recording). None when ffmpeg cannot tell."""
    return packet_stats(path, demuxer, demuxers, **limits)[0]


def packet_stats(path: str | os.PathLike, demuxer: str, demuxers, *, cpu_seconds: float = PROBE_CPU_SECONDS,
                 timeout: float = PROBE_TIMEOUT_SECONDS) -> tuple[float | None, int | None]:
    """(end time in s, packet count) of the first video stream, read without decoding; None: unknown."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *input_options(demuxers), "-f", demuxer,
           *DEMUXER_OPTIONS.get(demuxer, ()), "-i", f"file:{os.fspath(path)}", "-map", "0:V:0", "-c", "copy",
           "-f", "null", "-nostats", "-progress", "pipe:1", "-"]
    # -progress writes only ffmpeg's own counters to stdout: nothing of the file's metadata reaches it
    result = run_limited(cmd, cpu_seconds=cpu_seconds, timeout=timeout, max_output=1 << 20)
    times = _PROGRESS_TIME_RE.findall(bytes(result.output))
    if result.returncode != 0 or result.timed_out or result.overflowed or not times:
        return None, None
    frames = _PROGRESS_FRAME_RE.findall(bytes(result.output))
    return int(times[-1]) / 1e6, int(frames[-1]) if frames else None
