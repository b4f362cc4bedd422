"""The shared test-face set: every case is found by the project's real dlib analyser, and shows what its tags say."""
import cv2
import numpy as np
import pytest

from generation.pipeline.faces import analyze_face
from generation.pipeline.landmarks import NUM_LANDMARKS
from tests import face_edits as fx
from tests import faces

FRONTAL_MAX_ASYMMETRY = 0.35  # |nose-to-jaw asymmetry| of a face seen from the front (real portraits reach 0.25)
THREE_QUARTER_MIN_ASYMMETRY = 0.3
CLOSED_MAX_GAP = 0.06  # inner-lip gap in eye-corner distances
OPEN_MIN_GAP = 0.08
LOW_LIGHT_MAX_LUMA = 80  # mean luma of the face box


def _measure(photo: np.ndarray) -> dict:
    """Pose, mouth, light and texture figures of the largest face, in the face's own frame."""
    face = analyze_face(photo)
    assert face is not None
    p = face.landmarks
    e = fx.eye_distance(p)
    tilt = np.degrees(np.arctan2(p[45, 1] - p[36, 1], p[45, 0] - p[36, 0]))
    c, s = np.cos(np.radians(-tilt)), np.sin(np.radians(-tilt))
    q = p @ np.array([[c, s], [-s, c]])  # eye line horizontal
    to_left, to_right = q[30, 0] - q[0:3, 0].mean(), q[14:17, 0].mean() - q[30, 0]
    grey = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY).astype(np.float32)
    left, top, right, bottom = face.box
    r = max(2, int(0.15 * e))

    def cheeks(img):
        return np.concatenate([img[int(y) - r:int(y) + r, int(x) - r:int(x) + r].ravel()
                               for x, y in ((p[1] + p[31]) / 2, (p[15] + p[35]) / 2)])

    def inside(img, poly):
        mask = np.zeros(img.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
        return img[mask > 0]

    cheek = float(np.median(cheeks(grey)))
    inner = inside(grey, p[60:68])
    sobel = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    diffs = np.abs(np.diff(grey, axis=1))
    face_rgb = photo[top:bottom, left:right].reshape(-1, 3).astype(np.float32)
    return {
        "face": face,
        "width": right - left,
        "tilt": tilt,
        "asymmetry": (to_right - to_left) / (to_right + to_left),
        "pitch": (q[33, 1] - q[[36, 45], 1].mean()) / (q[8, 1] - q[33, 1]),  # eyes-to-nose over nose-to-chin
        "gap": np.mean([np.linalg.norm(p[a] - p[b]) for a, b in ((61, 67), (62, 66), (63, 65))]) / e,
        "teeth": (np.percentile(inner, 80) / cheek) if inner.size > 4 else 0.0,
        "cheek": cheek,
        "chin": np.median(inside(grey, p[[59, 58, 57, 56, 55, 11, 10, 9, 8, 7, 6, 5]])) / cheek,
        "brow_band_edges": inside(sobel, np.vstack([p[17:27], p[[45, 46, 47, 42, 39, 40, 41, 36]]])).mean()
                           / cheeks(sobel).mean(),
        "sharpness": cv2.Laplacian(grey[top:bottom, left:right], cv2.CV_32F).var(),
        "red_over_blue": face_rgb[:, 0].mean() / max(1.0, face_rgb[:, 2].mean()),
        "blockiness": diffs[:, 7::8].mean() / diffs.mean(),  # JPEG's 8-px block edges against all edges
        "luma": grey[top:bottom, left:right].mean(),
    }


@pytest.fixture(scope="module")
def measured():
    return {c.name: _measure(faces.get(c.name)) for c in faces.cases()}


@pytest.fixture(scope="module")
def measured_bases():
    return {name: _measure(np.array(faces.base(name))) for name in faces.BASES}


def test_set_is_varied():
    cases = faces.cases()
    assert 15 <= len(cases) <= 24
    for tag in ("frontal", "three_quarter", "looking_down", "closed_mouth", "toothy", "glasses", "beard",
                "dark_skin", "light_skin", "low_light", "small_face_300", "large_face_1200"):
        assert faces.names(tag), f"no case tagged {tag}"
    real = [c for c in cases if "synthetic" not in c.tags]
    assert len(real) >= 5 and len({c.base for c in cases if c.base}) >= 4


def test_photos_are_cached_read_only_rgb():
    photo = faces.get("astronaut")
    assert photo is faces.get("astronaut") and not photo.flags.writeable
    assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3
    with pytest.raises(KeyError, match="no test face"):
        faces.get("nobody")


def test_feature_crops_are_enlarged_round_the_landmarks(measured):
    photo, points = faces.get("biden"), measured["biden"]["face"].landmarks
    crops = faces.feature_crops(photo, points)
    assert set(crops) == {"mouth", "right_eye", "left_eye"}
    mouth_width = points[54, 0] - points[48, 0]
    assert crops["mouth"].shape[1] >= 3 * mouth_width
    assert crops["mouth"].shape[1] % 3 == 0 and crops["mouth"].shape[0] % 3 == 0


@pytest.mark.parametrize("name", faces.names())
def test_every_case_is_detected_with_68_landmarks(measured, name):
    m = measured[name]
    photo = faces.get(name)
    points = m["face"].landmarks
    assert points.shape == (NUM_LANDMARKS, 2)
    h, w = photo.shape[:2]
    assert (points[:, 0] > -5).all() and (points[:, 0] < w + 5).all() and (points[:, 1] < h + 5).all()
    assert m["width"] >= 60


@pytest.mark.parametrize("name", faces.names())
def test_tags_are_plausible(measured, measured_bases, name):
    case, m = faces.case(name), measured[name]
    src = measured_bases[case.base] if case.base else None
    tags = case.tags
    if "frontal" in tags:
        assert abs(m["asymmetry"]) <= FRONTAL_MAX_ASYMMETRY
    if "three_quarter" in tags:
        assert abs(m["asymmetry"]) >= THREE_QUARTER_MIN_ASYMMETRY
        if src and "three_quarter" not in faces.case(case.base).tags:
            assert abs(m["asymmetry"] - src["asymmetry"]) >= 0.2  # turned by the edit itself
    if "looking_down" in tags:
        assert m["pitch"] >= 1.25 * src["pitch"]  # the chin foreshortens below the nose
    if "rotated" in tags:
        assert abs(m["tilt"] - src["tilt"]) >= 10
    elif src:
        assert abs(m["tilt"] - src["tilt"]) <= 4
    if "closed_mouth" in tags:
        assert m["gap"] <= CLOSED_MAX_GAP
    if "open_mouth" in tags:
        assert m["gap"] >= OPEN_MIN_GAP
    if "toothy" in tags:
        assert m["teeth"] >= 1.05  # the brightest fifth of the open mouth outshines the cheeks
    if "low_light" in tags:
        assert m["luma"] <= LOW_LIGHT_MAX_LUMA
    else:
        assert m["luma"] > LOW_LIGHT_MAX_LUMA + 5
    if "small_face_300" in tags:
        assert 270 <= m["width"] <= 330
    if "large_face_1200" in tags:
        assert 1080 <= m["width"] <= 1320
    if src and "beard" in tags:
        assert m["chin"] <= 0.7 * src["chin"]
    if src and "glasses" in tags and "glasses" not in faces.case(case.base).tags:
        assert m["brow_band_edges"] >= 1.1 * src["brow_band_edges"]
    if src and "dark_skin" in tags and "dark_skin" not in faces.case(case.base).tags:
        assert m["cheek"] <= 0.75 * src["cheek"]
    if src and "colour_cast" in tags:
        assert m["red_over_blue"] >= 1.3 * src["red_over_blue"]
    if src and "blurred" in tags:
        assert m["sharpness"] <= 0.2 * src["sharpness"]
    if src and "jpeg_artifacts" in tags:
        assert m["blockiness"] >= 1.4 * src["blockiness"]
