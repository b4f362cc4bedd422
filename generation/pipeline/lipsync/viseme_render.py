"""Per-frame warping for the viseme engine: the photo (or clip frame) moved by a displaced mesh.

The displaced mesh (viseme_mesh) is rasterised and inverted exactly (destination triangle -> source
affine) and the image is remapped inside the mesh's ROI only. What is painted rather than warped
(the mouth's inside, the closing lids) lives in mouth_interior and eyelids.
"""
from __future__ import annotations

import cv2
import numpy as np

from .viseme_mesh import Mesh

SUBPIXEL_SHIFT = 3  # cv2 polygon fixed-point bits
SLIVER = 0.04  # a destination triangle with |det| (twice its area) under this x its longest edge squared is dropped


def inverse_map(mesh: Mesh, dst: np.ndarray) -> np.ndarray:
    """(h, w, 2) float32 source coordinates for every ROI pixel of the mesh displaced to `dst`."""
    x0, y0, x1, y1 = mesh.roi
    tris = mesh.triangles
    d = dst[tris]  # (T, 3, 2)
    s = mesh.points[tris]
    e1, e2 = d[:, 1] - d[:, 0], d[:, 2] - d[:, 0]  # closed-form 2x2 algebra: no batched LU per frame
    det = e1[:, 0] * e2[:, 1] - e2[:, 0] * e1[:, 1]  # = det [[x y 1] per corner]
    # a triangle squeezed to a sliver (a closed mouth's inner triangles) has a near-singular inverse
    # that maps its few pixels far away (a black speck at a mouth corner): drop it by its shape,
    # not by an absolute area, which a big triangle's rounding would pass and a small one's fail
    # (rasterised, a sliver's pixels lie partly outside it, where its affine extrapolates); a
    # triangle folded over (orientation flipped against its source) is dropped for the same reason
    edges = np.linalg.norm(d - np.roll(d, 1, axis=1), axis=2).max(axis=1)
    f1, f2 = s[:, 1] - s[:, 0], s[:, 2] - s[:, 0]
    src_det = f1[:, 0] * f2[:, 1] - f2[:, 0] * f1[:, 1]
    ok = (np.abs(det) > SLIVER * np.maximum(edges, 1e-3) ** 2) & (det * src_det > 0)
    affine = np.zeros((len(tris) + 1, 2, 3))
    affine[0] = [[1, 0, 0], [0, 1, 0]]  # index 0: outside the mesh, identity
    # the affine taking each destination triangle onto its source: L [e1 e2] = [f1 f2], s0 = L d0 + t
    inv = np.stack([np.stack([e2[:, 1], -e2[:, 0]], -1), np.stack([-e1[:, 1], e1[:, 0]], -1)], 1)  # rows of [e1 e2]^-1 x det
    lin = (f1[:, :, None] * inv[:, None, 0] + f2[:, :, None] * inv[:, None, 1]) / np.where(ok, det, 1.0)[:, None, None]
    aff = np.concatenate([lin, (s[:, 0] - np.einsum("tij,tj->ti", lin, d[:, 0]))[..., None]], axis=2)
    affine[1:][ok] = aff[ok]
    index = np.zeros((y1 - y0, x1 - x0), np.int32)
    scale = 1 << SUBPIXEL_SHIFT
    poly = np.round((d - (x0, y0)) * scale).astype(np.int32)
    for k in np.flatnonzero(ok):
        cv2.fillConvexPoly(index, poly[k], int(k) + 1, lineType=cv2.LINE_8, shift=SUBPIXEL_SHIFT)
    # one (h, w) gather per affine coefficient, not a (h, w, 2, 3) one: the same float32 sums, a
    # third of the memory traffic (this map is rebuilt on every frame whose mouth shape changes)
    coeff = affine.astype(np.float32).reshape(-1, 6).T.copy()  # (6, T + 1): a contiguous row each
    g = mesh.grid
    gx, gy = g[..., 0], g[..., 1]
    src = np.empty_like(g)
    for row in range(2):
        a, b, c = (np.take(coeff[3 * row + k], index) for k in range(3))
        a *= gx
        b *= gy
        a += b
        a += c
        src[..., row] = a
    if mesh.keep is not None:
        src -= g
        src *= mesh.keep
        src += g
    return src


def warp_roi(image: np.ndarray, out: np.ndarray, mesh: Mesh, dst: np.ndarray,
             interpolation: int = cv2.INTER_LINEAR) -> None:
    """Write the image warped by the displaced mesh into `out` inside the mesh ROI."""
    x0, y0, x1, y1 = mesh.roi
    m = inverse_map(mesh, dst)
    out[y0:y1, x0:x1] = cv2.remap(image, m[..., 0], m[..., 1], interpolation, borderMode=cv2.BORDER_REPLICATE)
