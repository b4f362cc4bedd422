"""A closed lid's lashes, drawn at its edge: not a pencil line but a soft, irregular dark root along the
lid margin with hairs hanging from it over the lower lid, longer, denser and leaning outwards towards
the outer corner, each hair its own length and darkness, in the photo's own lash colour.

Everything is a function of the eye frame's coordinates (x along the lid, distance below the
margin) and fixed noise tables, so the same lashes are drawn in every frame.
"""
from __future__ import annotations

import numpy as np

# The closed lid's lashes: a soft dark root along the lid margin with hairs hanging down from it over
# the lower lid, longer and denser towards the outer corner, leaning outwards, each hair its own
# length and darkness (a pencil-straight even line read as drawn)
LASH_ROOT = 0.02  # eye widths: the root band's half thickness (Gaussian sigma) ...
LASH_ROOT_MIN = 0.75  # ... in px at least (thinner, a small face's lash line read as a faint grey thread at 1x)
LASH_ROOT_BELOW = 0.6  # ... its centre this many sigmas below the margin, give or take a half (the lashes grow from the margin downwards)
LASH_ALPHA = 0.8  # the root's opacity at its darkest
LASH_LENGTH = 0.17  # eye widths the hairs hang below the margin at the outer corner ...
LASH_INNER = 0.4  # ... this share of it at the inner corner
LASH_HAIR_ALPHA = 0.75  # a hair's opacity at its root
LASH_SPACING = 0.022  # eye widths between hairs (clumps: single lashes are finer than a pixel) ...
LASH_SPACING_MIN = 1.2  # ... px at least
LASH_SLANT = 0.5  # hairs lean towards the outer corner by this much across per unit down
LASH_SEED = 22
LASH_SHADE = 0.26  # the lashes' level: this share of the skin's under them, in the photo's own lash hue
_LASH_NOISE = np.random.default_rng(LASH_SEED).random((3, 512)).astype(np.float32)


def _noise(u: np.ndarray, row: int) -> np.ndarray:
    """Smooth 0..1 noise along u (units: table steps), from a fixed table: the same lashes every frame."""
    table = _LASH_NOISE[row]
    k = np.floor(u).astype(np.int64)
    f = (u - k).astype(np.float32)
    f = f * f * (3 - 2 * f)
    return table[k % table.size] * (1 - f) + table[(k + 1) % table.size] * f


def lash_alpha(x: np.ndarray, y: np.ndarray, edge: np.ndarray, ew: float, outer_right: bool) -> np.ndarray:
    """Opacity of the closed lid's lashes: a soft irregular root on the margin, hairs hanging from it."""
    outer = np.clip(x / ew, 0, 1) if outer_right else np.clip(1 - x / ew, 0, 1)
    d = y - edge  # px below the lid margin
    spacing = max(LASH_SPACING * ew, LASH_SPACING_MIN)
    slow = _noise(x / (5 * spacing), 0)  # the root's thickness, density and place wander along the lid
    sigma = max(LASH_ROOT * ew, LASH_ROOT_MIN) * (0.75 + 0.5 * outer) * (0.7 + 0.6 * slow)
    root = np.exp(-0.5 * ((d - sigma * (LASH_ROOT_BELOW + 0.5 * slow)) / sigma) ** 2) * (0.65 + 0.35 * slow)
    lean = LASH_SLANT * np.maximum(d, 0) * (1.0 if outer_right else -1.0)
    u = (x - lean) / spacing
    hair = np.clip((_noise(u, 1) - 0.3) / 0.45, 0, 1)  # gaps between the hairs
    length = LASH_LENGTH * ew * (LASH_INNER + (1 - LASH_INNER) * outer) * (0.6 + 0.4 * _noise(u, 2))
    along = np.clip(d / np.maximum(length, 1.0), 0, 1)
    hairs = hair * (1 - along) ** 0.8 * (d > 0) * LASH_HAIR_ALPHA
    return (np.maximum(root * LASH_ALPHA, hairs) * (0.5 + 0.5 * np.sqrt(outer + 0.05))).astype(np.float32)


def lash_colour(lash_rgb: np.ndarray, patch: np.ndarray) -> np.ndarray:
    """The lashes' colour over `patch`: the photo's own lash hue, at LASH_SHADE of the skin's level.

    (The skin darkened in its own hue, as before, read a thin grey band on light skin at 1x; the
    lashes' own darkness, near-black on a small face, made the closed eye read dark.)"""
    lash = np.asarray(lash_rgb, np.float32)
    return lash * (LASH_SHADE / max(float(lash.mean()), 1.0)) * patch.mean(axis=-1, keepdims=True)
