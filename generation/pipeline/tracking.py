"""Follow the main face through a clip's frames: detector on key frames, landmarks on every frame, smoothing.

Pass 1, streaming (FaceTracker): frames come in blocks of KEYFRAME_INTERVAL and the last frame of a
block is its key frame. dlib's HOG detector (tens of ms a frame) runs on the key frame only; every
frame gets the 68 landmarks (~3 ms), predicted from a box that the previous frame's landmarks give.
When the key frame agrees with where the landmarks led (the same face, nothing new, no shot change,
no jump), the block is done; otherwise the detector runs on every frame of the block again, so that
a face lost or found, a competing face or a cut is placed on its exact frame.
Pass 2, on the per-frame arrays only: what each frame is (usable, faceless, a second face), where
shots change, and zero-phase smoothing, so landmarks neither jitter nor lag.
"""
from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from .landmarks import INNER_LIP_PAIRS, LEFT_EYE, MOUTH_CORNERS, NOSE_BASE, NOSE_BRIDGE, NUM_LANDMARKS, RIGHT_EYE

# hyper-parameters
KEYFRAME_INTERVAL = 10  # 0.4 s at 25 fps: what moves in between is followed by the landmarks
DETECT_FACE_PX = 110  # the followed face's width in the detector's image: dlib's HOG finds faces from ~80 px
SEARCH_SIDE = 640  # long side of the detector's image while no face is followed (it retries 2x upsampled)
MATCH_IOU = 0.3  # a detection overlapping the followed face this much is that face
REANCHOR_IOU = 0.5  # landmarks drifted off the detection this far: restart them from the detection's box
LOST_AFTER = 3  # detector misses in a row that end a track (fewer: motion blur, a hand, a turn)
JUMP_FRACTION = 0.2  # the face box moving this share of its width in one frame is checked by the detector
SCALE_JUMP = 1.25  # ... and so is its width changing by this factor
SECOND_FACE_RATIO = 0.9  # another face this large (by area) competes for "the largest face"
MIN_EVENT_FRAMES = 3  # a second face seen on fewer frames in a row is a false detection
REFINE_FRACTION = 0.05  # landmarks off the box they started from by this much are found again from theirs
CALIBRATION_MEMORY = 20  # detections averaged into the landmarks -> detector-box relation
THUMB_SIDE = 32  # frames are compared as 32x32 thumbnails (~1 ms), enough to see a cut
CUT_MIN_CHANGE = 0.03  # mean absolute thumbnail difference (of 1) below which nothing is a cut
CUT_SPIKE = 4.0  # ... and a cut is this many times the change of the frames around it
CUT_FLOOR = 0.004  # encoder noise: the least change counted as "the frames around"
CUT_CONTEXT = 5  # frames each side that a cut must stand out from
# Head pose (position, size, roll) is smoothed by local quadratic fits over POSE_WINDOW frames
# (Savitzky-Golay): as quiet as a Gaussian of sigma 1.5 but exact for steady acceleration, so a head
# moving fast is not cut short (a Gaussian there was off by 5% of the face width at 23 px/frame).
POSE_WINDOW = 11
POSE_ORDER = 2
SHAPE_SIGMA = 1.0  # frames: expression (mouth, blinks) in the head's frame, lightly: it is quick
# points that move with the head but not with speech or expression: nose, eyes, jaw beside the ears
RIGID_POINTS = np.array([*NOSE_BRIDGE, *NOSE_BASE, *RIGHT_EYE, *LEFT_EYE, 0, 1, 15, 16])

OK, NO_FACE, SECOND_FACE = 0, 1, 2  # frame status


def box_area(box) -> float:
    """Area of a (left, top, right, bottom) box."""
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def iou(a, b) -> float:
    """Intersection over union of two boxes."""
    inter = box_area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))
    union = box_area(a) + box_area(b) - inter
    return inter / union if union > 0 else 0.0


def landmark_frame(points: np.ndarray) -> tuple[float, float, float]:
    """Centre and size (RMS radius) of the rigid points: a face frame that speech does not move."""
    rigid = points[RIGID_POINTS]
    centre = rigid.mean(axis=0)
    return float(centre[0]), float(centre[1]), float(np.sqrt(((rigid - centre) ** 2).sum(axis=1).mean()))


def box_coefficients(box, points: np.ndarray) -> np.ndarray:
    """A detector box in units of the landmarks' face frame (constant while the same face moves)."""
    cx, cy, size = landmark_frame(points)
    return (np.asarray(box, np.float64) - (cx, cy, cx, cy)) / max(size, 1e-6)


def box_from_landmarks(points: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """The box the detector would give for these landmarks (inverse of box_coefficients)."""
    cx, cy, size = landmark_frame(points)
    return np.array([cx, cy, cx, cy]) + coefficients * size


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """A tiny grey float copy of a frame, for measuring how much the picture changes."""
    step = max(1, min(frame.shape[:2]) // (4 * THUMB_SIDE))  # every step-th pixel first: 10x cheaper, same result
    grey = cv2.cvtColor(cv2.resize(np.ascontiguousarray(frame[::step, ::step]), (THUMB_SIDE, THUMB_SIDE),
                                   interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    return grey.astype(np.float32) / 255.0


def cut_level(changes) -> float:
    """How much frames usually change around a candidate cut (the median, at least the noise floor)."""
    return max(float(np.median(changes)) if len(changes) else 0.0, CUT_FLOOR)


def is_spike(change: float, level: float) -> bool:
    """A change large in itself and against the level around it: a cut, not motion."""
    return change >= CUT_MIN_CHANGE and change >= CUT_SPIKE * level


def shot_changes(change: np.ndarray) -> np.ndarray:
    """Frames that start a new shot: spikes of picture change above the frames before and after."""
    cuts = np.zeros(len(change), bool)
    for i in range(1, len(change)):
        before = change[max(1, i - CUT_CONTEXT):i]
        after = change[i + 1:i + 1 + CUT_CONTEXT]
        cuts[i] = is_spike(change[i], max(cut_level(before), cut_level(after)))
    return cuts


@dataclass
class Observations:
    """Pass 1's per-frame findings, arrays of one row per decoded frame."""

    landmarks: np.ndarray  # (n, 68, 2) float32, raw; NaN where no face was followed
    track: np.ndarray  # (n,) int32: which continuous face track the frame belongs to, -1 none
    detected: np.ndarray  # (n,) bool: the detector ran on the frame
    missed: np.ndarray  # (n,) bool: it ran and did not find the followed face
    competitor: np.ndarray  # (n,) bool: another face at least about as large is in view
    coefficients: np.ndarray  # (n, 4) float32: detector box in landmark units where it matched; NaN else
    change: np.ndarray  # (n,) float32: picture change from the previous frame
    thumbs: np.ndarray | None = None  # (n, THUMB_SIDE, THUMB_SIDE) uint8 grey thumbnails (loop.py matches them)

    def __len__(self) -> int:
        return len(self.track)


@dataclass
class _State:
    """What the tracker carries from one block to the next."""

    track: int = -1
    landmarks: np.ndarray | None = None
    velocity: np.ndarray | None = None  # the box's change over the last frame
    coefficients: np.ndarray | None = None
    calibrations: int = 0
    misses: int = 0
    competitor: bool = False
    next_track: int = 0


class FaceTracker:
    """Feed frames in order with add(), then finish() for the Observations; holds one block of frames."""

    def __init__(self, analyzer, interval: int = KEYFRAME_INTERVAL):
        self._analyzer = analyzer
        self._interval = interval
        self._block: list[tuple[np.ndarray, float, bool]] = []  # frame, change, cut hint
        self._state = _State()
        self._rows: list[dict] = []
        self._thumb: np.ndarray | None = None
        self._thumbs: list[np.ndarray] = []
        self._recent: deque[float] = deque(maxlen=CUT_CONTEXT)
        self.detections = 0  # detector runs, for the record

    def add(self, frame: np.ndarray) -> None:
        """One decoded RGB frame (kept until its block's key frame arrives)."""
        thumb = thumbnail(frame)
        change = 0.0 if self._thumb is None else float(np.abs(thumb - self._thumb).mean())
        hint = self._thumb is not None and is_spike(change, cut_level(list(self._recent)))
        self._thumb = thumb
        self._thumbs.append(np.round(thumb * 255).astype(np.uint8))
        self._recent.append(change)
        self._block.append((frame, change, hint))
        if len(self._block) >= self._interval:
            self._flush()

    def finish(self) -> Observations:
        """The findings for every frame added."""
        if self._block:
            self._flush()
        n = len(self._rows)
        landmarks = np.full((n, NUM_LANDMARKS, 2), np.nan, np.float32)
        coefficients = np.full((n, 4), np.nan, np.float32)
        for i, row in enumerate(self._rows):
            if row["landmarks"] is not None:
                landmarks[i] = row["landmarks"]
            if row["coefficients"] is not None:
                coefficients[i] = row["coefficients"]
        column = lambda key, dtype: np.array([row[key] for row in self._rows], dtype)  # noqa: E731
        return Observations(landmarks, column("track", np.int32), column("detected", bool), column("missed", bool),
                            column("competitor", bool), coefficients, column("change", np.float32),
                            np.array(self._thumbs, np.uint8).reshape(-1, THUMB_SIDE, THUMB_SIDE))

    def _detect(self, frame: np.ndarray, scale: float) -> list[tuple[float, float, float, float]]:
        """All faces of a frame (prepared-frame pixels), seen at `scale`."""
        self.detections += 1
        small = frame
        if scale < 1.0:
            h, w = frame.shape[:2]
            small = cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))),
                               interpolation=cv2.INTER_AREA)
        return [tuple(v / scale for v in box) for box in self._analyzer.detect(small)]

    def _scale(self, shape) -> float:
        """Detector scale for this block: the followed face at DETECT_FACE_PX, else the search size."""
        state = self._state
        if state.track >= 0:
            box = box_from_landmarks(state.landmarks, state.coefficients)
            return min(1.0, DETECT_FACE_PX / max(box[2] - box[0], 1.0))
        return min(1.0, SEARCH_SIDE / max(shape[:2]))

    def _flush(self) -> None:
        """Track through the block: key frame only when all agrees, else the detector on every frame."""
        frames = [frame for frame, _, _ in self._block]
        scale = self._scale(frames[0].shape)
        last = len(frames) - 1
        detections: dict[int, list] = {}
        dense = any(hint for _, _, hint in self._block)
        if not dense:
            detections[last] = self._detect(frames[last], scale)
            rows, state, uncertain = self._run(detections)
            dense = uncertain
        if dense:
            for i, frame in enumerate(frames):
                if i not in detections:
                    detections[i] = self._detect(frame, scale)
            rows, state, _ = self._run(detections)
        self._rows.extend(rows)
        self._state = state
        self._block.clear()

    def _run(self, detections: dict[int, list]) -> tuple[list[dict], _State, bool]:
        """Follow the face through the block with the detections given; whether something needs a closer look."""
        state = dataclasses.replace(self._state)
        rows, uncertain = [], False
        for i, (frame, change, hint) in enumerate(self._block):
            found = detections.get(i)
            row = {"landmarks": None, "track": -1, "detected": found is not None, "missed": False,
                   "competitor": False, "coefficients": None, "change": change}
            if state.track >= 0:
                uncertain |= self._follow(frame, found, hint, state, row)
            if row["track"] < 0 and found:
                self._start(frame, found, state, row)
                uncertain = True
            rows.append(row)
        return rows, state, uncertain

    def _follow(self, frame, found, hint: bool, state: _State, row: dict) -> bool:
        """Landmarks of the followed face on this frame (updates state and row); True if anything changed."""
        last = box_from_landmarks(state.landmarks, state.coefficients)
        predicted = last + (state.velocity if state.velocity is not None else 0.0)
        match, changed = None, False
        if found is not None:
            best = max(found, key=lambda box: iou(box, predicted), default=None)
            if best is not None and iou(best, predicted) >= MATCH_IOU:
                match, state.misses = best, 0
            elif hint:  # a new shot with the face elsewhere: this frame starts a new track
                state.track = -1
                return True
            else:
                state.misses += 1
                row["missed"] = changed = True
        box = match if match is not None and iou(match, predicted) < REANCHOR_IOU else predicted
        points = self._analyzer.landmarks(frame, box)
        seen = box_from_landmarks(points, state.coefficients)
        width = max(predicted[2] - predicted[0], 1.0)
        if np.abs(seen - box).max() > REFINE_FRACTION * width:  # the face was not where it was expected: again
            points = self._analyzer.landmarks(frame, seen)
            seen = box_from_landmarks(points, state.coefficients)
        moved = np.hypot((seen[0] + seen[2] - predicted[0] - predicted[2]) / 2,
                         (seen[1] + seen[3] - predicted[1] - predicted[3]) / 2)
        ratio = (seen[2] - seen[0]) / width
        changed |= moved > JUMP_FRACTION * width or not 1 / SCALE_JUMP <= ratio <= SCALE_JUMP
        if match is not None:
            observed = box_coefficients(match, points)
            state.calibrations = min(state.calibrations + 1, CALIBRATION_MEMORY)
            state.coefficients = state.coefficients + (observed - state.coefficients) / state.calibrations
            row["coefficients"] = observed
        if found is not None:
            competitor = has_competitor(found, match if match is not None else seen)
            changed |= competitor != state.competitor
            state.competitor = competitor
        state.velocity = seen - last
        state.landmarks = points
        row.update(landmarks=points, track=state.track, competitor=state.competitor)
        if state.misses >= LOST_AFTER:
            state.track = -1
        return changed

    def _start(self, frame, found, state: _State, row: dict) -> None:
        """A new track on the largest face found."""
        main = max(found, key=box_area)
        points = self._analyzer.landmarks(frame, main)
        state.track, state.next_track = state.next_track, state.next_track + 1
        state.landmarks, state.velocity, state.misses, state.calibrations = points, None, 0, 1
        state.coefficients = box_coefficients(main, points)
        state.competitor = has_competitor(found, main)
        row.update(landmarks=points, track=state.track, competitor=state.competitor,
                   coefficients=state.coefficients)


def has_competitor(found, main) -> bool:
    """Another face, not the main one, at least about as large."""
    area = box_area(main)
    return any(iou(box, main) < MATCH_IOU and box_area(box) >= SECOND_FACE_RATIO * area for box in found)


# ---- pass 2: on the arrays only ----

def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of every run of True values, end exclusive."""
    padded = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def frame_status(obs: Observations) -> np.ndarray:
    """OK, NO_FACE or SECOND_FACE per frame.

    A track's last frames the detector missed are faceless (it was lost there); misses inside a
    track were blur or a passing hand. A second face counts from MIN_EVENT_FRAMES frames in a row.
    """
    status = np.where(obs.track >= 0, OK, NO_FACE).astype(np.uint8)
    for track in np.unique(obs.track[obs.track >= 0]):
        frames = np.flatnonzero(obs.track == track)
        end = len(frames)
        while end > 0 and obs.missed[frames[end - 1]]:
            end -= 1
        status[frames[end:]] = NO_FACE
    for start, end in runs(obs.competitor & (status == OK)):
        if end - start >= MIN_EVENT_FRAMES:
            status[start:end] = SECOND_FACE
    return status


def breaks(obs: Observations) -> np.ndarray:
    """Frames a stretch cannot continue into from the frame before: a cut, or another face track."""
    cut = shot_changes(obs.change)
    cut[1:] |= obs.track[1:] != obs.track[:-1]
    return cut


def convolve_frames(values: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Symmetric taps along axis 0 (zero phase: no lag); the ends reflected oddly, so a steady motion keeps going."""
    values = np.asarray(values, np.float64)
    n, half = len(values), len(taps) // 2
    if n <= half:
        return values.copy()
    padded = np.pad(values, [(half, half)] + [(0, 0)] * (values.ndim - 1), mode="reflect", reflect_type="odd")
    return sum(w * padded[k:k + n] for k, w in enumerate(taps))


def gaussian_smooth(values: np.ndarray, sigma: float) -> np.ndarray:
    """Zero-phase Gaussian smoothing along axis 0."""
    if sigma <= 0:
        return np.asarray(values, np.float64).copy()
    taps = np.exp(-0.5 * (np.arange(-int(np.ceil(3 * sigma)), int(np.ceil(3 * sigma)) + 1) / sigma) ** 2)
    return convolve_frames(values, taps / taps.sum())


def polynomial_smooth(values: np.ndarray, window: int, order: int) -> np.ndarray:
    """Savitzky-Golay smoothing along axis 0: each value from a least-squares polynomial over its window."""
    half = window // 2
    positions = np.arange(-half, half + 1)
    taps = np.linalg.pinv(np.vander(positions, order + 1, increasing=True))[0]  # the fit's value at 0
    return convolve_frames(values, taps)


def fit_similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(a, b, tx, ty) of the least-squares similarity x' = [[a, -b], [b, a]] x + t taking source to target."""
    ms, mt = source.mean(axis=0), target.mean(axis=0)
    s, t = source - ms, target - mt
    norm = max(float((s ** 2).sum()), 1e-9)
    a = float((s * t).sum()) / norm
    b = float((s[:, 0] * t[:, 1] - s[:, 1] * t[:, 0]).sum()) / norm
    tx, ty = mt - np.array([[a, -b], [b, a]]) @ ms
    return np.array([a, b, tx, ty])


def apply_similarity(pose: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points mapped by (a, b, tx, ty)."""
    a, b, tx, ty = pose
    return points @ np.array([[a, b], [-b, a]]) + (tx, ty)


def invert_similarity(pose: np.ndarray) -> np.ndarray:
    """The inverse of (a, b, tx, ty)."""
    a, b, tx, ty = pose
    d = a * a + b * b
    ia, ib = a / d, -b / d
    return np.array([ia, ib, -(ia * tx - ib * ty), -(ib * tx + ia * ty)])


def smooth_landmarks(raw: np.ndarray, shape_sigma: float = SHAPE_SIGMA) -> np.ndarray:
    """Landmarks of one continuous track without jitter: the head's rigid pose and the face's own shape
    (in the head's frame) are smoothed apart, both zero-phase, so neither lags behind real motion."""
    raw = np.asarray(raw, np.float64)
    reference = raw[0]
    poses = np.array([fit_similarity(reference[RIGID_POINTS], frame[RIGID_POINTS]) for frame in raw])
    local = np.array([apply_similarity(invert_similarity(p), frame) for p, frame in zip(poses, raw)])
    poses, local = polynomial_smooth(poses, POSE_WINDOW, POSE_ORDER), gaussian_smooth(local, shape_sigma)
    return np.array([apply_similarity(p, shape) for p, shape in zip(poses, local)], np.float32)


def track_boxes(landmarks: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """Detector-like boxes (n, 4) from landmarks, with the track's median landmarks -> box relation."""
    known = coefficients[~np.isnan(coefficients).any(axis=1)]
    relation = np.median(known, axis=0) if len(known) else np.array([-2.2, -1.6, 2.2, 2.8])
    return np.array([box_from_landmarks(points, relation) for points in landmarks], np.float32)


def mouth_opening(landmarks: np.ndarray) -> np.ndarray:
    """Inner-lip gap over mouth width per frame (0 closed, ~0.3-0.6 wide open)."""
    landmarks = np.asarray(landmarks, np.float64)
    upper = landmarks[:, [a for a, _ in INNER_LIP_PAIRS]]
    lower = landmarks[:, [b for _, b in INNER_LIP_PAIRS]]
    gap = np.linalg.norm(upper - lower, axis=2).mean(axis=1)
    left, right = MOUTH_CORNERS
    width = np.linalg.norm(landmarks[:, left] - landmarks[:, right], axis=1)
    return (gap / np.maximum(width, 1e-6)).astype(np.float32)
