"""The live copy of an encode: an HLS EVENT playlist of ~1 s fMP4 segments, written beside the MP4.

One x264 encode feeds both files through ffmpeg's `tee` muxer, so the stream costs no second
encode; its keyframes are forced every SEGMENT_SECONDS so each segment starts with one. The muxer
writes segments and the playlist under temporary names and renames them when complete
(`temp_file`), so whatever a reader finds listed in the playlist is whole. A run that stops
midway leaves a playlist without `#EXT-X-ENDLIST`: `end_playlist` closes it.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .types import ENCODE_FAILED, PipelineError

# Segment lengths (s) by where they start: short at first, so the first is ready ~1 s of frames
# after lip-sync starts, then longer, since every segment starts with a keyframe and keyframes cost
# bytes. A segment of L s starting at a s of playback is ready in time while rendering runs at
# r x real time with L <= 1 + a (r - 1): these need r >= 1.17 (Wav2Lip on 2 cores: ~1.3).
SEGMENT_SCHEDULE = ((0.0, 1), (6.0, 2), (16.0, 3))  # (from second, length)
SEGMENT_SECONDS = SEGMENT_SCHEDULE[0][1]  # the shortest, what the muxer is asked to cut at
MAX_SEGMENT_SECONDS = max(length for _, length in SEGMENT_SCHEDULE)
PLAYLIST = "index.m3u8"
INIT = "init.mp4"  # the fMP4 header every segment needs first (EXT-X-MAP)
SEGMENT_PATTERN = "seg%05d.m4s"
SEGMENT_RE = re.compile(r"^seg\d{5}\.m4s$")
CAPTIONS = "captions.vtt"  # the whole request's cues, written before the first segment
ENDLIST = "#EXT-X-ENDLIST"
# tee's option syntax gives these a meaning; scratch folders never contain them
TEE_SPECIAL = set("[]|:\\'")
_EXTINF_RE = re.compile(r"^#EXTINF:([0-9.]+)")
_TARGET_RE = re.compile(r"^#EXT-X-TARGETDURATION:\d+$", re.M)


@dataclass
class Playlist:
    """What a playlist says: its (segment name, seconds) in order and whether it has ended."""

    segments: list[tuple[str, float]] = field(default_factory=list)
    ended: bool = False
    has_init: bool = False

    @property
    def duration(self) -> float:
        """Seconds listed so far."""
        return sum(seconds for _, seconds in self.segments)


def _tee_path(path: str) -> str:
    """A path as a tee slave's name; refuse the characters tee would read as syntax."""
    if TEE_SPECIAL & set(path):
        raise PipelineError(f"Stream folder {path!r} has a character ffmpeg's tee muxer cannot take.", ENCODE_FAILED)
    return path


def segment_starts(duration: float) -> list[float]:
    """Where segments start (after 0) for `duration` seconds, by SEGMENT_SCHEDULE."""
    starts, t = [], 0.0
    while True:
        length = next(length for start, length in reversed(SEGMENT_SCHEDULE) if t >= start)
        t += length
        if t >= duration:
            return starts
        starts.append(t)


def keyframe_args(duration: float) -> list[str]:
    """x264 options that start a GOP exactly at every segment boundary (no scene-cut keyframes between)."""
    times = ",".join(f"{t:g}" for t in segment_starts(duration)) or "0"
    return ["-force_key_frames", times, "-sc_threshold", "0"]


def tee_output(mp4_path: str, stream_dir: str) -> list[str]:
    """Output options writing the faststart MP4 and the HLS stream from one encode."""
    folder = _tee_path(os.fspath(stream_dir))
    hls = ":".join([
        "f=hls", f"hls_time={SEGMENT_SECONDS}",  # cut at every forced keyframe
        "hls_playlist_type=event", "hls_segment_type=fmp4",
        "hls_flags=temp_file+independent_segments", f"hls_fmp4_init_filename={INIT}",
        f"hls_segment_filename={folder}/{SEGMENT_PATTERN}",
    ])
    return ["-f", "tee", f"[f=mp4:movflags=+faststart]{_tee_path(os.fspath(mp4_path))}|[{hls}]{folder}/{PLAYLIST}"]


def parse_playlist(text: str) -> Playlist:
    """The segments a media playlist lists (name, EXTINF seconds), in order, and its end mark."""
    playlist = Playlist()
    seconds = None
    for raw in text.splitlines():
        line = raw.strip()
        match = _EXTINF_RE.match(line)
        if match:
            seconds = float(match.group(1))
        elif line.startswith("#EXT-X-MAP:"):
            playlist.has_init = True
        elif line == ENDLIST:
            playlist.ended = True
        elif line and not line.startswith("#") and seconds is not None:
            playlist.segments.append((line, seconds))
            seconds = None
    return playlist


def fixed_target(text: str) -> str:
    """The playlist with EXT-X-TARGETDURATION at the longest segment planned (the muxer writes the longest so far,
    and a live playlist's target must not change)."""
    return _TARGET_RE.sub(f"#EXT-X-TARGETDURATION:{MAX_SEGMENT_SECONDS}", text, count=1)


def empty_playlist(ended: bool = False) -> str:
    """A playlist with no segment yet (the request runs, nothing is encoded), or one that ended so."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{MAX_SEGMENT_SECONDS}", "#EXT-X-MEDIA-SEQUENCE:0",
             "#EXT-X-PLAYLIST-TYPE:EVENT"]
    return "\n".join(lines + ([ENDLIST] if ended else [])) + "\n"


def end_playlist(stream_dir: str | os.PathLike) -> Path:
    """Close the folder's playlist with ENDLIST (writing an empty one if none was made); its path."""
    path = Path(stream_dir) / PLAYLIST
    text = path.read_text() if path.exists() else empty_playlist()
    if not parse_playlist(text).ended:
        text = text.rstrip("\n") + "\n" + ENDLIST + "\n"
        partial = path.with_name(f".{PLAYLIST}.end")
        partial.write_text(text)
        os.replace(partial, path)
    return path


def write_captions(stream_dir: str | os.PathLike, vtt: str) -> Path:
    """The stream's WebVTT beside its playlist, renamed into place whole."""
    folder = Path(stream_dir)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{CAPTIONS}.part"
    partial.write_text(vtt, encoding="utf-8")
    return Path(os.replace(partial, folder / CAPTIONS) or folder / CAPTIONS)
