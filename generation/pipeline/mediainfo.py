"""What a media file holds, as objects: the one reader of avprobe.py's answer, for the product and the tests.

Kept apart from ffmpeg.py (which runs the children) and re-exported there, so both stay short.
The facts come from FFmpeg's libraries as structures (avprobe.py, PyAV), never from a log: a file's
own metadata cannot imitate them.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AudioStream:
    codec: str | None
    sample_rate: int | None
    channels: int | None
    layout: str | None  # FFmpeg's name of the layout: "mono", "stereo", "7.1", "10 channels", ...


@dataclass(frozen=True)
class VideoStream:
    codec: str | None
    pix_fmt: str | None
    width: int | None
    height: int | None
    fps: float | None  # the container's average frame rate; None where it states none


@dataclass(frozen=True)
class MediaInfo:
    """A probed input: its demuxer, duration and first audio and video stream (never cover art)."""

    demuxer: str | None  # FFmpeg's name, e.g. "mp3" or "mov,mp4,m4a,3gp,3g2,mj2"
    duration: float | None
    audio: AudioStream | None
    video: VideoStream | None
    opened: bool = True  # False: FFmpeg's probing picked `demuxer` but it would not open (not on the whitelist)


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


def audio_stream(facts: dict | None) -> AudioStream | None:
    """An AudioStream from avprobe's dict of one (None stays None)."""
    if not isinstance(facts, dict):
        return None
    return AudioStream(_text(facts.get("codec")), _int(facts.get("sample_rate")), _int(facts.get("channels")),
                       _text(facts.get("layout")))


def video_stream(facts: dict | None) -> VideoStream | None:
    """A VideoStream from avprobe's dict of one (None stays None)."""
    if not isinstance(facts, dict):
        return None
    return VideoStream(_text(facts.get("codec")), _text(facts.get("pix_fmt")), _int(facts.get("width")),
                       _int(facts.get("height")), _number(facts.get("fps")))


def media_info(facts: dict) -> MediaInfo:
    """MediaInfo from avprobe's answer."""
    return MediaInfo(_text(facts.get("demuxer")), _number(facts.get("duration")), audio_stream(facts.get("audio")),
                     video_stream(facts.get("video")), opened=bool(facts.get("opened")))
