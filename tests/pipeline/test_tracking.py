"""Face tracking through frames (real dlib) against faces moved along known paths; the pure pass-2 parts."""
import numpy as np
import pytest

from generation.pipeline import tracking
from generation.pipeline.faces import FaceAnalyzer
from generation.pipeline.tracking import NO_FACE, OK, SECOND_FACE, Observations
from tests import media

SIZE = (640, 360)


@pytest.fixture(scope="module")
def analyzer():
    return FaceAnalyzer()


def track(analyzer, scenes, size=SIZE):
    """Render scenes straight into the tracker (no codec in between): (observations, truth, tracker)."""
    tracker = tracking.FaceTracker(analyzer)
    truths = []
    for frame, truth in media.render(scenes, size):
        tracker.add(frame)
        truths.append(truth)
    return tracker.finish(), np.array(truths), tracker


def face_width(truth: np.ndarray) -> np.ndarray:
    """Per-frame face width of the true landmarks (jaw ends)."""
    return np.linalg.norm(truth[:, 0] - truth[:, 16], axis=1)


def second_difference(points: np.ndarray) -> np.ndarray:
    """|p[i+1] - 2 p[i] + p[i-1]| per frame and point: what jitter is made of."""
    return np.linalg.norm(points[2:] - 2 * points[1:-1] + points[:-2], axis=2)


@pytest.fixture(scope="module", params=["astronaut", "lfw"])
def moving(request, analyzer):
    sprite = media.astronaut() if request.param == "astronaut" else media.lfw(11)
    actor = media.Actor(sprite, width=0.3, sway=0.08, roll=7, zoom=0.1, seed=7)
    obs, truth, tracker = track(analyzer, [media.Scene(4.0, [actor], background=7)])
    return obs, truth, tracker


def test_follows_the_face_on_every_frame_detecting_on_few(moving):
    obs, truth, tracker = moving
    assert len(obs) == 100 and (obs.track == 0).all()
    assert (tracking.frame_status(obs) == OK).all()
    assert not tracking.breaks(obs)[1:].any()
    # the first block is searched frame by frame, then one detection per key frame
    assert tracker.detections <= 10 + 100 // tracking.KEYFRAME_INTERVAL + 10


def test_smoothed_landmarks_are_accurate_steady_and_do_not_lag(moving):
    obs, truth, _ = moving
    raw = obs.landmarks
    smooth = tracking.smooth_landmarks(raw)
    width = face_width(truth)[:, None]
    error = np.linalg.norm(smooth - truth, axis=2) / width
    raw_error = np.linalg.norm(raw - truth, axis=2) / width
    assert error.mean() < 0.025 and np.percentile(error, 95) < 0.06
    assert error.mean() <= raw_error.mean() * 1.05  # smoothing costs no accuracy
    # jitter: the second difference is close to the true motion's own, far below the raw one
    jitter = second_difference(smooth) / width[1:-1]
    assert jitter.mean() < 0.006
    assert jitter.mean() < 0.5 * (second_difference(raw) / width[1:-1]).mean()
    # no lag: the smoothed centre follows the true centre at shift 0, not one frame late
    centre, true_centre = smooth.mean(axis=1), truth.mean(axis=1)
    misfit = [np.abs(centre[2 + s:98 + s] - true_centre[2:98]).mean() for s in (-1, 0, 1)]
    assert np.argmin(misfit) == 1


def test_a_fast_moving_head_is_followed_closely(analyzer):
    # up to 23 px (a quarter of the face's width) a frame, 10 degrees of roll, 12% of zoom, 0.5-1.4 Hz
    actor = media.Actor(media.astronaut(), width=0.3, sway=0.12, roll=10, zoom=0.12, seed=7, tempo=3)
    obs, truth, tracker = track(analyzer, [media.Scene(4.0, [actor], background=7)])
    assert (obs.track == 0).all() and (tracking.frame_status(obs) == OK).all()
    assert tracker.detections < 40  # followed by the landmarks, not found again and again
    smooth = tracking.smooth_landmarks(obs.landmarks)
    width = face_width(truth)[:, None]
    error = np.linalg.norm(smooth - truth, axis=2) / width
    assert error.mean() < 0.025 and np.percentile(error, 95) < 0.05
    jitter, true = second_difference(smooth).mean(), second_difference(truth).mean()
    assert 0.8 * true < jitter < 1.2 * true  # the motion is kept, not flattened, and nothing added


def test_boxes_follow_like_the_detectors(moving):
    obs, _, _ = moving
    boxes = tracking.track_boxes(tracking.smooth_landmarks(obs.landmarks), obs.coefficients)
    # where the detector ran and matched, its box is recovered from the raw landmarks and coefficients
    known = ~np.isnan(obs.coefficients).any(axis=1)
    detected = np.array([tracking.box_from_landmarks(p, c) for p, c in zip(obs.landmarks[known],
                                                                             obs.coefficients[known])])
    width = boxes[known, 2] - boxes[known, 0]
    assert (np.abs(boxes[known] - detected).max(axis=1) / width).mean() < 0.08
    assert (np.abs(np.diff(boxes, 2, axis=0)).max(axis=1) / (boxes[1:-1, 2] - boxes[1:-1, 0])).mean() < 0.01


def test_a_face_that_leaves_and_returns_is_placed_on_its_frames(analyzer):
    actor = media.Actor(media.astronaut(), width=0.28, seed=3)
    scenes = [media.Scene(1.2, [actor], 3), media.Scene(0.8, [], 3), media.Scene(1.6, [actor], 3)]
    obs, truth, _ = track(analyzer, scenes)
    status = tracking.frame_status(obs)
    assert (status[:30] == OK).all() and (status[30:50] == NO_FACE).all() and (status[50:] == OK).all()
    assert obs.track[0] != obs.track[-1]


def test_a_cut_to_another_face_starts_a_new_track_on_its_frame(analyzer):
    a = media.Actor(media.astronaut(), centre=(0.35, 0.5), width=0.28, seed=1)
    b = media.Actor(media.lfw(3), centre=(0.65, 0.45), width=0.3, seed=2)
    obs, _, _ = track(analyzer, [media.Scene(1.4, [a], 1), media.Scene(1.4, [b], 2)])
    cuts = np.flatnonzero(tracking.breaks(obs))
    assert cuts.tolist() == [35]
    assert (tracking.frame_status(obs) == OK).all()


def test_a_larger_second_face_is_seen_from_the_frame_it_enters(analyzer):
    main = media.Actor(media.lfw(5), centre=(0.3, 0.5), width=0.22, sway=0.03, seed=4)
    big = media.Actor(media.lfw(8), centre=(0.7, 0.48), width=0.34, sway=0.03, seed=5)
    small = media.Actor(media.lfw(14), centre=(0.75, 0.3), width=0.12, sway=0.02, seed=6)
    obs, _, _ = track(analyzer, [media.Scene(3.0, [main, small, big], 6, enters={2: 1.6})])
    status = tracking.frame_status(obs)
    assert (status[:40] == OK).all() and (status[40:] == SECOND_FACE).all()  # the small one never counts
    assert (obs.track == 0).all()  # the main face is still followed behind the larger one


# ---- pass 2 on hand-made arrays ----

def observations(n, track=0, missed=(), competitor=(), change=None) -> Observations:
    landmarks = np.zeros((n, 68, 2), np.float32)
    tracks = np.full(n, track, np.int32) if np.isscalar(track) else np.asarray(track, np.int32)
    flags = lambda where: np.isin(np.arange(n), list(where))  # noqa: E731
    return Observations(landmarks, tracks, np.ones(n, bool), flags(missed), flags(competitor),
                        np.full((n, 4), np.nan, np.float32), np.zeros(n, np.float32) if change is None else change)


def test_frame_status_rules():
    obs = observations(20, missed=[3, 4, 17, 18, 19], competitor=[6, 7, 10, 11, 12, 13])
    status = tracking.frame_status(obs)
    assert status[3] == status[4] == OK  # misses inside a track: blur or a hand
    assert (status[17:] == NO_FACE).all()  # the misses that ended it: the face was gone
    assert (status[6:8] == OK).all()  # a second face on 2 frames: a false detection
    assert (status[10:14] == SECOND_FACE).all()
    assert (tracking.frame_status(observations(5, track=-1)) == NO_FACE).all()


def test_shot_changes_are_spikes_not_motion():
    rng = np.random.default_rng(0)
    change = 0.005 + 0.002 * rng.random(60)
    change[20] = 0.2  # a cut
    change[40:50] = 0.08  # fast motion: large, but so are its neighbours
    change[55] = 0.02  # a small spike: under the minimum
    assert np.flatnonzero(tracking.shot_changes(change)).tolist() == [20]
    obs = observations(60, track=[0] * 30 + [1] * 30, change=change.astype(np.float32))
    assert np.flatnonzero(tracking.breaks(obs)).tolist() == [20, 30]


def test_gaussian_smooth_keeps_a_steady_motion_to_the_ends():
    ramp = np.stack([np.arange(30.0), 2 * np.arange(30.0)], axis=1)
    assert np.allclose(tracking.gaussian_smooth(ramp, 1.5), ramp)
    noisy = ramp + np.random.default_rng(1).normal(0, 1, ramp.shape)
    assert np.abs(tracking.gaussian_smooth(noisy, 1.5) - ramp).mean() < 0.6 * np.abs(noisy - ramp).mean()


def test_similarity_round_trip():
    points = np.random.default_rng(2).normal(0, 50, (68, 2))
    pose = np.array([1.1 * np.cos(0.2), 1.1 * np.sin(0.2), 30.0, -12.0])
    moved = tracking.apply_similarity(pose, points)
    assert np.allclose(tracking.fit_similarity(points, moved), pose)
    assert np.allclose(tracking.apply_similarity(tracking.invert_similarity(pose), moved), points)


def test_runs_and_mouth_opening():
    assert tracking.runs(np.array([0, 1, 1, 0, 1], bool)) == [(1, 3), (4, 5)]
    face = media.astronaut().landmarks[None]
    closed = face.copy()
    closed[0, 65:68] = closed[0, [63, 62, 61]]  # lower inner lip onto the upper one
    assert tracking.mouth_opening(closed)[0] == pytest.approx(0, abs=1e-6)
    opened = face.copy()
    opened[0, 65:68, 1] += 20
    assert tracking.mouth_opening(opened)[0] > tracking.mouth_opening(face)[0] + 0.1
