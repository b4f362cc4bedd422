"""Is an upload a video avatar we accept? Probed only, never decoded: this runs in the web process.

The headers are read (avprobe.py, PyAV) under the same hardening as audio (private neutrally named copy, `file`
protocol only, container and codec allow-lists, CPU/time budgets). No cv2, no dlib: the web
process imports this module; clip.py (the worker's side) builds on it.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import ffmpeg
from .ffmpeg import VIDEO, MediaFormat, media_format
from .types import (VIDEO_FRAME_RATE, VIDEO_INVALID, VIDEO_TOO_LARGE, VIDEO_TOO_LONG, VIDEO_UNSUPPORTED,
                    PipelineError)

from .limits import MAX_CLIP_SECONDS, MAX_SOURCE_FPS, MAX_SOURCE_SIDE  # noqa: F401  (defined once, there)

FPS_TOLERANCE = 1.0  # 59.94 and rounding in headers
# Codecs of phones (h264, hevc), browsers' recorders (vp8, vp9, av1, h264), webcams and cameras
# (h264, mpeg4): ffmpeg's most used and most fuzzed decoders. Refused: picture codecs (mjpeg, png,
# gif, ...: an image sequence in a container, or a decompression bomb), uncompressed and
# editing codecs (rawvideo, prores, dnxhd: huge files), and the long tail nobody records with.
VIDEO_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"})
WEBM_CODECS = frozenset({"vp8", "vp9", "av1"})  # what WebM allows; other Matroska is stored as .mkv
VIDEO_FORMATS: dict[str, MediaFormat] = {f.demuxer: f for f in (
    MediaFormat("mov", ".mp4", "video/mp4"),  # ffmpeg's "mov,mp4,m4a,3gp,3g2,mj2": MOV and MP4 are one family
    MediaFormat("matroska", ".webm", "video/webm"),  # ffmpeg's "matroska,webm"
)}
MATROSKA = MediaFormat("matroska", ".mkv", "video/x-matroska")
VIDEO_DEMUXERS = tuple(VIDEO_FORMATS)
LIMIT_TOLERANCE_SECONDS = 0.1  # container rounding: a clip of exactly the limit stays accepted


@dataclass(frozen=True)
class VideoCheck:
    """An upload that passed inspection. width/height are as coded (a phone's portrait clip may be
    stored landscape with a rotation); fps is 0.0 where the container does not state it."""

    demuxer: str  # what prepare_clip forces (a VIDEO_FORMATS key)
    extension: str  # what to store it as: ".mp4", ".webm" or ".mkv"
    codec: str
    width: int
    height: int
    duration: float
    fps: float
    mime: str = ""


def video_format(demuxer: str | None, codec: str | None = None) -> MediaFormat | None:
    """How an accepted container is stored and served (Matroska as .webm only with WebM's codecs)."""
    fmt = media_format(demuxer, VIDEO_FORMATS)
    if fmt is not None and fmt.demuxer == "matroska" and codec not in WEBM_CODECS:
        return MATROSKA
    return fmt


def check_info(info: ffmpeg.MediaInfo, path, max_seconds: float, max_side: int) -> VideoCheck:
    """Refuse what is not an accepted video within the limits; `path` is read again only for a length
    the header does not state."""
    fmt = media_format(info.demuxer, VIDEO_FORMATS)
    if fmt is None:
        raise PipelineError(f"The data is in a format that is not accepted ({info.demuxer}).", VIDEO_UNSUPPORTED)
    stream = info.video
    if stream is None or not stream.codec:
        raise PipelineError(f"The {fmt.demuxer} file holds no video stream.", VIDEO_INVALID)
    if stream.codec not in VIDEO_CODECS:
        raise PipelineError(f"Video codec {stream.codec!r} is not accepted.", VIDEO_UNSUPPORTED,
                            {"codec": stream.codec})
    if not stream.width or not stream.height:
        raise PipelineError(f"The {stream.codec} stream states no picture size.", VIDEO_INVALID)
    if max(stream.width, stream.height) > max_side:
        raise PipelineError(f"The video is {stream.width}x{stream.height}, over {max_side} px.", VIDEO_TOO_LARGE,
                            {"width": stream.width, "height": stream.height, "limit": max_side})
    if stream.fps and stream.fps > MAX_SOURCE_FPS + FPS_TOLERANCE:
        raise PipelineError(f"The video claims {stream.fps:g} frames/s, over {MAX_SOURCE_FPS}.", VIDEO_FRAME_RATE,
                            {"fps": round(stream.fps), "limit": MAX_SOURCE_FPS})
    duration, packets = info.duration, None
    if not duration or not stream.fps:  # the header does not say: count what is there, without decoding
        end, packets = ffmpeg.packet_stats(path, fmt.demuxer, (fmt.demuxer,))
        duration = duration or end
    if not duration or duration <= 0:
        raise PipelineError("The video's length cannot be read.", VIDEO_INVALID)
    if packets and packets / max(duration, 1.0) > MAX_SOURCE_FPS + FPS_TOLERANCE:
        raise PipelineError(f"The video holds {packets} frames in {duration:.1f} s.", VIDEO_FRAME_RATE,
                            {"fps": round(packets / max(duration, 1.0)), "limit": MAX_SOURCE_FPS})
    if duration > max_seconds + LIMIT_TOLERANCE_SECONDS:
        raise PipelineError(f"The video is {duration:.1f} s long, over {max_seconds:g} s.", VIDEO_TOO_LONG,
                            {"seconds": round(duration, 1), "limit": max_seconds})
    stored = video_format(fmt.demuxer, stream.codec)
    return VideoCheck(fmt.demuxer, stored.extension, stream.codec, stream.width, stream.height, duration,
                      float(stream.fps or 0.0), stored.mime)


def inspect_video(data: bytes, max_seconds: float = MAX_CLIP_SECONDS, max_side: int = MAX_SOURCE_SIDE) -> VideoCheck:
    """Probe an upload without decoding it: an accepted container and codec within the limits, or a
    PipelineError with VIDEO_INVALID, VIDEO_UNSUPPORTED, VIDEO_TOO_LONG {seconds, limit},
    VIDEO_TOO_LARGE {width, height, limit} or VIDEO_FRAME_RATE {fps, limit}."""
    if not data:
        raise PipelineError("The data is empty.", VIDEO_INVALID)
    with ffmpeg.private_file(bytes(data)) as path:
        return check_info(ffmpeg.probe_path(path, VIDEO_DEMUXERS, expect=VIDEO), path, max_seconds, max_side)
