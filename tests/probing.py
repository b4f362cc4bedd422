"""What is inside an MP4 we made: codecs, size, exact frame count (tests only; the product never asks)."""
from __future__ import annotations

import os
import re
import subprocess

from generation.pipeline import ffmpeg as ff
from generation.pipeline.types import PIPELINE_FAILED, PipelineError

PROBE_TIMEOUT = 120


def _run_ffmpeg(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=PROBE_TIMEOUT)

_FRAME_RE = re.compile(rb"frame=\s*(\d+)")
_TIME_RE = re.compile(rb"time=\s*(\d+):(\d+):(\d+(?:\.\d+)?)")


def info_dict(info: ff.MediaInfo) -> dict:
    """The flat dict `probe` returns, from ffmpeg.probe_path's MediaInfo."""
    audio, video = info.audio, info.video
    return {
        "format": info.demuxer, "duration": info.duration,
        "video_codec": video.codec if video else None, "pix_fmt": video.pix_fmt if video else None,
        "width": video.width if video else None, "height": video.height if video else None,
        "fps": video.fps if video else None,
        "audio_codec": audio.codec if audio else None,
        "audio_sample_rate": audio.sample_rate if audio else None,
        "audio_channels": audio.channels if audio else None,
    }


def _stream_duration(exe: str, path: str, selector: str) -> tuple[int | None, float | None]:
    """(packets, end time) of one stream, read by remuxing it to nowhere (no decoding)."""
    result = _run_ffmpeg([exe, "-hide_banner", "-nostdin", *ff.input_options(), "-i", f"file:{path}",
                   "-map", selector, "-c", "copy", "-f", "null", "-"])
    if result.returncode != 0:
        return None, None
    log = result.stderr
    frames = _FRAME_RE.findall(log)
    times = _TIME_RE.findall(log)
    seconds = None
    if times:
        h, m, s = times[-1]
        seconds = int(h) * 3600 + int(m) * 60 + float(s)
    return (int(frames[-1]) if frames else None), seconds


def probe(path: str | os.PathLike, count_frames: bool = False, ffmpeg: str | None = None) -> dict:
    """Codecs, size, fps, duration and pix_fmt of one of our media files; exact frame count on request.

    Read by ffmpeg.probe_path, under its whitelists. With count_frames, adds `frames` (video
    packets, one per frame for H.264 in MP4) and `audio_duration` (end time of the audio stream).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise PipelineError(f"No such media file: {path}", PIPELINE_FAILED)
    try:
        info = ff.probe_path(path)
    except PipelineError as exc:
        raise PipelineError(f"Not a readable media file: {exc}", PIPELINE_FAILED) from exc
    if info.audio is None and info.video is None:
        raise PipelineError("Not a readable media file: it has no audio or video stream.", PIPELINE_FAILED)
    result = info_dict(info)
    if count_frames:
        exe = ffmpeg or ff.ffmpeg_exe()
        result["frames"] = _stream_duration(exe, path, "0:v:0")[0] if info.video else 0
        result["audio_duration"] = _stream_duration(exe, path, "0:a:0")[1] if info.audio else None
    return result


