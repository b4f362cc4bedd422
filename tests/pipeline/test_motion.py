"""Photo motion (pipeline.motion): head sway and nods measured by dlib on the output frames, still
borders, an exact still head for `none`, determinism, several photos (a face at the image edge, a
turned face, a small LFW picture whose face fills it)."""
import functools

import numpy as np
import pytest
from skimage import data

from generation.pipeline.audio import prepare
from generation.pipeline.faces import default_analyzer
from generation.pipeline.lipsync.viseme_track import blink_curve
from generation.pipeline.motion import LEVELS, LIVELY, NONE, SUBTLE, MotionSource, plan_motion
from generation.pipeline.tts import get_backend
from generation.pipeline.types import SAMPLE_RATE, Audio
from tests import media

FPS = 25
SECONDS = 10.0
SENTENCES = ("Hello there! I am a talking avatar, and today I will tell you about the moon.",
             "It is far away, and very bright at night.", "Thank you for listening to me.")
GAP = 1.4  # s of silence before and between the sentences: the pauses
MIN_NOSE_RANGE = 0.03  # face widths over the 10 s phrase (subtle; measured 0.058 with dlib here)
SPEECH_FASTER = 1.3  # the head moves at least this much faster in speech than in pauses (measured 1.6-2.1)
BORDER = 0.03  # share of the shorter side checked at every border
MAX_BORDER_DIFF = 2.0  # mean |frame - photo| there, of 255
STRIDE = 3  # frames analysed by dlib: every third (0.12 s)


@pytest.fixture(scope="module")
def speech() -> Audio:
    """10 s of espeak speech: a lead-in pause, then sentences with 1.4 s pauses between them."""
    tts = get_backend("espeak")
    parts = [np.zeros(int(0.6 * SAMPLE_RATE), np.float32)]
    for text in SENTENCES:
        parts += [prepare(tts.synthesize(text, "en")).samples, np.zeros(int(GAP * SAMPLE_RATE), np.float32)]
    samples = np.concatenate(parts)[: int(SECONDS * SAMPLE_RATE)]
    assert len(samples) == int(SECONDS * SAMPLE_RATE)
    return Audio(samples)


@functools.lru_cache(maxsize=None)
def photo(name: str):
    """(RGB image, dlib Face) of a test photo."""
    astronaut = np.ascontiguousarray(data.astronaut())
    image = {
        "astronaut": lambda: astronaut,
        "edge": lambda: np.ascontiguousarray(astronaut[0:300, 150:275]),  # face 3 px from the right edge
        "turned": lambda: media.lfw(40).rgb,  # a three-quarter view; the face fills the 264x264 picture
        "lfw": lambda: media.lfw(7).rgb,
    }[name]()
    face = default_analyzer().analyze(image)
    assert face is not None, name
    return image, face


def face_width(face) -> float:
    return float(np.hypot(*(face.landmarks[16] - face.landmarks[0])))


def dlib_landmarks(frame: np.ndarray, box) -> np.ndarray:
    """dlib's own 68 points on an output frame: detected near the photo's face box, then predicted."""
    analyzer = default_analyzer()
    left, top, right, bottom = box
    pad = int(0.5 * (right - left))
    x0, y0 = max(0, left - pad), max(0, top - pad)
    crop = np.ascontiguousarray(frame[y0:bottom + pad, x0:right + pad])
    found = analyzer.detect(crop)
    if found:
        best = max(found, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
        box = (best[0] + x0, best[1] + y0, best[2] + x0, best[3] + y0)
    return analyzer.landmarks(frame, box)


def border_diff(frame: np.ndarray, image: np.ndarray) -> float:
    """The largest mean |difference| over the four border strips (corners included), of 255."""
    edge = max(2, int(BORDER * min(image.shape[:2])))
    diff = np.abs(frame.astype(np.float32) - image.astype(np.float32))
    return max(float(diff[:edge].mean()), float(diff[-edge:].mean()), float(diff[:, :edge].mean()),
               float(diff[:, -edge:].mean()))


@pytest.fixture(scope="module")
def astronaut_run(speech):
    image, face = photo("astronaut")
    plan = plan_motion(speech, face, SUBTLE, seed=3)
    source = MotionSource(image, face, plan)
    frames = np.arange(0, source.frame_count, STRIDE)
    points = np.array([dlib_landmarks(source.frame(i), face.box) for i in frames])
    return image, face, plan, source, frames, points


def test_plan_shape_and_levels(speech):
    _, face = photo("astronaut")
    assert set(LEVELS) == {NONE, SUBTLE, LIVELY}
    plan = plan_motion(speech, face)
    assert plan.level == SUBTLE and plan.fps == FPS and len(plan) == int(SECONDS * FPS)
    for name in ("roll", "squash", "brow", "blink", "breath", "speech"):
        assert getattr(plan, name).shape == (len(plan),), name
    assert plan.shift.shape == (len(plan), 2)
    assert 0.5 < plan.speech.mean() < 0.85  # three sentences and three pauses
    assert 0 <= plan.blink.min() and plan.blink.max() <= 1 and (plan.blink > 0.9).any()
    assert 0 <= plan.brow.min() and plan.brow.max() <= 1 and plan.brow.max() > 0.3
    assert plan.breath.max() > 0 and len(plan.beats) >= 4
    assert np.abs(plan.roll).max() < 2.5  # degrees: sway, never a turn
    lively = plan_motion(speech, face, LIVELY)
    assert np.ptp(lively.shift[:, 1]) > np.ptp(plan.shift[:, 1])
    with pytest.raises(ValueError):
        plan_motion(speech, face, "wild")


def test_nose_moves_and_faster_in_speech(astronaut_run):
    image, face, plan, source, frames, points = astronaut_run
    fw = face_width(face)
    noses = points[:, 30]
    spread = max(np.hypot(*(a - b)) for a in noses for b in noses) / fw
    assert spread >= MIN_NOSE_RANGE, spread
    # dlib sees what the warp says: its nose follows the moved landmarks within a pixel or two
    assert np.abs(noses - source.landmarks[frames, 30]).max() < 0.04 * fw
    # speed of the head: the mean of the nose and eye points (less of dlib's jitter than one point)
    steps = np.hypot(*np.diff(points[:, 27:48].mean(axis=1), axis=0).T) / fw
    in_speech = plan.speech[frames[:-1]] & plan.speech[frames[1:]]
    in_pause = ~plan.speech[frames[:-1]] & ~plan.speech[frames[1:]]
    assert in_pause.sum() >= 10
    assert steps[in_speech].mean() > SPEECH_FASTER * steps[in_pause].mean(), (steps[in_speech].mean(), steps[in_pause].mean())


def test_borders_still(astronaut_run):
    image, face, plan, source, frames, points = astronaut_run
    assert max(border_diff(source.frame(i), image) for i in frames[::4]) <= MAX_BORDER_DIFF


def test_none_is_the_still_photo(speech):
    image, face = photo("astronaut")
    plan = plan_motion(speech, face, NONE, seed=5)
    source = MotionSource(image, face, plan)
    assert plan.still and source.frame_count == len(plan)
    for i in (0, 77, source.frame_count - 1):
        assert np.array_equal(source.frame(i), image)
        assert np.array_equal(source.face(i).landmarks, face.landmarks)
    np.testing.assert_array_equal(plan.blink, blink_curve(len(plan), FPS, 5))  # today's blinks
    assert not plan.brow.any()


def test_deterministic_per_seed(speech):
    image, face = photo("astronaut")
    a, b, c = (MotionSource(image, face, plan_motion(speech, face, SUBTLE, seed)) for seed in (1, 1, 2))
    for name in ("roll", "shift", "brow", "blink", "breath"):
        np.testing.assert_array_equal(getattr(a.plan, name), getattr(b.plan, name))
    assert np.array_equal(a.frame(120), b.frame(120))
    np.testing.assert_array_equal(a.landmarks, b.landmarks)
    assert not np.array_equal(a.plan.roll, c.plan.roll) and not np.array_equal(a.plan.blink, c.plan.blink)
    assert np.abs(a.landmarks[:, 30] - c.landmarks[:, 30]).max() > 1.0


def test_reader_interface(speech):
    image, face = photo("astronaut")
    source = MotionSource(image, face, plan_motion(speech, face, LIVELY, seed=0))
    n = source.frame_count
    assert (source.width, source.height, source.fps) == (512, 512, FPS)
    assert source.landmarks.shape == (n, 68, 2) and source.boxes.shape == (n, 4)
    assert source.blink.shape == (n,) and source.brow.shape == (n,)
    frame = source.frame(n // 2)
    assert frame.shape == image.shape and frame.dtype == np.uint8
    moved = source.face(n // 2)
    assert moved.image_size == (512, 512) and moved.landmarks.shape == (68, 2)
    np.testing.assert_allclose(moved.landmarks, source.landmarks[n // 2])
    with pytest.raises(IndexError):
        source.frame(n)


@pytest.mark.parametrize("name", ["edge", "turned", "lfw"])
def test_other_photos(speech, name):
    """A face at the image edge, a turned face, a face filling a small picture: the head moves, the
    borders stay, dlib finds the face where the moved landmarks say."""
    image, face = photo(name)
    source = MotionSource(image, face, plan_motion(speech, face, LIVELY, seed=1))
    fw = face_width(face)
    frames = np.arange(0, source.frame_count, 12)
    worst = 0.0
    for i in frames:
        frame = source.frame(i)
        assert border_diff(frame, image) <= MAX_BORDER_DIFF, (name, i)
        points = dlib_landmarks(frame, face.box)
        worst = max(worst, float(np.abs(points[27:36] - source.landmarks[i, 27:36]).mean()))  # the nose
    assert worst < 0.04 * fw, (name, worst / fw)
    nose = source.landmarks[:, 30]
    assert np.ptp(nose, axis=0).max() >= MIN_NOSE_RANGE * fw


def test_glances_move_the_irises_inside_the_eyes_only(speech):
    """A gaze shift changes pixels inside the eye openings and nowhere else; the plan holds and returns."""
    image, face = photo("astronaut")
    plan = plan_motion(speech, face, SUBTLE, seed=4)
    assert plan.gaze.shape == (len(plan), 2) and np.abs(plan.gaze).max() > 0.02
    assert np.abs(plan.gaze).max() <= LEVELS[SUBTLE].gaze + 1e-9
    assert (np.abs(plan.gaze).sum(axis=1) < 1e-3).mean() > 0.3  # most of the time at the camera
    still = plan_motion(speech, face, NONE, seed=4)
    assert not still.gaze.any()
    # only the glance: the same plan with every other motion taken out
    zeros = np.zeros(len(plan))
    glance = type(plan)(SUBTLE, 4, FPS, zeros, np.zeros((len(plan), 2)), zeros, zeros, zeros, zeros,
                        plan.speech, gaze=plan.gaze)
    source = MotionSource(image, face, glance)
    k = int(np.argmax(np.abs(plan.gaze[:, 0])))
    moved = source.frame(k).astype(int)
    changed = np.abs(moved - image).sum(axis=2) > 0
    assert changed.sum() > 20
    eyes = np.zeros(changed.shape, bool)
    for eye in (slice(36, 42), slice(42, 48)):
        pts = face.landmarks[eye]
        (x0, y0), (x1, y1) = pts.min(axis=0).astype(int) - 2, pts.max(axis=0).astype(int) + 3
        eyes[y0:y1, x0:x1] = True
    assert not changed[~eyes].any()
