"""Video avatars, the worker's side: prepare a clip once, read prepared frames in any order.

video_check.py decides in the web process whether an upload is accepted. prepare_clip runs once
per avatar in the worker: it checks the bytes again and decodes at
CLIP_FPS with the demuxer the check detected forced, one frame in memory at a time; every frame
goes to a JPEG store while tracking.py follows the main face; then the longest usable stretch is
kept (what was dropped becomes notes), its landmarks smoothed, and the arrays saved as a compressed
.npz beside the frames. ClipReader serves frame i in any order; ClipReader.order says which (loop.py plans the loop).
"""
from __future__ import annotations

import collections
import contextlib
import itertools
import json
import mmap
import os
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import cv2
import numpy as np

from . import ffmpeg
from .faces import clamp_box
from .ffmpeg import VIDEO, media_format
from .loop import SEAM_COST, pingpong, plan, play  # noqa: F401 - pingpong: old preparations play ping-pong
from .mouth_bank import MouthBank, build_bank
from .tracking import (NO_FACE, OK, SECOND_FACE, FaceTracker, breaks, frame_status, mouth_opening, runs,
                       smooth_landmarks, track_boxes)
from .types import CLIP_NO_FACE, CLIP_NO_USABLE_STRETCH, PIPELINE_FAILED, VIDEO_INVALID, VIDEO_UNSUPPORTED, Face, PipelineError
from .video_check import (MAX_CLIP_SECONDS, MAX_SOURCE_SIDE, VIDEO_FORMATS, VideoCheck, check_info,  # noqa: F401
                          inspect_video)

CLIP_FPS = 25
MAX_CLIP_SIDE = 1280  # prepared frames: enough for a face to stay sharp in a 720p result
MIN_STRETCH_SECONDS = 2.0  # shorter, the loop repeats so often that it looks like a twitch
# ffmpeg's budget for decoding and scaling: a 60 s 1080p clip takes ~15 s of one core here (60 fps
# HEVC about three times that); a decoding bomb is stopped long before it hurts the worker.
DECODE_CPU_SECONDS = 240
DECODE_TIMEOUT_SECONDS = 900.0  # wall clock, including the face tracking that paces the decoding
JPEG_QUALITY = 90  # ~5 ms to decode a 720p frame; the result is re-encoded at H.264 crf 23 anyway
DECODE_PROGRESS = 95  # percent reached when the last frame is decoded and tracked
DATA_NAME = "clip.npz"
FRAMES_NAME = "clip.frames"
FORMAT_VERSION = 2  # 2: `transitions` (where the clip loops) and the mouth bank (bank_* arrays); 1: neither
BANK_PREFIX = "bank_"  # the mouth bank's arrays in DATA_NAME
_IMREAD_RGB = getattr(cv2, "IMREAD_COLOR_RGB", None)
REASONS = {NO_FACE: "no_face", SECOND_FACE: "second_face", OK: "cut"}  # why a stretch ends at a frame


@dataclass(frozen=True)
class ClipNote:
    """Something users should know about a prepared clip; times are seconds in the uploaded clip."""

    code: str  # "dropped_no_face" | "dropped_second_face" | "dropped_cut" | "talking" | "loop_turns" | "loop_seam" | "bank_good|some|still|open"
    start: float
    end: float
    share: float | None = None  # bank notes: the share of the clip's frames showing an open mouth


@dataclass
class PreparedClip:
    data_path: Path  # the compressed arrays (.npz)
    frames_path: Path  # the JPEG frames, one after another
    frame_count: int
    width: int
    height: int
    fps: int
    duration: float
    start: float  # the stretch kept, in seconds of the uploaded clip
    end: float
    notes: list[ClipNote] = field(default_factory=list)
    detections: int = 0  # detector runs (for the bench)


# ---- the frame store: JPEGs one after another, and where each starts ----

class FrameWriter:
    """Appends frames as JPEGs to one file; offsets[i]:offsets[i + 1] are frame i's bytes."""

    def __init__(self, path: Path):
        self._fh = open(path, "wb")
        self.offsets = [0]
        self.size: tuple[int, int] | None = None  # (width, height)

    def add(self, frame: np.ndarray) -> None:
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise PipelineError("Cannot encode a frame as JPEG.", PIPELINE_FAILED)
        self._fh.write(jpeg.tobytes())
        self.offsets.append(self.offsets[-1] + len(jpeg))
        self.size = (frame.shape[1], frame.shape[0])

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> "FrameWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def decode_rgb(jpeg: np.ndarray) -> np.ndarray | None:
    """A stored JPEG as RGB uint8 (None if it does not decode), converted by libjpeg itself: no BGR
    array and second pass over the frame (OpenCV >= 4.10's IMREAD_COLOR_RGB; the same pixels)."""
    if _IMREAD_RGB is not None:
        return cv2.imdecode(jpeg, _IMREAD_RGB)
    bgr = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=bgr)


def copy_frames(source: Path, offsets: np.ndarray, start: int, end: int, target: Path) -> np.ndarray:
    """Frames start..end-1 of a store into a new one; their offsets there."""
    with open(source, "rb") as src, open(target, "wb") as dst:
        src.seek(int(offsets[start]))
        remaining = int(offsets[end] - offsets[start])
        while remaining > 0:
            chunk = src.read(min(remaining, 1 << 20))
            if not chunk:
                raise PipelineError("The frame store ended early.", PIPELINE_FAILED)
            dst.write(chunk)
            remaining -= len(chunk)
    return (offsets[start:end + 1] - offsets[start]).astype(np.int64)


# ---- which part of the clip is used ----

def stretches(status: np.ndarray, cut: np.ndarray) -> list[tuple[int, int]]:
    """Runs of usable frames that no cut or change of track interrupts: (start, end), end exclusive."""
    found = []
    for start, end in runs(status == OK):
        edges = [start, *(i for i in range(start + 1, end) if cut[i]), end]
        found += list(zip(edges[:-1], edges[1:]))
    return found


def reason_at(status: np.ndarray, i: int) -> str:
    """Why a stretch cannot go on into frame i."""
    return REASONS[int(status[i])]


def stretch_notes(status: np.ndarray, start: int, end: int, fps: int) -> list[ClipNote]:
    """What was dropped before and after the kept stretch, named by what ended the stretch there."""
    notes = []
    if start > 0:
        notes.append(ClipNote(f"dropped_{reason_at(status, start - 1)}", 0.0, start / fps))
    if end < len(status):
        notes.append(ClipNote(f"dropped_{reason_at(status, end)}", end / fps, len(status) / fps))
    return notes


def choose_stretch(status: np.ndarray, cut: np.ndarray, fps: int, minimum: float) -> tuple[int, int]:
    """The longest usable stretch, at least `minimum` s; else CLIP_NO_FACE or CLIP_NO_USABLE_STRETCH."""
    found = stretches(status, cut)
    if not found:
        if not (status == SECOND_FACE).any():
            raise PipelineError("No face anywhere in the clip.", CLIP_NO_FACE)
        at = int(np.flatnonzero(status == SECOND_FACE)[0])
        raise PipelineError("A second, larger face is in view wherever there is a face.", CLIP_NO_USABLE_STRETCH,
                            {"reason": "second_face", "at": round(at / fps, 2), "longest": 0.0, "minimum": minimum})
    start, end = max(found, key=lambda run: run[1] - run[0])  # the first of equals
    if end - start < round(minimum * fps):
        edge = end if end < len(status) else start
        reason = reason_at(status, end) if end < len(status) else (
            reason_at(status, start - 1) if start > 0 else "short")
        raise PipelineError(f"The longest usable stretch is {(end - start) / fps:.2f} s.", CLIP_NO_USABLE_STRETCH,
                            {"reason": reason, "at": round(edge / fps, 2), "longest": round((end - start) / fps, 2),
                             "minimum": minimum})
    return start, end


def loop_note(transitions: np.ndarray, cost: float, start: int, fps: int) -> ClipNote | None:
    """A note when the clip cannot loop unseen: it turns back (between where), or jumps (back to where, from)."""
    if len(transitions) == 0:
        return None
    if (transitions[:, 0] == transitions[:, 1]).all():
        lo, hi = int(transitions[:, 0].min()), int(transitions[:, 0].max())
        return ClipNote("loop_turns", float(start + lo) / fps, float(start + hi + 1) / fps)
    if cost <= SEAM_COST:
        return None
    i, j = (int(v) for v in transitions[0])
    return ClipNote("loop_seam", float(start + j) / fps, float(start + i + 1) / fps)


def bank_note(bank: dict, start: int, end: int) -> ClipNote:
    """How well the clip's own mouths cover speech, over the kept stretch."""
    found = json.loads(str(bank["bank_coverage"]))
    return ClipNote(found["code"], start / CLIP_FPS, end / CLIP_FPS, found["share"])


@contextlib.contextmanager
def _store_reader(path: Path, offsets: np.ndarray) -> Iterator[Callable[[int], np.ndarray]]:
    """frame(k) of a JPEG store (RGB), memory-mapped (a minute of frames is ~150 MB), for indexing the bank."""
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as store:
        def frame(k: int) -> np.ndarray:
            data = np.frombuffer(store, np.uint8, int(offsets[k + 1] - offsets[k]), int(offsets[k]))
            rgb = decode_rgb(data)
            del data  # no view may outlive the map
            if rgb is None:
                raise PipelineError(f"Prepared frame {k} does not decode.", PIPELINE_FAILED)
            return rgb

        yield frame


# ---- preparation ----

class _Progress:
    """Calls the callback with whole percents, each at most once, never backwards."""

    def __init__(self, callback: Callable[[int], None] | None):
        self._callback, self._last = callback, -1

    def __call__(self, percent: float) -> None:
        value = int(max(0, min(100, percent)))
        if self._callback is not None and value > self._last:
            self._last = value
            self._callback(value)


FRAME_QUEUE = 12  # decoded frames the reader may be ahead of the tracker (~33 MB at 1280x720)
_POLL_SECONDS = 0.1  # how often a reader blocked on a full queue looks whether the tracker gave up


def _read_and_store(frames, writer: FrameWriter, handoff: queue.Queue, stop: threading.Event) -> None:
    """The reader thread: every decoded frame into the JPEG store, then to the tracker through `handoff`;
    None at the end, or the exception that ended it. Stops (closing ffmpeg) once `stop` is set."""
    def hand(item) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                pass
        return False

    try:
        with contextlib.closing(frames):
            for frame in frames:
                writer.add(frame)
                if not hand(frame):
                    return
        hand(None)
    except BaseException as exc:  # noqa: BLE001 - raised again in the tracking thread
        hand(exc)


def _decode_and_track(path, check: VideoCheck, analyzer, max_seconds: float, frames_path: Path,
                      progress: _Progress):
    """Stream the frames into the JPEG store and the face tracker; (observations, offsets, size, detections).

    A reader thread takes ffmpeg's frames off the pipe and stores them as JPEGs while this thread
    tracks: reading, JPEG encoding and dlib all release the GIL, so ffmpeg, the store and the tracker
    use both cores, the reader at most FRAME_QUEUE frames ahead. The reader's error (too long, cut
    short, over budget) is raised here after the frames before it, as a plain loop would.
    """
    expected = max(1.0, check.duration * CLIP_FPS)
    tracker = FaceTracker(analyzer)
    frames = ffmpeg.read_frames(path, check.demuxer, (check.demuxer,), fps=CLIP_FPS, max_side=MAX_CLIP_SIDE,
                                max_seconds=max_seconds, cpu_seconds=DECODE_CPU_SECONDS,
                                timeout=DECODE_TIMEOUT_SECONDS)
    handoff: queue.Queue = queue.Queue(FRAME_QUEUE)
    stop = threading.Event()
    with FrameWriter(frames_path) as writer:
        reader = threading.Thread(target=_read_and_store, args=(frames, writer, handoff, stop),
                                  name="clip-reader", daemon=True)
        reader.start()
        try:
            count = 0
            while (item := handoff.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                count += 1
                tracker.add(item)
                progress(min(DECODE_PROGRESS - 1, DECODE_PROGRESS * count / expected))
        finally:
            stop.set()
            reader.join()
    return tracker.finish(), np.array(writer.offsets, np.int64), writer.size, tracker.detections


def _save_arrays(path: Path, **arrays) -> None:
    """A compressed .npz written under a temporary name, then moved into place."""
    part = path.with_name(path.name + ".part")
    with open(part, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    os.replace(part, path)


def prepare_clip(data: bytes, demuxer: str, out_dir: Path, analyzer, progress: Callable[[int], None] | None = None,
                 *, max_seconds: float = MAX_CLIP_SECONDS, max_side: int = MAX_SOURCE_SIDE) -> PreparedClip:
    """Decode, track and store one clip (writes DATA_NAME and FRAMES_NAME into `out_dir`).

    `demuxer` is VideoCheck.demuxer from inspect_video; `analyzer` a faces.FaceAnalyzer; `progress`
    gets whole percents. Raises PipelineError: the inspect_video codes (the bytes are checked again),
    CLIP_NO_FACE, or CLIP_NO_USABLE_STRETCH {reason: no_face|second_face|cut|short, at, longest, minimum}.
    """
    fmt = media_format(demuxer, VIDEO_FORMATS)
    if fmt is None or fmt.demuxer != demuxer:
        raise PipelineError(f"Demuxer {demuxer!r} is not one we decode.", VIDEO_UNSUPPORTED)
    if not data:
        raise PipelineError("The data is empty.", VIDEO_INVALID)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = _Progress(progress)
    report(0)
    all_frames = out_dir / (FRAMES_NAME + ".all")
    try:
        with ffmpeg.private_file(bytes(data)) as path:
            check = check_info(ffmpeg.probe_path(path, (demuxer,), expect=VIDEO), path, max_seconds, max_side)
            obs, offsets, size, detections = _decode_and_track(path, check, analyzer, max_seconds, all_frames, report)
        status = frame_status(obs)
        start, end = choose_stretch(status, breaks(obs), CLIP_FPS, MIN_STRETCH_SECONDS)
        notes = stretch_notes(status, start, end, CLIP_FPS)
        raw = obs.landmarks[start:end]
        landmarks = smooth_landmarks(raw)
        mouth = mouth_opening(landmarks)
        transitions, cost = plan(landmarks, raw, obs.thumbs[start:end])
        # a clip of natural speech is the best kind now (the mouth bank learns from it): no "talking" note
        notes += [note for note in (loop_note(transitions, cost, start, CLIP_FPS),) if note]
        frames_path, data_path = out_dir / FRAMES_NAME, out_dir / DATA_NAME
        if start == 0 and end == len(obs):
            os.replace(all_frames, frames_path)
            kept = offsets
        else:
            part = out_dir / (FRAMES_NAME + ".part")
            kept = copy_frames(all_frames, offsets, start, end, part)
            os.replace(part, frames_path)
        with _store_reader(frames_path, kept) as frame:
            bank = build_bank(frame, landmarks)
        report(DECODE_PROGRESS + 3)
        notes.append(bank_note(bank, start, end))
        _save_arrays(data_path, version=np.int32(FORMAT_VERSION), width=np.int32(size[0]),
                     height=np.int32(size[1]), fps=np.int32(CLIP_FPS), start=np.float64(start / CLIP_FPS),
                     end=np.float64(end / CLIP_FPS), offsets=kept, landmarks=landmarks, raw_landmarks=raw,
                     boxes=track_boxes(landmarks, obs.coefficients[start:end]), mouth_open=mouth,
                     transitions=transitions,
                     notes=np.array(json.dumps([vars(n) for n in notes])), **bank)
    finally:
        for leftover in (all_frames, out_dir / (FRAMES_NAME + ".part")):
            leftover.unlink(missing_ok=True)
    report(100)
    return PreparedClip(data_path, frames_path, end - start, size[0], size[1], CLIP_FPS, (end - start) / CLIP_FPS,
                        start / CLIP_FPS, end / CLIP_FPS, notes, detections)


# ---- reading a prepared clip ----

DECODE_AHEAD = 3  # frames decoded ahead of the one being drawn

class ClipReader:
    """A prepared clip: per-frame arrays in memory, frames decoded on demand from a memory-mapped store."""

    def __init__(self, data_path: str | os.PathLike, frames_path: str | os.PathLike):
        self._data_path = data_path
        with np.load(data_path, allow_pickle=False) as npz:  # the bank's crops only when an engine asks
            arrays = {key: npz[key] for key in npz.files if not key.startswith(BANK_PREFIX)}
            self._has_bank = any(key.startswith(BANK_PREFIX) for key in npz.files)
        self.width, self.height = int(arrays["width"]), int(arrays["height"])
        self.fps = int(arrays["fps"])
        self.start, self.end = float(arrays["start"]), float(arrays["end"])
        self.landmarks: np.ndarray = arrays["landmarks"]
        self.raw_landmarks: np.ndarray = arrays["raw_landmarks"]
        self.boxes: np.ndarray = arrays["boxes"]
        self.mouth_open: np.ndarray = arrays["mouth_open"]
        self.notes = [ClipNote(**note) for note in json.loads(str(arrays["notes"]))]
        self.transitions = arrays.get("transitions")  # None in version 1: ping-pong
        self._order = np.zeros(0, np.int64)
        self._bank: MouthBank | None = None
        self._offsets = arrays["offsets"]
        self.frame_count = len(self._offsets) - 1
        # read with pread, not memory-mapped: every mapped page a render touched stayed in the worker's
        # resident set (a 60 s 720p clip's store is ~100 MB; the RSS target is a hard 800 MB)
        self._store = open(frames_path, "rb", buffering=0)
        size = os.fstat(self._store.fileno()).st_size
        if size != int(self._offsets[-1]) or len(self.landmarks) != self.frame_count:
            self._store.close()
            raise PipelineError("The prepared clip's frames do not match its arrays.", PIPELINE_FAILED)

    @property
    def bank(self) -> MouthBank | None:
        """The clip's mouth bank, loaded on first use (Wav2Lip never needs it); None in a file from before banks."""
        if self._has_bank and self._bank is None:
            with np.load(self._data_path, allow_pickle=False) as npz:
                self._bank = MouthBank.from_arrays({k: npz[k] for k in npz.files if k.startswith(BANK_PREFIX)})
        return self._bank

    @bank.setter
    def bank(self, value: MouthBank | None) -> None:
        self._bank, self._has_bank = value, value is not None

    def frame(self, i: int) -> np.ndarray:
        """Prepared frame i as RGB uint8 (H, W, 3)."""
        if not 0 <= i < self.frame_count:
            raise IndexError(f"frame {i} of {self.frame_count}")
        start, end = int(self._offsets[i]), int(self._offsets[i + 1])
        rgb = decode_rgb(np.frombuffer(os.pread(self._store.fileno(), end - start, start), np.uint8))
        if rgb is None:
            raise PipelineError(f"Prepared frame {i} does not decode.", PIPELINE_FAILED)
        return rgb

    def frames(self, indices: Iterable[int], ahead: int = DECODE_AHEAD) -> Iterator[np.ndarray]:
        """frame(k) for each k in order, decoded up to `ahead` frames early in a thread.

        JPEG decoding releases the GIL, so the next frames decode on the other core while the engine
        draws this one: a 720p frame takes ~3 ms to decode, a third of what drawing it costs.
        """
        from concurrent.futures import ThreadPoolExecutor

        wanted = iter(indices)
        with ThreadPoolExecutor(1, thread_name_prefix="clip-decode") as pool:
            pending = collections.deque(pool.submit(self.frame, k) for k in itertools.islice(wanted, ahead))
            while pending:
                frame = pending.popleft().result()
                for k in itertools.islice(wanted, 1):
                    pending.append(pool.submit(self.frame, k))
                yield frame

    def order(self, n: int) -> np.ndarray:
        """The prepared frames shown as output frames 0..n-1: forward, looping at the planned transition."""
        if len(self._order) < n:  # kept: Wav2Lip asks batch by batch
            self._order = play(self.transitions, self.frame_count, max(n, 2 * len(self._order)))
        return self._order[:n]

    def face(self, i: int) -> Face:
        """The tracked face of prepared frame i (box clamped into the frame)."""
        return Face(box=clamp_box(*self.boxes[i], self.width, self.height), landmarks=self.landmarks[i].copy(),
                    image_size=(self.width, self.height))

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> "ClipReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

