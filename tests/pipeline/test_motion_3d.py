"""3D head motion on a photo (motion_head.py, motion_warp.py): one bicubic resample keeps the eyes'
detail, the background outside the head's silhouette never moves, a nod foreshortens the lower face
and a turn moves the nose against the cheeks (measured on the pictures by phase correlation)."""
import cv2
import numpy as np
import pytest

from generation.pipeline import motion_head
from generation.pipeline.lipsync.viseme import VisemeEngine
from generation.pipeline.motion import MotionPlan, MotionSource
from tests.pipeline.test_motion import photo

N = 6
MIN_SHARPNESS = 0.85  # median eye-region Laplacian variance of moved frames over the photo's (bilinear twice: ~0.5)
MIN_SHARPNESS_ANY = 0.75  # ... in every frame (Lanczos at a half-pixel shift in x and y: 0.83; bilinear 0.33)
MAX_BACKGROUND = 2  # of 255, anywhere outside the head's silhouette
MIN_PARALLAX = 1.5  # px the nose moves against the cheeks (or against the chin in a nod) at 8 degrees (2D: 0)


def plan(**moves) -> MotionPlan:
    """N frames; frame k has k/(N-1) of each given movement (scalars: roll, squash, yaw, pitch; shift (2,))."""
    ramp = np.linspace(0, 1, N)
    z = np.zeros(N)
    get = lambda name: ramp * moves.get(name, 0.0)  # noqa: E731
    shift = ramp[:, None] * np.asarray(moves.get("shift", (0.0, 0.0)))[None]
    return MotionPlan("subtle", 0, 25, get("roll"), shift, get("squash"), z.copy(), z.copy(), z.copy(),
                      np.ones(N, bool), yaw=get("yaw"), pitch=get("pitch"))


def eye_box(lm):
    x0, y0 = lm[17:48].min(axis=0).astype(int)
    x1, y1 = lm[17:48].max(axis=0).astype(int)
    return x0, y0, x1, y1 + 6


def lap_var(image, box) -> float:
    x0, y0, x1, y1 = box
    grey = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float64)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def shift_at(a, b, point, half=16) -> np.ndarray:
    """(dx, dy) the picture moved from a to b round `point`, by phase correlation of grey patches."""
    x, y = np.round(point).astype(int)
    pa, pb = (cv2.cvtColor(im[y - half:y + half, x - half:x + half], cv2.COLOR_RGB2GRAY).astype(np.float64)
              for im in (a, b))
    win = cv2.createHanningWindow((2 * half, 2 * half), cv2.CV_64F)
    (dx, dy), _ = cv2.phaseCorrelate(pa, pb, win)
    return np.array([dx, dy])


@pytest.fixture(scope="module")
def astronaut():
    image, face = photo("astronaut")
    return image, face, face.landmarks.astype(np.float64)


def test_fractional_motion_keeps_the_eyes_sharp(astronaut):
    image, face, lm = astronaut
    source = MotionSource(image, face, plan(shift=(0.0137, 0.0093), roll=0.7))  # sub-pixel steps every frame
    ref = lap_var(image, eye_box(lm))
    ratios = [lap_var(source.frame(i), eye_box(source.landmarks[i])) / ref for i in range(1, N)]
    assert np.median(ratios) >= MIN_SHARPNESS and min(ratios) >= MIN_SHARPNESS_ANY, ratios


def test_engine_resamples_a_moving_frame_once(astronaut):
    """The moving path warps the photo itself: its eye region is the motion's frame exactly."""
    image, face, _ = astronaut
    engine = VisemeEngine()
    state = engine.prepare(image, face)
    source = MotionSource(image, face, plan(shift=(0.011, 0.007), yaw=2.0))
    weights = np.array([0.6, 0.0, 0.0])
    local = engine.local_maps(state, weights, 0.0)
    frame = source.warp(image, 3, local=local)
    x0, y0, x1, y1 = eye_box(source.landmarks[3])
    y1 = min(y1, int(source.landmarks[3][30, 1]) - 12)  # the mouth warp starts at the nose tip's line
    # above the mouth the motion alone (to a level: the mouth map, identity there, is read in float32)
    assert np.abs(frame[y0:y1, x0:x1].astype(int) - source.frame(3)[y0:y1, x0:x1]).max() <= 2
    mouth = source.landmarks[3][48:68]
    mx0, my0 = mouth.min(axis=0).astype(int)
    mx1, my1 = mouth.max(axis=0).astype(int)
    assert np.abs(frame[my0:my1, mx0:mx1].astype(int) - source.frame(3)[my0:my1, mx0:mx1]).max() > 30  # the jaw opened


def test_background_outside_the_head_never_moves(astronaut):
    image, face, lm = astronaut
    fw = float(np.hypot(*(lm[16] - lm[0])))
    head = motion_head.segment(image, lm)
    assert 0.03 < head.mean() < 0.3  # the astronaut's head and hair, not her suit or the flag
    hull = np.zeros_like(head)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(lm).astype(np.int32)), 1)
    assert head[hull > 0].mean() > 0.97
    background = cv2.dilate(head, np.ones((5, 5), np.uint8)) == 0
    source = MotionSource(image, face, plan(shift=(0.04, 0.03), roll=2.5, yaw=5.0, pitch=4.0))
    for i in (2, N - 1):
        diff = np.abs(source.frame(i).astype(int) - image.astype(int)).max(axis=2)
        assert diff[background].max() <= MAX_BACKGROUND, i
        assert diff[hull > 0].mean() > 3  # while the face itself moved
    assert fw > 50


def test_a_turn_moves_the_nose_against_the_cheeks(astronaut):
    image, face, lm = astronaut
    source = MotionSource(image, face, plan(yaw=8.0))
    frame = source.frame(N - 1)
    nose = shift_at(image, frame, lm[30])
    cheeks = [shift_at(image, frame, (lm[k] + lm[n]) / 2) for k, n in ((2, 31), (14, 35))]
    assert nose[0] - np.mean([c[0] for c in cheeks]) >= MIN_PARALLAX, (nose, cheeks)
    assert abs(nose[1]) < 1.0  # a turn, not a nod


def test_a_nod_foreshortens_chin_and_forehead(astronaut):
    image, face, lm = astronaut
    source = MotionSource(image, face, plan(pitch=8.0))
    frame = source.frame(N - 1)
    nose, chin = shift_at(image, frame, lm[30]), shift_at(image, frame, lm[8] - (0, 10))
    brows = shift_at(image, frame, lm[17:27].mean(axis=0) - (0, 8))
    assert nose[1] - chin[1] >= MIN_PARALLAX, (nose, chin)  # nose to chin: shorter
    assert nose[1] - brows[1] >= MIN_PARALLAX, (nose, brows)  # brows to nose: longer, the forehead tips away
    moved = source.landmarks[N - 1]
    assert (moved[8, 1] - moved[30, 1]) < (lm[8, 1] - lm[30, 1]) - 1  # the landmarks say the same


def test_the_head_mask_is_sampled_for_a_long_speech():
    """A 70 s request moves 68 landmarks over 1750 frames: more points than remap takes in one column."""
    from generation.pipeline.motion_head import sample

    rng = np.random.default_rng(0)
    mask = rng.random((50, 60), dtype=np.float32)
    x, y = rng.random((1750, 68)) * 59, rng.random((1750, 68)) * 49
    got = sample(mask, x, y)
    one = np.array([sample(mask, x[i], y[i]) for i in range(0, 1750, 250)])
    assert got.shape == (1750, 68) and np.array_equal(got[::250], one)
    assert 0.0 < got.mean() < 1.0
