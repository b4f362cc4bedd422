"""The photo engine's mouth interior: real tooth rows, a graded cavity, the face's own light, no remnant teeth."""
from __future__ import annotations

import copy

import cv2
import numpy as np
import pytest

from generation.pipeline.faces import FaceAnalyzer
from generation.pipeline.images import demo_avatar_image
from generation.pipeline.lipsync import mouth_interior as I
from generation.pipeline.lipsync import mouth_photo as P
from generation.pipeline.lipsync import viseme_mesh as M
from generation.pipeline.lipsync.viseme import VisemeEngine

MW = 120.0  # the flat test canvas's mouth width, px
MID_WORD = np.array([0.55, 0.3, 0.0])


def open_mouth(mw=MW, gap=0.3, centre=(160.0, 120.0)) -> np.ndarray:
    """(8, 2) inner-lip points 60..67 of a level mouth open by `gap` mouth widths."""
    cx, cy = centre
    half = 0.42 * mw
    up, down = -0.5 * gap * mw, 0.5 * gap * mw
    return np.array([[cx - half, cy], [cx - 0.5 * half, cy + 0.9 * up], [cx, cy + up], [cx + 0.5 * half, cy + 0.9 * up],
                     [cx + half, cy], [cx + 0.5 * half, cy + 0.9 * down], [cx, cy + down], [cx - 0.5 * half, cy + 0.9 * down]])


def canvas() -> np.ndarray:
    return np.full((240, 320, 3), (200, 150, 130), np.uint8)


def dips(line: np.ndarray, depth: float = 6.0, reach: int = 12) -> int:
    """Local minima at least `depth` under the highest value on both sides within `reach` samples."""
    count = 0
    for i in range(reach, len(line) - reach):
        if line[i] == line[i - reach:i + reach + 1].min():
            if min(line[i - reach:i].max(), line[i + 1:i + 1 + reach].max()) - line[i] >= depth:
                count += 1
    return count


def grey(frame):
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)


def test_upper_teeth_are_separate_teeth():
    frame = canvas()
    inner = open_mouth()
    I.draw_mouth(frame, inner, MW, np.array([0.0, 1.0]))
    row = int(round(inner[2, 1] + 0.03 * MW))  # just under the upper lip: through the upper teeth
    line = grey(frame)[row, int(inner[0, 0] + 0.17 * MW):int(inner[4, 0] - 0.17 * MW)]
    assert dips(line, reach=6) >= 3  # the middle separation and one each side of the central incisors
    assert line.max() > 170  # and the teeth between them are light


def test_lower_teeth_show_only_when_the_jaw_drops():
    low, wide = canvas(), canvas()
    I.draw_mouth(low, open_mouth(gap=0.3), MW, np.array([0.0, 1.0]), lower_jaw=0.0)
    I.draw_mouth(wide, open_mouth(gap=0.3), MW, np.array([0.0, 1.0]), lower_jaw=1.0)
    inner = open_mouth(gap=0.3)
    rows = slice(int(inner[6, 1] - 0.05 * MW), int(inner[6, 1] - 0.01 * MW))
    cols = slice(int(inner[6, 0] - 0.1 * MW), int(inner[6, 0] + 0.1 * MW))
    assert grey(wide)[rows, cols].mean() > grey(low)[rows, cols].mean() + 25


def test_cavity_darker_towards_the_corners_than_near_the_teeth():
    frame = canvas()
    inner = open_mouth(gap=0.4)
    I.draw_mouth(frame, inner, MW, np.array([0.0, 1.0]), lower_jaw=0.0)
    g = grey(frame)
    cy = int(round(inner[[0, 4], 1].mean()))
    # one row just under the teeth's edge (above the tongue): the middle, and 0.2 mouth widths out
    y = int(inner[2, 1] + 0.13 * MW)
    middle, side = g[y, int(inner[2, 0])], g[y, int(inner[2, 0] - 0.2 * MW)]
    assert frame[y, int(inner[2, 0] - 0.2 * MW), 0] < 95  # the cavity there (at most its lit edge), not a tooth or the lip
    assert middle > 1.08 * side
    del cy


def test_tongue_rises_for_lingual_consonants():
    flat, up = canvas(), canvas()
    inner = open_mouth(gap=0.4)
    I.draw_mouth(flat, inner, MW, np.array([0.0, 1.0]), tongue=0.0, lower_jaw=0.0)
    I.draw_mouth(up, inner, MW, np.array([0.0, 1.0]), tongue=1.0, lower_jaw=0.0)
    # half way down the opening, in the middle: dark cavity with the tongue low, tongue with it up
    y, x = int(inner[[2, 6], 1].mean() + 0.04 * MW), int(inner[2, 0])
    assert up[y, x, 0] > flat[y, x, 0] + 30


def test_drawing_goes_where_the_points_are():
    """Callable at any coordinates (a head motion's): moving the points moves the drawing, unchanged."""
    a, b = canvas(), canvas()
    I.draw_mouth(a, open_mouth(centre=(150.0, 110.0)), MW, np.array([0.0, 1.0]))
    I.draw_mouth(b, open_mouth(centre=(170.0, 130.0)), MW, np.array([0.0, 1.0]))
    assert np.abs(a[50:170, 70:230].astype(int) - b[70:190, 90:250]).max() <= 1


@pytest.fixture(scope="module")
def demo():
    image = demo_avatar_image()
    face = FaceAnalyzer().analyze(image)
    return image, face


@pytest.fixture(scope="module")
def demo_state(demo):
    return VisemeEngine().prepare(*demo)


def test_teeth_and_cavity_take_the_photos_colour_cast(demo):
    image, face = demo
    lm = face.landmarks.astype(np.float64)
    warm = np.clip(image.astype(np.float32) * (1.12, 1.0, 0.8), 0, 255).astype(np.uint8)
    cool = np.clip(image.astype(np.float32) * (0.85, 1.0, 1.12), 0, 255).astype(np.uint8)
    (w, _), (c, _) = P.measure(warm, lm), P.measure(cool, lm)
    assert w.teeth_rgb[0] / w.teeth_rgb[2] > 1.1 * c.teeth_rgb[0] / c.teeth_rgb[2]
    assert w.cavity_rgb[0] / w.cavity_rgb[2] > 1.1 * c.cavity_rgb[0] / c.cavity_rgb[2]


def test_toothy_photo_closes_with_no_remnant_teeth(demo, demo_state):
    image, face = demo
    state = demo_state
    lm = face.landmarks.astype(np.float64)
    assert state.interior.own is not None  # the astronaut smiles with her teeth: they are used
    lips = P.lips_rgb(image, lm)
    outer = state.mouth.displaced(np.zeros(3))[[M.lip_vertex(i) for i in range(48, 60)]]
    h, w = image.shape[:2]
    mask = P.polygon((h, w), outer)
    closed = VisemeEngine().draw(state, np.zeros(3))
    # the test means something: the photo has many tooth pixels there
    assert P.pale_mask(image, P.polygon((h, w), lm[48:60]), lips).sum() > 40
    assert P.pale_mask(closed, mask, lips).sum() <= 2
    luma = grey(closed)[mask]
    assert luma.min() > 60  # and no dark speck (a sliver triangle's far-away source) either


def test_own_teeth_hang_from_the_opened_upper_lip(demo, demo_state):
    image, face = demo
    state = demo_state
    lm = face.landmarks.astype(np.float64)
    h, w = image.shape[:2]
    gap = P.polygon((h, w), lm[60:68])
    teeth = grey(image)[gap & P.pale_mask(image, gap, P.lips_rgb(image, lm))].mean()
    inner = state.mouth.displaced(MID_WORD)[state.inner_idx]
    frame = VisemeEngine().draw(state, MID_WORD)
    top = inner[[1, 2, 3]] + state.down * 0.02 * state.mouth_width
    strip = P.polygon((h, w), np.vstack([top, top[::-1] + state.down * 0.05 * state.mouth_width]))
    assert grey(frame)[strip].mean() > 0.85 * teeth  # the photo's teeth, under the lip that moved


def test_drawn_interior_as_soft_as_the_photos_edges(demo):
    """A sharp photo gets sharp teeth, a soft one soft teeth: the calibrated blur follows the photo's own."""
    image, face = demo
    soft = cv2.GaussianBlur(image, (0, 0), 1.6)
    engine = VisemeEngine()
    sharp_state = engine.prepare(image, face)
    soft_state = engine.prepare(soft, face)
    assert soft_state.interior.blur > sharp_state.interior.blur


def test_default_interior_is_not_shared_state(demo_state):
    clone = copy.deepcopy(demo_state.interior)
    clone.teeth_rgb[:] = 0
    assert demo_state.interior.teeth_rgb.max() > 0


def test_render_reads_a_tongue_track_when_the_track_has_one(demo_state):
    """Helper tracks may carry `tongue` per frame: the render draws it; without one the tongue stays low."""
    from generation.pipeline.lipsync.viseme_track import MouthTrack
    from generation.pipeline.types import SAMPLE_RATE, Audio

    n = 3
    flat = MouthTrack(np.full(n, 0.8), np.zeros(n), np.zeros(n), np.zeros(n), "audio")
    raised = MouthTrack(np.full(n, 0.8), np.zeros(n), np.zeros(n), np.zeros(n), "audio")
    raised.tongue = np.array([0.0, 1.0, 1.0])

    class Fixed(VisemeEngine):
        def __init__(self, track):
            self.fixed = track

        def track(self, audio, fps=25, seed=0):
            return self.fixed

    audio = Audio(np.zeros(int(n / 25 * SAMPLE_RATE), np.float32), 0.0, None)
    a = list(Fixed(flat).render(demo_state, audio, 25))
    b = list(Fixed(raised).render(demo_state, audio, 25))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], a[0])
    assert not np.array_equal(a[1], b[1])


def test_separations_darkest_at_the_biting_edge_fading_towards_the_gum():
    """Interproximal gaps: a small dark V at the incisal edge, teeth touching (lighter) up by the lip."""
    frame = canvas()
    inner = open_mouth(gap=0.4)
    I.draw_mouth(frame, inner, MW, np.array([0.0, 1.0]), lower_jaw=0.0)
    g = grey(frame)
    cols = slice(int(inner[2, 0] - 0.24 * MW), int(inner[2, 0] + 0.24 * MW))
    top = inner[2, 1]
    near_gum, near_edge = g[int(top + 0.025 * MW), cols], g[int(top + 0.07 * MW), cols]
    assert dips(near_edge, reach=6) >= 3 and dips(near_gum, reach=6) >= 1  # separate teeth all the way up
    middle = slice(int(0.14 * MW), int(0.34 * MW))  # round the gap between the central incisors

    def contrast(line):
        return float(line[middle].max() - line[middle].min())
    assert contrast(near_edge) > 1.5 * contrast(near_gum)


def test_tooth_row_darkens_towards_the_corners():
    """The buccal corridor: teeth round the arch fall into the cheeks' shade."""
    frame = canvas()
    inner = open_mouth(gap=0.4)
    I.draw_mouth(frame, inner, MW, np.array([0.0, 1.0]), lower_jaw=0.0)
    g = grey(frame)
    y, cx = int(inner[2, 1] + 0.05 * MW), inner[2, 0]
    centre = g[y, int(cx - 0.05 * MW):int(cx + 0.05 * MW)].max()
    canines = [g[y, int(cx + sign * 0.27 * MW):int(cx + sign * 0.34 * MW):sign].max() for sign in (-1, 1)]
    assert max(canines) < 0.85 * centre


def test_cavity_grades_from_the_teeth_to_dark():
    """Down the middle of a wide-open mouth: lit just under the teeth, darker deeper in, down to the tongue."""
    frame = canvas()
    inner = open_mouth(gap=0.45)
    I.draw_mouth(frame, inner, MW, np.array([0.0, 1.0]), tongue=0.0, lower_jaw=0.0)
    g = grey(frame)
    cx = int(inner[2, 0])
    column = g[int(inner[2, 1] + (I.UPPER_H + 0.015) * MW):int(inner[2, 1] + 0.3 * MW), cx - 2:cx + 3].mean(axis=1)
    thirds = np.array_split(column, 3)
    assert thirds[0].mean() > thirds[1].mean() > thirds[2].mean()
    assert thirds[0].mean() > 1.3 * thirds[2].mean()


def test_tongue_is_rounded_with_a_lighter_top():
    """l/t/d/n/r: a soft rounded tongue (highest in the middle), lighter on its top than at its base."""
    frame = canvas()
    inner = open_mouth(gap=0.45)
    I.draw_mouth(frame, inner, MW, np.array([0.0, 1.0]), tongue=1.0, lower_jaw=0.0)
    red = frame[..., 0].astype(np.float32)
    cx, bottom = int(inner[6, 0]), int(inner[6, 1])

    def top_of_tongue(x):
        """Rows above the lower lip that are tongue (red above the cavity's) in column x."""
        col = red[int(inner[2, 1] + I.UPPER_H * MW):bottom, x]
        return int(np.argmax(col[::-1] < 75))
    heights = [top_of_tongue(int(cx + d * MW)) for d in (0.0, 0.1, 0.2)]
    assert heights[0] > heights[1] > heights[2] > 0
    g = grey(frame)
    column = g[bottom - heights[0] + 2:bottom - 2, cx - 1:cx + 2].mean(axis=1)
    upper, lower = np.array_split(column, 2)
    assert upper.mean() > 1.1 * lower.mean()


@pytest.mark.parametrize("name", ["biden", "biden_dark_skin"])
def test_open_mouth_as_finely_textured_as_the_lips_and_chin(name):
    """The drawn inside of a wide-open mouth carries the face's own grain: no noisier, no smoother than round it."""
    from tests import faces as shared

    image = np.ascontiguousarray(shared.get(name))
    engine = VisemeEngine()
    state = engine.prepare(image, FaceAnalyzer().analyze(image))
    assert state.interior.own is None  # drawn teeth, not the photo's own
    weights = np.array([0.95, 0.1, 0.0])
    dst = state.mouth.displaced(weights)
    outer = dst[[M.lip_vertex(i) for i in range(48, 60)]]
    ratio = P.texture_ratio(engine.draw(state, weights), dst[state.inner_idx], outer, state.mouth_width, robust=True)
    # the target is 0.7-1.3; the robust ratio moves in coarse steps (medians of integer Laplacians, a
    # few grey levels: 0.64, 1.0, 1.44 ...), so one step either side is allowed (before the grain's
    # calibration these read 4.8 and 5.1)
    assert 0.6 <= ratio <= 1.5


def test_rounded_opening_is_an_oval_not_a_v():
    """A narrow (о/у) opening whose lower lip meets in a V is painted as a soft oval, its sides full."""
    mw, cx, cy = MW, 160.0, 120.0
    half, up, down = 0.26 * mw, -0.06 * mw, 0.14 * mw  # inner corners 0.52 mw apart: fully rounded
    v_points = np.array([[cx - half, cy], [cx - 0.5 * half, cy + up], [cx, cy + up], [cx + 0.5 * half, cy + up],
                         [cx + half, cy], [cx + 0.5 * half, cy + 0.5 * down], [cx, cy + down], [cx - 0.5 * half, cy + 0.5 * down]])
    frame = canvas()
    I.draw_mouth(frame, v_points, mw, np.array([0.0, 1.0]))
    row = int(round(cy + 0.6 * down))
    painted = int((grey(frame)[row] < grey(canvas())[row] - 40).sum())
    v_width = 2 * half * (1 - 0.6) * 0.97  # the V's own width at that depth
    assert painted > 1.3 * v_width, (painted, v_width)


def test_rounded_opening_on_a_toothy_photo_shows_no_band_of_its_teeth(demo, demo_state):
    """о/у on a smile with teeth: dark inside, at most the incisors' edge (the photo's whole strip read as a grey band)."""
    image, face = demo
    state = demo_state
    lm = face.landmarks.astype(np.float64)
    assert state.interior.own is not None
    h, w = image.shape[:2]
    level = 0.6 * float(np.mean(P.lips_rgb(image, lm)))

    def light_share(weights):
        inner = state.mouth.displaced(weights)[state.inner_idx]
        opening = P.polygon((h, w), inner).astype(bool)
        return float((grey(VisemeEngine().draw(state, weights))[opening] > level).mean())
    # the test means something: unrounded, the opening is mostly the photo's teeth
    assert light_share(MID_WORD) > 0.7
    # rounded, mostly dark (the rest: the lips' rim round the oval, the incisors' edge); 0.73 before
    assert light_share(np.array([0.45, 0.0, 0.9])) < 0.55
