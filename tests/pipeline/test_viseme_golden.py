"""The viseme engine's mesh (bit for bit) and frames (to a level) against values saved from a known-good version.

A refactor of viseme_mesh / viseme_render (named constants, smaller functions) must not change one pixel. The
expected values in data/viseme_golden.npz were made with the code as it was before such a refactor;
a change that is meant to change the look regenerates them on purpose:

    .venv/bin/python tests/pipeline/test_viseme_golden.py --write

Three faces: the demo photo with its dlib landmarks (stored, so a dlib upgrade cannot move them),
the same tilted and shrunk (a head that is not upright), and one whose lips are parted on the photo
(the rest pose must close them). Each is drawn at a few fixed (open, spread, round, blink) weights.

Frames are kept as their difference from the photo (zero wherever nothing is drawn, so they compress to
a few kB) and compared with a tolerance: OpenCV and numpy pick SIMD kernels by CPU (SSE, AVX2, AVX-512),
which round a handful of pixels one level apart — bit-for-bit digests made on one CPU failed on another.
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
# a frame matches when at most this share of its channel values differ by more than LEVELS_OFF levels and
# its mean difference stays under MEAN_OFF levels. SSE against AVX2 kernels: 14 values of 439 296 off, by
# one level; the smallest intended change of look so far (a 1.5 px feather) moved 220-800 of them.
LEVELS_OFF = 2
SHARE_OFF = 0.0002
MEAN_OFF = 0.003


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
    """Every value checked: mesh arrays as they are, the warp fade as a digest, the frames as differences from the photo."""
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
        frames = [engine.draw(state, np.array(wt[:3]), wt[3]).astype(np.int16) - image for wt in WEIGHTS]
        out[f"{name}.frames"] = np.stack(frames)
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
    expected, got = golden[f"{name}.frames"], observed[f"{name}.frames"]
    assert got.shape == expected.shape, name
    changed = []
    for weights, a, b in zip(WEIGHTS, got, expected):
        off = np.abs(a.astype(np.int32) - b)
        share, mean = float((off > LEVELS_OFF).mean()), float(off.mean())
        if share > SHARE_OFF or mean > MEAN_OFF:
            changed.append(f"{weights}: {share:.4%} of values off by > {LEVELS_OFF}, mean {mean:.3f}")
    assert not changed, f"{name}: frames differ at weights " + "; ".join(changed)


def write() -> None:
    """Save the current code's values as the expected ones (only when a change of look is intended)."""
    from generation.pipeline.faces import FaceAnalyzer

    lm = FaceAnalyzer().analyze(demo_avatar_image()).landmarks.astype(np.float32)
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(GOLDEN, demo_landmarks=lm, **observe(lm))
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size} bytes)")


if __name__ == "__main__" and "--write" in sys.argv:
    write()
