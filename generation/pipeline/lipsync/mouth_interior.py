"""The inside of an open mouth, drawn between warped inner lips: teeth as teeth, a tongue, a graded cavity.

Everything is laid out in the mouth's own frame (u along the mouth, v down the face) from the
warped inner-lip points, so the drawing goes wherever the points are: on the still photo, or at
coordinates a head motion has moved them to. Sizes of teeth are in the avatar's rest mouth width
`mw` (teeth belong to the skull; they do not stretch when the lips spread or round).

Layers, back to front: the cavity (lit just under the teeth, dark deep inside, darker towards the
corners where the cheeks shade it), the tongue (rising from the floor of the mouth; higher for
l/t/d/n/r; a rounded shape, lighter on its top, with the cavity just above it in its shadow), the
lower teeth (when the jaw drops), the upper teeth (hung from a root line that follows the upper
lip only part way: the rest is the skull's fixed arch, so towards the corners the lips close over
them and the cavity there stays dark, the buccal corridor; gums hidden behind the lip). A tooth
row is a run of teeth narrowing towards the corners as the arch turns away (each one darker), with
interproximal separations darkest and widest at the biting edge and fading towards the gum, a
convex shading and a soft sheen across each tooth, rounded incisal corners, a rounder darker
canine and a translucent grey-blue edge. Where the
photo shows its own teeth (mouth_photo.OwnTeeth), those replace the drawn rows, hung from the
same lips. The result is blurred and grained to the photo's own sharpness and noise (less grain
in the dark, as a sensor's).
"""
from __future__ import annotations

import cv2
import numpy as np

from .mouth_photo import OWN_ROWS_PER_MW, MouthInterior

DEFAULT = MouthInterior()
SUBPIXEL_SHIFT = 3
FEATHER = 0.012  # lip edge softness, mouth widths
MAX_FEATHER = 0.02  # ... at most, on a soft photo
MIN_GAP = 0.4  # px: a smaller opening is drawn as closed lips

# Upper row, centre outwards: projected width (mouth widths), visible length, brightness
UPPER_WIDTH = (0.155, 0.115, 0.085, 0.062, 0.05, 0.04)  # centrals wider than laterals
UPPER_LENGTH = (1.0, 0.86, 0.9, 0.74, 0.6, 0.45)
UPPER_BRIGHT = (1.0, 0.93, 0.74, 0.5, 0.34, 0.22)  # the buccal corridor: teeth round the arch fall into shade
UPPER_H = 0.105  # visible length of a central incisor, mouth widths
UPPER_SHARE = 0.62  # ... at most this share of the opening there (the lower lip covers the rest)
# Lower row: smaller incisors, in the upper row's shadow; past the canines the lower lip hides them
LOWER_WIDTH = (0.065, 0.07, 0.06)  # centre outwards: 0.39 of the rest mouth width in all, the lower incisors and canines
LOWER_LENGTH = (1.0, 0.85, 0.45)
LOWER_BRIGHT = (0.7, 0.58, 0.38)
# No two real teeth are alike: each tooth's length and brightness differ by up to this much
# (fixed per tooth position, the same on every frame and face; left and right differ too)
TOOTH_JITTER = 0.05
LOWER_H = 0.045  # lower incisors' visible height with the jaw fully dropped, mouth widths
LOWER_SHARE = 0.25
LOWER_LIP_SHADOW = 0.08  # the lower lip hardly shades the lower teeth (the upper row does, by LOWER_BRIGHT)
JAW_REVEAL = (0.14, 0.36)  # opening (gap / mouth width) over which the lower teeth come into view
CANINE = 2  # index of the canine in a row: rounder and darker, towards the corners
SEPARATION = 0.005  # interproximal gap between teeth, mouth widths (plus a third of a pixel) ...
SEPARATION_EDGE = 1.6  # ... this much wider at the biting edge (the incisal embrasure, a small dark V)
SEPARATION_DEPTH = 0.62  # how much a separation darkens towards the cavity colour at the biting edge ...
SEPARATION_GUM = 0.3  # ... and this share of that at the gum line, where the teeth touch
TOOTH_CONVEX = 0.14  # shading across one tooth
INCISAL_ROUND = 0.3  # incisal corners: a flat tooth shortens this much at its sides
CANINE_POINT = 0.16
CANINE_ROUND = 2.0  # the canine's tip: a rounded cusp (a smaller power: rounder)
HIGHLIGHT = 0.06  # a soft vertical sheen on each tooth's labial face ...
HIGHLIGHT_AT, HIGHLIGHT_WIDTH = 0.38, 0.16  # ... at this position across it (the light from above-left)
EDGE_TRANSLUCENT = 0.2  # the last share of a tooth's length ...
EDGE_MIX = 0.3  # ... mixes this much of the cavity through it ...
ENAMEL_TINT = np.array([0.92, 0.97, 1.08], np.float32)  # ... and turns this grey-blue (translucent enamel)
LIP_SHADOW = 0.3  # the upper lip shades the top of the teeth by this much ...
LIP_SHADOW_DEPTH = 0.022  # ... fading over this many mouth widths
ROW_CORNER_DARK = 0.5  # the whole row darkens this much towards the inner corners (cheeks shade it)
# Cavity and tongue
CORNER_DARK = 0.6  # the cavity at the corners is this much darker than in the middle
CAVITY_LIT_DEPTH = 0.35  # share of the opening under the teeth over which the light behind them fades out
TONGUE_REST = 0.26  # tongue height over the opening with the tongue low (open vowels show it)
TONGUE_GAIN = 0.3  # ... added at tongue=1 (l/t/d/n/r: the tip up behind the teeth)
TONGUE_SPAN = 0.74  # share of the inner width the tongue's body spans
TONGUE_TIP = 0.5  # at tongue=1 the raised part narrows to the tip: this share of the body's width
TONGUE_SHOW = 0.05  # opening (gap / mouth width) from which the tongue can be seen at all
TONGUE_TOP_LIGHT = 0.32  # the tongue's upper surface catches this much more light than its sides
TONGUE_GROOVE = 0.1  # the median groove darkens the tongue's top this much
TONGUE_RIM_SHADOW = 0.35  # the cavity just above the tongue, in its shadow
ROOT_FOLLOW = 0.55  # ... which follow the lip above (below) them this much: the rest is the skull's fixed arch
GUM_HIDDEN = 0.03  # mouth widths of tooth above the rows' root line, behind the lip (shown where the lip lifts)
EDGE_OUTSIDE = 0.5  # px beyond the inner lip line that drawn teeth may reach (into the feathered rim)
OWN_UPPER_SHARE = 0.8  # share of the photo's own gap that hangs from the upper lip (a smile shows upper teeth)
# A rounded mouth (о/у) pushes the lips forward, away from the teeth: a small round opening shows
# the dark and at most the upper incisors' edge (drawn at full length they filled it like fangs).
# Roundness is read off the opening's width: ROUND_WIDTH (inner corners apart, in rest mouth
# widths) is an unrounded mouth, ROUND_WIDTH - ROUND_SPAN a fully rounded one.
ROUND_WIDTH, ROUND_SPAN = 0.72, 0.24
ROUND_HIDE = 0.65  # ... the teeth's visible length shrinks by this share when fully rounded ...
ROUND_SHADE = 0.18  # ... and they darken this much (set back behind the lips, in their shade)
# The inner lips' 8 points make a V of a rounded opening (on a smile photo most of all): a rounded
# mouth is a soft oval, so its outline goes this share of the way to the ellipse in its extent.
ROUND_OVAL = 0.75
OVAL_SAMPLES = 12  # points along each lip of the smoothed outline
# A smile photo's own teeth fill its wide gap: on a rounded mouth only the upper incisors' edge
# shows, at most this share of the opening, and nothing of the lower row.
ROUND_EDGE = 0.18
GRAIN_DARK_FLOOR = 0.3  # the photo's grain is weaker in the dark (shot noise): at least this share of it


def axes(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit u (along the mouth, image left to right) and v (down the face)."""
    v = np.asarray(v, np.float64)
    v = v / max(float(np.hypot(*v)), 1e-9)
    return np.array([v[1], -v[0]]), v


def polygon_mask(shape: tuple[int, int], polygon: np.ndarray, sigma: float) -> np.ndarray:
    """Anti-aliased filled polygon in [0, 1], softened by a Gaussian of `sigma` px."""
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(polygon * (1 << SUBPIXEL_SHIFT)).astype(np.int32)], 255, cv2.LINE_AA, SUBPIXEL_SHIFT)
    mask = mask.astype(np.float32) / 255.0
    return cv2.GaussianBlur(mask, (0, 0), sigma) if sigma > 0.3 else mask


def line_at(points: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Offset along v of a lip line given as (n, 2) (a, b) points, at positions a."""
    order = np.argsort(points[:, 0])
    return np.interp(a, points[order, 0], points[order, 1]).astype(np.float32)


def oval_lines(pts: np.ndarray, rounded: float) -> tuple[np.ndarray, np.ndarray]:
    """(top, bottom) lip lines as (n, 2) (a, b) points, gone ROUND_OVAL * rounded of the way to an oval."""
    ends = pts[[0, 4], 0]
    mid, half = float(ends.mean()), max(float(ends[1] - ends[0]) / 2, 1.0)
    a = mid + half * np.cos(np.linspace(np.pi, 0, OVAL_SAMPLES))
    top, bot = line_at(pts[[0, 1, 2, 3, 4]], a), line_at(pts[[0, 7, 6, 5, 4]], a)
    top_mid, bot_mid = line_at(pts[[0, 1, 2, 3, 4]], np.array([mid]))[0], line_at(pts[[0, 7, 6, 5, 4]], np.array([mid]))[0]
    c, r = 0.5 * (top_mid + bot_mid), 0.5 * max(bot_mid - top_mid, 0.0)
    ell = r * np.sqrt(np.clip(1 - ((a - mid) / half) ** 2, 0, 1))
    w = ROUND_OVAL * rounded
    return (np.stack([a, top + w * (c - ell - top)], 1), np.stack([a, bot + w * (c + ell - bot)], 1))


def ramp(x: np.ndarray) -> np.ndarray:
    """Anti-aliased step: 1 well inside (x > 0.5 px), 0 well outside."""
    return np.clip(x + 0.5, 0.0, 1.0)


JITTER = np.random.default_rng(22).uniform(-1.0, 1.0, (2, 2, 8)).astype(np.float32)  # (length/bright, side, tooth)


def tooth_row(x: np.ndarray, widths, mw: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For distances x (px) from the mouth's middle: tooth index, position across it (0..1), px to its nearest edge."""
    edges = np.concatenate([[0.0], np.cumsum(widths)]) * mw
    k = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(widths) - 1)
    lo, hi = edges[k], edges[k + 1]
    across = np.clip((x - lo) / (hi - lo), 0, 1)
    return k, across, np.minimum(x - lo, np.maximum(hi - x, 0))


def teeth_layer(x, depth, lip_depth, mw, rgb, cavity, widths, lengths, brights, height, lip_shadow=LIP_SHADOW, s=None):
    """(colour, alpha) of one tooth row; x is signed px from the mouth's middle, depth px from the row's
    root line (fixed to the skull: the lip's middle), lip_depth px from the lip itself (what shades the
    teeth), s -1..1 from corner to corner."""
    right = (x > 0).astype(np.int64)
    x = np.abs(x)
    k, across, edge = tooth_row(x, widths, mw)
    side = np.abs(2 * across - 1)
    length = np.asarray(lengths, np.float32)[k] * height * (1 + TOOTH_JITTER * JITTER[0, right, k])
    shape = np.where(k == CANINE, 1 - CANINE_POINT * side ** CANINE_ROUND, 1 - INCISAL_ROUND * side ** 4)
    length = length * shape
    alpha = ramp(length - depth) * (x < np.sum(widths) * mw) * (depth > -GUM_HIDDEN * mw)
    along = np.clip(depth / np.maximum(length, 1e-3), 0, 1)  # 0 at the lip, 1 at the biting edge
    bright = np.clip(np.asarray(brights, np.float32)[k] * (1 + TOOTH_JITTER * JITTER[1, right, k]), 0, 1)
    if s is not None:
        bright = bright * (1 - ROW_CORNER_DARK * np.minimum(np.abs(s), 1) ** 1.5)
    sheen = HIGHLIGHT * np.exp(-((across - HIGHLIGHT_AT) / HIGHLIGHT_WIDTH) ** 2) * (1 - along) * (k < CANINE)
    shade = ((1 - TOOTH_CONVEX * side ** 2 + sheen)
             * (1 - lip_shadow * np.exp(-np.maximum(lip_depth, 0) / (LIP_SHADOW_DEPTH * mw + 0.5))))
    # teeth further round the arch get less light: they go towards the cavity's warm dark, not to grey
    colour = (rgb * bright[..., None] + cavity * (1 - bright[..., None])) * shade[..., None]
    # the incisal edge is translucent: grey-blue, with the dark behind it showing through
    edge_t = np.clip((along - (1 - EDGE_TRANSLUCENT)) / EDGE_TRANSLUCENT, 0, 1)[..., None]
    colour = colour * (1 + (ENAMEL_TINT - 1) * edge_t)
    # separations: dark interproximal gaps, widest and darkest at the biting edge, fading towards the gum
    width = SEPARATION * mw * (1 + (SEPARATION_EDGE - 1) * along ** 2) + 0.35
    sep = SEPARATION_DEPTH * (SEPARATION_GUM + (1 - SEPARATION_GUM) * along) * np.exp(-(edge / width) ** 2)
    mix = np.clip(EDGE_MIX * edge_t[..., 0] + sep, 0, 1)[..., None]
    return colour * (1 - mix) + cavity * mix, alpha


def roundness(inner_width: float, mw: float) -> float:
    """0 for an unrounded opening, 1 for a fully rounded one (о/у), from its width over the rest mouth width."""
    return float(np.clip((ROUND_WIDTH - inner_width / max(mw, 1e-6)) / ROUND_SPAN, 0.0, 1.0))


def own_layer(own, rows_px, cols, gap_share, mw, cap: float = np.inf):
    """(colour, alpha) of the photo's own teeth hung from one lip: rows_px from that lip, cols into the strip.

    cap: px, the most of them shown from the lip."""
    tex = own.upper if gap_share > 0 else own.lower
    share = abs(gap_share)
    row = rows_px / mw * OWN_ROWS_PER_MW
    colour = cv2.remap(tex, cols.astype(np.float32), row.astype(np.float32), cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
    n = len(own.gap)
    reach = np.minimum(np.interp(cols, np.arange(n), own.gap) * share * mw, cap)
    alpha = ramp(reach - rows_px) * ((cols >= 0) & (cols <= n - 1))
    return colour, alpha


def cavity_colour(interior, below, s):
    """The cavity: lit just under the teeth, fading to dark deeper in, darker towards the corners."""
    corner = (1 - CORNER_DARK * np.minimum(np.abs(s), 1) ** 2)[..., None]
    lit = np.exp(-below / CAVITY_LIT_DEPTH)[..., None] * corner
    return f32(interior.cavity_edge_rgb) * lit + f32(interior.cavity_rgb) * (corner - lit)


def f32(rgb) -> np.ndarray:
    """A colour as float32, so whole-patch arithmetic stays in float32."""
    return np.asarray(rgb, np.float32)


def tongue_top(d_bot, s, gap_mid, room, tongue):
    """Px above the lower lip of the tongue's upper contour: a rounded body, with its tip raised at tongue=1."""
    body = gap_mid * TONGUE_REST * np.sqrt(np.clip(1 - (s / TONGUE_SPAN) ** 2, 0, 1))
    tip = gap_mid * TONGUE_GAIN * float(np.clip(tongue, 0, 1)) * np.clip(1 - (s / (TONGUE_SPAN * TONGUE_TIP)) ** 2, 0, 1) ** 1.5
    return np.minimum(body + tip, 0.85 * room)


def tongue_layer(interior, d_bot, s, top):
    """(colour, alpha) of the tongue under its contour `top`: lighter on its upper surface, darker at its sides."""
    alpha = ramp(top - d_bot) * (top > 0.3)
    h = np.clip(d_bot / np.maximum(top, 1e-3), 0, 1)  # 0 at the lower lip, 1 at the contour
    lit = 0.58 + TONGUE_TOP_LIGHT * h * h * (3 - 2 * h) - 0.12 * np.clip((h - 0.85) / 0.15, 0, 1)
    shade = lit * (1 - 0.4 * np.clip(np.abs(s) / TONGUE_SPAN, 0, 1) ** 2) * (1 - TONGUE_GROOVE * h * np.exp(-(s / 0.06) ** 2))
    return f32(interior.tongue_rgb) * shade[..., None], alpha


def over(base, colour, alpha):
    """Alpha-composite one layer over another."""
    a = alpha[..., None]
    return base * (1 - a) + colour * a


def soften(image: np.ndarray, interior: MouthInterior, mw: float) -> np.ndarray:
    """An image (or alpha) blurred to the photo's sharpness."""
    sigma = interior.blur * mw
    return cv2.GaussianBlur(image, (0, 0), sigma) if sigma > 0.25 else image


def grain(patch: np.ndarray, interior: MouthInterior, weight: np.ndarray | float = 1.0) -> np.ndarray:
    """The photo's grain added to a drawing (weight 0 where the pixels are the photo's own), weaker in the dark."""
    if interior.grain <= 0.05:
        return patch
    h, w = patch.shape[:2]
    tile = interior.noise
    reps = (h // tile.shape[0] + 1, w // tile.shape[1] + 1)
    level = np.sqrt(np.clip(patch.mean(axis=2) / max(float(np.mean(interior.teeth_rgb)), 1.0), GRAIN_DARK_FLOOR ** 2, 1.0))
    return patch + (interior.grain * weight * level * np.tile(tile, reps)[:h, :w])[..., None]


def draw_mouth(out: np.ndarray, inner: np.ndarray, mw: float, v: np.ndarray, interior: MouthInterior | None = None,
               tongue: float = 0.0, lower_jaw: float | None = None) -> None:
    """Paint the mouth's inside between the warped inner lips (8, 2: landmarks 60..67), in place.

    mw: the avatar's rest mouth width (px at these coordinates); v: down the face; tongue 0..1:
    how high the tongue rises; lower_jaw 0..1: how much of the lower teeth the dropped jaw shows
    (default: from the opening).
    """
    interior = interior or DEFAULT
    inner = np.asarray(inner, np.float64)
    u, v = axes(v)
    gap = float(np.mean((inner[[7, 6, 5]] - inner[[1, 2, 3]]) @ v))
    if gap < MIN_GAP:
        return
    # the lip edge as soft as the rest of the photo, up to a point: a wider fringe would spread the
    # cavity's dark (what the layers hold outside the lips) onto the lips
    sigma = max(0.6, FEATHER * mw, min(interior.blur, MAX_FEATHER) * mw)
    pad = int(np.ceil(3 * sigma + interior.blur * mw * 3)) + 2
    h, w = out.shape[:2]
    x0, y0 = np.maximum(np.floor(inner.min(axis=0)).astype(int) - pad, 0)
    x1, y1 = np.minimum(np.ceil(inner.max(axis=0)).astype(int) + pad + 1, (w, h))
    if x1 <= x0 or y1 <= y0:
        return
    local = inner - (x0, y0)
    centre = local.mean(axis=0)
    pts = np.stack([(local - centre) @ u, (local - centre) @ v], axis=1)
    rounded = roundness(float(pts[4, 0] - pts[0, 0]), mw)
    top_line, bot_line = oval_lines(pts, rounded) if rounded > 0 else (pts[[0, 1, 2, 3, 4]], pts[[0, 7, 6, 5, 4]])
    outline = np.concatenate([top_line, bot_line[-2:0:-1]])
    outline = centre + outline[:, :1] * u + outline[:, 1:] * v
    alpha = polygon_mask((y1 - y0, x1 - x0), centre + (outline - centre) * 0.97, sigma)
    alpha *= min(1.0, gap / 2.5)  # a barely parted mouth only darkens the lip line
    ys, xs = np.mgrid[0:y1 - y0, 0:x1 - x0].astype(np.float32)
    rel_x, rel_y = xs - np.float32(centre[0]), ys - np.float32(centre[1])
    a = rel_x * np.float32(u[0]) + rel_y * np.float32(u[1])
    b = rel_x * np.float32(v[0]) + rel_y * np.float32(v[1])
    top, bot = line_at(top_line, a), line_at(bot_line, a)
    d_top, d_bot = b - top, bot - b
    ends = pts[[0, 4], 0]
    mid_a = float(ends.mean())
    half = max(float(ends[1] - ends[0]) / 2, 1.0)
    s = (a - mid_a) / half
    x = a - mid_a
    room = np.maximum(bot - top, np.float32(0.0))  # the opening's height at each position along the mouth
    hide = 1 - ROUND_HIDE * rounded
    upper_h = min(UPPER_H * mw, UPPER_SHARE * gap) * hide
    # the tooth rows hang from (rise from) the lips' middle, not from the lip above each tooth: towards
    # the corners the lips close over them and the cavity there stays dark (the buccal corridor)
    top_mid, bot_mid = float(line_at(top_line, np.array([mid_a]))[0]), float(line_at(bot_line, np.array([mid_a]))[0])
    top_root, bot_root = top_mid + ROOT_FOLLOW * (top - top_mid), bot_mid + ROOT_FOLLOW * (bot - bot_mid)
    edge_line = np.maximum(top, top_root + upper_h)
    below = np.clip((b - edge_line) / np.maximum(bot - edge_line, np.float32(1.0)), 0, 1)

    cavity = cavity_colour(interior, below, s)
    inside = cavity
    if gap > TONGUE_SHOW * mw:
        top_t = tongue_top(d_bot, s, gap, room, tongue)
        # the cavity just above the tongue lies in its shadow
        shadow = TONGUE_RIM_SHADOW * np.exp(-np.maximum(d_bot - top_t, 0) / (0.12 * gap + 1)) * (top_t > 0.3)
        cavity = cavity * (1 - shadow[..., None])
        tcol, ta = tongue_layer(interior, d_bot, s, top_t)
        inside = over(cavity, tcol, ta * min(1.0, (gap / mw - TONGUE_SHOW) / TONGUE_SHOW))
    reveal = lower_jaw if lower_jaw is not None else np.clip((gap / mw - JAW_REVEAL[0]) / (JAW_REVEAL[1] - JAW_REVEAL[0]), 0, 1)
    reveal = reveal * (1 - rounded)
    teeth_rgb = f32(interior.teeth_rgb) * np.float32(1 - ROUND_SHADE * rounded)
    own_alpha = None
    if interior.own is not None:
        photo_mid = 0.5 * (len(interior.own.gap) - 1)
        # columns span the photo's inner corners; teeth keep their size when the lips spread or round
        cols = photo_mid + (a - mid_a) / (interior.own.half * mw) * photo_mid
        # the photo's own teeth are already at its sharpness and grain: only their outline is softened
        lcol, la = own_layer(interior.own, d_bot, cols, -(1 - OWN_UPPER_SHARE), mw)
        la = soften(la.astype(np.float32), interior, mw) * np.float32(1 - rounded)
        inside = over(inside, lcol, la)
        ucol, ua = own_layer(interior.own, d_top, cols, OWN_UPPER_SHARE * hide, mw,
                             gap * (1 - (1 - ROUND_EDGE) * rounded))
        ucol = ucol * np.float32(1 - ROUND_SHADE * rounded)
        ua = soften(ua.astype(np.float32), interior, mw)
        inside = over(inside, ucol, ua)
        own_alpha = np.maximum(la, ua)
    else:
        if reveal > 0.01:
            lower_h = min(LOWER_H * mw * float(reveal), LOWER_SHARE * gap)
            lcol, la = teeth_layer(x, bot_root - b, d_bot, mw, teeth_rgb, cavity, LOWER_WIDTH, LOWER_LENGTH,
                                   LOWER_BRIGHT, lower_h, LOWER_LIP_SHADOW, s)
            # rising from the lower lip: nothing below its edge (there, the feathered rim would show a
            # pale band of teeth all along the lower lip)
            inside = over(inside, lcol, la * (d_bot > -EDGE_OUTSIDE))
        ucol, ua = teeth_layer(x, b - top_root, d_top, mw, teeth_rgb, cavity, UPPER_WIDTH, UPPER_LENGTH,
                               UPPER_BRIGHT, upper_h, LIP_SHADOW, s)
        inside = over(inside, ucol, ua * (d_top > -EDGE_OUTSIDE))
    if own_alpha is None:
        inside = grain(soften(inside.astype(np.float32), interior, mw), interior)
    else:
        inside = grain(inside.astype(np.float32), interior, 1 - own_alpha)
    patch = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(patch + alpha[..., None] * (inside - patch) + 0.5, 0, 255).astype(np.uint8)
