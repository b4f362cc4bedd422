"""What `ffmpeg -i` says about an input: the one parser of its log, for the product and the tests.

Kept apart from ffmpeg.py (which runs the binary) and re-exported there, so both stay short.
The log also prints what a file's own metadata says, and a tag name may hold line breaks: every
pattern here is anchored and indented exactly as ffmpeg prints its own lines, and parse_info
flags a log whose once-only lines repeat (see there).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

ATTACHED_PICTURE = "(attached pic)"  # cover art shown as a video stream: never the video itself


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
    """MediaInfo from the log `ffmpeg -i INPUT` prints; the audio and the video stream of lowest index win
    (cover art is not a video stream: `-map 0:V:0` skips it the same way).

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
        elif kind == "Video" and video is None and ATTACHED_PICTURE not in spec:
            video = parse_video_stream(spec)
    consistent = len(inputs) <= 1 and len(durations) <= 1 and not repeated
    return MediaInfo(demuxer, duration, audio, video, opened=bool(inputs), consistent=consistent)
