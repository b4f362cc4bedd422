"""The mouth mesh follows the lips' contours, so an opened mouth leaves no hole beside its corners.

Delaunay alone joined the upper inner lip to the lower outer lip near a corner on 21 of the 22
shared test faces; opened, the photo's own pixels showed through there as a pale wedge under the
corner. The contour edges are now forced in (mesh_edges).
"""
import cv2
import numpy as np
import pytest

from generation.pipeline.faces import FaceAnalyzer
from generation.pipeline.lipsync import viseme_mesh as mesh_
from generation.pipeline.lipsync.mesh_edges import force_edges
from tests import faces

FACES = ("astronaut", "grace_hopper", "biden", "obama_smile", "biden_turned")
WIDE_OPEN = np.array([0.9, 0.0, 0.0])


@pytest.fixture(scope="module")
def landmarks():
    analyzer = FaceAnalyzer()
    out = {}
    for name in FACES:
        photo = np.ascontiguousarray(faces.get(name))
        out[name] = (photo.shape, np.asarray(analyzer.analyze(photo).landmarks, float).reshape(68, 2))
    return out


def edges_of(tris: np.ndarray) -> set:
    return {tuple(sorted((int(t[i]), int(t[(i + 1) % 3])))) for t in tris for i in range(3)}


@pytest.mark.parametrize("name", FACES)
def test_every_lip_contour_edge_is_in_the_mesh(landmarks, name):
    shape, lm = landmarks[name]
    tris = mesh_.mouth_triangles(lm)
    assert {tuple(sorted(e)) for e in mesh_.LIP_CONTOURS} <= edges_of(tris)


@pytest.mark.parametrize("name", FACES)
def test_a_wide_open_mouths_lips_are_covered_by_triangles(landmarks, name):
    shape, lm = landmarks[name]
    mesh, _ = mesh_.mouth_mesh(lm, shape[1], shape[0])
    dst = mesh.displaced(WIDE_OPEN)
    covered = np.zeros(shape[:2], np.uint8)
    for t in mesh.triangles:
        cv2.fillConvexPoly(covered, np.round(dst[t]).astype(np.int32), 1)
    lips = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(lips, [np.round(dst[[mesh_.lip_vertex(i) for i in range(48, 60)]]).astype(np.int32)], 1)
    cavity = np.zeros(shape[:2], np.uint8)  # drawn over by the interior, not warped
    cv2.fillPoly(cavity, [np.round(dst[[mesh_.lip_vertex(i) for i in range(60, 68)]]).astype(np.int32)], 1)
    cavity = cv2.dilate(cavity, np.ones((3, 3), np.uint8))
    holes = (lips == 1) & (cavity == 0) & (covered == 0)
    assert holes.sum() == 0, holes.sum()


def test_a_flip_puts_a_missing_edge_in():
    square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    tris = np.array([[0, 1, 2], [0, 2, 3]])  # diagonal 0-2
    flipped = force_edges(tris, square, [(1, 3)])
    assert (1, 3) in edges_of(flipped) and (0, 2) not in edges_of(flipped) and len(flipped) == 2
