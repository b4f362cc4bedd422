"""Contour edges forced into a Delaunay triangulation, by edge flips (Sloan's constrained insertion).

Delaunay alone ignores the lips' contours: near a mouth corner, where upper and lower lip nearly
meet, it joins the upper inner lip straight to the lower outer lip, across the lower lip's inner
edge. Opened, such a triangle lays the upper lip's pixels over the lower lip and leaves a hole
beside it (the photo's own pixels show through as a pale wedge under the corner). Flipping every
edge that crosses a contour edge, while the quad around it is convex, restores the contour.
"""
from __future__ import annotations

import numpy as np

MAX_FLIPS = 200  # per contour edge; a mouth mesh needs a few


def _cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))


def _crosses(p: np.ndarray, q: np.ndarray, r: np.ndarray, s: np.ndarray) -> bool:
    """Segments pq and rs cross at a point inside both (touching at an end does not count)."""
    d1, d2 = _cross(p, q, r), _cross(p, q, s)
    d3, d4 = _cross(r, s, p), _cross(r, s, q)
    return d1 * d2 < 0 and d3 * d4 < 0


def _has_edge(tris: list[list[int]], a: int, b: int) -> bool:
    return any(a in t and b in t for t in tris)


def _flip_one(tris: list[list[int]], pts: np.ndarray, a: int, b: int) -> bool:
    """Flip one edge that crosses ab and sits in a convex quad; False when none can be flipped."""
    for i, t in enumerate(tris):
        for k in range(3):
            c, d = t[k], t[(k + 1) % 3]
            if a in (c, d) or b in (c, d) or not _crosses(pts[a], pts[b], pts[c], pts[d]):
                continue
            e = t[(k + 2) % 3]
            for j, u in enumerate(tris):
                if j == i or c not in u or d not in u:
                    continue
                f = next(x for x in u if x not in (c, d))
                # the quad e-c-f-d must be strictly convex for the flipped edge e-f to lie inside it
                if _crosses(pts[e], pts[f], pts[c], pts[d]):
                    tris[i], tris[j] = [e, c, f], [e, f, d]
                    return True
    return False


def force_edges(tris: np.ndarray, pts: np.ndarray, edges) -> np.ndarray:
    """`tris` (T, 3) of points `pts` with every edge (a, b) of `edges` present, where flips can make it."""
    out = [list(map(int, t)) for t in tris]
    for a, b in edges:
        for _ in range(MAX_FLIPS):
            if _has_edge(out, a, b) or not _flip_one(out, pts, a, b):
                break
    return np.array(out, dtype=tris.dtype)
