"""A video avatar's own mouths: indexed once at preparation, chosen per output frame at render.

The approach of "Synthesizing Obama" (Suwajanakorn et al. 2017) and Video Rewrite (Bregler 1997):
every usable clip frame's mouth region is cut out in a canonical frame that follows the head (a
similarity fitted on the rigid landmarks: nose, eyes, jaw by the ears), so the same mouth shape
gives the same crop wherever the head is. Each crop is stored as a small JPEG with its shape
descriptors: the 20 lip landmarks in the canonical frame, the opening (inner-lip gap / width), the
width against the clip's usual one, and how much teeth show. At render `choose_path` picks, for
every output frame, the bank mouth nearest the wanted shape with a cost for jumping to a mouth
that does not follow the previous one in the clip (Viterbi over the nearest candidates), so the
mouth moves as this person's mouth really moves.
"""
from __future__ import annotations

import collections
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from .landmarks import INNER_LIPS, LIPS, MOUTH_CORNERS
from .tracking import RIGID_POINTS, fit_similarity, mouth_opening

# the canonical mouth frame
# Mouth width in a crop: the clip's own times SUPERSAMPLE (cut out and pasted back, a crop is
# resampled twice; at 1x that softened the lips to 0.6x the clip's sharpness), within these bounds.
SUPERSAMPLE = 1.5
MAX_MOUTH_PX = 160
MIN_MOUTH_PX = 32
CROP_WIDTH, CROP_HEIGHT = 2.0, 1.5  # crop size in mouth widths: the lips, their skin round, the chin's drop
MOUTH_ROW = 0.36  # share of the crop's height where the closed mouth's centre sits
JPEG_QUALITY = 94  # a 240x180 crop in ~9 kB; lower visibly softens the lip line
DECODE_THREADS = 2
# descriptors
OPEN_SHOWN = 0.12  # opening (inner gap / width) from which a mouth counts as open
CLOSED_AT = 0.05  # ... and under which as closed
TEETH_LUMA = 0.62  # teeth: inner-mouth pixels brighter than this share of the lips' skin level
# coverage: the share of open mouths in the bank -> the note users read
GOOD_SHARE = 0.25
SOME_SHARE = 0.06
MIN_OPEN_FRAMES = 8  # fewer open mouths than this: the bank cannot speak, the drawn mouth does
MIN_CLOSED_FRAMES = 3
# choosing
CANDIDATES = 12  # nearest mouths per output frame the path may go through
OPEN_TOLERANCE = 0.035  # opening error that costs 1
WIDTH_TOLERANCE = 0.06  # relative width error that costs 1
CLOSED_WEIGHT = 4.0  # an open mouth where a closed one is wanted (m, b, p, pauses) costs this many times more
JUMP_COST = 1.5  # going to a mouth that is not the next clip frame of the last one
HOLD_COST = 0.6  # showing the same mouth again (a frozen mouth, mildly)
TRACK_OPEN_TOP = 0.85  # the track's open weight of a wide vowel, mapped onto the bank's wide mouths
BANK_OPEN_TOP = 95  # percentile of the bank's openings taken as its wide mouth
SPREAD_WIDTH, ROUND_WIDTH = 0.18, -0.26  # relative width change at spread = 1 / round = 1 (viseme_mesh's bases)
FALLBACK_COST = 9.0  # the best candidate costing more than this: the bank has no such mouth


@dataclass(frozen=True)
class Coverage:
    """How well a bank covers speech: the note code and the share of open mouths."""

    code: str  # "bank_good" | "bank_some" | "bank_still" (never open) | "bank_open" (never closed)
    share: float
    usable: bool


def canonical_transforms(landmarks: np.ndarray) -> tuple[np.ndarray, tuple[int, int], float]:
    """Per frame the 2x3 affine image -> canonical crop, the crop size (w, h) and mouth px in it."""
    lm = np.asarray(landmarks, np.float64)
    widths = np.linalg.norm(lm[:, MOUTH_CORNERS[1]] - lm[:, MOUTH_CORNERS[0]], axis=1)
    ref_index = int(np.argmin(mouth_opening(lm)))  # the most closed mouth places the crop
    ref = lm[ref_index]
    mouth_px = float(np.clip(SUPERSAMPLE * np.median(widths), MIN_MOUTH_PX, MAX_MOUTH_PX))
    size = (int(round(CROP_WIDTH * mouth_px / 8)) * 8, int(round(CROP_HEIGHT * mouth_px / 8)) * 8)
    scale = mouth_px / max(float(widths[ref_index]), 1e-6)
    centre = ref[list(INNER_LIPS)].mean(axis=0)
    place = np.array([scale, 0.0, size[0] / 2 - scale * centre[0], size[1] * MOUTH_ROW - scale * centre[1]])
    affines = np.empty((len(lm), 2, 3), np.float32)
    for k, frame in enumerate(lm):
        a, b, tx, ty = fit_similarity(frame[RIGID_POINTS], ref[RIGID_POINTS])
        pa, _, px, py = place
        affines[k] = [[pa * a, -pa * b, pa * tx + px], [pa * b, pa * a, pa * ty + py]]
    return affines, size, mouth_px


def to_canonical(affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points mapped by a 2x3 affine."""
    return points @ affine[:, :2].T + affine[:, 2]


def invert_affine(affine: np.ndarray) -> np.ndarray:
    """The inverse of a 2x3 affine."""
    return cv2.invertAffineTransform(np.asarray(affine, np.float64))


def teeth_share(crop: np.ndarray, lips: np.ndarray) -> float:
    """Share of the inner-lip polygon that is bright (teeth), against the level of the lips' skin."""
    inner = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(inner, [np.round(lips[12:]).astype(np.int32)], 1)
    if inner.sum() < 4:
        return 0.0
    luma = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    outer = np.zeros_like(inner)
    cv2.fillPoly(outer, [np.round(lips[:12]).astype(np.int32)], 1)
    skin = float(np.median(luma[(outer > 0) & (inner == 0)])) if ((outer > 0) & (inner == 0)).any() else 128.0
    return float((luma[inner > 0] > max(TEETH_LUMA * 255, 1.15 * skin)).mean())


def coverage(opening: np.ndarray) -> Coverage:
    """The note for a bank with these openings."""
    opening = np.asarray(opening, np.float64)
    opened, closed = int((opening >= OPEN_SHOWN).sum()), int((opening <= CLOSED_AT).sum())
    share = opened / max(len(opening), 1)
    usable = opened >= MIN_OPEN_FRAMES and closed >= MIN_CLOSED_FRAMES and share >= SOME_SHARE
    if not usable:
        code = "bank_still" if opened < MIN_OPEN_FRAMES else "bank_open"  # never open / never closed
    else:
        code = "bank_good" if share >= GOOD_SHARE else "bank_some"
    return Coverage(code, round(share, 3), usable)


def build_bank(frame: Callable[[int], np.ndarray], landmarks: np.ndarray) -> dict[str, np.ndarray]:
    """The `bank_*` arrays of a prepared clip: `frame(k)` decodes clip frame k, landmarks are its smoothed ones."""
    lm = np.asarray(landmarks, np.float64)
    affines, size, mouth_px = canonical_transforms(lm)
    lips = np.array([to_canonical(a, p[list(LIPS)]) for a, p in zip(affines, lm)], np.float32)

    store, offsets, teeth = bytearray(), [0], []  # appended as they come: no second copy of the crops

    def index(k: int) -> tuple[bytes, float]:
        crop = cv2.warpAffine(frame(k), affines[k], size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        return jpeg.tobytes(), teeth_share(crop, lips[k])

    with ThreadPoolExecutor(DECODE_THREADS, thread_name_prefix="mouth-bank") as pool:
        for jpeg, share in pool.map(index, range(len(lm))):
            store += jpeg
            offsets.append(len(store))
            teeth.append(share)
    width = np.linalg.norm(lips[:, 6] - lips[:, 0], axis=1)
    return {"bank_jpeg": np.frombuffer(store, np.uint8), "bank_offsets": np.array(offsets, np.int64),
            "bank_affines": affines, "bank_size": np.array(size, np.int32), "bank_lips": lips,
            "bank_open": mouth_opening(lm), "bank_width": (width / np.median(width)).astype(np.float32),
            "bank_teeth": np.array(teeth, np.float32),
            "bank_coverage": np.array(json.dumps(vars(coverage(mouth_opening(lm)))))}


DECODED_CACHE = 48  # decoded crops kept: a path revisits the same few mouths


class MouthBank:
    """A prepared clip's mouths: crops decoded on demand (small LRU), descriptors, per-frame canonical affines."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self._jpeg, self._offsets = arrays["bank_jpeg"], arrays["bank_offsets"]
        self.affines = arrays["bank_affines"].astype(np.float64)
        self.size = tuple(int(v) for v in arrays["bank_size"])
        self.lips = arrays["bank_lips"].astype(np.float64)
        self.opening = arrays["bank_open"].astype(np.float64)
        self.width = arrays["bank_width"].astype(np.float64)
        self.teeth = arrays["bank_teeth"].astype(np.float64)
        self.coverage = Coverage(**json.loads(str(arrays["bank_coverage"])))
        self._cache: collections.OrderedDict[int, np.ndarray] = collections.OrderedDict()

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "MouthBank | None":
        """The bank of a prepared clip's arrays; None for a file from before banks."""
        return cls(arrays) if "bank_jpeg" in arrays else None

    def __len__(self) -> int:
        return len(self.opening)

    def crop(self, k: int) -> np.ndarray:
        """Mouth crop k, RGB uint8 (h, w, 3)."""
        if k in self._cache:
            self._cache.move_to_end(k)
            return self._cache[k]
        data = self._jpeg[int(self._offsets[k]):int(self._offsets[k + 1])]
        crop = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        self._cache[k] = crop
        while len(self._cache) > DECODED_CACHE:
            self._cache.popitem(last=False)
        return crop

    def wanted(self, open_: np.ndarray, spread: np.ndarray, round_: np.ndarray) -> np.ndarray:
        """(n, 2) wanted (opening, relative width) for a mouth track's weights, in the bank's own range."""
        top = max(float(np.percentile(self.opening, BANK_OPEN_TOP)), OPEN_SHOWN)
        opening = np.clip(np.asarray(open_) / TRACK_OPEN_TOP, 0, 1.1) * top
        width = 1 + SPREAD_WIDTH * np.asarray(spread) + ROUND_WIDTH * np.asarray(round_)
        lo, hi = np.percentile(self.width, [3, 97])
        return np.stack([opening, np.clip(width, lo, hi)], axis=1)

    def costs(self, wanted: np.ndarray) -> np.ndarray:
        """(n, len(bank)) cost of showing each bank mouth for each wanted shape."""
        d_open = (self.opening[None] - wanted[:, :1]) / OPEN_TOLERANCE
        weight = np.where((wanted[:, :1] < CLOSED_AT) & (self.opening[None] > wanted[:, :1]), CLOSED_WEIGHT, 1.0)
        d_width = (self.width[None] - wanted[:, 1:]) / WIDTH_TOLERANCE
        return weight * d_open ** 2 + d_width ** 2

    def choose_path(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bank index per output frame (Viterbi over the nearest candidates) and its cost (-> fallback)."""
        costs = self.costs(wanted)
        k = min(CANDIDATES, costs.shape[1])
        cands = np.argpartition(costs, k - 1, axis=1)[:, :k]
        unary = np.take_along_axis(costs, cands, axis=1)
        total, back = unary[0].copy(), np.zeros((len(wanted), k), np.int64)
        for i in range(1, len(wanted)):
            prev, cur = cands[i - 1][:, None], cands[i][None, :]
            step = np.where(cur == prev + 1, 0.0, np.where(cur == prev, HOLD_COST, JUMP_COST))
            score = total[:, None] + step
            back[i] = np.argmin(score, axis=0)
            total = score[back[i], np.arange(k)] + unary[i]
        path = np.empty(len(wanted), np.int64)
        at = int(np.argmin(total))
        for i in range(len(wanted) - 1, -1, -1):
            path[i] = cands[i, at]
            at = int(back[i, at])
        return path, costs[np.arange(len(wanted)), path]
