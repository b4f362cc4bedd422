"""Where a video avatar's clip loops (loop.py): forward only, jumps where the frames match, no blink reversed."""
import numpy as np
import pytest

from generation.pipeline import loop
from generation.pipeline.clip import ClipReader, inspect_video, prepare_clip
from generation.pipeline.faces import FaceAnalyzer
from tests import media

N = 150


def face_path(n: int = N, period: int = 60, blinks=(20, 70, 125), seed: int = 0):
    """(landmarks, thumbnails) of a head swaying with `period` frames, eyes closing at `blinks`.

    Landmarks: a fixed face shape moved along a sine; the eyes' lids meet on blink frames. The
    thumbnail is a bright square at the head's place on a noisy backdrop, so it moves the same way.
    """
    rng = np.random.default_rng(seed)
    shape = rng.uniform(-40, 40, (68, 2))
    for eye in (range(36, 42), range(42, 48)):  # an open eye: corners 0, 3; lids 1, 2 over 5, 4
        cx, cy = shape[eye[0]]
        shape[list(eye)] = [(cx, cy), (cx + 4, cy - 3), (cx + 8, cy - 3), (cx + 12, cy), (cx + 8, cy + 3),
                            (cx + 4, cy + 3)]
    t = np.arange(n)
    offset = np.stack([8 * np.sin(2 * np.pi * t / period), 3 * np.cos(2 * np.pi * t / period)], 1)
    landmarks = shape[None] + offset[:, None] + rng.normal(0, 0.05, (n, 68, 2))
    for b in blinks:
        for k, depth in ((b - 1, 0.5), (b, 1.0), (b + 1, 0.5)):
            for eye in (range(36, 42), range(42, 48)):
                idx = list(eye)
                mid = landmarks[k, idx][:, 1].mean()
                landmarks[k, idx, 1] = mid + (landmarks[k, idx, 1] - mid) * (1 - 0.9 * depth)
    backdrop = rng.uniform(60, 120, (32, 32))
    thumbs = np.repeat(backdrop[None], n, 0)
    for k in range(n):
        x, y = 12 + offset[k, 0] / 2, 12 + offset[k, 1] / 2
        ix, iy = int(x), int(y)
        thumbs[k, iy:iy + 8, ix:ix + 8] = 220
    return landmarks.astype(np.float32), np.clip(thumbs, 0, 255).astype(np.uint8)


def test_the_loop_jumps_back_to_where_the_motion_repeats():
    landmarks, thumbs = face_path()
    transitions, cost = loop.plan(landmarks, landmarks, thumbs)
    (i, j), = transitions
    assert j < i and i - j + 1 >= loop.LOOP_MIN_SHARE * N
    assert (i + 1 - j) % 60 in (0, 1, 59) and cost <= loop.GOOD_COST  # a whole period back: the same pose


def test_the_order_plays_forward_only_and_never_reverses_a_blink():
    landmarks, thumbs = face_path()
    transitions, _ = loop.plan(landmarks, landmarks, thumbs)
    order = loop.play(transitions, N, 5 * N)
    steps = np.diff(order)
    assert (steps[steps != 1] < 0).all() and len(steps[steps != 1]) >= 3  # jumps go back, all else +1
    blinks = loop.blinking(loop.eye_openness(landmarks), margin=0)
    assert blinks.sum() == 9
    assert not (steps == -1).any()  # nothing plays backwards, so no blink does
    old = loop.play(None, N, 5 * N)  # ping-pong, as before: the blinks run backwards
    assert ((np.diff(old) == -1) & blinks[old[1:]]).sum() >= 6


def test_a_jump_is_no_larger_than_twice_the_clips_median_step():
    landmarks, thumbs = face_path()
    transitions, _ = loop.plan(landmarks, landmarks, thumbs)
    order = loop.play(transitions, N, 4 * N)
    steps = np.sqrt(((landmarks[1:] - landmarks[:-1]) ** 2).sum(-1).mean(-1))
    at = np.flatnonzero(np.diff(order) != 1)
    jumps = np.sqrt(((landmarks[order[at]] - landmarks[order[at + 1]]) ** 2).sum(-1).mean(-1))
    assert len(jumps) and jumps.max() <= 2 * np.median(steps), (jumps, np.median(steps))


def test_jumps_land_on_calm_frames_away_from_blinks():
    landmarks, thumbs = face_path(blinks=(30, 89, 90, 91))  # a blink where the best match would be
    (i, j), = loop.plan(landmarks, landmarks, thumbs)[0]
    near = loop.blinking(loop.eye_openness(landmarks))
    assert not near[[i, i + 1, j - 1, j]].any()


def test_a_clip_too_short_to_loop_plays_pingpong():
    landmarks, thumbs = face_path(n=20, blinks=(10,))
    transitions, cost = loop.plan(landmarks, landmarks, thumbs)
    assert transitions.shape == (0, 2) and cost == 0.0
    assert loop.play(transitions, 20, 70).tolist() == [loop.pingpong(i, 20) for i in range(70)]


def test_the_order_covers_shorter_speech_straight():
    landmarks, thumbs = face_path()
    transitions, _ = loop.plan(landmarks, landmarks, thumbs)
    assert loop.play(transitions, N, 40).tolist() == list(range(40))


# ---- on a real prepared clip ----

@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    moving = media.moving_face(4.0)
    return prepare_clip(moving.data, inspect_video(moving.data).demuxer, tmp_path_factory.mktemp("loop"),
                        FaceAnalyzer())


def test_a_prepared_clip_stores_its_loop_and_plays_it(prepared):
    with ClipReader(prepared.data_path, prepared.frames_path) as reader:
        assert len(reader.transitions)  # this 4 s sway never comes back to a pose: it turns, calmly
        order = reader.order(3 * reader.frame_count)
        assert reader.order(10).tolist() == list(range(10))
        blinks = loop.blinking(loop.eye_openness(reader.raw_landmarks), margin=1)
    assert blinks.sum() >= 3  # the clip blinks (every 2.4 s)
    steps = np.diff(order)
    assert (np.abs(steps) == 1).all() or ((steps == 1) | (steps < -1)).all()
    assert not ((steps == -1) & (blinks[order[1:]] | blinks[order[:-1]])).any()
    assert order.min() >= 0 and order.max() < prepared.frame_count
    assert [n.code for n in prepared.notes if not n.code.startswith("bank_")] == ["loop_turns"]


def test_a_clip_that_never_returns_turns_back_at_rest_outside_blinks():
    landmarks, thumbs = face_path(period=400, blinks=(20, 60))  # a slow drift: no pose comes back
    transitions, cost = loop.plan(landmarks, landmarks, thumbs)
    assert (transitions[:, 0] == transitions[:, 1]).all() and cost == 0.0
    lo, hi = sorted(transitions[:, 0])
    assert hi - lo + 1 >= loop.LOOP_MIN_SHARE * N and not (lo <= 20 <= hi or lo <= 60 <= hi)
    order = loop.play(transitions, N, 4 * N)
    assert (np.abs(np.diff(order)) == 1).all() and order[lo:].min() == lo and order.max() == hi


def test_an_old_preparation_without_a_loop_plays_pingpong(prepared, tmp_path):
    with np.load(prepared.data_path) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "transitions"}
    arrays["version"] = np.int32(1)
    np.savez_compressed(tmp_path / "old.npz", **arrays)
    with ClipReader(tmp_path / "old.npz", prepared.frames_path) as old:
        assert old.order(250).tolist() == [loop.pingpong(i, old.frame_count) for i in range(250)]


def test_the_avatar_is_told_when_the_loop_shows():
    from generation.pipeline.clip import ClipNote, loop_note

    assert loop_note(np.array([[80, 10]]), loop.GOOD_COST, 25, 25) is None  # unseen
    assert loop_note(np.array([[80, 10]]), 2.5, 25, 25) == ClipNote("loop_seam", 35 / 25, 106 / 25)
    assert loop_note(np.array([[5, 5], [70, 70]]), 0.0, 25, 25) == ClipNote("loop_turns", 30 / 25, 96 / 25)
    assert loop_note(np.zeros((0, 2), np.int32), 0.0, 0, 25) is None


# ---- no blink plays backwards (issue 23: one of four 10 s clips bounced over its blinks) ----

def reversed_blink_steps(order: np.ndarray, transitions: np.ndarray, openness: np.ndarray) -> list:
    """The steps of `order` that show a blink the wrong way or break the loop's rules, as (t, what).

    Every step is +1, or a planned jump i -> j, or (a clip that turns) -1 between its turn points;
    a step backwards never is in or next to a blink, and no jump or turn lands in one (BLINK_MARGIN).
    """
    near = loop.blinking(openness)
    touching = loop.blinking(openness, margin=1)
    turning = len(transitions) and (transitions[:, 0] == transitions[:, 1]).all()
    jumps = {(int(i), int(j)) for i, j in transitions} if not turning else set()
    turn_points = {int(i) for i, _ in transitions} if turning else set()
    bad = []
    for t, (a, b) in enumerate(zip(order[:-1].tolist(), order[1:].tolist())):
        if b == a + 1 and a not in turn_points:
            continue
        if abs(b - a) == 1 and turning:
            if b < a and (touching[a] or touching[b]):
                bad.append((t, f"backwards through a blink {a}->{b}"))
            if a in turn_points and near[a]:
                bad.append((t, f"turn in a blink at {a}"))
        elif (a, b) not in jumps:
            bad.append((t, f"unplanned step {a}->{b}"))
        elif near[[a, b]].any():
            bad.append((t, f"jump in a blink {a}->{b}"))
    return bad


def test_the_checker_catches_pingpong_over_a_blink():
    landmarks, _ = face_path(period=400, blinks=(40, 75, 110))
    order = loop.play(None, N, 3 * N)
    assert any("backwards through a blink" in what for _, what in
               reversed_blink_steps(order, np.array([[0, 0], [N - 1, N - 1]]), loop.eye_openness(landmarks)))


def test_blinks_closer_than_the_shortest_loop_are_never_played_backwards():
    # a drift that never comes back (no jump matches) and a blink every 35 frames: every stretch of
    # a quarter of the clip holds one; the loop turns between two blinks instead of over one
    landmarks, thumbs = face_path(period=400, blinks=(15, 50, 85, 120))
    transitions, _ = loop.plan(landmarks, landmarks, thumbs)
    order = loop.play(transitions, N, 5 * N)
    openness = loop.eye_openness(landmarks)
    assert reversed_blink_steps(order, transitions, openness) == []
    assert (np.diff(order) == -1).any()  # it does turn (a drift has no matching jump)
    lo, hi = sorted(transitions[:, 0])
    assert hi - lo + 1 >= loop.LOOP_MIN_FRAMES


@pytest.mark.parametrize("seed", [3])  # bench/loop.py --lengths: this 10 s clip bounced over 2 blinks
def test_a_10s_clip_blinking_every_2_4s_loops_without_a_reversed_blink(tmp_path, seed):
    clip = media.moving_face(10.0, size=(480, 270), seed=seed)
    prepared = prepare_clip(clip.data, inspect_video(clip.data).demuxer, tmp_path, FaceAnalyzer())
    with ClipReader(prepared.data_path, prepared.frames_path) as reader:
        openness = loop.eye_openness(reader.raw_landmarks)
        assert loop.blinking(openness, margin=0).sum() >= 8  # its four blinks are seen
        order = reader.order(3 * reader.frame_count)
        assert reversed_blink_steps(order, reader.transitions, openness) == []
