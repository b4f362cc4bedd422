"""The ffmpeg binary, and how bytes we did not make are probed and decoded with it.

Untrusted bytes never reach ffmpeg by a name that means anything: they are copied to a private
file called `input` (no extension: ffmpeg's probe scores extensions, and `x.m3u8` would pick the
HLS demuxer, which opens every file its playlist lists). Every run allows the `file` protocol
only, and only the demuxers of AUDIO_FORMATS; decoding forces the demuxer probing detected, stops
at a time limit, caps its output and runs under a CPU-time and memory budget.
"""
from __future__ import annotations

import contextlib
import math
import os
import re
import resource
import selectors
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from .types import AUDIO_INVALID, AUDIO_TOO_LONG, AUDIO_UNSUPPORTED, PIPELINE_FAILED, SAMPLE_RATE, PipelineError

# hyper-parameters
MAX_SAMPLE_RATE = 192_000  # the highest rate real recorders use; beyond it is a resampling bomb
MAX_CHANNELS = 8  # 7.1; more is a decoding-cost bomb, never a voice recording
PROBE_CPU_SECONDS = 2  # reading headers and a few frames costs ~20 ms of CPU
PROBE_TIMEOUT_SECONDS = 15.0  # wall clock, for a loaded machine
TIME_MARGIN_SECONDS = 1.0  # decode this far past a limit, so "too long" is seen rather than cut off
LIMIT_TOLERANCE_SECONDS = 0.1  # codec padding: a recording of exactly the limit stays accepted
MEMORY_LIMIT_BYTES = 1 << 30  # address space; an audio decode maps ~0.6 GB and touches ~35 MB
CPU_GRACE_SECONDS = 1  # SIGXCPU lets ffmpeg stop cleanly; SIGKILL follows this much later
# Of ffmpeg's log, kept from the start (what it detected) and from the end (streams, final error).
# A real file's probe log is a few KiB; one longer than both is refused, since what was dropped
# from its middle could be the real stream line that a forged one imitates.
LOG_HEAD_BYTES = 256 << 10
LOG_TAIL_BYTES = 256 << 10
READ_CHUNK_BYTES = 1 << 16
REAP_POLL_SECONDS = 0.005  # a child that closed its pipes exits within a poll or two
ERROR_DETAIL_CHARS = 300  # of ffmpeg's last log line quoted in an error (logs only, never users)
INPUT_NAME = "input"  # neutral: no extension for ffmpeg's probe to score
PROTOCOLS = "file"  # we always hand ffmpeg a local file; nothing it opens may be anything else


@dataclass(frozen=True)
class AudioFormat:
    """A container we accept for recordings: ffmpeg's demuxer and how the file is stored and served."""

    demuxer: str  # what `-f` and `-format_whitelist` take
    extension: str
    mime: str


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


@dataclass(frozen=True)
class AudioStream:
    codec: str | None
    sample_rate: int | None
    channels: int | None
    layout: str | None  # as ffmpeg prints it: "mono", "stereo", "7.1", "10 channels", ...


@dataclass(frozen=True)
class VideoStream:
    codec: str | None
    pix_fmt: str | None
    width: int | None
    height: int | None
    fps: float | None


@dataclass(frozen=True)
class MediaInfo:
    """What `ffmpeg -i` says about an input: its demuxer, duration and first audio and video stream."""

    demuxer: str | None  # ffmpeg's name, e.g. "mp3" or "mov,mp4,m4a,3gp,3g2,mj2"
    duration: float | None
    audio: AudioStream | None
    video: VideoStream | None
    opened: bool = True  # False: ffmpeg detected `demuxer` but refused to open it (not on the whitelist)
    consistent: bool = True  # False: the log repeats lines it prints once (forged by metadata)


@dataclass
class Outcome:
    """How a limited ffmpeg run ended."""

    returncode: int
    output: bytes | bytearray
    log: str
    timed_out: bool = False
    overflowed: bool = False  # its output passed the cap and it was stopped
    log_truncated: bool = False  # the middle of the log was dropped
    cpu_used: float = 0.0  # seconds, user + system
    cpu_limit: int = 0  # the RLIMIT_CPU soft limit it ran under

    @property
    def out_of_cpu(self) -> bool:
        """True when the CPU budget stopped it (on SIGXCPU ffmpeg exits "normally", with code 255)."""
        if self.returncode == 0 or self.timed_out or self.overflowed:
            return False
        return self.cpu_used >= self.cpu_limit


def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped in the imageio-ffmpeg wheel (or IMAGEIO_FFMPEG_EXE)."""
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - a broken install
        raise PipelineError("imageio-ffmpeg is not installed; it provides the ffmpeg binary.",
                            PIPELINE_FAILED) from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


def audio_format(name: str | None) -> AudioFormat | None:
    """The accepted format a demuxer name stands for ("mov" or ffmpeg's "mov,mp4,m4a,..."), else None."""
    for part in (name or "").split(","):
        if part.strip() in AUDIO_FORMATS:
            return AUDIO_FORMATS[part.strip()]
    return None


# ---- reading `ffmpeg -i` output (the one parser, for the product and the tests) ----

# Anchored, exact indentation: what a container puts in its metadata is printed in this log too, and a
# tag name may hold line breaks, so a file can print lines that look like these (see parse_info).
_INPUT_RE = re.compile(r"^Input #0, (.+?), from '", re.M)
# what probing picked, printed (at debug level) before the whitelist check refuses it
_PROBED_RE = re.compile(r"^(?:\[[^]\n]*\] )?Format (\S+) (?:probed with size=|detected only with low score)", re.M)
_DURATION_RE = re.compile(r"^  Duration:\s*(?:(\d+):(\d+):(\d+(?:\.\d+)?)|N/A)", re.M)
_STREAM_RE = re.compile(r"^  Stream #0:(\d+)[^:\n]*:\s*(\w+):\s*(.*)$", re.M)
_SIZE_RE = re.compile(r"(?:^|[\s,])(\d{1,5})x(\d{1,5})(?=[\s,\[]|$)")
_FPS_RE = re.compile(r"([\d.]+k?)\s+fps")
_REFS_RE = re.compile(r"^\d+ reference frames?\b")
_RATE_RE = re.compile(r"^(\d+)\s+Hz$")
_CHANNELS_RE = re.compile(r"^(\d+)\s+channels")
_LAYOUT_RE = re.compile(r"^(\d+(?:\.\d+)+)")  # "5.1", "7.1(wide)", "5.1.4", "22.2": the parts add up
_NAMED_LAYOUTS = {"mono": 1, "stereo": 2, "binaural": 2, "downmix": 2, "quad": 4, "hexagonal": 6,
                  "octagonal": 8, "cube": 8, "hexadecagonal": 16}


def split_fields(spec: str) -> list[str]:
    """Split a stream description at top-level commas (not those inside parentheses)."""
    parts, depth, current = [], 0, []
    for ch in spec:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return parts


def channel_count(layout: str | None) -> int | None:
    """Channels of a layout as ffmpeg prints it, or None when the description is not one we know."""
    text = (layout or "").strip().lower()
    if not text:
        return None
    m = _CHANNELS_RE.match(text)
    if m:
        return int(m.group(1))
    m = _LAYOUT_RE.match(text)
    if m:
        return sum(int(part) for part in m.group(1).split("."))
    return _NAMED_LAYOUTS.get(text.split("(")[0].strip())


def _codec(fields: list[str]) -> str | None:
    """The codec name: the first word of a stream description."""
    return fields[0].split()[0] if fields and fields[0] else None


def parse_audio_stream(spec: str) -> AudioStream:
    """Codec, rate and channels from "aac (LC), 44100 Hz, stereo, fltp, 128 kb/s"."""
    fields = split_fields(spec)
    rate = layout = None
    for i, field in enumerate(fields):
        m = _RATE_RE.match(field)
        if m:
            rate = int(m.group(1))
            layout = fields[i + 1] if i + 1 < len(fields) else None
            break
    return AudioStream(_codec(fields), rate, channel_count(layout), layout)


def parse_video_stream(spec: str) -> VideoStream:
    """Codec, pixel format, size and fps from "h264 (High), yuv420p(tv), 1280x720 [SAR 1:1], 25 fps"."""
    fields = split_fields(spec)
    # at debug level "1 reference frame" comes between the codec and the pixel format
    rest = [f for f in fields[1:] if not _REFS_RE.match(f)]
    pix_fmt = (rest[0].split("(")[0].strip() or None) if rest else None
    size = _SIZE_RE.search(spec)
    fps = _FPS_RE.search(spec)
    rate = None
    if fps:
        value = fps.group(1)
        rate = float(value[:-1]) * 1000 if value.endswith("k") else float(value)
    return VideoStream(_codec(fields), pix_fmt, int(size.group(1)) if size else None,
                       int(size.group(2)) if size else None, rate)


def parse_info(log: str) -> MediaInfo:
    """MediaInfo from the log `ffmpeg -i INPUT` prints; the audio and the video stream of lowest index win.

    ffmpeg prints one Input line, one Duration line and one line per stream index. More of any is
    a file whose metadata imitates them, and `consistent` is False: its stream facts are not to be
    believed. (A forged line cannot hide a real one, so a forged stream always repeats an index.)
    """
    inputs = _INPUT_RE.findall(log)
    probed = _PROBED_RE.search(log)
    demuxer = inputs[0] if inputs else (probed.group(1) if probed else None)
    durations = _DURATION_RE.findall(log)
    duration = None
    if durations and durations[0][0]:
        h, m, sec = durations[0]
        duration = int(h) * 3600 + int(m) * 60 + float(sec)
    streams: dict[int, tuple[str, str]] = {}
    repeated = False
    for index, kind, spec in _STREAM_RE.findall(log):
        repeated = repeated or int(index) in streams
        streams.setdefault(int(index), (kind, spec))
    audio = video = None
    for index in sorted(streams):
        kind, spec = streams[index]
        if kind == "Audio" and audio is None:
            audio = parse_audio_stream(spec)
        elif kind == "Video" and video is None:
            video = parse_video_stream(spec)
    consistent = len(inputs) <= 1 and len(durations) <= 1 and not repeated
    return MediaInfo(demuxer, duration, audio, video, opened=bool(inputs), consistent=consistent)


# ---- running ffmpeg on a budget ----

def _limit(pid: int, cpu: int, memory_bytes: int) -> None:
    """CPU-time (whole seconds) and address-space limits on a running child.

    Set from the parent right after the start rather than in a preexec_fn, which can deadlock a
    threaded web server; RLIMIT_CPU counts the CPU the child used before it too.
    """
    resource.prlimit(pid, resource.RLIMIT_CPU, (cpu, cpu + CPU_GRACE_SECONDS))
    resource.prlimit(pid, resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def _reap(proc: subprocess.Popen, deadline: float) -> tuple[float, bool]:
    """Wait for the child until `deadline`, then kill it: (CPU seconds it used, whether it was killed late).

    os.wait4 rather than Popen.wait: it also returns the child's resource usage.
    """
    late = False
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() >= deadline:
                os.kill(proc.pid, signal.SIGKILL)  # not Popen.kill: its poll() would reap the child first
                late = True
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(REAP_POLL_SECONDS)
    except ChildProcessError:  # SIGCHLD ignored: the child reaped itself; status unknown, as Popen assumes
        proc.returncode = 0
        return 0.0, late
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, late


class _LogBuffer:
    """The first and the last few KiB of a log that may be huge."""

    def __init__(self):
        self.head, self.tail, self.dropped = bytearray(), bytearray(), False

    def add(self, chunk: bytes) -> None:
        room = LOG_HEAD_BYTES - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        if len(self.tail) > LOG_TAIL_BYTES:
            del self.tail[:-LOG_TAIL_BYTES]
            self.dropped = True

    def text(self) -> str:
        gap = b"\n[...]\n" if self.dropped else b""
        return (bytes(self.head) + gap + bytes(self.tail)).decode("utf-8", "replace")


def run_limited(cmd: list[str], *, cpu_seconds: float, timeout: float, max_output: int | None = None,
                memory_bytes: int = MEMORY_LIMIT_BYTES) -> Outcome:
    """Run ffmpeg with stdin closed, a CPU/memory budget, a wall-clock timeout and capped stdout."""
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        raise PipelineError(f"Cannot start ffmpeg: {exc}", PIPELINE_FAILED) from exc
    cpu = max(1, math.ceil(cpu_seconds))
    output, log = bytearray(), _LogBuffer()
    timed_out = overflowed = False
    deadline = time.monotonic() + timeout
    try:
        try:
            _limit(proc.pid, cpu, memory_bytes)
        except ProcessLookupError:
            pass  # already gone: nothing left to limit
        except OSError as exc:  # fail closed: never decode hostile bytes without the budget
            raise PipelineError(f"Cannot limit ffmpeg's CPU and memory: {exc}", PIPELINE_FAILED) from exc
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            sel.register(proc.stderr, selectors.EVENT_READ)
            while sel.get_map() and not overflowed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                for key, _ in sel.select(remaining):
                    chunk = os.read(key.fd, READ_CHUNK_BYTES)
                    if not chunk:
                        sel.unregister(key.fileobj)
                    elif key.fileobj is proc.stdout:
                        output += chunk
                        overflowed = max_output is not None and len(output) > max_output
                    else:
                        log.add(chunk)
    except BaseException:
        os.kill(proc.pid, signal.SIGKILL)
        _reap(proc, 0.0)
        raise
    finally:
        proc.stdout.close()
        proc.stderr.close()
    if timed_out or overflowed:
        os.kill(proc.pid, signal.SIGKILL)
    cpu_used, late = _reap(proc, deadline)  # both pipes closed: it is exiting, or gets no longer than the rest
    return Outcome(proc.returncode, output, log.text(), timed_out or late, overflowed, log.dropped, cpu_used, cpu)


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


def probe_command(exe: str, path: str | os.PathLike, demuxers=AUDIO_DEMUXERS) -> list[str]:
    """`ffmpeg -i` on a file with the whitelists; debug level names the demuxer even when refused."""
    return [exe, "-hide_banner", "-nostdin", "-loglevel", "debug", *input_options(demuxers),
            "-i", f"file:{os.fspath(path)}"]


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


def probe_path(path: str | os.PathLike, demuxers=AUDIO_DEMUXERS, exe: str | None = None) -> MediaInfo:
    """Probe a file ffmpeg may open only with `demuxers`; refusals raise AUDIO_INVALID or AUDIO_UNSUPPORTED."""
    result = run_limited(probe_command(exe or ffmpeg_exe(), path, demuxers), cpu_seconds=PROBE_CPU_SECONDS,
                         timeout=PROBE_TIMEOUT_SECONDS)
    if result.timed_out or result.out_of_cpu:
        raise PipelineError(f"Probing took more than {PROBE_CPU_SECONDS} s of CPU or {PROBE_TIMEOUT_SECONDS:g} s.",
                            AUDIO_UNSUPPORTED)
    info = parse_info(result.log)
    if result.log_truncated:
        raise PipelineError("ffmpeg's description of the data is too long to check.", AUDIO_UNSUPPORTED)
    if not info.consistent:
        raise PipelineError("ffmpeg's description of the data repeats itself: its metadata imitates the log.",
                            AUDIO_UNSUPPORTED)
    if info.opened:
        return info
    if "Format not on whitelist" in result.log:  # nothing of the file's own was read yet: the log is ffmpeg's
        if info.demuxer and _is_picture(info.demuxer):
            raise PipelineError(f"The data does not decode as audio: it is a picture ({info.demuxer}).",
                                AUDIO_INVALID)
        raise PipelineError(f"The data is in a format that is not accepted ({info.demuxer or 'unnamed'}).",
                            AUDIO_UNSUPPORTED)
    raise PipelineError(f"The data does not decode as audio: {_last_line(result.log)}", AUDIO_INVALID)


def probe(data: bytes, demuxers=AUDIO_DEMUXERS) -> MediaInfo:
    """Probe untrusted bytes (from a private, neutrally named copy) with only `demuxers` allowed."""
    if not data:
        raise PipelineError("The data is empty.", AUDIO_INVALID)
    with private_file(data) as path:
        return probe_path(path, demuxers)


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
