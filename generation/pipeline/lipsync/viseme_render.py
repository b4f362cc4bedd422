"""Per-frame drawing for the viseme engine: warp the photo by a displaced mesh, paint the inner mouth.

The displaced mesh (viseme_mesh) is rasterised and inverted exactly (destination triangle -> source
affine), the image is remapped inside the mesh's ROI only, and a feathered dark cavity with a hint
of upper teeth is drawn inside the warped inner-lip polygon. Blinks use the same warp on the eyes.
"""
from __future__ import annotations

import cv2
import numpy as np

from .viseme_mesh import Mesh

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
SLIVER = 0.04  # a destination triangle with |det| (twice its area) under this x its longest edge squared is dropped


def inverse_map(mesh: Mesh, dst: np.ndarray) -> np.ndarray:
    """(h, w, 2) float32 source coordinates for every ROI pixel of the mesh displaced to `dst`."""
    x0, y0, x1, y1 = mesh.roi
    tris = mesh.triangles
    d = dst[tris]  # (T, 3, 2)
    s = mesh.points[tris]
    dh = np.concatenate([d, np.ones((len(tris), 3, 1))], axis=2)  # rows [x y 1]
    det = np.linalg.det(dh)
    # a triangle squeezed to a sliver (a closed mouth's inner triangles) has a near-singular inverse
    # that maps its few pixels far away (a black speck at a mouth corner): drop it by its shape,
    # not by an absolute area, which a big triangle's rounding would pass and a small one's fail
    # (rasterised, a sliver's pixels lie partly outside it, where its affine extrapolates); a
    # triangle folded over (orientation flipped against its source) is dropped for the same reason
    edges = np.linalg.norm(d - np.roll(d, 1, axis=1), axis=2).max(axis=1)
    src_det = np.linalg.det(np.concatenate([s, np.ones((len(tris), 3, 1))], axis=2))
    ok = (np.abs(det) > SLIVER * np.maximum(edges, 1e-3) ** 2) & (det * src_det > 0)
    affine = np.zeros((len(tris) + 1, 2, 3))
    affine[0] = [[1, 0, 0], [0, 1, 0]]  # index 0: outside the mesh, identity
    # dh @ A^T = s for the three corners of each triangle
    affine[1:][ok] = np.linalg.solve(dh[ok], s[ok]).transpose(0, 2, 1)
    index = np.zeros((y1 - y0, x1 - x0), np.int32)
    scale = 1 << SUBPIXEL_SHIFT
    poly = np.round((d - (x0, y0)) * scale).astype(np.int32)
    for k in np.flatnonzero(ok):
        cv2.fillConvexPoly(index, poly[k], int(k) + 1, lineType=cv2.LINE_8, shift=SUBPIXEL_SHIFT)
    # one contiguous (h, w) gather per coefficient: a strided (h, w, 2, 3) gather is 2x slower
    table = np.ascontiguousarray(affine.astype(np.float32).transpose(1, 2, 0))  # (2, 3, T + 1)
    g = mesh.grid
    gx, gy = g[..., 0], g[..., 1]
    src = np.empty(g.shape, np.float32)
    for r in range(2):
        a, b, c = (table[r, j].take(index) for j in range(3))
        a *= gx
        b *= gy
        a += b
        a += c
        src[..., r] = a
    if mesh.keep is not None:
        src -= g
        src *= mesh.keep
        src += g
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
