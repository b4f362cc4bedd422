"""Plays a motion plan (motion.py) on a photo: a smooth warp field that moves the head and neck only.

The field, as where each output pixel samples the photo, is
    head:   w_head(x) * (A_inv(x) - x)   A: the frame's roll/shift/nod about a pivot under the chin
    breath: w_body(x) * breath           the shoulders (and the head on them) rise a pixel or two
    brows:  w_brow(x) * brow lift        forehead skin above the eyes, the eyes themselves stay
with masks computed once from the landmarks in the face's own axes; they are 1 on the head, fall off
smoothly over about half a face width, and are forced to 0 well before the image borders, so the
background and the borders never move. The field is evaluated on a grid STEP px apart inside the
masks' bounding box (ROI) only, upsampled bilinearly (exact where it is affine) and applied with one
bicubic cv2.remap. Landmarks move through the same field (solved by fixed-point iteration), so lip-sync
engines draw on the moved face.

3D (motion_head.py): the head mask is also cut to the photo's own head, hair and neck silhouette
(GrabCut), so no background pixel moves; a turn (yaw) and a nod (pitch) move each point by angle x
a depth proxy (nose nearest), so the nose slides against the cheeks and a nod foreshortens chin and
forehead.

One resample: `warp(image, i, local=[(roi, map), ...])` composes a lip-sync engine's own warps (its
source coordinates per pixel of an ROI of the still photo) into the motion field, so a moving frame
is interpolated once from the photo; `forward(points, i)` says where photo points land in frame i,
so the engine paints its mouth and lids at their final place, after the warp.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from . import motion_head as head_
from .faces import clamp_box
from .landmarks import NUM_LANDMARKS
from .types import Face

if TYPE_CHECKING:
    from .motion import MotionPlan

STEP = 4  # px between field samples (the field is smooth over tens of px)
HEAD_HALF_WIDTH = 0.68  # face widths from the face's midline to the edge of the moving head (ears, hair)
HEAD_TOP = 0.95  # face widths above the eyes (hair)
HEAD_FALLOFF = 0.55  # the head mask falls from 1 to 0 over this share of its radii
NECK_HALF_WIDTH = 0.38  # fw
NECK_LENGTH = 0.6  # fw under the chin over which the neck's share of the motion goes to 0
PIVOT_BELOW_CHIN = 0.3  # fw: the head turns about a point in the neck
BODY_CENTRE = 1.0  # fw under the chin: the middle of the shoulders and chest
BODY_RADII = (1.4, 0.8)  # fw
BROW_SIGMA = (0.1, 0.06, 0.16)  # fw: along the brow, down towards the eyes, up into the forehead
BORDER_KEEP = 0.025  # share of the shorter image side kept still at every border, at least 4 px
BORDER_RAMP = 0.4  # fw over which the field may grow from the still border band
MIN_WEIGHT = 1e-3
FIXED_POINT_STEPS = 5
BREATH_EPS = 0.1  # px: frames breathing less than this warp the head region only
GAZE_EPS = 0.05  # px: a smaller iris shift is not drawn
GAZE_MARGIN = 0.25  # eye widths round the eye opening warped for a glance (the field is 0 there)
GAZE_CORE = 0.35  # share of the opening's half-height over which the shift fades in from the lids
EYES = (slice(36, 42), slice(42, 48))  # iBUG eye openings
# Bicubic keeps the skin's grain and the lashes (bilinear at a fractional shift is a 2-tap blur:
# the eye region lost half its Laplacian variance, and more or less of it frame to frame)
INTERPOLATION = cv2.INTER_CUBIC
# ... and Lanczos round the eyes, where a look reads detail first: at a half-pixel shift it keeps
# 0.83 of the lashes' Laplacian variance where bicubic keeps 0.67 (and bilinear 0.33); it costs 4x
# bicubic, so only this band (brows to under the lower lids) pays for it
FINE_INTERPOLATION = cv2.INTER_LANCZOS4
FINE_PAD = 0.25  # eye widths round the eyes and brows
# ... and what even Lanczos loses at a half-pixel phase is given back by a phase-weighted unsharp mask
RESHARPEN_GAIN = 0.22  # unsharp amount at a half-pixel phase in both axes
RESHARPEN_SIGMA = 0.8  # px
RESHARPEN_MIN = 0.02  # phases this close to whole pixels are left as they are
INTERPOLATION_MAP = cv2.INTER_LINEAR  # the engines' maps are piecewise affine: linear reads them exactly


def _resharpen(out: np.ndarray, out_map: np.ndarray, box, fine) -> None:
    """Give the eye band back the detail its interpolation lost, in place: most at half-pixel phases, none at whole ones.

    Any interpolation at a fractional position is a small low-pass, strongest half way between pixels;
    as the head moves the phase changes from frame to frame, so the eyes would soften and sharpen in
    turn (a flicker of their Laplacian variance). A gentle unsharp mask weighted by that phase evens it out.
    """
    fx0, fy0, fx1, fy1 = fine
    m = out_map[fy0 - box[1]:fy1 - box[1], fx0 - box[0]:fx1 - box[0]]
    frac = m - np.floor(m)
    loss = (2.0 * frac * (1.0 - frac)).sum(axis=2)  # 0 at whole pixels, 1 at a half pixel in both axes
    if float(loss.max()) < RESHARPEN_MIN:
        return
    band = out[fy0:fy1, fx0:fx1].astype(np.float32)
    detail = band - cv2.GaussianBlur(band, (0, 0), RESHARPEN_SIGMA)
    band += (RESHARPEN_GAIN * loss)[..., None] * detail
    out[fy0:fy1, fx0:fx1] = np.clip(band + 0.5, 0, 255).astype(np.uint8)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _strips(box, fine) -> list[tuple[int, int, int, int, int]]:
    """`box` cut into the `fine` box (Lanczos) and the four strips round it (bicubic): (x0, y0, x1, y1, how)."""
    x0, y0, x1, y1 = box
    fx0, fy0, fx1, fy1 = fine
    return [(x0, y0, x1, fy0, INTERPOLATION), (x0, fy1, x1, y1, INTERPOLATION), (x0, fy0, fx0, fy1, INTERPOLATION),
            (fx1, fy0, x1, fy1, INTERPOLATION), (fx0, fy0, fx1, fy1, FINE_INTERPOLATION)]


class FaceGeometry:
    """The face's axes, size and the three weight masks as functions of image position."""

    def __init__(self, landmarks: np.ndarray, width: int, height: int, image: np.ndarray | None = None):
        lm = np.asarray(landmarks, np.float64).reshape(NUM_LANDMARKS, 2)
        self.width, self.height = width, height
        self.fw = max(float(np.hypot(*(lm[16] - lm[0]))), 4.0)
        eyes = lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)
        ex = (eyes[1] - eyes[0]) / max(float(np.hypot(*(eyes[1] - eyes[0]))), 1e-6)
        self.ex, self.ey = ex, np.array([-ex[1], ex[0]])  # along the eyes, and down the face
        self.origin = (eyes[0] + eyes[1]) / 2
        uv = self.to_face(lm[:, 0], lm[:, 1])
        self.mid_u = float((uv[0][27:31].mean() + uv[0][[0, 16]].mean()) / 2)  # midline: nose bridge and jaw
        self.chin_v = float(uv[1][8])
        self.pivot = self.origin + self.ey * (self.chin_v + PIVOT_BELOW_CHIN) * self.fw + self.ex * self.mid_u * self.fw
        self.brows = np.stack([uv[0][17:27], uv[1][17:27]], axis=1)
        self.lid_v = float(uv[1][[37, 38, 43, 44]].mean())
        self.border = max(4.0, BORDER_KEEP * min(width, height))
        self.uv = np.stack(uv, axis=1)  # (68, 2) landmarks in face coordinates
        # the head's own silhouette (None: the ellipses alone, as before 3D motion)
        self.mask = None if image is None else head_.head_mask(image, lm, self.fw, STEP)

    def to_face(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image px -> face coordinates (u right, v down) in face widths from the eyes' midpoint."""
        dx, dy = x - self.origin[0], y - self.origin[1]
        return (dx * self.ex[0] + dy * self.ex[1]) / self.fw, (dx * self.ey[0] + dy * self.ey[1]) / self.fw

    def weights(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(head, body, brow) weights in [0, 1] at image positions (0 outside the head's silhouette)."""
        u, v = self.to_face(x, y)
        u = u - self.mid_u
        top, bottom = -HEAD_TOP, self.chin_v + 0.05
        centre, half_h = (top + bottom) / 2, (bottom - top) / 2
        r = np.sqrt((u / HEAD_HALF_WIDTH) ** 2 + ((v - centre) / half_h) ** 2)
        head = 1 - _smoothstep((r - 1) / HEAD_FALLOFF)
        below = (v - self.chin_v) / NECK_LENGTH
        neck = (1 - _smoothstep(below)) * (1 - _smoothstep((np.abs(u) - NECK_HALF_WIDTH) / 0.3)) * (below > -0.5)
        head = np.maximum(head, neck)
        rb = np.sqrt((u / BODY_RADII[0]) ** 2 + ((v - self.chin_v - BODY_CENTRE) / BODY_RADII[1]) ** 2)
        body = np.maximum(1 - _smoothstep((rb - 0.35) / 0.75), head)
        brow = np.zeros_like(u)
        for bu, bv in self.brows:
            du, dv = (u + self.mid_u - bu) / BROW_SIGMA[0], v - bv
            dv = np.where(dv > 0, dv / BROW_SIGMA[1], dv / BROW_SIGMA[2])
            brow = np.maximum(brow, np.exp(-0.5 * (du * du + dv * dv)))
        lid_gap = max(float(self.brows[:, 1].mean()) - self.lid_v, -0.5)  # negative: brows above lids
        brow *= _smoothstep((self.lid_v - v) / max(-lid_gap, 0.02))  # nothing at the upper lids and below
        edge = np.minimum(np.minimum(x, self.width - 1 - x), np.minimum(y, self.height - 1 - y))
        keep = _smoothstep((edge - self.border) / max(BORDER_RAMP * self.fw, 8.0))
        if self.mask is not None:
            keep = keep * head_.sample(self.mask, x, y)
        return head * keep, body * keep, np.minimum(brow, head) * keep

    def depth(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Depth proxy (face widths towards the camera from the rotation axis) at image positions."""
        u, v = self.to_face(x, y)
        return head_.depth(u, v, self.mid_u, self.uv)


class _Layer:
    """One warp region: its ROI (whole STEPs), the masks sampled every STEP px, the ROI's pixel grid."""

    def __init__(self, g: FaceGeometry, width: int, height: int, with_body: bool):
        self.roi = x0, y0, x1, y1 = self._find_roi(g, width, height, with_body)
        gx = x0 + np.arange((x1 - x0) // STEP) * STEP + (STEP - 1) / 2  # cv2.resize puts sample j here
        gy = y0 + np.arange((y1 - y0) // STEP) * STEP + (STEP - 1) / 2
        sx, sy = np.meshgrid(gx, gy)
        head, body, brow = g.weights(sx, sy)
        px, py = sx - g.pivot[0], sy - g.pivot[1]
        self.coarse = [a.astype(np.float32) for a in (head * px, head * py, head)] + [
            body.astype(np.float32) if with_body else None, brow.astype(np.float32),
            (head * g.depth(sx, sy)).astype(np.float32)]
        bx, by = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
        self.base = np.dstack([bx, by])

    @staticmethod
    def _find_roi(g: FaceGeometry, width: int, height: int, with_body: bool) -> tuple[int, int, int, int]:
        """The bounding box of every pixel the masks move, in whole STEPs, inside the image."""
        xs, ys = np.arange(0, width, STEP, dtype=np.float64), np.arange(0, height, STEP, dtype=np.float64)
        head, body, brow = g.weights(*np.meshgrid(xs, ys))
        moved = np.maximum(np.maximum(head, brow), body if with_body else 0) > MIN_WEIGHT
        if not moved.any():
            return 0, 0, 0, 0
        rows, cols = np.flatnonzero(moved.any(axis=1)), np.flatnonzero(moved.any(axis=0))
        x0, x1 = max(0, int(xs[cols[0]]) - STEP), min(width, int(xs[cols[-1]]) + STEP + 1)
        y0, y1 = max(0, int(ys[rows[0]]) - STEP), min(height, int(ys[rows[-1]]) + STEP + 1)

        def fit(a: int, b: int, limit: int) -> tuple[int, int]:  # whole steps, moved back inside the image
            size = min(-(-(b - a) // STEP) * STEP, limit // STEP * STEP)
            a = max(0, min(a, limit - size))
            return a, a + size

        (x0, x1), (y0, y1) = fit(x0, x1, width), fit(y0, y1, height)
        return x0, y0, x1, y1


class MotionSource:
    """A photo moving along a MotionPlan, read like clip.ClipReader: frame(i), face(i), frame_count,
    width, height, fps, landmarks (n, 68, 2), boxes (n, 4), plus blink (n,) and brow (n,).

    Frames are warped on demand (about a millisecond at 512x512); only the masks of the ROI are kept.
    """

    def __init__(self, image: np.ndarray, face: Face, plan: "MotionPlan"):
        self.image = np.ascontiguousarray(image)
        self.height, self.width = self.image.shape[:2]
        self.plan = plan
        self.fps = int(plan.fps)
        self.frame_count = len(plan)
        self.blink = np.asarray(plan.blink, np.float64)
        self.brow = np.asarray(plan.brow, np.float64)
        lm = np.asarray(face.landmarks, np.float64).reshape(NUM_LANDMARKS, 2)
        if tuple(face.image_size) != (self.width, self.height):  # analysed on a resized copy
            lm = lm * (self.width / face.image_size[0], self.height / face.image_size[1])
        self._still = plan.still
        self._last = None  # (frame, roi, field) of the latest field(): forward() inverts it
        self._reach = 0.0
        self.geometry = g = FaceGeometry(lm, self.width, self.height, None if self._still else self.image)
        self._matrices = self._head_matrices()
        self._breath_px = np.asarray(plan.breath, np.float64) * g.fw
        t = np.deg2rad(np.stack([plan.yaw, plan.pitch], axis=1).astype(np.float64)) * g.fw  # px a point one face width deep moves, along the face's axes
        self._turn = t[:, :1] * g.ex + t[:, 1:] * g.ey  # (n, 2) in image axes
        # two warp regions: the head alone, and head plus shoulders for frames that breathe
        self._layers = [] if self._still else [_Layer(g, self.width, self.height, body) for body in (False, True)]
        box = np.asarray(face.box, np.float64) * np.tile(np.array([self.width, self.height]) / face.image_size, 2)
        self.landmarks = self._move_points(lm).astype(np.float32)
        self.boxes = box + np.tile((self.landmarks - lm).mean(axis=1), 2)

    @property
    def still(self) -> bool:
        """True when no frame moves (the plan is level NONE): frames are the photo itself."""
        return self._still

    # ---- the per-frame transform ----

    def _head_matrices(self) -> np.ndarray:
        """(n, 2, 3): for each frame, sample offset = C @ [x - pivot, y - pivot, 1] inside the head."""
        p, g = self.plan, self.geometry
        a = np.deg2rad(np.asarray(p.roll, np.float64))
        cos, sin = np.cos(a), np.sin(a)
        rot = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)  # (n, 2, 2)
        axes = np.stack([g.ex, g.ey], axis=1)  # columns: face axes in image coordinates
        scale = np.einsum("ij,nj,kj->nik", axes, np.stack([np.ones_like(a), 1 - np.asarray(p.squash)], -1), axes)
        m = rot @ scale  # forward: p -> pivot + m (p - pivot) + t
        shift = np.asarray(p.shift, np.float64).reshape(-1, 2)
        t = (shift[:, :1] * g.ex + shift[:, 1:] * g.ey) * g.fw
        inv = np.linalg.inv(m)
        out = np.empty((len(a), 2, 3))
        out[:, :, :2] = inv - np.eye(2)
        out[:, :, 2] = -np.einsum("nij,nj->ni", inv, t)
        return out

    def _offsets(self, x: np.ndarray, y: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where output positions (x, y), (len(frames), k), sample the photo in those frames, minus (x, y)."""
        g, c, p = self.geometry, self._matrices[frames], self.plan
        head, body, brow = g.weights(x, y)
        depth = head * g.depth(x, y)
        turn = self._turn[frames]
        px, py = x - g.pivot[0], y - g.pivot[1]
        lift = (np.asarray(p.brow, np.float64)[frames] * float(p.brow_lift) * g.fw)[:, None]
        breath = self._breath_px[frames, None]
        dx = head * (c[:, 0, 0, None] * px + c[:, 0, 1, None] * py + c[:, 0, 2, None]) + brow * lift * g.ey[0] \
            - depth * turn[:, :1]
        dy = head * (c[:, 1, 0, None] * px + c[:, 1, 1, None] * py + c[:, 1, 2, None]) + brow * lift * g.ey[1] \
            + body * breath - depth * turn[:, 1:]
        return dx, dy

    def _move_points(self, points: np.ndarray, frames: np.ndarray | None = None) -> np.ndarray:
        """(n, k, 2): where photo points appear in each frame (x with x + offset(x) = point)."""
        frames = np.arange(self.frame_count) if frames is None else np.asarray(frames)
        px = np.repeat(points[None, :, 0].astype(np.float64), len(frames), axis=0)
        py = np.repeat(points[None, :, 1].astype(np.float64), len(frames), axis=0)
        x, y = px.copy(), py.copy()
        if not self._still:
            for _ in range(FIXED_POINT_STEPS):
                dx, dy = self._offsets(x, y, frames)
                x, y = px - dx, py - dy
        return np.stack([x, y], axis=-1)

    def forward(self, points: np.ndarray, i: int) -> np.ndarray:
        """(k, 2) float64: where photo points `points` (k, 2) appear in output frame i.

        Right after `field(i)` (or `warp(..., i)`) this inverts that very field (a few lookups);
        otherwise it solves the analytic field as `landmarks` does.
        """
        pts = np.asarray(points, np.float64).reshape(-1, 2)
        if self._still or len(pts) == 0:
            return pts.copy()
        if self._last is None or self._last[0] != i:
            return self._move_points(pts, np.array([i]))[0]
        _, (x0, y0, x1, y1), field = self._last
        out = pts.copy()
        for _ in range(FIXED_POINT_STEPS):  # out + (pts - field(out)): the field is near the identity
            gx = np.clip(out[:, 0] - x0, 0, x1 - x0 - 1.001)
            gy = np.clip(out[:, 1] - y0, 0, y1 - y0 - 1.001)
            ix, iy = gx.astype(int), gy.astype(int)
            fx, fy = (gx - ix)[:, None], (gy - iy)[:, None]
            f = field
            q = ((1 - fy) * ((1 - fx) * f[iy, ix] + fx * f[iy, ix + 1]) + fy * ((1 - fx) * f[iy + 1, ix] + fx * f[iy + 1, ix + 1]))
            inside = (out[:, 0] >= x0) & (out[:, 0] < x1 - 1) & (out[:, 1] >= y0) & (out[:, 1] < y1 - 1)
            q = np.where(inside[:, None], q, out)  # outside the field's ROI nothing moves
            out = out + (pts - q)
        return out

    # ---- the ClipReader interface ----

    def order(self, n: int) -> np.ndarray:
        """Which frame output frame i shows: frame i itself (a plan is as long as its speech; no loop)."""
        return np.minimum(np.arange(n, dtype=np.int64), max(0, self.frame_count - 1))

    def frame(self, i: int) -> np.ndarray:
        """Output frame i as RGB uint8 (H, W, 3): the photo with the head where the plan puts it."""
        return self.warp(self.image, i)

    def field(self, i: int) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
        """(roi, map): for each output pixel of the ROI, the photo position it shows in frame i
        ((h, w, 2) float32, absolute x, y), the glance included; None where nothing moves."""
        if not 0 <= i < self.frame_count:
            raise IndexError(f"frame {i} of {self.frame_count}")
        if self._still:
            return None
        p, g = self.plan, self.geometry
        breath = float(self._breath_px[i])
        layer = self._layers[abs(breath) > BREATH_EPS]
        x0, y0, x1, y1 = layer.roi
        if x1 <= x0 or y1 <= y0:
            return None
        c = self._matrices[i].tolist()
        hx, hy, head, body, brow, depth = layer.coarse
        lift = float(p.brow[i]) * float(p.brow_lift) * g.fw
        tx, ty = (float(v) for v in self._turn[i])
        dx = c[0][0] * hx + c[0][1] * hy + c[0][2] * head
        dy = c[1][0] * hx + c[1][1] * hy + c[1][2] * head
        if tx or ty:
            dx -= tx * depth
            dy -= ty * depth
        if lift:
            dx += (lift * g.ey[0]) * brow
            dy += (lift * g.ey[1]) * brow
        if body is not None:
            dy += breath * body
        self._reach = float(max(np.abs(dx).max(), np.abs(dy).max())) + 1.0  # px any pixel moves, at most
        field = cv2.resize(np.dstack([dx, dy]), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        field += layer.base
        self._glance(field, layer.roi, i)
        self._last = (i, layer.roi, field)
        return layer.roi, field

    def warp(self, image: np.ndarray, i: int, local=()) -> np.ndarray:
        """`image` (the photo) moved as output frame i, resampled once (bicubic); a new array.

        `local`: [(roi, map), ...], a lip-sync engine's own warps of the photo (for each pixel of an ROI
        (x0, y0, x1, y1) of the still picture, the photo position it shows: (h, w, 2) float32), applied
        inside their ROIs before the motion, in one interpolation with it. A later entry wins where
        ROIs overlap (as when each is written in turn onto the still picture).
        """
        got = self.field(i)
        local = [(tuple(int(v) for v in roi), m) for roi, m in local if roi[2] > roi[0] and roi[3] > roi[1]]
        if got is None and not local:
            if not 0 <= i < self.frame_count:
                raise IndexError(f"frame {i} of {self.frame_count}")
            return image.copy()
        box, field = got if got is not None else (local[0][0], None)
        for roi, _ in local:  # outside the motion's ROI the photo stays where it is: identity there
            box = (min(box[0], roi[0]), min(box[1], roi[1]), max(box[2], roi[2]), max(box[3], roi[3]))
        if got is None or box != got[0]:
            field = self._embed(box, got)
        q = field  # where each output pixel falls on the still picture
        out_map = field.copy() if local else field
        reach = int(np.ceil(self._reach)) + 2 if got is not None else 0
        for (lx0, ly0, lx1, ly1), m in local:
            # only output pixels that can land in this ROI: it, grown by the most any pixel moves
            a0, b0 = max(lx0 - reach, box[0]) - box[0], max(ly0 - reach, box[1]) - box[1]
            a1, b1 = min(lx1 + reach, box[2]) - box[0], min(ly1 + reach, box[3]) - box[1]
            if a1 <= a0 or b1 <= b0:
                continue
            sub = q[b0:b1, a0:a1]
            cv2.remap(np.ascontiguousarray(m, np.float32), sub[..., 0] - np.float32(lx0), sub[..., 1] - np.float32(ly0),
                      INTERPOLATION_MAP, dst=out_map[b0:b1, a0:a1], borderMode=cv2.BORDER_TRANSPARENT)
        out = image.copy()
        x0, y0, x1, y1 = box
        fine = self._fine_box(i, box)
        if not (fine[2] > fine[0] and fine[3] > fine[1]):
            fine = (x0, y0, x0, y0)
        # each output pixel reads only its own map entry: the eye band is drawn by Lanczos alone, and
        # bicubic fills the strips round it (it used to draw the band too, to be overwritten)
        for bx0, by0, bx1, by1, how in _strips(box, fine):
            if bx1 > bx0 and by1 > by0:
                out[by0:by1, bx0:bx1] = cv2.remap(image, out_map[by0 - y0:by1 - y0, bx0 - x0:bx1 - x0], None,
                                                  how, borderMode=cv2.BORDER_REPLICATE)
        if got is not None and fine[2] > fine[0] and fine[3] > fine[1]:
            _resharpen(out, out_map, box, fine)
        return out

    def _fine_box(self, i: int, box) -> tuple[int, int, int, int]:
        """The eye band of frame i (brows to under the lids), inside `box`."""
        pts = self.landmarks[i, 17:48]
        pad = FINE_PAD * float(np.hypot(*(self.landmarks[i, 39] - self.landmarks[i, 36])))
        x0, y0 = np.floor(pts.min(axis=0) - pad).astype(int)
        x1, y1 = np.ceil(pts.max(axis=0) + pad).astype(int)
        return max(x0, box[0]), max(y0, box[1]), min(x1, box[2]), min(y1, box[3])

    @staticmethod
    def _embed(box, got) -> np.ndarray:
        """The identity map of `box` with the motion's field (when any) written into its own ROI."""
        x0, y0, x1, y1 = box
        xs, ys = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
        field = np.dstack([xs, ys])
        if got is not None:
            (a0, b0, a1, b1), f = got
            field[b0 - y0:b1 - y0, a0 - x0:a1 - x0] = f
        return field

    def _glance(self, field: np.ndarray, roi, i: int) -> None:
        """Shift the irises inside the moved eye openings by the plan's gaze (in the field, in place); lids stay."""
        gaze = np.asarray(self.plan.gaze[i], np.float64) * (1 - self.blink[i])  # a closed lid has no iris
        lm = self.landmarks[i].astype(np.float64)
        rx0, ry0, rx1, ry1 = roi
        for eye in EYES:
            pts = lm[eye]
            ew = float(np.hypot(*(pts[3] - pts[0])))
            dx, dy = gaze * ew
            if abs(dx) < GAZE_EPS and abs(dy) < GAZE_EPS:
                continue
            pad = GAZE_MARGIN * ew
            x0, y0 = np.floor(pts.min(axis=0) - pad).astype(int)
            x1, y1 = np.ceil(pts.max(axis=0) + pad).astype(int)
            x0, y0, x1, y1 = max(x0, rx0), max(y0, ry0), min(x1, rx1), min(y1, ry1)
            if x1 - x0 < 3 or y1 - y0 < 3:
                continue
            opening = np.zeros((y1 - y0, x1 - x0), np.uint8)
            cv2.fillPoly(opening, [np.round(pts - (x0, y0)).astype(np.int32)], 1)
            half_height = max(float(np.ptp(pts[:, 1])) / 2, 1.0)
            inside = cv2.distanceTransform(opening, cv2.DIST_L2, 3) / (GAZE_CORE * half_height)
            weight = _smoothstep(inside).astype(np.float32)  # 0 on the lids: they never move
            gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
            mx, my = gx - np.float32(dx) * weight - rx0, gy - np.float32(dy) * weight - ry0
            field[y0 - ry0:y1 - ry0, x0 - rx0:x1 - rx0] = cv2.remap(field, mx, my, cv2.INTER_LINEAR,
                                                                    borderMode=cv2.BORDER_REPLICATE)

    def face(self, i: int) -> Face:
        """The face of output frame i: the photo's landmarks moved by the same warp."""
        return Face(box=clamp_box(*self.boxes[i], self.width, self.height), landmarks=self.landmarks[i].copy(),
                    image_size=(self.width, self.height))

    def close(self) -> None:
        pass

    def __enter__(self) -> "MotionSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
