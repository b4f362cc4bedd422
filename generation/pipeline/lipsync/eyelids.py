"""Blinks on a photo: the upper lid's own skin slides down over the eye, its lashes a soft dark band at the edge.

Warping the whole eye region down (the old way) drags the lash line and the dark of the eye into a
thick smudge. Here each eye is laid out in its own frame (x along the corner-to-corner axis, y
across it, down the face), the lids are smooth curves through the landmarks, and for a blink b the
lid's edge moves from the upper lid curve to the lower one. The skin between the lid crease and
the lashes is stretched over everything from the crease to that edge (so the closed eye is the
lid's own skin, texture and light), the photo's lash band is left out once the lid has moved, and
the closed lashes are drawn at the edge instead (`lash_alpha`: an irregular root along the margin,
hairs hanging from it, longer and leaning out towards the outer corner). Every change fades out where the lids
meet at the corners, so a turned face, with one eye narrow and tilted, gets no rim.

The brow never moves: the lid skin is bounded above by the brow's lower edge (its landmarks less
BROW_THICK), so on a brow close over deep-set eyes only the thin skin between lashes and brow
slides. Such a lid, in the socket's shadow, is lightened towards the skin under the eye as it
closes (a closed lid turns to the light), and where it is stretched far its streaky texture is
replaced by the under-eye skin's fine texture and a fixed grain. The photo's dark lashes round the
outer corner are taken out with a grey closing (shut, they would stay up as a tuft), and every change
fades out before the drawn region's edge.

`measure_lids` reads, once per avatar, the lash colour, the lash band's thickness and the room up
to the brow; `draw_lids` takes the eye points where they are in the frame being drawn.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import lashes

CREASE = 0.32  # eye widths above the upper lid: the skin that slides down (the lid's fold)
CREASE_MAX_TO_BROW = 0.65  # ... at most this share of the way to the brow
BROW_THICK = 0.3  # eye widths: the brow's landmarks run along its upper edge; it reaches this far below them
MIN_LID_SKIN = 0.05  # eye widths of lid skin kept between the lash band and the crease, at least
LID_SHADOW = 0.5  # a lid skin darker than this share of the skin under the eye lies in the socket's shadow ...
LID_LIFT_TARGET = 0.72  # ... and is lightened towards this share of that skin ...
LID_LIFT_MAX = 0.3  # ... by at most this share of white (a closed lid turns to the light; its texture is kept)
LIFT_HUE_RAMP = 0.1  # lid chroma this far under the under-eye skin's: lifted in the latter's hue
LIFT_RAMP = 0.12  # eye widths below the crease over which the lightening fades in ...
LIFT_CORNER = 0.3  # ... and in from each corner (no edge against the photo's own shadow there)
UNDER_GRAIN_MAX = 1.3  # the lid's grain is at most this many times the under-eye skin's
UNDER_EYE = (0.25, 0.45)  # eye widths below the lower lid: the skin the lid's light is compared with
TEXTURE_UNDER = (0.3, 0.55)  # ... and where the texture laid over a stretched lid comes from (clear of the lower lashes)
TEXTURE_SHIFT = 0.37  # eye widths along the lid between the strip's repeats
PORE_SHARE = 0.5  # ... half of it the under-eye skin's, half a fixed fine grain at the lid's own strength
TUFT_REACH = 0.3  # eye widths round the outer corner where the photo's dark lashes are painted over
TUFT_OUT = 0.02  # ... centred this far outside the corner
TUFT_GAP = 0.3  # ... where the eye is narrower than this share of its opening, the corner's dark below the lid too ...
TUFT_BELOW = 0.08  # ... down to this many eye widths below the lid line
TUFT_ABOVE = 0.07  # ... up to this far above the crease (the lashes there sweep up past it)
TUFT_BROW_MARGIN = 0.04  # ... and this far short of the brow's lower edge
TUFT_DARK = 0.25  # pixels this much darker than the lid skin are painted over fully
TUFT_HAIR = 0.2  # eye widths: the corner's lashes are narrower than this (a closing this wide takes them out)
LASH_BAND = (0.03, 0.3)  # eye widths: the photo's lash band (measured, kept in this range)
LASH_SKIN = 0.88  # the lash band ends where the luminance comes back to this share of the skin's
SKIN_QUANTILE = 0.8  # the lid skin's level: this quantile of the luminance above the lid
LASH_BAND_UNSEEN = 0.08  # eye widths: the lash band taken where the profile never comes back to skin
OBSTACLE = 0.7  # further up, skin darker than this share is not lid (a spectacle frame, the brow)
GRAIN_SEED = 23  # the fixed fine grain laid over a far-stretched lid (its table; it wraps)
_GRAIN = np.random.default_rng(GRAIN_SEED).standard_normal((128, 128)).astype(np.float32)
_GRAIN = cv2.GaussianBlur(np.tile(_GRAIN, (3, 3)), (0, 0), 0.6)[128:256, 128:256].copy()  # tiled: it wraps seamlessly
_GRAIN /= float(_GRAIN.std())
LASH_DARKEST = 0.12  # share of the lash band's pixels, the darkest, whose colour is the lashes' own
LASH_CLEAR = 0.01  # eye widths above the lid line where the lash band's pixels start (below: the iris)
LASH_SKIN_MIX = 0.3  # lashes are hairs with skin between them: their colour mixes this much of the skin
LASH_FADE = 0.35  # blink share over which the photo's lashes give way to the drawn line
LOWER_RISE = 0.15  # the lids meet this share of the opening above the lower lid: the lower lid rises too
LOWER_SKIN = 0.14  # eye widths of lower-lid skin below its rim that stretch up as it rises
LOWER_LASH = 0.04  # eye widths of the lower lid's rim (its lashes, the waterline) left out as it rises
LASH_PAST_CORNER = 0.12  # eye widths: the lash band is left out this far past the corners, fading
LID_SHADE = 0.015  # the closed lid is this much darker at its edge than at the crease (it curves in)
DESTREAK_ALONG = 2.0  # ... and along the lid this many times more, where it is stretched far
MAX_STRETCH = 1.25  # lid skin stretched further than this streaks: its texture is replaced by grain
DESTREAK_SIGMA = 0.1  # eye widths: what is kept of over-stretched skin is blurred this much (and the texture laid over it is the rest)
# Spectacle glare: pixels this much lighter than the lid skin (ramping to full over GLARE_RAMP) are
# the lens's, not the skin's. Sampled into the sliding lid they smeared down over the closed eye;
# the glare stays on the lens where it was (it is in front of the lid), and the lid's copy is filled
# from the skin round it.
GLARE_START, GLARE_RAMP = 1.3, 0.2
GLARE_CHROMA = 0.3  # ... and less saturated than this ((max - min) / max), fading over 0.1
SEAM_SIGMA = 0.02  # eye widths: where the two lids meet the skin is blurred this much across the seam ...
SEAM_WIDTH = 0.05  # ... over this many eye widths either side of it (two resampled edges met in a bright line)
PAD = 0.2  # eye widths of margin round the drawn region
BOX_FEATHER = 0.1  # eye widths inside that margin over which every change fades out
MIN_EYE = 6.0  # px: a narrower eye is left as it is
CURVE_SAMPLES = 48


@dataclass
class EyeFacts:
    """One eye's lash colour, lash band and crease, in eye widths."""

    lash_rgb: np.ndarray
    lash_band: float
    crease: float
    grain: float = 0.0  # std of the lid skin's fine texture, grey levels
    skin_rgb: np.ndarray | None = None  # the lid skin's colour
    lift: np.ndarray | None = None  # RGB added to the closed lid (a lid skin in the socket's shadow)
    brow: float = 1.0  # eye widths from the lid line up to the brow's lower edge
    texture_gain: float = 1.0  # the under-eye skin's texture laid over an over-stretched lid, scaled to the lid's grain
    outer_right: bool = False  # the outer corner is the eye frame's far end (p[3]): the image-right eye


@dataclass
class LidsState:
    """Both eyes (image left, image right)."""

    eyes: tuple[EyeFacts, EyeFacts]


def eye_frame(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Origin (corner p[0]), axis a (to corner p[3]), down n, eye width for six eye points."""
    a = p[3] - p[0]
    ew = float(np.hypot(*a))
    a = a / max(ew, 1e-9)
    n = np.array([-a[1], a[0]])
    return p[0], a, n, ew


def lid_curves(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample positions x (eye frame) and the upper / lower lid's y at them: smooth curves through the points."""
    o, a, n, ew = eye_frame(p)
    loc = np.stack([(p - o) @ a, (p - o) @ n], axis=1)
    xs = np.linspace(0.0, ew, CURVE_SAMPLES)
    curves = []
    for idx in ((0, 1, 2, 3), (0, 5, 4, 3)):
        q = loc[list(idx)]
        # a parabola-like cubic through the four points, pinned at the corners: no kink, no overshoot there
        coeff = np.polyfit(q[:, 0], q[:, 1], 3) if np.all(np.diff(q[:, 0]) > 1e-3) else np.polyfit(q[:, 0], q[:, 1], 1)
        curves.append(np.polyval(coeff, xs))
    return xs, curves[0], np.maximum(curves[1], curves[0])


def measure_eye(image: np.ndarray, p: np.ndarray, brow: np.ndarray) -> EyeFacts:
    """Lash colour and band thickness above the upper lid, and how much skin there is below the brow."""
    o, a, n, ew = eye_frame(p)
    xs, top, _ = lid_curves(p)
    grey = image.astype(np.float32).mean(axis=2)
    mid = (xs > 0.2 * ew) & (xs < 0.8 * ew)
    steps = np.linspace(-0.45, 0.02, 48) * ew  # from well above the lid down to the lid line
    lum, rgb, pixels = [], [], []
    for d in steps:
        pts = o + xs[mid, None] * a + (top[mid] + d)[:, None] * n
        mx, my = pts[:, 0:1].astype(np.float32), pts[:, 1:2].astype(np.float32)
        lum.append(float(np.median(cv2.remap(grey, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))))
        pixels.append(cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[:, 0].astype(np.float64))
        rgb.append(np.median(pixels[-1], axis=0))
    lum = np.array(lum)
    brow_gap = -float(np.median((brow - o) @ n - np.interp((brow - o) @ a, xs, top)))
    crease = min(CREASE, CREASE_MAX_TO_BROW * max(brow_gap, 0.1 * ew) / ew)
    # the brow never moves: what slides down is the skin below its lower edge
    below_brow = max(brow_gap / ew - BROW_THICK, LASH_BAND[0] + MIN_LID_SKIN)
    above = steps < 0
    skin = float(np.quantile(lum[above], SKIN_QUANTILE))
    # walk up from the lid line: first out of the lash band (back to skin), then up to whatever
    # darkens the skin again (a spectacle frame, the brow): the lid skin lies between the two
    band, stop = LASH_BAND_UNSEEN, crease
    up = [(-d / ew, value) for d, value in zip(steps[::-1], lum[::-1]) if d < 0]
    k = next((i for i, (_, value) in enumerate(up) if value >= LASH_SKIN * skin), None)
    if k is not None:
        band = up[k][0]
        j = next((i for i, (_, value) in enumerate(up[k:]) if value < OBSTACLE * skin), None)
        if j is not None:
            stop = up[k + j][0] - 0.02
    stop = min(stop, below_brow)
    band = float(np.clip(min(band, stop - MIN_LID_SKIN), *LASH_BAND))
    dark = np.array(rgb)[np.argsort(lum)[:4]].mean(axis=0)
    lid = (steps < -band * ew) & (steps > -max(stop, band + MIN_LID_SKIN) * ew - 1e-6)
    lid_rgb = np.array(rgb)[lid].mean(axis=0) if lid.any() else np.array(rgb)[np.argsort(lum)[-6:]].mean(axis=0)
    skin_rgb = np.array(rgb)[np.argsort(lum)[-6:]].mean(axis=0)
    dark = dark * (1 - LASH_SKIN_MIX) + skin_rgb * LASH_SKIN_MIX
    dark = own_lash_rgb(pixels, steps, band * ew, ew, dark)
    high = grey - cv2.GaussianBlur(grey, (0, 0), 1.0)
    pts = o + xs[mid, None] * a + (top[mid] - 0.5 * (band + stop) * ew)[:, None] * n
    texture = cv2.remap(high, pts[:, 0:1].astype(np.float32), pts[:, 1:2].astype(np.float32), cv2.INTER_NEAREST)
    grain = float(1.4826 * np.median(np.abs(texture - np.median(texture))))
    _, _, bot = lid_curves(p)
    pts = np.concatenate([o + xs[mid, None] * a + (bot[mid] + d * ew)[:, None] * n for d in np.linspace(*UNDER_EYE, 4)])
    # the lid's grain, no more than the skin's under the eye (a short lid's sample may hold brow hairs)
    under_grain = high_pass_grain(grey, pts)
    grain = min(grain, UNDER_GRAIN_MAX * under_grain)
    under_rgb = np.median(cv2.remap(image, pts[:, 0:1].astype(np.float32), pts[:, 1:2].astype(np.float32), cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE)[:, 0], axis=0).astype(np.float64)
    # only a lid in deep shadow (darker than LID_SHADOW of the skin under the eye) is lightened towards
    # LID_LIFT_TARGET of that skin, by at most LID_LIFT_MAX of white: in its own hue where that is
    # skin's, towards the under-eye skin's where it is greyer (a sample of lash and brow shadow:
    # lifted in its own hue it stayed a grey patch; a red, shadowed lid lifted towards a paler
    # under-eye skin turned grey-pink instead)
    ratio = float(np.mean(lid_rgb)) / max(float(np.mean(under_rgb)), 1.0)
    strength = 0.0 if ratio >= LID_SHADOW else min(1.0, (LID_SHADOW - ratio) / 0.1)
    chroma = lambda c: float((np.max(c) - np.min(c)) / max(float(np.max(c)), 1.0))  # noqa: E731
    towards_under = float(np.clip((chroma(under_rgb) - chroma(lid_rgb)) / LIFT_HUE_RAMP, 0, 1))
    own = lid_rgb * (LID_LIFT_TARGET / max(ratio, 1e-3) - 1)
    lift = np.maximum(own * (1 - towards_under) + (LID_LIFT_TARGET * under_rgb - lid_rgb) * towards_under, 0.0) * strength
    lift *= min(1.0, LID_LIFT_MAX * 255 / max(float(lift.max()), 1e-6))
    texture_gain = float(np.clip(grain / max(under_grain, 1e-3), 0.3, 1.0))
    return EyeFacts(dark.astype(np.float64), band, float(max(stop, band + MIN_LID_SKIN)), grain,
                    skin_rgb=lid_rgb.astype(np.float64), lift=lift.astype(np.float64), brow=float(below_brow),
                    texture_gain=texture_gain)


def own_lash_rgb(pixels: list, steps: np.ndarray, band_px: float, ew: float, fallback: np.ndarray) -> np.ndarray:
    """The lashes' own colour: the darkest of the lash band's pixels (the hairs, not the skin between them).

    A median along the lid (the fallback) mixes the skin between the hairs in: on light skin it
    came out a pale grey-brown, and the closed lid's lashes drawn in it read thin and grey."""
    rows = [px for d, px in zip(steps, pixels) if -band_px <= d <= -LASH_CLEAR * ew]
    if not rows:
        return fallback
    px = np.concatenate(rows)
    lum = px.mean(axis=1)
    darkest = px[lum <= np.quantile(lum, LASH_DARKEST)]
    # never lighter than the median's estimate (a band with no hairs in it: a thin, pale lash line)
    return darkest.mean(axis=0) if darkest.mean() < fallback.mean() else fallback


def measure_lids(image: np.ndarray, lm: np.ndarray) -> LidsState:
    """Per-avatar eyelid facts from the photo and its 68 landmarks."""
    lm = np.asarray(lm, np.float64)
    right = measure_eye(image, lm[42:48], lm[22:27])
    right.outer_right = True  # 45, the image-right eye's outer corner, is its fourth point
    return LidsState((measure_eye(image, lm[36:42], lm[17:22]), right))


def high_pass_grain(grey: np.ndarray, pts: np.ndarray) -> float:
    """Robust std of a grey image's fine detail (minus a 1 px Gaussian) at points."""
    high = grey - cv2.GaussianBlur(grey, (0, 0), 1.0)
    v = cv2.remap(high, pts[:, 0:1].astype(np.float32), pts[:, 1:2].astype(np.float32), cv2.INTER_NEAREST,
                  borderMode=cv2.BORDER_REPLICATE)
    return float(1.4826 * np.median(np.abs(v - np.median(v))))


def smoothstep(x):
    """0 below 0, 1 above 1, smooth in between."""
    x = np.clip(x, 0, 1)
    return x * x * (3 - 2 * x)


def lid_offset(q: np.ndarray, skin: np.ndarray, span: np.ndarray) -> np.ndarray:
    """Source offset below the crease for a destination offset q: the lid skin (height `skin`) stretched over `span`."""
    return q * np.maximum(skin, 1e-3) / np.maximum(span, 1e-3)


def destreak(patch: np.ndarray, stretch: np.ndarray, covered: np.ndarray, ew: float, texture: np.ndarray) -> np.ndarray:
    """Where the lid skin (`covered`, 0..1) is stretched past MAX_STRETCH its texture streaks: keep less of it,
    add real skin's fine texture (`texture`: the skin under the eye and a fine grain, laid over the lid) instead."""
    keep = (1 - covered * (1 - np.clip(MAX_STRETCH / np.maximum(stretch, 1e-3), 0.0, 1.0))).astype(np.float32)
    if keep.min() > 0.99:
        return patch
    sigma = max(0.8, DESTREAK_SIGMA * ew)
    low = cv2.GaussianBlur(patch, (0, 0), sigma)
    # a strip stretched far is one colour per column all down the lid: streaks wider than any
    # isotropic blur takes out; along the lid they are smoothed further, as far as it is stretched
    # (over lid skin only: the eye's corners and the lashes below the lid darkened it)
    w = np.ascontiguousarray(covered, np.float32)
    blur = lambda im: cv2.GaussianBlur(im, (0, 0), sigmaX=DESTREAK_ALONG * sigma, sigmaY=0.5 * sigma)  # noqa: E731
    along = blur(low * w[..., None]) / np.maximum(blur(w), 1e-3)[..., None]
    low = low + (along - low) * (1 - keep)[..., None]
    return low + (patch - low) * keep[..., None] + texture * (1 - keep)[..., None]


def skin_texture(frame: np.ndarray, facts: EyeFacts, o, a, n, x, y, c, b, ew: float) -> np.ndarray:
    """The fine texture (high-pass) of the skin under the eye, folded back and forth over the lid's rows."""
    lo, hi = TEXTURE_UNDER[0] * ew, TEXTURE_UNDER[1] * ew
    # the sample walks down the strip and starts again at its top, shifted along the lid each time: a
    # strip mirrored back and forth turned any slanted line in it (lower lashes, a bag's fold) into chevrons
    turn = (y - c) / (hi - lo)
    under_y = b + lo + (hi - lo) * (turn % 1.0)
    under_x = x + TEXTURE_SHIFT * ew * np.floor(turn)
    ux, uy = o[0] + under_x * a[0] + under_y * n[0], o[1] + under_x * a[1] + under_y * n[1]
    under = cv2.remap(frame, ux.astype(np.float32), uy.astype(np.float32), cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    high = under - cv2.GaussianBlur(under, (0, 0), max(0.8, DESTREAK_SIGMA * ew))
    # plus pores: a fixed grain in the eye's own frame (it moves with the lid), as strong as the lid's own
    # (the under-eye strip alone, repeated down a tall lid, still showed its lines as bands)
    gx = (x % _GRAIN.shape[1]).astype(np.float32)
    gy = ((y - c) % _GRAIN.shape[0]).astype(np.float32)
    pores = cv2.remap(_GRAIN, gx, gy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP) * np.float32(facts.grain)
    return high * np.float32(facts.texture_gain * (1 - PORE_SHARE)) + (PORE_SHARE * pores)[..., None]


def untuft(patch: np.ndarray, facts: EyeFacts, x, y, t, edge, b, ew: float, fade: float,
           texture: np.ndarray | None = None) -> np.ndarray:
    """Paint the photo's dark lashes round the outer corner over with lid skin: shut, they would stay up as a tuft."""
    if facts.skin_rgb is None or fade <= 0:
        return patch
    out = 1.0 if facts.outer_right else -1.0
    corner = (ew if facts.outer_right else 0.0) + out * TUFT_OUT * ew  # the lashes there sweep outwards
    near = np.exp(-((x - corner) / (TUFT_REACH * ew)) ** 2)
    band = facts.lash_band * ew
    # from a little above the crease down to the closing lid's edge (the lash line drawn there
    # stays) and, at the corner itself, where the lids meet, below it (a closed eye's corner is a fold of skin)
    at_corner = smoothstep(1 - (b - t) / np.maximum(TUFT_GAP * (b - t).max(), 1.0))
    bottom = (edge - 0.5) * (1 - at_corner) + (b + max(band, TUFT_BELOW * ew)) * at_corner
    up = min(max(1.5 * band, (facts.crease + TUFT_ABOVE) * ew), (facts.brow - TUFT_BROW_MARGIN) * ew)  # never up into the brow
    zone = smoothstep((y - (t - up)) / (0.3 * up + 1)) * smoothstep((bottom - y) / (0.3 * band + 1))
    # the hairs are what a grey closing (dilate, then erode, wider than a lash) takes out: measured
    # against it and filled from it the corner keeps its own light and shading (measured against the
    # lid skin's level and filled from the lighter skin round it, a shadowed corner turned a pale patch)
    where = near * zone * fade
    rows, cols = np.nonzero(where > 0.02)
    if rows.size == 0:
        return patch
    size = int(max(3, 2 * round(TUFT_HAIR * ew) + 1))
    # only round the corner (its rows and columns, with a kernel's margin): the closing is the costly part
    r0, r1 = max(rows.min() - size, 0), min(rows.max() + size + 1, patch.shape[0])
    c0, c1 = max(cols.min() - size, 0), min(cols.max() + size + 1, patch.shape[1])
    sub = patch[r0:r1, c0:c1]
    # a square kernel on bytes: separable and SIMD (an ellipse on floats cost more than the rest of the lid)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    grey_closed = cv2.morphologyEx(np.clip(sub + 0.5, 0, 255).astype(np.uint8), cv2.MORPH_CLOSE, kernel)
    closed = cv2.GaussianBlur(grey_closed.astype(np.float32), (0, 0), max(0.7, 0.25 * size))
    ref = np.maximum(closed.mean(axis=2), 1.0)
    dark = np.clip((1 - sub.mean(axis=2) / ref) / TUFT_DARK, 0, 1).astype(np.float32)
    m = where[r0:r1, c0:c1] * dark
    if m.max() < 0.02:
        return patch
    glare = glare_map(closed, facts)[..., None]
    fill = closed * (1 - glare) + sub * glare
    if texture is not None:
        fill = fill + texture[r0:r1, c0:c1]
    m = m[..., None]
    patch = patch.copy()
    patch[r0:r1, c0:c1] = sub * (1 - m) + fill * m
    return patch


def glare_map(patch: np.ndarray, facts: EyeFacts) -> np.ndarray:
    """0..1: how much each pixel is a lens's glare (far lighter than the lid skin), not skin."""
    if facts.skin_rgb is None:
        return np.zeros(patch.shape[:2], np.float32)
    skin = max(float(np.mean(facts.skin_rgb)), 1.0)
    light = np.clip((patch.mean(axis=2) / skin - GLARE_START) / GLARE_RAMP, 0, 1)
    # and whitish: a lid in shadow makes the lit skin round it "lighter" too, but that keeps its colour
    top, low = patch.max(axis=2), patch.min(axis=2)
    white = np.clip((GLARE_CHROMA - (top - low) / np.maximum(top, 1.0)) / 0.1, 0, 1)
    return (light * white).astype(np.float32)


def fill_from_around(patch: np.ndarray, m: np.ndarray, sigma: float) -> np.ndarray:
    """Pixels under mask m replaced by a normalised blur of the rest (the light round them, not one colour)."""
    ok = (1 - m)[..., None]
    fill = cv2.GaussianBlur(patch * ok, (0, 0), sigma) / np.maximum(cv2.GaussianBlur(ok, (0, 0), sigma)[..., None], 1e-3)
    return patch * ok + fill * m[..., None]


def draw_eye(frame: np.ndarray, facts: EyeFacts, p: np.ndarray, blink: float) -> None:
    """Close one eye by `blink` (0 open .. 1 shut) in place; p: its six points in this frame."""
    o, a, n, ew = eye_frame(p)
    if ew < MIN_EYE:
        return
    xs, top, bot = lid_curves(p)
    gap = bot - top
    crease = facts.crease * ew
    h, w = frame.shape[:2]
    corners = np.array([o + (top.min() - crease - PAD * ew) * n, o + (bot.max() + PAD * ew) * n])
    box = np.vstack([corners - PAD * ew * a, corners + (1 + PAD) * ew * a])
    x0, y0 = np.maximum(np.floor(box.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(box.max(axis=0)).astype(int) + 1, (w, h))
    if x1 <= x0 or y1 <= y0:
        return
    gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    rx, ry = gx - o[0], gy - o[1]
    x, y = rx * a[0] + ry * a[1], rx * n[0] + ry * n[1]
    t, g = np.interp(x, xs, top), np.interp(x, xs, gap, left=0.0, right=0.0)
    b = t + g
    edge = t + blink * (1 - LOWER_RISE) * g  # the upper lid's edge
    rim = b - blink * LOWER_RISE * g  # the lower lid's rim: at blink 1 the two meet
    c = t - crease
    fade = smoothstep(blink / LASH_FADE)
    # skip the photo's lash band, all of it, except towards the corners where the lids meet
    # the photo's lash band is left out all along the lid and a little past its corners (the lashes
    # at the outer corner would stay up, a dark tuft above the closed lid), fading out beyond them
    past = LASH_PAST_CORNER * ew
    reach = smoothstep((x + past) / (2 * past)) * smoothstep((ew + past - x) / (2 * past))
    band = facts.lash_band * ew * reach * fade
    src_end = t - band
    inside = (y > c) & (y <= edge)
    src_y = np.where(inside, c + lid_offset(y - c, src_end - c, edge - c), y)
    low = b + LOWER_SKIN * ew
    below = (y >= rim) & (y < low) & (g > 0)
    start = b + LOWER_LASH * ew * blink * (g > 0)  # the rising lower lid shows its skin, not its lash line
    src_y = np.where(below, start + (y - rim) * (low - start) / np.maximum(low - rim, 1e-3), src_y)
    sx = o[0] + x * a[0] + src_y * n[0]
    sy = o[1] + x * a[1] + src_y * n[1]
    patch = cv2.remap(frame, sx.astype(np.float32), sy.astype(np.float32), cv2.INTER_CUBIC,
                      borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    moved = (inside | below) & (g > 0)
    glare = glare_map(patch, facts) * moved * fade
    if glare.max() > 0.02:
        patch = fill_from_around(patch, glare, max(1.5, 0.15 * ew))
    texture = skin_texture(frame, facts, o, a, n, x, y, c, b, ew)
    # fading in below the crease: a step from the photo's skin to the smoothed one showed as a rim
    covered = (inside & (g > 0)) * smoothstep((y - c) / max(LIFT_RAMP * ew, 1.0))
    patch = destreak(patch, (edge - c) / np.maximum(src_end - c, 1e-3), covered, ew, texture)
    # the closed lid curves in towards its edge: a little darker there; a lid skin in the socket's
    # shadow turns to the light as it closes (lightened, fading out towards the corners)
    depth = np.clip((y - t) / np.maximum(g, 1e-3), 0, 1) * inside * (g > 0)
    patch *= (1 - LID_SHADE * depth * blink)[..., None]
    if facts.lift is not None:
        # fading in below the crease and out towards the corners: no edge where the lift starts
        ramp_in = smoothstep((y - c) / max(LIFT_RAMP * ew, 1.0))
        corners = smoothstep(x / (LIFT_CORNER * ew)) * smoothstep((ew - x) / (LIFT_CORNER * ew))
        patch += (blink * inside * ramp_in * corners)[..., None] * np.asarray(facts.lift, np.float32)
    patch = untuft(patch, facts, x, y, t, edge, b, ew, fade, texture)
    line = lashes.lash_alpha(x, y, edge, ew, facts.outer_right) * (fade * reach)
    # where the lids meet, two resampled edges touch: blur across that seam so no bright line shows
    meet = np.exp(-((y - edge) / max(SEAM_WIDTH * ew, 1.0)) ** 2) * (g > 0) * fade
    if meet.max() > 0.02:
        soft = cv2.GaussianBlur(patch, (0, 0), max(0.7, SEAM_SIGMA * ew))
        patch += (soft - patch) * meet[..., None]
    lash = lashes.lash_colour(facts.lash_rgb, patch)
    patch = patch * (1 - line[..., None]) + lash * line[..., None]
    original = frame[y0:y1, x0:x1].astype(np.float32)
    # the lens's glare stays where it was, over the lid: above the eye and below it (inside it, a
    # bright spot is the eye's own catchlight or sclera, which the lid covers)
    lens = glare_map(original, facts) * ((y < t - facts.lash_band * ew) | (y > b)) * fade
    # every change fades out before the region's edge (the corner's fill reached it: a lighter square)
    inner = np.minimum(np.minimum(gx - x0, x1 - 1 - gx), np.minimum(gy - y0, y1 - 1 - gy))
    keep = np.maximum(lens, 1 - smoothstep(inner / max(BOX_FEATHER * ew, 1.0)))
    patch += (original - patch) * keep[..., None]
    frame[y0:y1, x0:x1] = np.clip(patch + 0.5, 0, 255).astype(np.uint8)


def draw_lids(frame: np.ndarray, lids_state: LidsState, eye_points: np.ndarray, blink: float) -> None:
    """Close both eyes by `blink` in place; eye_points: (12, 2) landmarks 36..47 where they are in `frame`."""
    eye_points = np.asarray(eye_points, np.float64)
    if blink <= 0:
        return
    for facts, p in zip(lids_state.eyes, (eye_points[:6], eye_points[6:])):
        draw_eye(frame, facts, p, float(min(blink, 1.0)))


def closed_lid_ratio(photo: np.ndarray, frame: np.ndarray, lm: np.ndarray, lids_state: LidsState) -> float:
    """Mean luminance of the closed eyes (between the photo's lid curves) over the photo's lid skin above the lashes."""
    grey_f, grey_p = frame.astype(np.float32).mean(axis=2), photo.astype(np.float32).mean(axis=2)
    h, w = grey_f.shape
    ratios = []
    for facts, p in zip(lids_state.eyes, (lm[36:42], lm[42:48])):
        o, a, n, ew = eye_frame(np.asarray(p, np.float64))
        xs, top, bot = lid_curves(np.asarray(p, np.float64))
        mid = (xs > 0.15 * ew) & (xs < 0.85 * ew)
        x, t, b = xs[mid, None], top[mid, None], bot[mid, None]
        share = np.linspace(0.15, 0.85, 5)[None, :]
        along = o + x[..., None] * a  # (m, 1, 2)
        band = along + (t + share * (b - t))[..., None] * n
        up = np.linspace(0.0, 1.0, 5)[None, :]
        skin = along + (t - (facts.crease - up * (facts.crease - facts.lash_band)) * ew)[..., None] * n

        def mean_at(grey, q):
            qx = np.clip(np.round(q[..., 0]).astype(int), 0, w - 1)
            qy = np.clip(np.round(q[..., 1]).astype(int), 0, h - 1)
            return float(grey[qy, qx].mean())
        ratios.append(mean_at(grey_f, band) / max(mean_at(grey_p, skin), 1.0))
    return float(np.mean(ratios))
