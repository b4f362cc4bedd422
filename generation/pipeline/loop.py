"""Where a video avatar's clip loops: a video texture (Schödl et al., SIGGRAPH 2000) over its frames.

Speech longer than the clip needs the clip again. Ping-pong (play it backwards) reverses every
blink, squeeze and head bob at each turn. Instead the clip plays forward only: from its start to a
frame i, then jumps back to a frame j that looks like i's successor would, plays forward to i
again, and so on. Where no frame pair matches closely enough, it turns back at two moments where
the head rests (a clip that never returns to a pose). The transition i -> j is chosen at
preparation from per-frame descriptors (the face's landmarks and a small grey thumbnail of the
whole frame, so that a camera move counts too): both ends calm (the head and eyes barely moving,
no blink near), the frames after and before the jump alike (the motion goes on at the same speed),
and the loop as long as such a match allows.
Distances are in units of the clip's own median frame-to-frame step, so "alike" means the same
for a still close-up and a handheld shot.
"""
from __future__ import annotations

import numpy as np

LOOP_SHARES = (0.5, 0.35, 0.25)  # the repeated part covers at least this share of the clip, if it can:
LOOP_MIN_SHARE = LOOP_SHARES[0]  # shorter repeats show, but less than a jump or a blink played backwards
LOOP_MIN_FRAMES = 20  # ... and at least this many frames (0.8 s at 25 fps)
GOOD_COST = 1.0  # a jump this close (median steps) to the natural next frame is as good as none
FALLBACK_SEAM_COST = 3.0  # where every turn would reverse a blink: a jump up to this, noted to the user
BLINK_INSIDE_COST = 10.0  # a bounce over a blink plays it backwards: worse than any calm turn point
SEAM_COST = 1.8  # a jump costing more, or a step i -> j larger (median steps), would show: turn instead
CALM_STEP = 1.5  # a frame moving at most this many median steps is calm
BLINK_RATIO = 0.8  # eye openness below this share of the clip's median: the eyes are closing
BLINK_MARGIN = 3  # frames each side of a blink that are not calm either (it starts and ends softly)
STEP_FLOOR_PX = 0.1  # the least median landmark step (px): a frozen clip must not make every jump huge
STEP_FLOOR_GREY = 0.3  # ... and the least median thumbnail step (grey levels of 255)
RIGHT_EYE, LEFT_EYE = range(36, 42), range(42, 48)


def eye_openness(landmarks: np.ndarray) -> np.ndarray:
    """Eye aspect ratio per frame, both eyes averaged (~0.3 open, under ~0.15 closed)."""
    def ratio(eye):
        p = landmarks[:, list(eye)].astype(np.float64)
        vertical = np.linalg.norm(p[:, 1] - p[:, 5], axis=1) + np.linalg.norm(p[:, 2] - p[:, 4], axis=1)
        return vertical / np.maximum(2 * np.linalg.norm(p[:, 0] - p[:, 3], axis=1), 1e-6)
    return (ratio(RIGHT_EYE) + ratio(LEFT_EYE)) / 2


def blinking(openness: np.ndarray, margin: int = BLINK_MARGIN) -> np.ndarray:
    """Frames in or near a blink: eye openness dips under BLINK_RATIO of the median, widened by `margin`."""
    closed = openness < BLINK_RATIO * np.median(openness)
    near = closed.copy()
    for shift in range(1, margin + 1):
        near[shift:] |= closed[:-shift]
        near[:-shift] |= closed[shift:]
    return near


def rms_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Root-mean-square difference between every row of `a` and every row of `b` (per coordinate)."""
    a, b = a.reshape(len(a), -1).astype(np.float32), b.reshape(len(b), -1).astype(np.float32)
    squared = a @ b.T
    squared *= -2
    squared += (a * a).sum(1)[:, None]
    squared += (b * b).sum(1)[None, :]
    np.maximum(squared, 0, out=squared)
    squared /= a.shape[1]
    return np.sqrt(squared, out=squared)


def descriptors(landmarks: np.ndarray, thumbs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame (landmarks, thumbnails) each scaled by its median step: distances in median steps."""
    landmarks = np.asarray(landmarks, np.float32).reshape(len(landmarks), -1)
    thumbs = np.asarray(thumbs, np.float32)
    if thumbs.ndim == 3 and thumbs.shape[1] % 2 == 0 and thumbs.shape[2] % 2 == 0:  # 2x2 means: 4x less memory
        thumbs = thumbs.reshape(len(thumbs), thumbs.shape[1] // 2, 2, thumbs.shape[2] // 2, 2).mean(axis=(2, 4))
    thumbs = thumbs.reshape(len(thumbs), -1)
    scales = []
    for values, floor in ((landmarks, STEP_FLOOR_PX), (thumbs, STEP_FLOOR_GREY)):
        steps = np.sqrt(np.square(np.diff(values, axis=0)).mean(axis=1))
        scales.append(max(float(np.median(steps)) if len(steps) else 0.0, floor))
    return landmarks / scales[0], thumbs / scales[1]


def distances(desc, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Frame distance (median steps; the larger of shape and picture) between frames rows x cols."""
    landmarks, thumbs = desc
    return np.maximum(rms_distances(landmarks[rows], landmarks[cols]), rms_distances(thumbs[rows], thumbs[cols]))


def frame_steps(desc) -> np.ndarray:
    """Distance from each frame to the next (median steps), n - 1 of them."""
    landmarks, thumbs = desc
    return np.maximum(np.sqrt(((landmarks[1:] - landmarks[:-1]) ** 2).mean(1)),
                      np.sqrt(((thumbs[1:] - thumbs[:-1]) ** 2).mean(1)))


def calm_frames(desc, openness: np.ndarray) -> np.ndarray:
    """Frames where the head, the picture and the eyes barely move: where a jump does not show."""
    steps = frame_steps(desc)
    moving = np.zeros(len(openness), bool)
    moving[1:] |= steps > CALM_STEP
    moving[:-1] |= steps > CALM_STEP
    return ~moving & ~blinking(openness)


def plan(landmarks: np.ndarray, raw_landmarks: np.ndarray, thumbs: np.ndarray) -> tuple[np.ndarray, float]:
    """(transitions, cost) of a clip; see `play` for the rows; cost: how much the jump shows (median steps).

    In order: a jump back over at least LOOP_SHARES[0] of the clip, then over less; else turning
    back without a blink in between, over as much as possible; else a jump up to FALLBACK_SEAM_COST;
    else turning back between two blinks (at least LOOP_MIN_FRAMES apart, none between); only a
    clip that blinks more often than that turns back over a blink (the least bad). Where a jump
    would show (over SEAM_COST), turning at two calm moments does not: a head at rest for a moment
    reverses as naturally as it stops.
    """
    n = len(landmarks)
    if n < LOOP_MIN_FRAMES + 2:
        return np.zeros((0, 2), np.int32), 0.0
    desc = descriptors(landmarks, thumbs)
    openness = eye_openness(raw_landmarks)
    minimums = [m for m in dict.fromkeys(max(LOOP_MIN_FRAMES, int(np.ceil(share * n))) for share in LOOP_SHARES)
                if n >= m + 2]
    for minimum in minimums:
        found = best_jump(desc, openness, minimum)
        if found is not None:
            return found
    for minimum in minimums:
        rows, blinks_inside = turns(desc, openness, minimum)
        if len(rows) and not blinks_inside:
            return rows, 0.0
    for minimum in minimums:  # a small jump once a pass shows less than a blink played backwards
        found = best_jump(desc, openness, minimum, limit=FALLBACK_SEAM_COST)
        if found is not None:
            return found
    # blinks closer together than the shortest share (a blink every 2.4 s in a 10 s clip): bounce
    # between two of them rather than over one, which plays it backwards on every return
    rows, blinks_inside = turns(desc, openness, LOOP_MIN_FRAMES)
    if len(rows) and not blinks_inside:
        return rows, 0.0
    return turns(desc, openness, minimums[0])[0], 0.0


def best_jump(desc, openness: np.ndarray, minimum: int, limit: float = SEAM_COST) -> tuple[np.ndarray, float] | None:
    """The jump i -> j (j < i, loop j..i at least `minimum` frames) that does not show, or None.

    The longest whose cost is at most GOOD_COST median steps, else the cheapest; both ends calm
    when any such pair exists. The cost of i -> j is the larger of distance(i + 1, j) (j stands in
    for i's successor) and distance(i, j - 1) (the frames before match too, so the motion keeps its
    speed over the jump); it and the step i -> j itself stay within `limit`.
    """
    n = len(openness)
    for allowed in (calm_frames(desc, openness), ~blinking(openness)):
        sources = np.flatnonzero(allowed[:-1])  # i: a successor i + 1 must exist
        targets = np.flatnonzero(allowed[1:]) + 1  # j: a predecessor j - 1 must exist
        # only pairs that can be `minimum` apart: a quarter of all, which bounds the memory of a minute
        sources, targets = sources[sources >= minimum], targets[targets <= n - minimum]
        if len(sources) and len(targets) and sources[-1] - targets[0] + 1 >= minimum:
            break
    else:
        return None
    cost = np.maximum(distances(desc, sources + 1, targets), distances(desc, sources, targets - 1))
    length = sources[:, None] - targets[None, :] + 1
    cost[length < minimum] = np.inf
    good = cost <= GOOD_COST
    score = np.where(good, -length + cost / (GOOD_COST + 1), np.inf) if good.any() else cost  # longest, cheapest
    a, b = np.unravel_index(int(np.argmin(score)), score.shape)
    shown = distances(desc, sources[[a]], targets[[b]])[0, 0]  # the step the viewer sees: i, then j
    if cost[a, b] > limit or shown > limit:
        return None
    return np.array([[sources[a], targets[b]]], np.int32), float(max(cost[a, b], shown))


def turns(desc, openness: np.ndarray, minimum: int) -> tuple[np.ndarray, int]:
    """(rows (lo, lo), (hi, hi), blink frames between): the clip bounces between calm frames lo < hi.

    The calmest pair at least `minimum` apart, preferring no blink between (it would play backwards)
    and then a long stretch.
    """
    n = len(openness)
    steps = frame_steps(desc)
    speed = np.concatenate([[steps[0]], (steps[1:] + steps[:-1]) / 2, [steps[-1]]])
    blinks = blinking(openness)
    speed = np.where(blinks, np.inf, speed)
    lows, highs = np.arange(0, n - minimum + 1), np.arange(minimum - 1, n)
    pairs = (speed[lows] + lows / n).astype(np.float32)[:, None] + (speed[highs] - highs / n)[None, :]  # also long
    inside = np.concatenate([[0], np.cumsum(blinks)])
    count = np.maximum(inside[highs + 1][None, :] - inside[lows][:, None], 0)
    pairs += BLINK_INSIDE_COST * count  # played backwards
    pairs[highs[None, :] - lows[:, None] + 1 < minimum] = np.inf
    if not np.isfinite(pairs).any():
        return np.zeros((0, 2), np.int32), 0
    a, b = np.unravel_index(int(np.argmin(pairs)), pairs.shape)
    return np.array([[lows[a], lows[a]], [highs[b], highs[b]]], np.int32), int(count[a, b])


def pingpong(i: int, n: int) -> int:
    """The prepared frame shown as output frame i: 0..n-1, then n-2..1, then 0.. again (n == 1: always 0)."""
    if n <= 1:
        return 0
    period = 2 * n - 2
    k = i % period
    return k if k < n else period - k


def play(transitions: np.ndarray | None, count: int, n: int) -> np.ndarray:
    """Source-frame indices of n output frames, from frame 0 forward.

    A row (i, j), j < i: after frame i comes frame j (a jump back; forward only). Rows (lo, lo),
    (hi, hi): turn back at hi, forward again at lo. Without rows (an old preparation, a clip too
    short to loop) the clip plays ping-pong.
    """
    if transitions is None or len(transitions) == 0:
        return np.array([pingpong(i, count) for i in range(n)], np.int64)
    order = np.empty(n, np.int64)
    if (transitions[:, 0] == transitions[:, 1]).all():
        lo, hi = int(transitions[:, 0].min()), int(transitions[:, 0].max())
        k, direction = 0, 1
        for t in range(n):
            order[t] = k
            if (k >= hi and direction > 0) or (k <= lo and direction < 0):
                direction = -direction
            k = min(max(k + direction, 0), count - 1)
        return order
    jumps = {int(i): int(j) for i, j in transitions}
    k = 0
    for t in range(n):
        order[t] = k
        k = jumps.get(k, k + 1)
        if k >= count:  # past a clip's end with no jump there: never planned so, but never out of range
            k = int(transitions[0][1])
    return order


def turn_jumps(order: np.ndarray, desc) -> np.ndarray:
    """Distance (median steps) of every step of `order` that is not plain +1: how big the jumps look."""
    order = np.asarray(order)
    at = np.flatnonzero(np.diff(order) != 1)
    if not len(at):
        return np.zeros(0)
    landmarks, thumbs = desc
    a, b = order[at], order[at + 1]
    return np.maximum(np.sqrt(((landmarks[a] - landmarks[b]) ** 2).mean(1)),
                      np.sqrt(((thumbs[a] - thumbs[b]) ** 2).mean(1)))
