"""The viseme engine's video-avatar mouth: this person's own mouths from the clip's bank, pasted in.

For each output frame the mouth track's wanted shape picks a bank mouth (mouth_bank.choose_path).
The clip frame is first warped as the drawn path does (its own mouth settled closed, the jaw
opened as much as the chosen mouth is open), then the chosen crop is mapped from the canonical
mouth frame onto this frame's head, nudged so its upper lip sits on the frame's, matched to the
frame's light round the mouth and blended in with a feathered mask that covers both mouths: the
clip's own mouth never shows, in speech or in pauses. On a jump to an unrelated mouth the previous
mouth's next clip frame, when about as open, is mixed in for one frame, so the change is not a pop; otherwise one crop
is shown as it is (blending several softens the lips).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from ..mouth_bank import FALLBACK_COST, MouthBank

# one crop of OUTER_LIPS is 12 points: the outer contour; the upper lip's outer points 49..53 are 1..5
UPPER_LIP = slice(1, 6)
MASK_GROW = 0.16  # mouth widths the mask reaches beyond both mouths' outer lips
MASK_FEATHER = 0.07  # its soft edge (Gaussian sigma), mouth widths
RING = 0.12  # mouth widths of skin just outside the mask where the light is measured
MAX_NUDGE = 0.12  # mouth widths the crop may move to put its upper lip on the frame's
GAIN_RANGE = (0.8, 1.25)  # contrast matching kept gentle: a shadow on one side is not the crop's fault
CROSSFADE = 0.4  # weight of the previous mouth's continuation on the frame of a jump
MIX_OPEN = 0.025  # ... mixed in only when about as open: a closed and an open mouth mixed read as half open twice
# The wanted opening mixes the phoneme track with the speech's own loudness (the audio fallback's
# opening curve): a bank holds one person's few dozen open mouths, and picking them by how loud
# the syllable is as well spreads speech over the bank's whole range (ru: correlation with the
# speech 0.47 -> 0.55+); the track keeps the timing and, by gating the mix, every m/b/p closure.
LOUDNESS_SHARE = 0.5
GATE_OPEN = 0.05  # track openings under this (closures, pauses) keep their own value
# Cut out and pasted back, a crop is resampled twice: where its skin round the mouth comes out softer
# than the frame's (a flat-shaded CG face loses its colour steps), an unsharp mask gives back up to
# SHARPEN_MAX of the detail, so the mouth is no blurrier than the face round it.
SHARPEN_SIGMA = 1.0
SHARPEN_MAX = 1.2
# Sensor grain: resampled twice and stored as JPEG, a crop loses the clip's noise, and a smooth
# mouth in a grainy frame shows (hand-held 720p, noise 2.5 levels: mouth sharpness 0.56x the clip's).
# The luma grain missing in the ring (its 3x3 Laplacian's spread) is added back as fresh noise, cut
# from one fixed noise tile at a place each output frame's seed picks (no noise drawn per frame).
GRAIN_MIN = 0.5  # grey levels of missing grain worth adding
GRAIN_GAIN = 1 / np.sqrt(20.0)  # white noise of std 1 has a 3x3 Laplacian of std sqrt(20)
NOISE_TILE = 512  # px; a patch larger than this repeats its noise
OPEN_PER_WEIGHT = 0.374  # inner gap / width per unit of the mesh's open weight (OPEN_GAIN x INNER_GAP_PER_OPEN)
# The jaw goes where the chosen mouth's own chin was (in the head's frame), not only as far as its
# lips are apart: this person's chin travels further per unit of opening than the mesh's open basis,
# and a closed bank mouth over a frame filmed wide open kept a long lower face (en talking clip:
# dlib read such a pasted m/b/p 0.07-0.10 open, over the 0.06 a closed mouth reads). Within these
# open weights: a little below closed (the chin lifted), never past a wide vowel's jaw.
CHIN = 8  # landmark: the chin's lowest point
CHIN_WEIGHT_RANGE = (-0.3, 1.5)


@dataclass
class BankPlan:
    """Per output frame: bank mouth, the one mixed in on a jump (-1: none), and whether the bank is used."""

    index: np.ndarray
    mix: np.ndarray
    use: np.ndarray


def spoken_open(open_: np.ndarray, audio, fps: int) -> np.ndarray:
    """The wanted opening per frame: the track's, mixed with the audio's loudness where the lips part,
    and shut at the middle of every m/b/p as the speech engine timed it (as well as the track's own)."""
    from .viseme_track import attack_release, audio_curves, grid, sample_frames

    times = grid(len(open_) / fps)
    loud = sample_frames(attack_release(np.clip(audio_curves(audio.samples, times), 0, 1)), len(open_), fps)[0]
    gate = np.clip(np.asarray(open_) / GATE_OPEN, 0, 1)
    wanted = (1 - LOUDNESS_SHARE * gate) * open_ + LOUDNESS_SHARE * gate * loud
    wanted[timed_closures(audio, len(wanted), fps)] = 0.0
    return wanted


def timed_closures(audio, num_frames: int, fps: int) -> np.ndarray:
    """Frames at the middle of each m/b/p as the speech engine timed it (before the track's refinement).

    The track shuts the middle of each closure after refining its edges on the waveform, which can
    move a short п two frames earlier (en "p" 5.88-5.92 s -> 5.85-5.88 s): the lips were then open at
    the engine's own middle of it (wanted 0.23), and a closure the ear hears there showed parted lips.
    A stop's lips are shut from its refined start to its burst, so both middles are shut.
    """
    from . import visemes_table as T
    from .viseme_track import STRIP, closure_frames

    spoken = [p for p in (audio.phonemes or []) if p.end > p.start and p.symbol.strip(STRIP + "_")]
    if not spoken:
        return np.zeros(0, np.int64)
    return closure_frames(spoken, num_frames, fps, T.guess_language(p.symbol for p in spoken))


def plan(bank: MouthBank, open_: np.ndarray, spread: np.ndarray, round_: np.ndarray) -> BankPlan:
    """Which bank mouth each output frame shows (and where the bank has no such mouth)."""
    path, cost = bank.choose_path(bank.wanted(open_, spread, round_))
    mix = np.full(len(path), -1, np.int64)
    jump = np.flatnonzero((path[1:] != path[:-1] + 1) & (path[1:] != path[:-1])) + 1
    follow = path[jump - 1] + 1
    ok = follow < len(bank)
    ok[ok] &= np.abs(bank.opening[np.minimum(follow[ok], len(bank) - 1)] - bank.opening[path[jump[ok]]]) < MIX_OPEN
    mix[jump[ok]] = follow[ok]
    return BankPlan(path, mix, cost <= FALLBACK_COST)


def jaw_weight(bank: MouthBank, plan_: BankPlan, i: int) -> float:
    """The mesh's open weight that drops the jaw as far as the chosen mouth is open."""
    return float(bank.opening[plan_.index[i]]) / OPEN_PER_WEIGHT


def chin_weight(bank: MouthBank, plan_: BankPlan, i: int, clip_frame: int, chins: np.ndarray,
                chin_now: np.ndarray, chin_basis: np.ndarray, down: np.ndarray) -> float:
    """The open weight that puts this frame's chin (`chin_now`, after the rest pose; `chin_basis`: its
    open basis) where the chosen mouth's own chin was, along `down`; `chins`: (n, 2) the clip's chins."""
    k = int(plan_.index[i])
    canonical = bank.affines[k][:, :2] @ chins[k] + bank.affines[k][:, 2]
    back = cv2.invertAffineTransform(bank.affines[clip_frame])
    target = back[:, :2] @ canonical + back[:, 2]
    per_weight = float(chin_basis @ down)
    if per_weight <= 1e-6:
        return jaw_weight(bank, plan_, i)
    return float(np.clip((target - chin_now) @ down / per_weight, *CHIN_WEIGHT_RANGE))


def mouth_crop(bank: MouthBank, plan_: BankPlan, i: int) -> tuple[np.ndarray, np.ndarray]:
    """The crop of output frame i (uint8: warped as bytes, 2x quicker) and its outer lips (12, 2) in the canonical frame."""
    k, mix = int(plan_.index[i]), int(plan_.mix[i])
    crop, lips = bank.crop(k), bank.lips[k, :12]
    if mix >= 0:
        crop = cv2.addWeighted(crop, 1 - CROSSFADE, bank.crop(mix), CROSSFADE, 0.0)
        lips = lips * (1 - CROSSFADE) + bank.lips[mix, :12] * CROSSFADE
    return crop, lips


def placement(bank: MouthBank, clip_frame: int, lips: np.ndarray, target_outer: np.ndarray, mw: float) -> np.ndarray:
    """2x3 affine canonical crop -> frame: the head's, then moved so the upper lips meet."""
    back = cv2.invertAffineTransform(bank.affines[clip_frame])
    placed = lips @ back[:, :2].T + back[:, 2]
    nudge = (target_outer[UPPER_LIP] - placed[UPPER_LIP]).mean(axis=0)
    length = float(np.hypot(*nudge))
    if length > MAX_NUDGE * mw:
        nudge *= MAX_NUDGE * mw / length
    back[:, 2] += nudge
    return back


def grown_hull(points: np.ndarray, grow: float) -> np.ndarray:
    """The convex hull of points, each corner pushed `grow` px further from the centre (mouths are convex)."""
    hull = cv2.convexHull(points.astype(np.float32))[:, 0].astype(np.float64)
    centre = hull.mean(axis=0)
    away = hull - centre
    return hull + away / np.maximum(np.linalg.norm(away, axis=1, keepdims=True), 1e-6) * grow


def filled(shape: tuple[int, int], polygon: np.ndarray) -> np.ndarray:
    """A filled convex polygon (anti-aliased, sub-pixel), uint8 0..255."""
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, np.round(polygon * 8).astype(np.int32), 255, cv2.LINE_AA, 3)
    return mask


def luma_lap_std(image: np.ndarray, where: np.ndarray) -> float:
    """Std of the luma's 3x3 Laplacian at `where` (a uint8 mask): one pass in OpenCV, no gathered copy."""
    grey = cv2.cvtColor(image.astype(np.float32, copy=False), cv2.COLOR_RGB2GRAY)
    return float(cv2.meanStdDev(cv2.Laplacian(grey, cv2.CV_32F), mask=where)[1][0, 0])


def sharpened(patch: np.ndarray, filmed_lap: float, ring: np.ndarray) -> np.ndarray:
    """The patch with an unsharp mask as strong as its skin is softer than the frame's (none if not);
    `filmed_lap`: luma_lap_std of the frame as filmed over the ring."""
    ratio = luma_lap_std(patch, ring) ** 2 / max(filmed_lap ** 2, 1e-6)
    amount = float(np.clip((1 - np.sqrt(ratio)) * 3, 0, SHARPEN_MAX))
    if amount <= 0.05:
        return patch
    return cv2.addWeighted(patch, 1 + amount, cv2.GaussianBlur(patch, (0, 0), SHARPEN_SIGMA), -amount, 0.0)


def grain(image: np.ndarray, where: np.ndarray) -> float:
    """Std of the image's luma grain at `where` (a uint8 mask; its 3x3 Laplacian's spread, in grey levels)."""
    return luma_lap_std(image, where) * GRAIN_GAIN


@functools.lru_cache(maxsize=1)
def noise_tile() -> np.ndarray:
    """(NOISE_TILE, NOISE_TILE) standard normal noise, the same on every run."""
    return np.random.default_rng(0).standard_normal((NOISE_TILE, NOISE_TILE), dtype=np.float32)


def unwarped(region: np.ndarray, at: tuple[int, int], filmed: tuple | None) -> np.ndarray:
    """`region` (of the frame, at `at`) with the pixels `filmed` holds put back as they were filmed."""
    if filmed is None:
        return region
    pixels, (fx, fy) = filmed
    out = region.copy()
    x0, y0 = max(at[0], fx), max(at[1], fy)
    x1 = min(at[0] + region.shape[1], fx + pixels.shape[1])
    y1 = min(at[1] + region.shape[0], fy + pixels.shape[0])
    if x1 > x0 and y1 > y0:
        out[y0 - at[1]:y1 - at[1], x0 - at[0]:x1 - at[0]] = pixels[y0 - fy:y1 - fy, x0 - fx:x1 - fx]
    return out


def add_grain(patch: np.ndarray, filmed_grain: float, ring: np.ndarray, seed: int) -> None:
    """Add (in place) the fine luma grain the frame shows round the mouth (`filmed_grain`) and the patch lacks."""
    missing = float(np.sqrt(max(filmed_grain ** 2 - grain(patch, ring) ** 2, 0.0)))
    if missing < GRAIN_MIN:
        return
    h, w = patch.shape[:2]
    tile = noise_tile()
    reps = (-(-h // NOISE_TILE), -(-w // NOISE_TILE))
    if reps != (1, 1):
        tile = np.tile(tile, reps)
    dy, dx = np.random.default_rng(seed).integers(0, (tile.shape[0] - h + 1, tile.shape[1] - w + 1))
    patch += (tile[dy:dy + h, dx:dx + w] * missing)[..., None]


def paste(frame: np.ndarray, crop: np.ndarray, to_frame: np.ndarray, crop_lips: np.ndarray,
          target_outer: np.ndarray, mw: float, seed: int = 0, filmed: tuple | None = None) -> None:
    """Blend the crop into `frame` (in place) over both mouths, in the frame's own light and grain
    (`seed`: the grain's noise, one per output frame; `filmed`: (pixels, (x, y)) of the frame before
    it was warped, whose grain and detail are the ones to match)."""
    h, w = frame.shape[:2]
    placed = crop_lips @ to_frame[:, :2].T + to_frame[:, 2]
    both = np.vstack([placed, target_outer])
    reach = (MASK_GROW + RING + 3 * MASK_FEATHER) * mw
    x0, y0 = np.maximum(np.floor(both.min(axis=0) - reach).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(both.max(axis=0) + reach).astype(int) + 1, (w, h))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return
    local = to_frame.copy()
    local[:, 2] -= (x0, y0)
    size = (x1 - x0, y1 - y0)
    # the crop reaches CROP_WIDTH x CROP_HEIGHT mouth widths, beyond the mask: its border never shows
    patch = cv2.warpAffine(crop, local, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    both_local = both - (x0, y0)
    shape = (y1 - y0, x1 - x0)
    # blurred as float: OpenCV's bit-exact uint8 Gaussian is 2.5x slower at this sigma (alpha within 1/255)
    alpha = cv2.GaussianBlur(filled(shape, grown_hull(both_local, MASK_GROW * mw)).astype(np.float32) * (1 / 255),
                             (0, 0), max(MASK_FEATHER * mw, 0.5))
    ring = ((filled(shape, grown_hull(both_local, (MASK_GROW + RING + 3 * MASK_FEATHER) * mw)) > 127)
            & (alpha < 0.02)).view(np.uint8)
    region = frame[y0:y1, x0:x1]
    if cv2.countNonZero(ring) > 20:
        as_filmed = unwarped(region, (x0, y0), filmed)  # detail and grain are matched to the frame as filmed
        filmed_lap = luma_lap_std(as_filmed, ring)
        patch = sharpened(patch, filmed_lap, ring)
        have_mean, have_std = (v[:, 0] for v in cv2.meanStdDev(patch, mask=ring))
        want_mean, want_std = (v[:, 0] for v in cv2.meanStdDev(region, mask=ring))
        gain = np.clip(want_std / np.maximum(have_std, 1.0), *GAIN_RANGE)
        patch *= gain.astype(np.float32)
        patch += (want_mean - have_mean * gain).astype(np.float32)
        add_grain(patch, filmed_lap * GRAIN_GAIN, ring, seed)
    # region + alpha * (patch - region) + 0.5, rounded, in the patch's own buffer (no full-size temporaries)
    np.subtract(patch, region, out=patch)
    patch *= alpha[..., None]
    patch += region
    patch += 0.5
    region[:] = np.clip(patch, 0, 255, out=patch)
