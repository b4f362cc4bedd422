"""Per-avatar facts about a photo's mouth, measured once: its light, grain, own teeth, a closed rest image.

A drawn mouth interior gives itself away by colour (a white that is not the face's white), by
texture (smoother or sharper than the lips around it) and, on a photo that smiles with teeth, by
the photo's own teeth: squeezed by the closing warp they leave pale specks along the lips. So:

- the light: teeth take their colour from the sclera (the face's own white under the face's own
  light), the cavity and tongue from the lips, both scaled to the face's exposure;
- the grain: the high-pass noise of the skin round the mouth, added to what is drawn;
- the own teeth: where the photo shows teeth, the strip between the inner lips is resampled into
  the mouth's own frame (columns along the mouth, rows in mouth widths below the upper / above the
  lower lip), so mouth_interior can hang it from the warped lips: the teeth move with the jaw;
- the filled rest image: the same strip painted over with lip colour (interpolated between the
  lip just above and just below), plus any pale pixel left in the lips, so the closing warp has no
  tooth to squeeze into the seam.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..landmarks import INNER_LIPS, LEFT_EYE, OUTER_LIPS, RIGHT_EYE

# Light: neutral colours (a clean, white-lit photo of typical exposure), then scaled by the face's
# own white balance (the sclera's cast) and exposure (the skin's level over REFERENCE_SKIN)
SCLERA_BRIGHTEST = 0.35  # share of the eye's pixels (the brightest, least saturated) taken as sclera
SCLERA_MAX_SAT = 0.3  # a "sclera" more saturated than this is skin or iris (a small, shadowed, glazed eye)
MIN_SCLERA_PIXELS = 12
CAST_RANGE = (0.85, 1.15)  # per-channel white-balance gains are kept in this range
TEETH_RGB = np.array([232.0, 222.0, 200.0])
CAVITY_RGB = np.array([44.0, 18.0, 19.0])  # the back of the mouth: dark red-brown, never black
CAVITY_EDGE_RGB = np.array([82.0, 38.0, 38.0])  # just under the teeth, where some light gets in
TONGUE_RGB = np.array([146.0, 70.0, 72.0])  # in the mouth's shade: darker than the lips
REFERENCE_SKIN = 165.0  # mean grey level of the skin the neutral colours are for
TEETH_EXPOSURE = (0.55, 1.05)  # the exposure factor applied to the teeth, clipped
CAVITY_EXPOSURE = (0.5, 1.25)
TYPICAL_SKIN_CHROMA = 0.3  # (max - min) / max of a typical skin colour in a normal colour photo
CHROMA_RANGE = (0.25, 1.0)  # the mouth's colours keep this share of their saturation at most / least
# Grain
GRAIN_RING = 0.35  # skin below the lips, this many mouth widths deep, measures the noise
GRAIN_TILE = 64  # px: the noise added to a drawing repeats after this many pixels
GRAIN_CORRELATION = 0.5  # px: the noise is blurred this much (a photo's grain is not per-pixel white)
# Sharpness: edge gradients over contrast, at these quantiles of the region, contrast at least this
EDGE_QUANTILES = (0.02, 0.98)
MIN_CONTRAST = 20.0
# Own teeth
OWN_GAP_MIN = 0.05  # photo inner-lip gap over mouth width from which the photo's teeth are used
OWN_TEETH_SHARE = 0.3  # ... if this share of the gap is pale against the lips (teeth, not a dark slit)
OWN_INSET = 0.015  # mouth widths inside the photo's inner lips where its own-teeth strip starts
OWN_COLUMNS = 64  # resolution of the resampled strip along the mouth
OWN_ROWS_PER_MW = 80  # ... and across it, rows per mouth width
# Rest fill
FILL_MARGIN = 0.02  # mouth widths: the strip is widened by this much so no tooth edge stays
FILL_FEATHER = 1.5  # px: the painted strip fades into the lips over this much
FILL_SAMPLE = 0.02  # lip colour is read this many mouth widths outside the strip
PALE_L, PALE_A = 18.0, -6.0  # Lab (0-100, a*): lighter and less red than the lips = a tooth remnant
RELIEF = 0.9  # share of the creases' shading taken out round the corners of a fully rounded mouth ...
RELIEF_REACH, RELIEF_OUT = 0.2, 0.1  # ... in blobs this wide (mouth widths), this far outside each corner
RELIEF_FINE, RELIEF_BROAD = 0.008, 0.06  # mouth widths: finer is grain, broader the cheek's light; both stay
RELIEF_EPS = 0.02
RELIEF_NOSE_FADE = 0.2  # mouth widths below the nose tip's line over which the relief fades in
DARK_L = 22.0  # Lab L (0-100) under the lips' from which a pixel in the lips is the cavity, not lip
PALE_NEAR = 0.06  # ... looked for this many mouth widths round the strip


def high_pass_mad(grey: np.ndarray) -> float:
    """Robust std (1.4826 x median absolute deviation) of a grey patch's fine detail (minus a 1 px Gaussian)."""
    high = grey - cv2.GaussianBlur(grey, (0, 0), 1.0)
    return float(1.4826 * np.median(np.abs(high - np.median(high))))


def grain_tile(size: int = GRAIN_TILE, seed: int = 0) -> np.ndarray:
    """Tileable noise, a little correlated like a photo's, scaled so that `grain_level` of it reads 1."""
    noise = np.random.default_rng(seed).standard_normal((size, size)).astype(np.float32)
    pad = 4  # blurred with wrap-around, so the tile repeats without a seam
    noise = cv2.GaussianBlur(np.pad(noise, pad, mode="wrap"), (0, 0), GRAIN_CORRELATION)[pad:-pad, pad:-pad]
    return noise / max(high_pass_mad(noise), 1e-6)


@dataclass
class OwnTeeth:
    """The photo's mouth strip in the mouth's frame: upper rows hang from the upper lip, lower from the lower."""

    upper: np.ndarray  # (rows, OWN_COLUMNS, 3) float32: row r is r / OWN_ROWS_PER_MW mouth widths below the upper lip
    lower: np.ndarray  # (rows, OWN_COLUMNS, 3) float32: row r is r / OWN_ROWS_PER_MW above the lower lip
    gap: np.ndarray  # (OWN_COLUMNS,) photo gap per column, mouth widths
    half: float  # half the photo's inner-corner distance, mouth widths


@dataclass
class MouthInterior:
    """What a drawn mouth is coloured and textured by (defaults: a neutral, clean photo)."""

    teeth_rgb: np.ndarray = field(default_factory=lambda: np.array([232.0, 222.0, 200.0]))
    cavity_rgb: np.ndarray = field(default_factory=lambda: np.array([40.0, 14.0, 16.0]))
    cavity_edge_rgb: np.ndarray = field(default_factory=lambda: np.array([86.0, 34.0, 36.0]))
    tongue_rgb: np.ndarray = field(default_factory=lambda: np.array([150.0, 70.0, 72.0]))
    grain: float = 0.0  # std of the photo's noise, grey levels
    blur: float = 0.0  # Gaussian sigma (mouth widths) that brings the drawing to the face's sharpness
    own: OwnTeeth | None = None
    noise: np.ndarray = field(default_factory=lambda: grain_tile())


def polygon(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    """Boolean mask of a filled polygon."""
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask.astype(bool)


def mouth_axes(lm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Inner-mouth centre, axis u (corner to corner), down vector v and outer mouth width."""
    u = lm[54] - lm[48]
    mw = float(np.hypot(*u))
    u = u / max(mw, 1e-6)
    return lm[list(INNER_LIPS)].mean(axis=0), u, np.array([-u[1], u[0]]), mw


def lip_lines(lm: np.ndarray, centre, u, v) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inner corners' positions along u, and the upper / lower inner lip's offset along v at 5 points each."""
    rel = lm[list(INNER_LIPS)] - centre
    a, b = rel @ u, rel @ v
    top = np.array([[a[i], b[i]] for i in (0, 1, 2, 3, 4)])
    bot = np.array([[a[i], b[i]] for i in (0, 7, 6, 5, 4)])
    return a[[0, 4]], top, bot


def lip_curve(line: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Offset along v of a lip line (5, 2 (a, b)) at positions a along the mouth."""
    order = np.argsort(line[:, 0])
    return np.interp(a, line[order, 0], line[order, 1])


def skin_rgb(image: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """Median colour of the cheeks and chin (outside the lips, under the eyes)."""
    h, w = image.shape[:2]
    face = polygon((h, w), lm[list(range(2, 15)) + [35, 31]]) & ~polygon((h, w), lm[list(OUTER_LIPS)])
    px = image[face]
    return np.median(px, axis=0).astype(np.float64) if len(px) > 20 else np.array([180.0, 140.0, 120.0])


def sclera_rgb(image: np.ndarray, lm: np.ndarray) -> np.ndarray | None:
    """The brightest, least saturated pixels inside both eyes: the sclera under this photo's light."""
    h, w = image.shape[:2]
    mask = polygon((h, w), lm[list(RIGHT_EYE)]) | polygon((h, w), lm[list(LEFT_EYE)])
    mask = cv2.erode(mask.astype(np.uint8), np.ones((2, 2), np.uint8)).astype(bool)
    px = image[mask].astype(np.float64)
    if len(px) < MIN_SCLERA_PIXELS:
        return None
    sat = px.max(axis=1) - px.min(axis=1)
    score = px.mean(axis=1) - 0.7 * sat
    keep = px[score >= np.quantile(score, 1 - SCLERA_BRIGHTEST)]
    return np.median(keep, axis=0)


def lips_rgb(image: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """Median colour between the outer and inner lip contours."""
    h, w = image.shape[:2]
    ring = polygon((h, w), lm[list(OUTER_LIPS)]) & ~polygon((h, w), lm[list(INNER_LIPS)])
    px = image[ring]
    return np.median(px, axis=0).astype(np.float64) if len(px) > 10 else np.array([170.0, 90.0, 90.0])


def grain_level(image: np.ndarray, lm: np.ndarray, mw: float) -> float:
    """Robust std of the fine noise of the skin below the lips (median absolute deviation of a high-pass)."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    h, w = image.shape[:2]
    _, _, v, _ = mouth_axes(lm)
    chin = np.array([lm[57], lm[57] + v * GRAIN_RING * mw])
    x0, y0 = np.maximum(np.floor(chin.min(axis=0) - 0.2 * mw).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(chin.max(axis=0) + 0.2 * mw).astype(int), (w, h))
    patch = grey[y0:y1, x0:x1]
    return high_pass_mad(patch) if patch.size >= 16 else 0.0


def face_light(image: np.ndarray, lm: np.ndarray) -> dict:
    """Teeth, cavity and tongue colours under the photo's own light (cast from the sclera, level from the skin)."""
    sclera = sclera_rgb(image, lm)
    skin = skin_rgb(image, lm)
    if sclera is not None and (sclera.max() - sclera.min()) <= SCLERA_MAX_SAT * sclera.max():
        cast = np.clip(sclera / max(sclera.mean(), 1.0), *CAST_RANGE)
    else:  # no usable sclera: the skin's cast against a typical skin's, half strength
        typical = np.array([200.0, 160.0, 135.0])
        cast = np.clip(1 + 0.5 * ((skin / skin.mean()) / (typical / typical.mean()) - 1), *CAST_RANGE)
    exposure = float(skin.mean()) / REFERENCE_SKIN
    # a washed-out or nearly grey photo gets a mouth as little saturated as its skin
    chroma = float(np.clip((skin.max() - skin.min()) / max(skin.max(), 1.0) / TYPICAL_SKIN_CHROMA, *CHROMA_RANGE))
    teeth = np.minimum(saturate(TEETH_RGB * cast, chroma) * np.clip(exposure, *TEETH_EXPOSURE), 250.0)
    e = np.clip(exposure, *CAVITY_EXPOSURE)
    return {"teeth_rgb": teeth, "cavity_rgb": saturate(CAVITY_RGB * cast, chroma) * e,
            "cavity_edge_rgb": saturate(CAVITY_EDGE_RGB * cast, chroma) * e,
            "tongue_rgb": np.minimum(saturate(TONGUE_RGB * cast, chroma) * e, 235.0)}


def saturate(rgb: np.ndarray, amount: float) -> np.ndarray:
    """A colour with its saturation scaled by `amount` about its own grey."""
    grey = float(rgb @ np.array([0.299, 0.587, 0.114]))
    return grey + (rgb - grey) * amount


def photo_gap(lm: np.ndarray) -> float:
    """Mean inner-lip gap of the photo over its mouth width."""
    _, _, v, mw = mouth_axes(lm)
    return float(np.mean((lm[[67, 66, 65]] - lm[[61, 62, 63]]) @ v)) / max(mw, 1e-6)


def shows_teeth(image: np.ndarray, lm: np.ndarray) -> bool:
    """The photo's lips are parted on something brighter than the lips: its own teeth."""
    if photo_gap(lm) < OWN_GAP_MIN:
        return False
    h, w = image.shape[:2]
    gap = polygon((h, w), lm[list(INNER_LIPS)])
    if gap.sum() < 10:
        return False
    return float(pale_mask(image, gap, lips_rgb(image, lm)).sum()) >= OWN_TEETH_SHARE * float(gap.sum())


def strip_maps(lm: np.ndarray, rows: int, from_top: bool) -> tuple[np.ndarray, np.ndarray]:
    """Source coordinates (rows, OWN_COLUMNS) of the photo's mouth strip seen from one lip."""
    centre, u, v, mw = mouth_axes(lm)
    ends, top, bot = lip_lines(lm, centre, u, v)
    a = np.linspace(ends[0], ends[1], OWN_COLUMNS)
    # starting a little inside the lips: dlib's inner contour often lies on the lip, not the teeth
    depth = np.arange(rows)[:, None] / OWN_ROWS_PER_MW * mw + OWN_INSET * mw
    b = lip_curve(top, a)[None, :] + depth if from_top else lip_curve(bot, a)[None, :] - depth
    pts = centre + a[None, :, None] * u + b[..., None] * v
    return pts[..., 0].astype(np.float32), pts[..., 1].astype(np.float32)


def own_teeth(image: np.ndarray, lm: np.ndarray) -> OwnTeeth:
    """The photo's strip between the inner lips, resampled from each lip in the mouth's frame."""
    centre, u, v, mw = mouth_axes(lm)
    ends, top, bot = lip_lines(lm, centre, u, v)
    a = np.linspace(ends[0], ends[1], OWN_COLUMNS)
    gap = np.maximum(lip_curve(bot, a) - lip_curve(top, a), 0) / mw
    rows = int(np.ceil(gap.max() * OWN_ROWS_PER_MW)) + 2
    layers = []
    for from_top in (True, False):
        mx, my = strip_maps(lm, rows, from_top)
        layers.append(cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32))
    return OwnTeeth(layers[0], layers[1], gap, float(ends[1] - ends[0]) / 2 / mw)


def filled_rest_image(image: np.ndarray, lm: np.ndarray, toothy: bool = True) -> np.ndarray:
    """The photo with the strip between its inner lips (and any pale remnant in the lips) painted lip-coloured."""
    centre, u, v, mw = mouth_axes(lm)
    ends, top, bot = lip_lines(lm, centre, u, v)
    h, w = image.shape[:2]
    margin, sample = FILL_MARGIN * mw + 1.0, FILL_SAMPLE * mw + 1.5
    lips = lm[list(OUTER_LIPS)]
    x0, y0 = np.maximum(np.floor(lips.min(axis=0)).astype(int) - 2, 0)
    x1, y1 = np.minimum(np.ceil(lips.max(axis=0)).astype(int) + 3, (w, h))
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    rel = np.dstack([xs, ys]) - centre
    a, b = rel @ u, rel @ v
    b_top, b_bot = lip_curve(top, a) - margin, lip_curve(bot, a) + margin
    outer = polygon((h, w), lips)[y0:y1, x0:x1]
    # the strip, widened, but never beyond the outer lips (corners included: teeth show there too)
    inside = (b > b_top - FILL_FEATHER) & (b < b_bot + FILL_FEATHER) & (a > ends[0] - margin) & (a < ends[1] + margin) & outer
    # a soft edge across the lips (a hard one stepped from pixel row to row: closed, the lip line
    # read as a dashed seam)
    soft_edge = (np.clip((b - b_top) / FILL_FEATHER + 0.5, 0, 1) * np.clip((b_bot - b) / FILL_FEATHER + 0.5, 0, 1))
    soft = cv2.GaussianBlur(image, (0, 0), max(0.8, 0.012 * mw)).astype(np.float32)
    out = image.astype(np.float32).copy()
    if inside.any():
        t = np.clip((b - b_top) / np.maximum(b_bot - b_top, 1e-3), 0, 1)[inside][:, None]
        aa = np.clip(a[inside], ends[0], ends[1])
        pt = centre + aa[:, None] * u + (lip_curve(top, aa) - margin - sample)[:, None] * v
        pb = centre + aa[:, None] * u + (lip_curve(bot, aa) + margin + sample)[:, None] * v
        ct = cv2.remap(soft, pt[:, 0:1].astype(np.float32), pt[:, 1:2].astype(np.float32), cv2.INTER_LINEAR)[:, 0]
        cb = cv2.remap(soft, pb[:, 0:1].astype(np.float32), pb[:, 1:2].astype(np.float32), cv2.INTER_LINEAR)[:, 0]
        region = out[y0:y1, x0:x1]
        k = soft_edge[inside][:, None]
        region[inside] = region[inside] * (1 - k) + (ct * (1 - t) + cb * t) * k
    filled = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    # what dlib's inner contour missed on a toothy photo: pale, unreddish pixels still in the lips
    # near the strip -> inpainted away (further out, a pale pixel is the lips' own skin or highlight)
    near = (b > b_top - PALE_NEAR * mw) & (b < b_bot + PALE_NEAR * mw) & outer
    pale = pale_mask(filled[y0:y1, x0:x1], near, lips_rgb(image, lm)) if toothy else np.zeros_like(near)
    if toothy:
        # ... and the cavity's dark at the inner corners, which the contour cuts off: closed, it
        # would show as a black notch at each end of the lip line
        pale |= dark_mask(filled[y0:y1, x0:x1], near, lips_rgb(image, lm))
    if pale.any():
        mask = np.zeros((h, w), np.uint8)
        mask[y0:y1, x0:x1] = cv2.dilate(pale.astype(np.uint8), np.ones((3, 3), np.uint8))
        filled = cv2.inpaint(filled, mask, max(2.0, 0.03 * mw), cv2.INPAINT_TELEA)
    return filled


def pale_mask(patch: np.ndarray, region: np.ndarray, lips: np.ndarray) -> np.ndarray:
    """Pixels of `region` lighter and less red than the lips' colour: teeth, not lip."""
    lab = cv2.cvtColor(patch, cv2.COLOR_RGB2LAB).astype(np.float32)
    ref = cv2.cvtColor(np.clip(lips, 0, 255).astype(np.uint8)[None, None], cv2.COLOR_RGB2LAB)[0, 0].astype(np.float32)
    dl = (lab[..., 0] - ref[0]) * 100 / 255
    da = lab[..., 1] - ref[1]
    return region & (dl > PALE_L) & (da < PALE_A)


def dark_mask(patch: np.ndarray, region: np.ndarray, lips: np.ndarray) -> np.ndarray:
    """Pixels of `region` much darker than the lips' colour: the open mouth's cavity, not lip."""
    lab = cv2.cvtColor(patch, cv2.COLOR_RGB2LAB).astype(np.float32)
    ref = cv2.cvtColor(np.clip(lips, 0, 255).astype(np.uint8)[None, None], cv2.COLOR_RGB2LAB)[0, 0].astype(np.float32)
    return region & ((lab[..., 0] - ref[0]) * 100 / 255 < -DARK_L)


def corner_relief(image: np.ndarray, lm: np.ndarray) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """(roi, delta): what, added at full rounding, smooths out the creases round the mouth's corners.

    The round basis pulls the corners in by a quarter of the mouth's width, and the skin folds just
    outside them (a smile's, an older face's) come along, squeezed into a pinched "( )": a mouth that
    rounds relaxes them. delta takes out their mid-frequency shading (between the skin's grain and the
    cheek's broad light, both kept) in blobs round the corners, never in the lips themselves.
    """
    centre, u, v, mw = mouth_axes(lm)
    h, w = image.shape[:2]
    reach = RELIEF_REACH * mw
    pts = np.vstack([lm[48] - RELIEF_OUT * mw * u, lm[54] + RELIEF_OUT * mw * u])
    x0, y0 = np.maximum(np.floor(pts.min(axis=0) - 3 * reach).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(pts.max(axis=0) + 3 * reach).astype(int) + 1, (w, h))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    patch = image[y0:y1, x0:x1].astype(np.float32)
    fine = cv2.GaussianBlur(patch, (0, 0), max(0.6, RELIEF_FINE * mw))
    broad = cv2.GaussianBlur(patch, (0, 0), max(1.5, RELIEF_BROAD * mw))
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    blob = np.zeros(patch.shape[:2], np.float32)
    for p in pts:
        blob = np.maximum(blob, np.exp(-((xs - p[0]) ** 2 + (ys - p[1]) ** 2) / (2 * reach ** 2)))
    lips = polygon((h, w), lm[list(OUTER_LIPS)])[y0:y1, x0:x1].astype(np.float32)
    blob *= 1 - cv2.GaussianBlur(lips, (0, 0), max(1.0, 0.02 * mw))
    # nothing at or above the nose tip changes (as with the mouth warp): faded in below its line
    below_tip = np.clip(((xs - lm[30, 0]) * v[0] + (ys - lm[30, 1]) * v[1]) / (RELIEF_NOSE_FADE * mw), 0, 1)
    blob *= below_tip * below_tip * (3 - 2 * below_tip)
    return (int(x0), int(y0), int(x1), int(y1)), (-RELIEF * (fine - broad) * blob[..., None]).astype(np.float32)


def relieved(source: np.ndarray, relief, amount: float, buffer: np.ndarray | None = None) -> np.ndarray:
    """The source with `amount` (0..1) of a corner relief added (the source itself when there is none).

    buffer: a copy of the source to write into (only the relief's ROI changes; it is valid until the
    next call), so a frame costs no whole-image copy.
    """
    if relief is None or amount <= RELIEF_EPS:
        return source
    (x0, y0, x1, y1), delta = relief
    out = source.copy() if buffer is None else buffer
    out[y0:y1, x0:x1] = np.clip(source[y0:y1, x0:x1] + np.float32(min(amount, 1.0)) * delta + 0.5, 0, 255).astype(np.uint8)
    return out


def measure(image: np.ndarray, lm: np.ndarray) -> tuple[MouthInterior, np.ndarray]:
    """The photo's MouthInterior facts and the image the mouth warp should sample (filled when toothy)."""
    lm = np.asarray(lm, np.float64)
    _, _, _, mw = mouth_axes(lm)
    interior = MouthInterior(**face_light(image, lm), grain=grain_level(image, lm, mw))
    if shows_teeth(image, lm):
        interior.own = own_teeth(image, lm)
        return interior, filled_rest_image(image, lm)
    if photo_gap(lm) >= OWN_GAP_MIN:
        # parted lips on a dark mouth with a few teeth (a photo taken mid-word): too little tooth to
        # reuse, but the rest pose's closing squeezes whatever is between the lips into a pale line
        # along them, so the strip is painted out all the same
        return interior, filled_rest_image(image, lm)
    return interior, image


def texture_ratio(frame: np.ndarray, inner: np.ndarray, outer: np.ndarray, mw: float,
                  robust: bool = False) -> float | None:
    """Laplacian variance inside the open mouth over that of the lips and chin round it (None: too closed).

    robust: the squared median absolute Laplacian instead of the variance, which a few strong edges
    (teeth against the dark) dominate: it compares the fine texture, blur and grain, not the contrast.
    """
    h, w = frame.shape[:2]
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    lap = cv2.Laplacian(grey, cv2.CV_32F)
    k = np.ones((3, 3), np.uint8)
    mouth = polygon((h, w), inner).astype(np.uint8)
    inside = cv2.erode(mouth, k, iterations=2).astype(bool)
    _, _, v, _ = mouth_axes(np.vstack([np.zeros((48, 2)), outer, inner]))
    lower = outer[[6, 7, 8, 9, 10, 11, 0]]  # 54, 55 .. 59, 48
    chin = np.vstack([lower, lower[::-1] + v * 0.3 * mw])
    ring = (polygon((h, w), outer) | polygon((h, w), chin)).astype(np.uint8)
    ring = cv2.erode(ring, k, iterations=2).astype(bool) & ~cv2.dilate(mouth, k, iterations=3).astype(bool)
    if inside.sum() < 20 or ring.sum() < 20:
        return None
    if robust:
        return float((np.median(np.abs(lap[inside])) / max(np.median(np.abs(lap[ring])), 1e-6)) ** 2)
    return float(lap[inside].var() / max(lap[ring].var(), 1e-6))


def edge_sharpness(image: np.ndarray, mask: np.ndarray) -> float | None:
    """Strongest gradients over the contrast in a region: about 1 / (2.5 x blur sigma) for a blurred step edge.

    Contrast-free, so a drawn mouth (teeth against the dark) and the photo's eyes (iris, lashes
    against the sclera) compare by how soft their edges are, not by how strong.
    """
    if mask.sum() < 20:
        return None
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3) / 8, cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3) / 8
    mag = np.hypot(gx, gy)[mask]
    lo, hi = np.quantile(grey[mask], [EDGE_QUANTILES[0], EDGE_QUANTILES[1]])
    return float(np.quantile(mag, EDGE_QUANTILES[1]) / max(hi - lo, MIN_CONTRAST))


def eyes_mask(shape: tuple[int, int], lm: np.ndarray) -> np.ndarray:
    """Both eyes and a margin round them (lids, lashes): the photo's sharpest everyday edges."""
    mask = polygon(shape, lm[list(RIGHT_EYE)]) | polygon(shape, lm[list(LEFT_EYE)])
    ew = float(np.hypot(*(lm[39] - lm[36])))
    k = max(3, int(0.3 * ew) | 1)
    return cv2.dilate(mask.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)
