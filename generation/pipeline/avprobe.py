"""What a media file holds, read by FFmpeg's own libraries (PyAV) as objects, in a budgeted child.

`describe` answers the demuxer, duration and streams of a file opened with only the `file`
protocol and the allowed demuxers; or, where it would not open, which demuxer FFmpeg's probing
picked (named by libavformat itself, as `ffmpeg -i` would pick it) and why it failed. `packet_span`
tells a file cut short. probe_run.py calls them in a fork under a CPU, memory and wall-clock budget:
a hostile header costs that child its budget, never the web process. Imports nothing but PyAV and
the standard library.
"""
from __future__ import annotations

import ctypes
import errno
import glob
import os

import av

PROBE_BUF_MIN = 2048  # libavformat's probing: 2 KiB, doubled up to 1 MiB (PROBE_BUF_MIN/MAX in its format.c)
PROBE_BUF_MAX = 1 << 20
PROBE_SCORE_RETRY = 25  # below the largest size a score must beat this (AVPROBE_SCORE_RETRY)
PROBE_PADDING = 64  # zero bytes after the buffer (AVPROBE_PADDING_SIZE is 32)
# mov may reference media in other files ("drefs"); both are FFmpeg's defaults, forced anyway
DEMUXER_OPTIONS = {"enable_drefs": "0", "use_absolute_path": "0"}


class _ProbeData(ctypes.Structure):
    """libavformat's AVProbeData."""

    _fields_ = [("filename", ctypes.c_char_p), ("buf", ctypes.c_char_p), ("buf_size", ctypes.c_int),
                ("mime_type", ctypes.c_char_p)]


def _library(stem: str) -> ctypes.CDLL:
    """One of the FFmpeg libraries PyAV's wheel ships (already loaded by `import av`)."""
    here = os.path.dirname(os.path.dirname(av.__file__))
    found = sorted(glob.glob(os.path.join(here, "av.libs", f"{stem}-*.so*")) or
                   glob.glob(os.path.join(os.path.dirname(av.__file__), ".dylibs", f"{stem}*")))
    return ctypes.CDLL(found[0] if found else f"{stem}.so")


def probed_demuxer(path: str, url: str) -> str | None:
    """The demuxer libavformat's probing picks for `path` (any demuxer, allowed or not), else None."""
    lavf = _library("libavformat")
    lavf.av_probe_input_format3.restype = ctypes.c_void_p
    lavf.av_probe_input_format3.argtypes = [ctypes.POINTER(_ProbeData), ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    with open(path, "rb") as fh:
        head = fh.read(PROBE_BUF_MAX)
    size = PROBE_BUF_MIN
    while True:
        data = head[:size]
        score = ctypes.c_int(0)
        pd = _ProbeData(url.encode(), data + bytes(PROBE_PADDING), len(data), None)
        fmt = lavf.av_probe_input_format3(ctypes.byref(pd), 1, ctypes.byref(score))
        if fmt and score.value > (PROBE_SCORE_RETRY if size < PROBE_BUF_MAX else 0):
            return ctypes.cast(fmt, ctypes.POINTER(ctypes.c_char_p))[0].decode()  # AVInputFormat.name comes first
        if size >= PROBE_BUF_MAX or len(data) < size:
            return None
        size *= 2


def codec_name(codec_id: int) -> str | None:
    """FFmpeg's name of a codec ("mp3", not its decoder "mp3float"), as `ffmpeg -i` prints it."""
    lavc = _library("libavcodec")
    lavc.avcodec_get_name.restype = ctypes.c_char_p
    lavc.avcodec_get_name.argtypes = [ctypes.c_int]
    name = lavc.avcodec_get_name(codec_id)
    return name.decode() if name else None


def _codec(stream) -> str | None:
    context = stream.codec_context
    return codec_name(context.codec.id) if context is not None and context.codec is not None else None


def audio_facts(stream) -> dict:
    """Codec, sample rate, channels and layout name of an audio stream."""
    context = stream.codec_context
    layout = context.layout if context is not None else None
    return {"codec": _codec(stream), "sample_rate": (context.sample_rate or None) if context is not None else None,
            "channels": layout.nb_channels if layout is not None else None,
            "layout": layout.name if layout is not None else None}


def video_facts(stream) -> dict:
    """Codec, pixel format, coded size and the container's average frame rate of a video stream."""
    context = stream.codec_context
    rate = stream.average_rate
    return {"codec": _codec(stream),
            "pix_fmt": context.format.name if context is not None and context.format is not None else None,
            "width": (context.width or None) if context is not None else None,
            "height": (context.height or None) if context is not None else None,
            "fps": float(rate) if rate else None}


def _is_cover_art(stream) -> bool:
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def describe(path: str, demuxers: str) -> dict:
    """The JSON-ready facts of `path` (demuxers: the allowed ones, comma-separated), or why it did not open."""
    url = f"file:{path}"
    options = {"protocol_whitelist": "file", "format_whitelist": demuxers, **DEMUXER_OPTIONS}
    try:
        container = av.open(url, options=options)
    except av.FFmpegError as exc:
        refused = exc.errno == errno.EINVAL  # what libavformat answers for "Format not on whitelist"
        return {"opened": False, "refused": refused, "demuxer": probed_demuxer(path, url),
                "error": exc.strerror or type(exc).__name__}
    with container:
        audio = video = None
        for stream in sorted(container.streams, key=lambda s: s.index):
            if stream.type == "audio" and audio is None:
                audio = audio_facts(stream)
            elif stream.type == "video" and video is None and not _is_cover_art(stream):
                video = video_facts(stream)
        duration = container.duration / av.time_base if container.duration and container.duration > 0 else None
        return {"opened": True, "demuxer": container.format.name, "duration": duration, "audio": audio,
                "video": video}


def packet_span(path: str, demuxer: str) -> dict:
    """How far the first video stream's packets reach (s from its first), beside the length the file states.

    Read with `demuxer` forced, without decoding. A file cut short has an index (or a header) that
    states more than its packets hold: the packets stop early, and `end` falls short of `stated`.
    """
    options = {"protocol_whitelist": "file", "format_whitelist": demuxer, **DEMUXER_OPTIONS}
    with av.open(f"file:{path}", format=demuxer, options=options) as container:
        stream = next(s for s in container.streams if s.type == "video" and not _is_cover_art(s))
        first = end = None
        try:
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                first = packet.pts if first is None else min(first, packet.pts)
                end = max(end or packet.pts, packet.pts + (packet.duration or 0))
        except av.error.InvalidDataError:
            pass  # where the data stops being packets: `end` says how far they went
        stated = None
        if stream.duration:
            stated = float(stream.duration * stream.time_base)
        elif container.duration and container.duration > 0:
            stated = container.duration / av.time_base
        span = float((end - first) * stream.time_base) if first is not None else 0.0
        return {"end": span, "stated": stated}


def quiet() -> None:
    """FFmpeg's log off: the answer is the returned structure, its log is never read."""
    av.logging.set_level(None)


READERS = {"describe": describe, "packets": packet_span}  # what probe_run.run_probe may call by name
