"""A video avatar's jaw warp, its map built at half resolution.

Every clip frame differs, so a clip rebuilds its mouth mesh's inverse map on every output frame
(the photo path reuses one while the mouth holds): rasterising the triangles, gathering their
affines and the nose fade over the whole lower-face ROI was a third of a banked frame's time. The
map of a piecewise-affine warp is continuous and linear inside each triangle, so it is built on
every second pixel and its displacement interpolated back to full size (exactly aligned: full
pixel x is half pixel x / 2): off by at most a few hundredths of a pixel at the triangles' kinks,
where the mouth is pasted over or the warp is gentle, at a quarter of the cost.
"""
from __future__ import annotations

import cv2
import numpy as np

from . import viseme_mesh as mesh_
from .viseme_render import inverse_map

STEP = 2  # the map is built on every STEP-th pixel
_HALF = np.array([[1 / STEP, 0, 0], [0, 1 / STEP, 0]], np.float64)  # full pixel -> coarse pixel (WARP_INVERSE_MAP)


def coarse_mesh(shape: tuple, lm: np.ndarray, dst: np.ndarray) -> tuple[mesh_.Mesh, np.ndarray]:
    """The mesh of a mouth_shape and its displaced vertices, in coarse pixels from the ROI's corner."""
    points, tris, bases, rest, roi, mw = shape
    x0, y0, x1, y1 = roi
    origin = np.array([x0, y0], np.float64)
    w, h = -(-(x1 - x0) // STEP), -(-(y1 - y0) // STEP)
    grid = mesh_.pixel_grid((0, 0, w, h))
    _, _, v, _ = mesh_.mouth_frame(lm)
    keep = mesh_.below_nose(grid * STEP + origin.astype(np.float32), lm, v, mw)
    scaled = lambda p: (p - origin) / STEP  # noqa: E731
    coarse = mesh_.Mesh(scaled(points), tris, bases / STEP, rest / STEP, (0, 0, w, h), grid, keep)
    return coarse, scaled(dst)


def jaw_map(shape: tuple, lm: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(h, w, 2) float32 source coordinates of every pixel of the shape's ROI for the mesh displaced to `dst`."""
    x0, y0, x1, y1 = shape[4]
    coarse, coarse_dst = coarse_mesh(shape, np.asarray(lm, np.float64), dst)
    moved = inverse_map(coarse, coarse_dst)
    moved -= coarse.grid
    moved *= STEP
    full = cv2.warpAffine(moved, _HALF, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
    full[..., 0] += np.arange(x0, x1, dtype=np.float32)[None, :]
    full[..., 1] += np.arange(y0, y1, dtype=np.float32)[:, None]
    return full


def warp_jaw(frame: np.ndarray, shape: tuple, lm: np.ndarray, dst: np.ndarray,
             interpolation: int = cv2.INTER_LINEAR) -> None:
    """The frame (in place) warped by the displaced mesh inside the shape's ROI."""
    x0, y0, x1, y1 = shape[4]
    m = jaw_map(shape, lm, dst)
    frame[y0:y1, x0:x1] = cv2.remap(frame, m[..., 0], m[..., 1], interpolation, borderMode=cv2.BORDER_REPLICATE)
