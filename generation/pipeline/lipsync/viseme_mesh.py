"""Per-avatar meshes for the viseme engine: the lower face (open, spread, round, tuck, press) and the eyes (blink).

The lower face is a triangle mesh over the jaw, nose-base and lip landmarks plus helper points. Each
vertex moves by a linear mix of displacement bases, one per mouth parameter: jaw open, lips
spread, lips rounded, lower lip tucked under the upper teeth (ф/в), lips pressed together (м/п/б). A ring of anchors that never move (nose base, cheeks, neck) keeps the warp
continuous with the untouched photo, so no seam can show. viseme_render turns a displaced mesh into
pixels; this module only builds meshes, once per avatar.

Lengths are in mouth widths (corner 48 to corner 54), so faces of every size get the same shapes.
The per-landmark weights below were set by eye on rendered frames and contact sheets (preview.py)
of the demo and the test avatars (docs/architecture.md §7); each comment says what the value is for and, where
it was tried, what happens when it moves. tests/pipeline/test_viseme_golden.py pins the output.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import Delaunay

from ..landmarks import (INNER_LIP_PAIRS, INNER_LIPS, INNER_MOUTH_CORNERS, LEFT_BROW, LEFT_EYE, LIPS,
                         LOWER_INNER_LIP, LOWER_JAW, MOUTH_CORNERS, NOSE_BASE, NOSE_BASE_MIDDLE, NOSE_TIP,
                         RIGHT_BROW, RIGHT_EYE, UPPER_INNER_LIP)
from .mesh_edges import force_edges

# How far the "open" basis moves at open=1: the lower inner lip drops this many mouth widths. A
# spoken "a" (open ~0.95) then parts the lips by about a third of the mouth's width. Tried at 0.5:
# a wide-open vowel looks like a yawn and the chin slides down the neck.
OPEN_GAIN = 0.34
# Open weight of each lower-jaw point, in OPEN_GAIN units: the mandible rotates about the ear, so
# the chin (8) drops most and the points beside the ears (2, 14) not at all.
JAW_OPEN = {2: 0.0, 3: 0.08, 4: 0.22, 5: 0.42, 6: 0.62, 7: 0.8, 8: 0.88, 9: 0.8, 10: 0.62, 11: 0.42, 12: 0.22,
            13: 0.08, 14: 0.0}
# Open weight of each lip point. The lower lip rides on the jaw and its own depressor muscle pulls
# it further, so it drops a little more than the chin (0.8-1.0); the upper lip lifts slightly
# (-0.05..-0.1, the levator muscles); the corners, hinges between the two, go about half way.
LIP_OPEN = {
    48: 0.42, 54: 0.42, 60: 0.45, 64: 0.45,
    49: -0.05, 50: -0.08, 51: -0.08, 52: -0.08, 53: -0.05, 61: -0.1, 62: -0.1, 63: -0.1,
    55: 0.8, 56: 0.97, 57: 0.97, 58: 0.97, 59: 0.8, 65: 0.95, 66: 1.0, 67: 0.95,
}
# The lips keep their length: as the jaw drops, the corners come in a little (in OPEN_GAIN units),
# so an open mouth is taller and slightly narrower, not a widening slot.
CORNER_PULL_IN = 0.12
# Spread ("ee"): along the mouth axis outwards (U) and down the face (V, negative = up), in mouth
# widths. The corners go out by 9% each side and slightly up (a smile); the points between follow
# less the nearer they are to the middle; the middle of the lips flattens (51 down, 57 up).
SPREAD_U = {48: 0.09, 54: 0.09, 60: 0.085, 64: 0.085, 49: 0.05, 53: 0.05, 59: 0.05, 55: 0.05,
            61: 0.04, 63: 0.04, 65: 0.04, 67: 0.04, 50: 0.02, 52: 0.02, 56: 0.02, 58: 0.02}
SPREAD_V = {48: -0.02, 54: -0.02, 60: -0.015, 64: -0.015, 51: 0.012, 57: -0.012}
# Round ("oo"): the lips are squeezed towards the middle, every point by this share of its own
# distance from the mouth centre along the mouth axis (the corners, half a width out, by 26% of the
# width each side), and they push forward, which the camera sees as taller lips (51 up, 57 down).
# A fixed pull per point (13% at the corners, 6% for the inner points) left dlib finding a rounded
# «о» at 0.95 of the rest width, and made larger it pulled the inner points past their neighbours
# (a jagged, V-shaped cavity).
ROUND_SQUEEZE = 0.52
ROUND_V = {51: -0.035, 57: 0.035, 50: -0.02, 52: -0.02, 56: 0.02, 58: 0.02, 62: -0.02, 66: 0.02}
# Tuck (ф/в): the lower lip rises and rolls in under the upper teeth, so its red shows thinner; the
# upper lip lifts a little off the teeth. All moves are shares of the lower lip's own thickness (57
# to 66; a fixed share of the mouth width folded an older face's thin lower lip over itself), up the
# face. Both inner contours rise alike (the lips stay together); the outer lower edge rises most, and
# the chin skin below follows most of it: the triangles that bridge lip and chin then move as one
# (with only the outer edge moving, a step showed where they cut across the lip).
TUCK_UP = {57: 0.42, 56: 0.4, 58: 0.4, 55: 0.28, 59: 0.28, 65: 0.2, 66: 0.2, 67: 0.2,
           61: 0.2, 62: 0.2, 63: 0.2, 50: 0.12, 51: 0.12, 52: 0.12, 49: 0.07, 53: 0.07}
TUCK_CHIN_FOLLOW = 0.85
# Press (м/п/б): the lips squeeze together, each red lip a little thinner (51 down, 57 up) and the
# corners a touch in; the inner contour does not move (the lips are already shut by the closure).
PRESS_V = {51: 0.022, 50: 0.018, 52: 0.018, 57: -0.028, 56: -0.022, 58: -0.022}
PRESS_U = {48: -0.015, 54: -0.015}

# Helper points on the skin, so the warp falls off smoothly instead of across one big triangle.
# Between each mouth corner and three jaw points below it: open is the mean of its two ends, spread
# and round about half and 40% of the corner's (skin half way to the jaw follows about half way).
CORNER_TO_JAW = {48: (3, 4, 5), 54: (13, 12, 11)}
CORNER_SKIN_SPREAD, CORNER_SKIN_ROUND = 0.04, -0.22
# Between each corner and the nostril above it: upper-lip skin, held by the fixed nose base.
CORNER_NOSTRIL = {48: 31, 54: 35}
NASOLABIAL_OPEN, NASOLABIAL_SHAPE = 0.06, 0.02
NASOLABIAL_ROUND = 0.16  # rounding pulls this skin in with the corners: at 0.02 a crease ran from nostril to corner
# Between each corner and jaw point 3 / 13. That is also the first CORNER_TO_JAW point: the two
# coincide and Delaunay keeps one of them, which one depends on the face (the demo keeps the jaw
# point on both sides, test_viseme_golden's tilted face this one on one side). Left as it is: moving
# it towards the cheek, as its name meant, would change such faces' frames.
CORNER_CHEEK = {48: 3, 54: 13}
CHEEK_OPEN, CHEEK_SHAPE = 0.1, 0.02
CHEEK_ROUND = 0.17
# Between each lower-lip point and the jaw point below it, open the mean of the two: the chin skin.
LIP_TO_CHIN = ((57, 8), (58, 7), (56, 9), (59, 6), (55, 10))

# The anchors: under the jaw line, pushed out from the nose base by this many mouth widths. The
# chin drops up to 0.3 widths; spreading that over 0.9 keeps the neck's stretch gentle. At 0.4 the
# stretch is squeezed under the jaw and the change at the warp's border doubles (a visible seam).
NECK_MARGIN = 0.9
# ... and half way from the ear-side jaw points (2, 14) to the nostrils: the cheeks stay put.
CHEEK_ANCHORS = {2: 31, 14: 35}

# A photo with parted lips (a toothy smile) is closed at rest: the open basis is applied with a
# negative weight of the photo's gap over INNER_GAP_PER_OPEN, the inner lips' separation per unit
# of open (lower 1.0 minus upper -0.1, in OPEN_GAIN units).
INNER_GAP_PER_OPEN = 1.1
# What is left is closed pair by pair, the lower lip doing most of it: it rides on the jaw, while
# the upper lip is held by the skull (meeting half way would drag the upper lip down).
LOWER_LIP_CLOSE_SHARE, UPPER_LIP_CLOSE_SHARE = 0.8, 0.2
# Only to choose the triangulation, the lower lip is pushed this many mouth widths away from the
# upper (most in the middle, none at the corners). On a closed mouth the two lip lines nearly
# touch, and with 0 triangles bridge them: the demo's closed mouth then shows red specks along it.
VIRTUAL_GAP = 0.25
# Nothing at or above the nose tip may move (docs/architecture.md §7): the warp fades in over this distance
# below the tip's line, in mouth widths, along a smoothstep with no visible ends.
NOSE_FADE = 0.2
ROI_PAD = 3  # px of margin around the mesh's hull, for rounding where triangles are rasterised

# Eyes: one blink basis, in shares of the gap between an upper-lid point and the lower-lid point
# under it. The upper lid travels 97% of the gap and the lower lid rises 4%: together just past
# closed, so no slit of eye is left at the peak of a blink.
LID_CLOSE = 0.97
LOWER_LID_RISE = 0.04
LID_MIDDLE = 0.55  # a point half way between the lids moves 55% of the upper lid's travel
# The skin fold above the lid, 0.9 gaps above it and 5% of the eye's width higher, follows the lid
# a quarter of the way down.
CREASE_OUT, CREASE_UP, CREASE_FOLLOW = 0.9, 0.05, 0.25
UNDER_EYE_OUT, UNDER_EYE_DOWN = 1.3, 0.15  # fixed points under the lower lid: gaps, eye widths
CORNER_OUT = 0.35  # fixed points this many eye widths beyond each corner, so the warp ends there


@dataclass
class Mesh:
    """Source vertices, triangles, displacement bases (K, V, 2) and the ROI they live in."""

    points: np.ndarray  # (V, 2) float64 source positions
    triangles: np.ndarray  # (T, 3) int
    bases: np.ndarray  # (K, V, 2)
    rest: np.ndarray  # (V, 2) displacement applied at every frame
    roi: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), clipped to the image
    grid: np.ndarray  # (h, w, 2) float32 pixel coordinates of the ROI
    keep: np.ndarray | None = None  # (h, w, 1) float32 share of the warp applied; 0 = pixel untouched

    def displaced(self, weights: np.ndarray) -> np.ndarray:
        """Destination vertices for basis weights (K,); missing trailing weights count as 0."""
        weights = np.asarray(weights, dtype=np.float64)[:len(self.bases)]
        return self.points + self.rest + np.tensordot(weights, self.bases[:len(weights)], axes=1)


BASES = ("open", "spread", "round", "tuck", "press")  # the mouth mesh's bases, in the order of the weights
LIP_CORNERS = MOUTH_CORNERS + INNER_MOUTH_CORNERS
# The mouth mesh lists the lower jaw, the nose base, then landmarks 48..67, then its helpers.
FIRST_LIP_VERTEX = len(LOWER_JAW) + len(NOSE_BASE)


def _contour(landmarks) -> list[tuple[int, int]]:
    """Mesh vertex pairs along a closed loop of lip landmarks."""
    ring = [FIRST_LIP_VERTEX + (i - 48) for i in landmarks]
    return list(zip(ring, ring[1:] + ring[:1]))


# the inner lips' loop first (the one whose absence shows), then the outer lips'
LIP_CONTOURS = _contour(range(60, 68)) + _contour(range(48, 60))


def lip_vertex(landmark: int) -> int:
    """Index in the mouth mesh of lip landmark 48..67."""
    return FIRST_LIP_VERTEX + landmark - LIPS[0]


def unit(vec: np.ndarray) -> np.ndarray:
    """Vector scaled to length 1."""
    return vec / max(float(np.hypot(*vec)), 1e-6)


def make_roi(points: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """Integer bounding box of points plus padding, clipped to the image."""
    x0, y0 = np.floor(points.min(axis=0)).astype(int) - ROI_PAD
    x1, y1 = np.ceil(points.max(axis=0)).astype(int) + ROI_PAD + 1
    return max(0, x0), max(0, y0), min(width, x1), min(height, y1)


def pixel_grid(roi: tuple[int, int, int, int]) -> np.ndarray:
    """(h, w, 2) float32 absolute pixel coordinates of an ROI."""
    x0, y0, x1, y1 = roi
    xs, ys = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
    return np.dstack([xs, ys])


def triangulate(points: np.ndarray, virtual: np.ndarray, edges=()) -> np.ndarray:
    """Delaunay triangles of `virtual` positions with `edges` forced in, dropping ones degenerate at the real positions."""
    tris = force_edges(Delaunay(virtual).simplices, virtual, edges)
    a, b, c = (points[tris[:, k]] for k in range(3))
    area = np.abs((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])
    return tris[area > 1e-3]


def mouth_frame(lm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Mouth centre, axis u (corner to corner), down vector v and mouth width."""
    left, right = MOUTH_CORNERS
    u = unit(lm[right] - lm[left])
    return lm[INNER_LIPS].mean(axis=0), u, np.array([-u[1], u[0]]), float(np.hypot(*(lm[right] - lm[left])))


class _Vertices:
    """Mesh vertices collected with their (open, spread, round) displacements."""

    def __init__(self):
        self.points, self.open, self.spread, self.round, self.tuck, self.press = [], [], [], [], [], []

    def add(self, p, o=(0.0, 0.0), s=(0.0, 0.0), r=(0.0, 0.0), t=(0.0, 0.0), pr=(0.0, 0.0)) -> None:
        """One vertex at p; no displacement given = an anchor."""
        self.points.append(np.asarray(p, float))
        self.open.append(o)
        self.spread.append(s)
        self.round.append(r)
        self.tuck.append(t)
        self.press.append(pr)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(V, 2) positions and (BASES, V, 2) bases."""
        return np.array(self.points), np.stack([np.array(b) for b in (self.open, self.spread, self.round, self.tuck, self.press)])


def lower_lip_thickness(lm, v) -> float:
    """px from the lower lip's inner edge (66) down to its outer edge (57)."""
    return max(0.0, float((lm[57] - lm[66]) @ v))


def add_landmarks(vs: _Vertices, lm, centre, u, v, mw) -> None:
    """Lower jaw (opens), nose base (fixed) and every lip point (all the bases)."""
    jaw_px = OPEN_GAIN * mw
    lower_lip = lower_lip_thickness(lm, v)
    for i in LOWER_JAW:
        vs.add(lm[i], tuple(JAW_OPEN[i] * jaw_px * v))
    for i in NOSE_BASE:
        vs.add(lm[i])
    for i in LIPS:
        side = 1.0 if (lm[i] - centre) @ u > 0 else -1.0  # outwards along the mouth axis
        o = LIP_OPEN[i] * jaw_px * v - (CORNER_PULL_IN * jaw_px * side * u if i in LIP_CORNERS else 0)
        s = SPREAD_U.get(i, 0.0) * mw * side * u + SPREAD_V.get(i, 0.0) * mw * v
        r = -ROUND_SQUEEZE * float((lm[i] - centre) @ u) * u + ROUND_V.get(i, 0.0) * mw * v
        t = -TUCK_UP.get(i, 0.0) * lower_lip * v
        pr = PRESS_U.get(i, 0.0) * mw * side * u + PRESS_V.get(i, 0.0) * mw * v
        vs.add(lm[i], tuple(o), tuple(s), tuple(r), tuple(t), tuple(pr))


def add_skin_helpers(vs: _Vertices, lm, u, v, mw) -> None:
    """Skin between lips, jaw and nose, moving part way with both ends."""
    jaw_px = OPEN_GAIN * mw
    for corner, sgn in zip(MOUTH_CORNERS, (-1.0, 1.0)):  # sgn: outwards along u
        for j in CORNER_TO_JAW[corner]:
            w = 0.5 * (LIP_OPEN[corner] + JAW_OPEN[j])
            vs.add((lm[corner] + lm[j]) / 2, tuple(w * jaw_px * v), tuple(CORNER_SKIN_SPREAD * mw * sgn * u),
                   tuple(CORNER_SKIN_ROUND * mw * sgn * u))
        above = (lm[corner] + lm[CORNER_NOSTRIL[corner]]) / 2
        vs.add(above, tuple(NASOLABIAL_OPEN * jaw_px * v), tuple(NASOLABIAL_SHAPE * mw * sgn * u),
               tuple(-NASOLABIAL_ROUND * mw * sgn * u))
        cheek = (lm[corner] + lm[CORNER_CHEEK[corner]]) / 2
        vs.add(cheek, tuple(CHEEK_OPEN * jaw_px * v), tuple(CHEEK_SHAPE * mw * sgn * u),
               tuple(-CHEEK_ROUND * mw * sgn * u))
    for a, b in LIP_TO_CHIN:
        w = 0.5 * (LIP_OPEN[a] + JAW_OPEN[b])
        tuck = -TUCK_CHIN_FOLLOW * TUCK_UP.get(a, 0.0) * lower_lip_thickness(lm, v) * v
        vs.add((lm[a] + lm[b]) / 2, tuple(w * jaw_px * v), t=tuple(tuck))


def add_anchors(vs: _Vertices, lm, mw) -> None:
    """The ring that never moves: neck outside the jaw line, cheeks beside the nose."""
    for i in LOWER_JAW:
        vs.add(lm[i] + unit(lm[i] - lm[NOSE_BASE_MIDDLE]) * NECK_MARGIN * mw)
    for i, nostril in CHEEK_ANCHORS.items():
        vs.add((lm[i] + lm[nostril]) / 2)


def rest_pose(lm, points, open_basis, v, mw) -> np.ndarray:
    """(V, 2) displacement at every frame that closes lips parted on the photo, pair by pair."""
    photo_gap = max(0.0, float((lm[LOWER_INNER_LIP].mean(axis=0) - lm[UPPER_INNER_LIP].mean(axis=0)) @ v))
    rest = -photo_gap / (INNER_GAP_PER_OPEN * (OPEN_GAIN * mw)) * open_basis
    for up, low in INNER_LIP_PAIRS:  # every pair exactly, not on average: no tooth may peek out
        a, b = lip_vertex(up), lip_vertex(low)
        left = float((points[b] + rest[b] - points[a] - rest[a]) @ v)
        rest[b] -= LOWER_LIP_CLOSE_SHARE * left * v
        rest[a] += UPPER_LIP_CLOSE_SHARE * left * v
    return rest


def lips_apart(points, centre, u, v, mw) -> np.ndarray:
    """Vertex positions with the lower lip pushed down, only for choosing the triangles."""
    virtual = points.copy()
    lower = [lip_vertex(i) for i in (55, 56, 57, 58, 59, *LOWER_INNER_LIP)]
    along = ((points[lower] - centre) @ u) / (mw / 2)  # -1 at one corner, 1 at the other
    virtual[lower] += (VIRTUAL_GAP * mw * np.clip(1 - along**2, 0, 1))[:, None] * v
    return virtual


def below_nose(grid: np.ndarray, lm, v, mw) -> np.ndarray:
    """(h, w, 1) float32 share of the warp applied: 0 at and above the nose tip, 1 from NOSE_FADE below."""
    # the grid is a product of one row of x and one column of y: their two projections, summed by
    # broadcasting, instead of a (h, w, 2) product per pixel (7x quicker; a clip builds it every frame)
    nose, v32 = lm[NOSE_TIP].astype(np.float32), v.astype(np.float32)
    above = (grid[:, :1, 1] - nose[1]) * v32[1] + (grid[:1, :, 0] - nose[0]) * v32[0]
    keep = np.clip(above / np.float32(NOSE_FADE * mw), 0, 1, out=above)
    return (keep * keep * (3 - 2 * keep))[..., None]


def mouth_triangles(lm: np.ndarray) -> np.ndarray:
    """The mouth mesh's triangles for landmarks `lm` (a clip reuses one frame's on all of its frames)."""
    lm = lm.astype(np.float64)
    centre, u, v, mw = mouth_frame(lm)
    points, _ = mouth_vertices(lm, centre, u, v, mw)
    return triangulate(points, lips_apart(points, centre, u, v, mw), LIP_CONTOURS)


def mouth_vertices(lm, centre, u, v, mw) -> tuple[np.ndarray, np.ndarray]:
    """(V, 2) vertex positions and (BASES, V, 2) bases of the mouth mesh; the order depends on nothing else."""
    vs = _Vertices()
    add_landmarks(vs, lm, centre, u, v, mw)
    add_skin_helpers(vs, lm, u, v, mw)
    add_anchors(vs, lm, mw)
    return vs.arrays()


def mouth_mesh(lm: np.ndarray, width: int, height: int, triangles: np.ndarray | None = None) -> tuple[Mesh, float]:
    """Lower-face mesh with open/spread/round/tuck/press bases; also returns the mouth width in px.

    Its rest displacement closes lips parted in `lm`: a clip frame whose person talks is settled
    to a closed mouth the same way as a toothy photo. `triangles` (from `mouth_triangles` of another
    frame of the same face) keeps a clip's triangulation the same on every frame, so the warp
    cannot flip between two nearly equal triangulations from one frame to the next.
    """
    return gridded(mouth_shape(lm, width, height, triangles), lm)


def mouth_shape(lm: np.ndarray, width: int, height: int, triangles: np.ndarray | None = None) -> tuple:
    """The mouth mesh without its per-pixel arrays: (points, triangles, bases, rest, roi, mouth width).

    A few kB, so a clip keeps one per frame it has shown; `gridded` adds the ROI-sized grid.
    """
    lm = lm.astype(np.float64)
    centre, u, v, mw = mouth_frame(lm)
    points, bases = mouth_vertices(lm, centre, u, v, mw)
    rest = rest_pose(lm, points, bases[0], v, mw)
    tris = triangulate(points, lips_apart(points, centre, u, v, mw), LIP_CONTOURS) if triangles is None else triangles
    roi = make_roi(np.vstack([points, points + bases[0] + rest]), width, height)
    return points, tris, bases, rest, roi, mw


def gridded(shape: tuple, lm: np.ndarray) -> tuple[Mesh, float]:
    """The Mesh of a `mouth_shape` on landmarks `lm`, with its pixel grid and nose fade; and the mouth width."""
    points, tris, bases, rest, roi, mw = shape
    _, _, v, _ = mouth_frame(lm.astype(np.float64))
    grid = pixel_grid(roi)
    return Mesh(points, tris, bases, rest, roi, grid, below_nose(grid, lm.astype(np.float64), v, mw)), mw


def eye_parts(eye: range, brow: range) -> tuple:
    """(image-left corner, upper lid pair, image-right corner, the lower lid pair under it, brow)."""
    return eye[0], (eye[1], eye[2]), eye[3], (eye[5], eye[4]), brow


EYES = (eye_parts(RIGHT_EYE, RIGHT_BROW), eye_parts(LEFT_EYE, LEFT_BROW))


def eye_mesh(lm: np.ndarray, width: int, height: int) -> Mesh:
    """Both eyes: upper lids drop onto the lower lids (one basis), brows and cheeks fixed."""
    lm = lm.astype(np.float64)
    points, blink = [], []
    for first, upper, second, lower, brow in EYES:
        eye_w = float(np.hypot(*(lm[second] - lm[first])))
        axis = unit(lm[second] - lm[first])
        for up, low in zip(upper, lower):
            drop = (lm[low] - lm[up]) * LID_CLOSE
            points += [lm[up], lm[low], lm[up] + (lm[low] - lm[up]) * 0.5]
            blink += [drop, -LOWER_LID_RISE * drop / LID_CLOSE, drop * LID_MIDDLE]
            crease = lm[up] + (lm[up] - lm[low]) * CREASE_OUT + np.array([0, -CREASE_UP * eye_w])
            points.append(crease)
            blink.append(drop * CREASE_FOLLOW)
            points.append(lm[low] + (lm[low] - lm[up]) * UNDER_EYE_OUT + np.array([0, UNDER_EYE_DOWN * eye_w]))
            blink.append((0, 0))
        for corner, sgn in ((first, -1.0), (second, 1.0)):
            points.append(lm[corner])
            blink.append((0, 0))
            points.append(lm[corner] + sgn * axis * CORNER_OUT * eye_w)
            blink.append((0, 0))
        for b in brow:
            points.append(lm[b])
            blink.append((0, 0))
    pts = np.array(points)
    bases = np.array(blink, dtype=np.float64)[None]
    tris = triangulate(pts, pts)
    roi = make_roi(pts, width, height)
    return Mesh(pts, tris, bases, np.zeros_like(pts), roi, pixel_grid(roi))
