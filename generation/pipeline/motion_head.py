"""What of a photo may move, and how deep each point of the face is: the parts that make head motion 3D.

`head_mask` segments head, hair and neck (GrabCut seeded from the landmarks: the face hull is sure
foreground, an ellipse round head and hair probable foreground, the far corners probable
background) and turns it into a weight that is 1 inside and falls to exactly 0 a few pixels inside
the silhouette, so the silhouette itself and all the background stay still whatever the head does.

`depth` is a proxy for the face's distance towards the camera, in face widths from the head's
rotation axis: an ellipsoid for the skull and a ridge along the nose (tip nearest). A turn moves
each point by angle x depth, so the nose slides against the cheeks and the outline stays where it
is (as the outline of a turning ball does); a nod moves the nose more than chin and forehead, which
foreshortens them.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict

import cv2
import numpy as np

GRABCUT_SIDE = 256  # px: the segmentation runs on a copy this size (long side); ~0.1 s (at 200 a dark flag beside a dark cap joined the head)
GRABCUT_ITERATIONS = 4
HEAD_BOX = (0.8, 1.05, 0.6)  # fw: half width round the midline, above the eyes (hair), below the chin (neck)
CORNER_BACKGROUND = 0.5  # fw: farther than this from the head ellipse counts as probable background
OPEN_WIDTH = 0.12  # fw: parts of the segment thinner than this are cut off
EDGE_BAND = 0.2  # fw over which the weight rises inside the silhouette: wider than the head ever moves (x1.5), or the edge folds into a double contour
EDGE_KEEP = 1.5  # field samples (STEP px) kept still inside the silhouette: the coarse field cannot leak out
MIN_BAND = 3.0  # px

# depth proxy, in face widths
SKULL = (0.62, 0.95, 0.55)  # ellipsoid half axes: across, up-down, towards the camera
SKULL_CENTRE_V = 0.25  # fw below the eyes' midpoint
# the nose stands out of the face by about a fifth to a quarter of the jaw's width at its tip
NOSE = {27: 0.08, 28: 0.13, 29: 0.2, 30: 0.27, 31: 0.1, 32: 0.15, 33: 0.18, 34: 0.15, 35: 0.1}
NOSE_SIGMA = 0.08  # fw
CACHE_SIZE = 16  # segmented avatars kept per process: a worker sees the same photos again and again
LIPS_BUMP, LIPS_SIGMA = 0.05, 0.12  # the lips stand out a little from the cheeks


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


_cache: OrderedDict = OrderedDict()


def segment(image: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """uint8 (H, W) 1 on head, hair and neck, 0 elsewhere (GrabCut on a small copy); cached per photo."""
    key = hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=16)
    key.update(np.ascontiguousarray(lm, np.float64).tobytes())
    key = (image.shape, key.hexdigest())
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    fg = _segment(image, lm)
    fg.setflags(write=False)
    _cache[key] = fg
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return fg


def _segment(image: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """segment(), uncached."""
    h, w = image.shape[:2]
    scale = min(1.0, GRABCUT_SIDE / max(h, w))
    small = cv2.resize(image, (max(2, round(w * scale)), max(2, round(h * scale))), interpolation=cv2.INTER_AREA)
    p = lm * scale
    fw = float(np.hypot(*(p[16] - p[0])))
    ex = (p[45] - p[36]) / max(float(np.hypot(*(p[45] - p[36]))), 1e-6)
    ey = np.array([-ex[1], ex[0]])
    eyes = (p[36:42].mean(axis=0) + p[42:48].mean(axis=0)) / 2
    mid = (p[27:31].mean(axis=0) + p[[0, 16]].mean(axis=0)) / 2
    sh, sw = small.shape[:2]
    mask = np.full((sh, sw), cv2.GC_PR_BGD, np.uint8)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float64)
    du, dv = (xx - mid[0]) * ex[0] + (yy - mid[1]) * ex[1], (xx - eyes[0]) * ey[0] + (yy - eyes[1]) * ey[1]
    chin = float((p[8] - eyes) @ ey) / fw
    top, bottom = -HEAD_BOX[1], chin + HEAD_BOX[2]
    r = np.hypot(du / fw / HEAD_BOX[0], (dv / fw - (top + bottom) / 2) / ((bottom - top) / 2))
    mask[r < 1] = cv2.GC_PR_FGD
    mask[r > 1 + CORNER_BACKGROUND] = cv2.GC_BGD
    face = cv2.convexHull(np.round(p[:27]).astype(np.int32))
    cv2.fillConvexPoly(mask, face, cv2.GC_FGD)
    neck = (np.abs(du) < 0.22 * fw) & (dv > chin * fw) & (dv < (chin + 0.3) * fw)
    mask[neck] = cv2.GC_FGD
    if not (mask == cv2.GC_BGD).any() and not (mask == cv2.GC_PR_BGD).any():
        return np.ones((h, w), np.uint8)
    try:
        cv2.grabCut(small, mask, None, np.zeros((1, 65)), np.zeros((1, 65)), GRABCUT_ITERATIONS,
                    cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # too little of either side to model: the whole head region
        return cv2.resize((r < 1).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    fg = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    k = max(3, int(round(OPEN_WIDTH * fw)) | 1)  # thin things beside the head (a flagpole) are not the head
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    count, labels = cv2.connectedComponents(fg)  # only the part joined to the face: no stray flecks
    if count > 2:
        keep = np.bincount(labels[mask == cv2.GC_FGD].ravel(), minlength=count)
        keep[0] = 0
        fg = (labels == int(np.argmax(keep))).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))  # holes: eyes, glasses, mouth
    return cv2.resize(fg, (w, h), interpolation=cv2.INTER_LINEAR)


def head_mask(image: np.ndarray, lm: np.ndarray, fw: float, step: int) -> np.ndarray:
    """float32 (H, W) weight of the head's motion: 1 well inside the silhouette, 0 at and outside it."""
    fg = segment(image, lm)
    inside = cv2.distanceTransform(np.pad(fg, 1, constant_values=1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    # the image border counts as inside: a head cut by the frame still moves up to it (the warp's own border band stops it)
    band = max(MIN_BAND, EDGE_BAND * fw)
    return _smoothstep((inside - EDGE_KEEP * step) / band).astype(np.float32)


SAMPLE_ROW = 1024  # points per row of the lookup map (remap refuses maps of 32767 rows or more)


def sample(mask: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear lookup of a (H, W) float mask at float positions (0 outside)."""
    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.float32)
    # remap's maps must stay under 32767 rows and columns: lay the points out as rows of SAMPLE_ROW
    n = x.size
    pad = (-n) % SAMPLE_ROW
    xs = np.pad(x.reshape(-1), (0, pad)).reshape(-1, SAMPLE_ROW)
    ys = np.pad(y.reshape(-1), (0, pad)).reshape(-1, SAMPLE_ROW)
    out = cv2.remap(mask, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out.reshape(-1)[:n].reshape(x.shape).astype(np.float64)


def depth(u: np.ndarray, v: np.ndarray, mid_u: float, landmarks_uv: np.ndarray) -> np.ndarray:
    """Depth proxy (fw towards the camera from the rotation axis) at face coordinates (u, v)."""
    a, b, c = SKULL
    r2 = ((u - mid_u) / a) ** 2 + ((v - SKULL_CENTRE_V) / b) ** 2
    # flatter than an ellipsoid in the middle (a face is), curving away fast towards the outline
    z = c * np.sqrt(np.clip(1 - r2 * r2, 0, None))
    bump = np.zeros_like(z)
    for k, height in NOSE.items():
        du, dv = u - landmarks_uv[k, 0], v - landmarks_uv[k, 1]
        bump = np.maximum(bump, height * np.exp(-0.5 * (du * du + dv * dv) / NOSE_SIGMA ** 2))
    lips = landmarks_uv[48:68].mean(axis=0)
    bump = np.maximum(bump, LIPS_BUMP * np.exp(-0.5 * ((u - lips[0]) ** 2 + (v - lips[1]) ** 2) / LIPS_SIGMA ** 2))
    return z + bump * (r2 < 1)
