"""Photo blinks: the lid's own skin closes over the eye, a thin lash line at its edge, no rim on a turned face."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from generation.pipeline.faces import FaceAnalyzer
from generation.pipeline.images import demo_avatar_image
from generation.pipeline.lipsync import eyelids as L
from generation.pipeline.lipsync.viseme import VisemeEngine

TURN_DEGREES, TURN_SQUEEZE = 14.0, 0.78  # a rolled face squeezed across: one eye narrow and tilted


@pytest.fixture(scope="module")
def analyzer():
    return FaceAnalyzer()


def faces():
    """The demo, a darker-skinned low-light version of it, and a turned version."""
    demo = demo_avatar_image()
    dark = np.clip((demo.astype(np.float32) / 255) ** 1.9 * 255 * np.array([0.78, 0.62, 0.52]), 0, 255).astype(np.uint8)
    h, w = demo.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), TURN_DEGREES, 1.0)
    m[0] = m[0] * np.array([TURN_SQUEEZE, 1, 1]) + np.array([0, 0, 0.11 * w])
    turned = cv2.warpAffine(demo, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    return {"demo": demo, "dark": dark, "turned": turned}


@pytest.fixture(scope="module")
def prepared(analyzer):
    engine = VisemeEngine()
    out = {}
    for name, image in faces().items():
        face = analyzer.analyze(image)
        out[name] = (image, face.landmarks.astype(np.float64), L.measure_lids(image, face.landmarks))
    return out


@pytest.mark.parametrize("name", ["demo", "dark", "turned"])
def test_closed_eye_reads_as_the_lids_skin(prepared, name):
    image, lm, lids = prepared[name]
    closed = image.copy()
    L.draw_lids(closed, lids, lm[36:48], 1.0)
    assert L.closed_lid_ratio(image, closed, lm, lids) >= 0.85
    # the test means something: the open eye, measured the same way, is much darker than its lid
    assert L.closed_lid_ratio(image, image, lm, lids) < 0.75


def test_open_eyes_untouched_and_nothing_beyond_the_lids_moves(prepared):
    image, lm, lids = prepared["demo"]
    frame = image.copy()
    L.draw_lids(frame, lids, lm[36:48], 0.0)
    assert np.array_equal(frame, image)
    L.draw_lids(frame, lids, lm[36:48], 1.0)
    changed = np.abs(frame.astype(int) - image).max(axis=2) > 2
    ys, xs = np.nonzero(changed)
    eyes = lm[36:48]
    ew = float(np.hypot(*(lm[39] - lm[36])))
    assert xs.min() >= eyes[:, 0].min() - 0.3 * ew and xs.max() <= eyes[:, 0].max() + 0.3 * ew
    assert ys.max() <= eyes[:, 1].max() + 0.35 * ew and ys.min() >= lm[17:27, 1].min()


def test_lash_line_is_smooth_on_a_turned_face(prepared):
    """Along the closed eye, the lash line (the darkness-weighted centre of each column: its hairs
    differ on purpose, the band as a whole must not step) has no jag."""
    image, lm, lids = prepared["turned"]
    closed = image.copy()
    L.draw_lids(closed, lids, lm[36:48], 1.0)
    grey = closed.astype(np.float32).mean(axis=2)
    for p in (lm[36:42], lm[42:48]):
        o, a, n, ew = L.eye_frame(p)
        xs, top, bot = L.lid_curves(p)
        ys = np.linspace(-0.1, 0.1, 41) * ew
        rows = []
        for x, t, b in zip(xs, top, bot):
            if not 0.25 * ew < x < 0.75 * ew:
                continue
            q = o + x * a + (t + (1 - L.LOWER_RISE) * (b - t) + ys)[:, None] * n
            line = cv2.remap(grey, q[:, 0:1].astype(np.float32), q[:, 1:2].astype(np.float32), cv2.INTER_LINEAR)[:, 0]
            dark = np.maximum(np.median(line) - line, 0) ** 2
            rows.append(float((ys * dark).sum() / max(dark.sum(), 1e-6)))
        rows = np.array(rows)
        assert np.abs(np.diff(rows, 2)).max() < 0.5 + 0.04 * ew  # a jag would step a pixel or more


def test_mid_blink_lies_between_open_and_closed(prepared):
    image, lm, lids = prepared["demo"]
    ratios = []
    for blink in (0.0, 0.5, 1.0):
        frame = image.copy()
        L.draw_lids(frame, lids, lm[36:48], blink)
        ratios.append(L.closed_lid_ratio(image, frame, lm, lids))
    assert ratios[0] < ratios[1] < ratios[2]


def test_lids_go_where_the_points_are(prepared):
    """Callable at a head motion's coordinates: the same eye shifted draws the same blink, shifted."""
    image, lm, lids = prepared["demo"]
    shifted = np.roll(image, (7, 5), axis=(0, 1))
    a, b = image.copy(), shifted.copy()
    L.draw_lids(a, lids, lm[36:48], 0.7)
    L.draw_lids(b, lids, lm[36:48] + (5, 7), 0.7)
    y0, y1 = int(lm[17:48, 1].min()) - 5, int(lm[36:48, 1].max()) + 15
    x0, x1 = int(lm[36:48, 0].min()) - 15, int(lm[36:48, 0].max()) + 15
    assert np.abs(a[y0:y1, x0:x1].astype(int) - b[y0 + 7:y1 + 7, x0 + 5:x1 + 5]).max() <= 2


@pytest.fixture(scope="module")
def real(analyzer):
    """Real photos (tests/faces.py): a brow close over deep-set eyes, and outer-corner lashes."""
    from tests import faces as shared

    out = {}
    for name in ("obama_speaking", "biden"):
        image = np.ascontiguousarray(shared.get(name))
        lm = analyzer.analyze(image).landmarks.astype(np.float64)
        out[name] = (image, lm, L.measure_lids(image, lm))
    return out


def brow_band(p: np.ndarray, brow: np.ndarray, depth: float) -> np.ndarray:
    """(k, 2) points of the brow: from its landmarks down `depth` eye widths, over the eye's middle."""
    o, a, n, ew = L.eye_frame(p)
    xs, top, _ = L.lid_curves(p)
    gap = -float(np.median((brow - o) @ n - np.interp((brow - o) @ a, xs, top)))
    mid = (xs > 0.2 * ew) & (xs < 0.8 * ew)
    return np.concatenate([o + xs[mid, None] * a + (top[mid] - gap + d * ew)[:, None] * n
                           for d in np.linspace(0.0, depth, 6)])


def sample(grey: np.ndarray, q: np.ndarray) -> np.ndarray:
    return cv2.remap(grey, q[:, 0:1].astype(np.float32), q[:, 1:2].astype(np.float32), cv2.INTER_LINEAR)[:, 0]


def test_brow_never_moves_and_the_closed_lid_is_not_brow(real):
    """A brow close over the eye: the blink slides the lid skin below it, never the brow itself."""
    image, lm, lids = real["obama_speaking"]
    closed = image.copy()
    L.draw_lids(closed, lids, lm[36:48], 1.0)
    g_photo, g_closed = image.astype(np.float32).mean(axis=2), closed.astype(np.float32).mean(axis=2)
    for p, brow in ((lm[36:42], lm[17:22]), (lm[42:48], lm[22:27])):
        assert np.abs(sample(g_closed, brow_band(p, brow, 0.2)) - sample(g_photo, brow_band(p, brow, 0.2))).max() <= 2
        hair = np.percentile(sample(g_photo, brow_band(p, brow, 0.3)), 25)  # the brow's hairs
        o, a, n, ew = L.eye_frame(p)
        xs, top, bot = L.lid_curves(p)
        mid = (xs > 0.25 * ew) & (xs < 0.75 * ew)
        lid = np.concatenate([o + xs[mid, None] * a + (top[mid] + s * (bot[mid] - top[mid]))[:, None] * n
                              for s in (0.2, 0.4, 0.6)])
        assert sample(g_closed, lid).mean() > 1.3 * hair  # skin over the eye, not the brow stretched down


@pytest.mark.parametrize("name", ["obama_speaking", "biden"])
def test_no_lash_tuft_at_the_outer_corner_of_a_closed_eye(real, name):
    """Shut, the photo's outer-corner lashes must not stay up as a dark tuft above the lid line."""
    image, lm, lids = real[name]
    closed = image.copy()
    L.draw_lids(closed, lids, lm[36:48], 1.0)
    grey = closed.astype(np.float32).mean(axis=2)
    for facts, p in zip(lids.eyes, (lm[36:42], lm[42:48])):
        o, a, n, ew = L.eye_frame(p)
        xs, top, _ = L.lid_curves(p)
        corner_x = ew if facts.outer_right else 0.0
        outward = 1.0 if facts.outer_right else -1.0
        t = top[-1] if facts.outer_right else top[0]
        # round the outer corner, from 0.2 eye widths up to just above the drawn lash line
        q = np.array([o + (corner_x + outward * dx * ew) * a + (t - dy * ew) * n
                      for dx in np.linspace(-0.1, 0.15, 11) for dy in np.linspace(0.05, 0.2, 7)])
        xs_mid = (xs > 0.3 * ew) & (xs < 0.7 * ew)
        lid_skin = sample(grey, o + xs[xs_mid, None] * a + (top[xs_mid] - 0.05 * ew)[:, None] * n).mean()  # the shut lid
        # at most a few dark samples of the 77 (the photo's own lashes there: 18 on biden, 50 on obama_speaking)
        assert (sample(grey, q) < 0.6 * lid_skin).sum() <= 6
