"""Per-avatar mesh and per-frame drawing for the viseme engine.

The lower face is a triangle mesh over the 68 landmarks plus helper points whose displacement is a
linear mix of a few bases (jaw open, lip spread, lip round); a ring of zero-displacement anchors
(nose base, cheeks, neck) keeps the warp continuous with the untouched photo, so no seam can show.
Each frame the displaced mesh is rasterised and inverted exactly (destination triangle -> source
affine), the image is remapped inside the mouth ROI only, and a feathered dark cavity with a hint
of upper teeth is drawn inside the warped inner-lip polygon. Blinks use the same machinery on small
eye meshes.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import Delaunay

# Geometry, in units of the mouth width (corner to corner)
OPEN_GAIN = 0.34  # lower inner lip drop at open=1
VIRTUAL_GAP = 0.25  # inner lips pushed apart this much only to choose the triangulation
NOSE_FADE = 0.2  # the warp fades in over this distance below the nose tip
NECK_MARGIN = 0.9  # zero anchors this far outside the jaw line
ROI_PAD = 3  # px around the mesh hull

# Inner mouth look
CAVITY_RGB = np.array([52.0, 18.0, 20.0])  # deep inside: dark red-brown, never pure black
CAVITY_EDGE_RGB = np.array([88.0, 36.0, 38.0])  # just under the upper lip: a little light gets in
TONGUE_RGB = np.array([128.0, 58.0, 60.0])  # shows at the bottom of a wide-open mouth
TEETH_RGB = np.array([236.0, 224.0, 198.0])
TEETH_HEIGHT = 0.085  # upper teeth band height, mouth widths
TEETH_MAX_SHARE = 0.45  # ... at most this share of the opening
TEETH_WIDTH = 0.72  # share of the inner mouth width the teeth span
FEATHER = 0.025  # cavity edge blur sigma, mouth widths
SUBPIXEL_SHIFT = 3  # cv2 polygon fixed-point bits

# Landmark groups (iBUG 68)
JAW = range(2, 15)
NOSE_BASE = range(31, 36)
UPPER_OUTER, LOWER_OUTER = (49, 50, 51, 52, 53), (55, 56, 57, 58, 59)
UPPER_INNER, LOWER_INNER = (61, 62, 63), (65, 66, 67)
INNER = tuple(range(60, 68))
# Jaw-open weight per jaw landmark: the mandible rotates about the ear, so the chin moves most
JAW_OPEN = {2: 0.0, 3: 0.08, 4: 0.22, 5: 0.42, 6: 0.62, 7: 0.8, 8: 0.88, 9: 0.8, 10: 0.62, 11: 0.42, 12: 0.22, 13: 0.08, 14: 0.0}
LIP_OPEN = {
    48: 0.42, 54: 0.42, 60: 0.45, 64: 0.45,
    49: -0.05, 50: -0.08, 51: -0.08, 52: -0.08, 53: -0.05, 61: -0.1, 62: -0.1, 63: -0.1,
    55: 0.8, 56: 0.97, 57: 0.97, 58: 0.97, 59: 0.8, 65: 0.95, 66: 1.0, 67: 0.95,
}
# Horizontal moves (outward positive) and vertical moves (down positive) for spread and round
SPREAD_U = {48: 0.09, 54: 0.09, 60: 0.085, 64: 0.085, 49: 0.05, 53: 0.05, 59: 0.05, 55: 0.05,
            61: 0.04, 63: 0.04, 65: 0.04, 67: 0.04, 50: 0.02, 52: 0.02, 56: 0.02, 58: 0.02}
SPREAD_V = {48: -0.02, 54: -0.02, 60: -0.015, 64: -0.015, 51: 0.012, 57: -0.012}
ROUND_U = {48: -0.13, 54: -0.13, 60: -0.13, 64: -0.13, 49: -0.07, 53: -0.07, 59: -0.07, 55: -0.07,
           61: -0.06, 63: -0.06, 65: -0.06, 67: -0.06, 50: -0.03, 52: -0.03, 56: -0.03, 58: -0.03}
ROUND_V = {51: -0.035, 57: 0.035, 50: -0.02, 52: -0.02, 56: 0.02, 58: 0.02, 62: -0.02, 66: 0.02}
EYES = ((36, (37, 38), 39, (41, 40), range(17, 22)), (42, (43, 44), 45, (47, 46), range(22, 27)))


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
        """Destination vertices for basis weights (K,)."""
        return self.points + self.rest + np.tensordot(weights, self.bases, axes=1)


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


def triangulate(points: np.ndarray, virtual: np.ndarray) -> np.ndarray:
    """Delaunay triangles of `virtual` positions, dropping ones degenerate at the real positions."""
    tris = Delaunay(virtual).simplices
    a, b, c = (points[tris[:, k]] for k in range(3))
    area = np.abs((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])
    return tris[area > 1e-3]


def mouth_frame(lm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Mouth centre, axis u (corner to corner), down vector v and mouth width."""
    u = unit(lm[54] - lm[48])
    return lm[60:68].mean(axis=0), u, np.array([-u[1], u[0]]), float(np.hypot(*(lm[54] - lm[48])))


def mouth_mesh(lm: np.ndarray, width: int, height: int) -> tuple[Mesh, float]:
    """Lower-face mesh with open/spread/round bases; also returns the mouth width in px."""
    lm = lm.astype(np.float64)
    centre, u, v, mw = mouth_frame(lm)
    jaw_px = OPEN_GAIN * mw
    points, open_b, spread_b, round_b = [], [], [], []

    def add(p, o=(0.0, 0.0), s=(0.0, 0.0), r=(0.0, 0.0)):
        points.append(np.asarray(p, float)); open_b.append(o); spread_b.append(s); round_b.append(r)

    side = lambda i: 1.0 if (lm[i] - centre) @ u > 0 else -1.0  # noqa: E731
    for i in JAW:
        add(lm[i], tuple(JAW_OPEN[i] * jaw_px * v))
    for i in NOSE_BASE:
        add(lm[i])
    for i in range(48, 68):
        o = LIP_OPEN[i] * jaw_px * v - (0.04 * jaw_px * side(i) * u if i in (48, 54, 60, 64) else 0)
        s = SPREAD_U.get(i, 0.0) * mw * side(i) * u + SPREAD_V.get(i, 0.0) * mw * v
        r = ROUND_U.get(i, 0.0) * mw * side(i) * u + ROUND_V.get(i, 0.0) * mw * v
        add(lm[i], tuple(o), tuple(s), tuple(r))
    # Helpers: skin between lips and jaw follows both, so the falloff is smooth, not one big triangle
    for corner, sgn in ((48, -1.0), (54, 1.0)):
        for j in ((3, 4, 5) if sgn < 0 else (13, 12, 11)):
            mid = (lm[corner] + lm[j]) / 2
            w = 0.5 * (LIP_OPEN[corner] + JAW_OPEN[j])
            add(mid, tuple(w * jaw_px * v), tuple(0.04 * mw * sgn * u), tuple(-0.05 * mw * sgn * u))
        above = (lm[corner] + lm[31 if sgn < 0 else 35]) / 2
        add(above, tuple(0.06 * jaw_px * v), tuple(0.02 * mw * sgn * u), tuple(-0.02 * mw * sgn * u))
        cheek = (lm[corner] + lm[3 if sgn < 0 else 13]) / 2
        add(cheek, tuple(0.1 * jaw_px * v), tuple(0.02 * mw * sgn * u), tuple(-0.02 * mw * sgn * u))
    for a, b in ((57, 8), (58, 7), (56, 9), (59, 6), (55, 10)):
        w = 0.5 * (LIP_OPEN[a] + JAW_OPEN[b])
        add((lm[a] + lm[b]) / 2, tuple(w * jaw_px * v))
    # Zero ring: neck below the jaw line, pushed out from the nose tip
    for i in JAW:
        out = unit(lm[i] - lm[33])
        add(lm[i] + out * NECK_MARGIN * mw)
    for i in (2, 14):  # the cheek beside the nose stays put
        add((lm[i] + lm[31 if i == 2 else 35]) / 2)

    pts = np.array(points)
    bases = np.stack([np.array(open_b), np.array(spread_b), np.array(round_b)])
    # Rest pose closes a mouth that is open on the photo (a toothy smile): a negative opening
    inner_lower = np.array([lm[i] for i in LOWER_INNER]).mean(axis=0)
    inner_upper = np.array([lm[i] for i in UPPER_INNER]).mean(axis=0)
    photo_gap = max(0.0, float((inner_lower - inner_upper) @ v))
    rest = -photo_gap / (1.1 * jaw_px) * bases[0]
    first_lip = len(JAW) + len(NOSE_BASE) - 48  # mesh index of landmark i is first_lip + i
    for up, low in ((61, 67), (62, 66), (63, 65)):
        # close every pair exactly, not just on average: no teeth may peek out at rest
        a, b = first_lip + up, first_lip + low
        left = float((pts[b] + rest[b] - pts[a] - rest[a]) @ v)
        rest[b] -= 0.8 * left * v
        rest[a] += 0.2 * left * v
    # Triangulate with the inner lips pulled apart so no triangle bridges upper and lower lip
    virtual = pts.copy()
    lower_idx = [first_lip + i for i in (55, 56, 57, 58, 59, 65, 66, 67)]
    along = ((pts[lower_idx] - centre) @ u) / (mw / 2)
    virtual[lower_idx] += (VIRTUAL_GAP * mw * np.clip(1 - along**2, 0, 1))[:, None] * v
    tris = triangulate(pts, virtual)
    roi = make_roi(np.vstack([pts, pts + bases[0] + rest]), width, height)
    grid = pixel_grid(roi)
    # Nothing at or above the nose tip may move: the (already tiny) warp fades in below that line
    above = (grid - lm[30].astype(np.float32)) @ v.astype(np.float32)
    keep = np.clip(above / (NOSE_FADE * mw), 0, 1)
    keep = (keep * keep * (3 - 2 * keep))[..., None].astype(np.float32)
    return Mesh(pts, tris, bases, rest, roi, grid, keep), mw


def eye_mesh(lm: np.ndarray, width: int, height: int) -> Mesh:
    """Both eyes: upper lids drop onto the lower lids (one basis), brows and cheeks fixed."""
    lm = lm.astype(np.float64)
    points, blink = [], []
    for outer, upper, inner, lower, brow in EYES:
        eye_w = float(np.hypot(*(lm[inner] - lm[outer])))
        axis = unit(lm[inner] - lm[outer])
        for up, low in zip(upper, lower):
            drop = (lm[low] - lm[up]) * 0.97
            points += [lm[up], lm[low], lm[up] + (lm[low] - lm[up]) * 0.5]
            blink += [drop, -0.04 * drop / 0.97, drop * 0.55]
            crease = lm[up] + (lm[up] - lm[low]) * 0.9 + np.array([0, -0.05 * eye_w])
            points.append(crease); blink.append(drop * 0.25)
            points.append(lm[low] + (lm[low] - lm[up]) * 1.3 + np.array([0, 0.15 * eye_w])); blink.append((0, 0))
        for corner, sgn in ((outer, -1.0), (inner, 1.0)):
            points.append(lm[corner]); blink.append((0, 0))
            points.append(lm[corner] + sgn * axis * 0.35 * eye_w); blink.append((0, 0))
        for b in brow:
            points.append(lm[b]); blink.append((0, 0))
    pts = np.array(points)
    bases = np.array(blink, dtype=np.float64)[None]
    tris = triangulate(pts, pts)
    roi = make_roi(pts, width, height)
    return Mesh(pts, tris, bases, np.zeros_like(pts), roi, pixel_grid(roi))


def inverse_map(mesh: Mesh, dst: np.ndarray) -> np.ndarray:
    """(h, w, 2) float32 source coordinates for every ROI pixel of the mesh displaced to `dst`."""
    x0, y0, x1, y1 = mesh.roi
    tris = mesh.triangles
    d = dst[tris]  # (T, 3, 2)
    s = mesh.points[tris]
    dh = np.concatenate([d, np.ones((len(tris), 3, 1))], axis=2)  # rows [x y 1]
    det = np.linalg.det(dh)
    ok = np.abs(det) > 1e-6
    affine = np.zeros((len(tris) + 1, 2, 3))
    affine[0] = [[1, 0, 0], [0, 1, 0]]  # index 0: outside the mesh, identity
    # dh @ A^T = s for the three corners of each triangle
    affine[1:][ok] = np.linalg.solve(dh[ok], s[ok]).transpose(0, 2, 1)
    index = np.zeros((y1 - y0, x1 - x0), np.int32)
    scale = 1 << SUBPIXEL_SHIFT
    poly = np.round((d - (x0, y0)) * scale).astype(np.int32)
    for k in np.flatnonzero(ok):
        cv2.fillConvexPoly(index, poly[k], int(k) + 1, lineType=cv2.LINE_8, shift=SUBPIXEL_SHIFT)
    coeff = affine.astype(np.float32)[index]  # (h, w, 2, 3)
    g = mesh.grid
    src = coeff[..., 0] * g[..., 0, None] + coeff[..., 1] * g[..., 1, None] + coeff[..., 2]
    if mesh.keep is not None:
        src = g + (src - g) * mesh.keep
    return src


def warp_roi(image: np.ndarray, out: np.ndarray, mesh: Mesh, dst: np.ndarray) -> None:
    """Write the image warped by the displaced mesh into `out` inside the mesh ROI."""
    x0, y0, x1, y1 = mesh.roi
    m = inverse_map(mesh, dst)
    out[y0:y1, x0:x1] = cv2.remap(image, m[..., 0], m[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def polygon_mask(shape: tuple[int, int], polygon: np.ndarray, sigma: float) -> np.ndarray:
    """Anti-aliased filled polygon in [0, 1], softened by a Gaussian of `sigma` px."""
    mask = np.zeros(shape, np.uint8)
    scale = 1 << SUBPIXEL_SHIFT
    cv2.fillPoly(mask, [np.round(polygon * scale).astype(np.int32)], 255, cv2.LINE_AA, SUBPIXEL_SHIFT)
    mask = mask.astype(np.float32) / 255.0
    if sigma > 0.3:
        mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    return mask


def draw_mouth(out: np.ndarray, inner: np.ndarray, mw: float, v: np.ndarray) -> None:
    """Paint a dark cavity and a hint of upper teeth inside the warped inner-lip polygon (8, 2)."""
    gap = float(np.mean((inner[[7, 6, 5]] - inner[[1, 2, 3]]) @ v))
    if gap < 0.4:
        return
    sigma = max(0.6, FEATHER * mw)
    pad = int(np.ceil(3 * sigma)) + 2
    h, w = out.shape[:2]
    x0, y0 = np.maximum(np.floor(inner.min(axis=0)).astype(int) - pad, 0)
    x1, y1 = np.minimum(np.ceil(inner.max(axis=0)).astype(int) + pad + 1, (w, h))
    if x1 <= x0 or y1 <= y0:
        return
    local = inner - (x0, y0)
    # Shrink the polygon a little so the feathered edge lands on the lip border, not on the lip
    centre = local.mean(axis=0)
    alpha = polygon_mask((y1 - y0, x1 - x0), centre + (local - centre) * 0.96, sigma)
    alpha *= min(1.0, gap / 2.5)  # a barely parted mouth only darkens the lip line
    # Vertical profile: lit just under the upper lip, dark deep inside, a reddish tongue at the bottom
    top = float(local[[1, 2, 3], 1].mean())
    depth = np.clip((np.arange(y1 - y0, dtype=np.float32)[:, None] - top) / max(gap, 1.0), 0, 1)[..., None]
    tongue = np.clip((depth - 0.6) / 0.4, 0, 1) * min(1.0, gap / (0.25 * mw))
    cavity = CAVITY_EDGE_RGB * (1 - depth) + CAVITY_RGB * depth
    cavity = cavity * (1 - tongue) + TONGUE_RGB * tongue
    cavity = np.broadcast_to(cavity, (y1 - y0, x1 - x0, 3))
    # Upper teeth: a band hanging from the upper inner lip, narrower than the mouth, darker at the sides
    teeth_h = min(TEETH_HEIGHT * mw, TEETH_MAX_SHARE * gap)
    mid = local[[0, 4]].mean(axis=0)
    band_top = mid + (local[[0, 1, 2, 3, 4]] - mid) * np.array([TEETH_WIDTH, 1.0]) - v * 0.5
    band = np.vstack([band_top, band_top[::-1] + v * teeth_h])
    teeth_a = polygon_mask(alpha.shape, band, sigma * 0.7)
    half = 0.5 * TEETH_WIDTH * float(np.hypot(*(local[4] - local[0]))) + 1e-6
    xs = np.arange(x1 - x0, dtype=np.float32)[None, :] - mid[0]
    shade = np.clip(1 - (xs / half) ** 2, 0, 1) ** 0.5
    teeth_a *= (0.25 + 0.7 * shade) * min(1.0, gap / (0.1 * mw))
    teeth = TEETH_RGB * (0.6 + 0.4 * shade)[..., None]
    inside = cavity * (1 - teeth_a[..., None]) + teeth * teeth_a[..., None]
    patch = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(patch + alpha[..., None] * (inside - patch) + 0.5, 0, 255).astype(np.uint8)
