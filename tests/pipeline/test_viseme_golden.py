"""The viseme engine's mesh and frames, bit for bit, against values saved from a known-good version.

A refactor of viseme_mesh / viseme_render (named constants, smaller functions) must not change one pixel. The
expected values in data/viseme_golden.npz were made with the code as it was before such a refactor;
a change that is meant to change the look regenerates them on purpose:

    .venv/bin/python tests/pipeline/test_viseme_golden.py --write

Three faces: the demo photo with its dlib landmarks (stored, so a dlib upgrade cannot move them),
the same tilted and shrunk (a head that is not upright), and one whose lips are parted on the photo
(the rest pose must close them). Each is drawn at a few fixed (open, spread, round, blink) weights.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from generation.pipeline.images import demo_avatar_image  # noqa: E402
from generation.pipeline.lipsync import viseme_mesh as M  # noqa: E402
from generation.pipeline.lipsync.viseme import VisemeEngine  # noqa: E402
from generation.pipeline.types import Face  # noqa: E402

GOLDEN = Path(__file__).resolve().parent / "data" / "viseme_golden.npz"
# (open, spread, round, blink): closed, wide open, a spread "ee", a rounded "oo", a mix with a blink
WEIGHTS = ((0.0, 0.0, 0.0, 0.0), (1.0, 0.0, 0.0, 0.0), (0.45, 0.9, 0.0, 0.0), (0.6, 0.0, 1.0, 0.0),
           (0.35, 0.25, 0.15, 0.8))
TILT_DEGREES, TILT_SCALE = 11.0, 0.8
PARTED = 0.12  # lower lip and chin moved down by this share of the mouth width
MESH_FIELDS = ("points", "triangles", "bases", "rest")
FLOAT_TOLERANCE = 1e-9  # px: summation order differs between numpy releases by ~1e-15
KEEP_DECIMALS = 4


def digest(array: np.ndarray) -> str:
    """sha256 of an array's dtype, shape and bytes."""
    array = np.ascontiguousarray(array)
    return hashlib.sha256(f"{array.dtype}{array.shape}".encode() + array.tobytes()).hexdigest()


def cases(demo_landmarks: np.ndarray):
    """(name, image, landmarks) of the three faces."""
    image = demo_avatar_image()
    h, w = image.shape[:2]
    yield "demo", image, demo_landmarks
    centre = tuple(float(c) for c in demo_landmarks[48:68].mean(axis=0))
    m = cv2.getRotationMatrix2D(centre, TILT_DEGREES, TILT_SCALE)
    tilted = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    yield "tilted", tilted, (demo_landmarks.astype(np.float64) @ m[:, :2].T + m[:, 2]).astype(np.float32)
    parted = demo_landmarks.astype(np.float64).copy()
    mw = float(np.hypot(*(parted[54] - parted[48])))
    parted[[55, 56, 57, 58, 59, 65, 66, 67]] += (0, PARTED * mw)
    parted[5:12] += (0, 0.6 * PARTED * mw)
    yield "parted", image, parted.astype(np.float32)


def observe(demo_landmarks: np.ndarray) -> dict[str, np.ndarray]:
    """Every value checked: mesh arrays as they are, the warp fade and the frames as digests."""
    engine = VisemeEngine()
    out: dict[str, np.ndarray] = {}
    for name, image, lm in cases(demo_landmarks):
        h, w = image.shape[:2]
        mesh, mw = M.mouth_mesh(lm.astype(np.float64), w, h)
        for field in MESH_FIELDS:
            out[f"{name}.{field}"] = getattr(mesh, field)
        out[f"{name}.roi"] = np.array(mesh.roi)
        out[f"{name}.mouth_width"] = np.array(mw)
        # rounded: numpy releases differ in the last bits of float32 arithmetic, and pixels cannot see them
        out[f"{name}.keep"] = np.array(digest(np.round(mesh.keep, KEEP_DECIMALS)))
        eyes = M.eye_mesh(lm.astype(np.float64), w, h)
        out[f"{name}.eyes"] = np.array(digest(np.concatenate([eyes.points.ravel(), eyes.bases.ravel()])))
        state = engine.prepare(image, Face(box=(0, 0, w, h), landmarks=lm, image_size=(w, h)))
        out[f"{name}.frames"] = np.array([digest(engine.draw(state, np.array(wt[:3]), wt[3])) for wt in WEIGHTS])
    return out


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN) as data:
        return dict(data)


@pytest.fixture(scope="module")
def observed(golden) -> dict[str, np.ndarray]:
    return observe(golden["demo_landmarks"])


@pytest.mark.parametrize("name", ["demo", "tilted", "parted"])
def test_mouth_mesh_unchanged(golden, observed, name):
    for field in (*MESH_FIELDS, "roi", "mouth_width", "keep", "eyes"):
        key = f"{name}.{field}"
        assert observed[key].shape == golden[key].shape, key
        if observed[key].dtype.kind == "f":
            assert np.allclose(observed[key], golden[key], rtol=0, atol=FLOAT_TOLERANCE), key
        else:
            assert np.array_equal(observed[key], golden[key]), key


@pytest.mark.parametrize("name", ["demo", "tilted", "parted"])
def test_frames_unchanged(golden, observed, name):
    changed = [WEIGHTS[i] for i, (a, b) in enumerate(zip(observed[f"{name}.frames"], golden[f"{name}.frames"]))
               if a != b]
    assert not changed, f"{name}: frames differ at weights {changed}"


def write() -> None:
    """Save the current code's values as the expected ones (only when a change of look is intended)."""
    from generation.pipeline.faces import FaceAnalyzer

    lm = FaceAnalyzer().analyze(demo_avatar_image()).landmarks.astype(np.float32)
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(GOLDEN, demo_landmarks=lm, **observe(lm))
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size} bytes)")


if __name__ == "__main__" and "--write" in sys.argv:
    write()
