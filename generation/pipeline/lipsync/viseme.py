"""The default lip-sync engine: no weights, phoneme/audio driven mouth shapes on a warped photo or clip.

A clip (video avatar) plays in its planned loop order (loop.py); every output frame warps its own clip frame by a mouth
mesh built on that frame's tracked landmarks. The mesh's rest displacement first settles the clip's
own mouth (its inner-lip gap closed, the jaw brought up with it), and the track's opening is added
on top of that closed shape: in silence the output mouth is closed whatever the person in the clip
was doing, in speech it opens as the track says. The clip's eyes are real and blink by themselves,
so no blinks are drawn on a clip. When the clip shows this person's mouth open often enough (its
mouth bank), the mouth itself is theirs, chosen per frame from the bank (viseme_bank); else drawn.

A photo is measured once (mouth_photo: its light, grain, own teeth, a rest image with the teeth
painted out; eyelids: its lash band and lid skin); each frame warps the rest image, draws the
mouth's inside between the warped inner lips (mouth_interior) and, in a blink, slides the lids'
own skin down (eyelids). Both drawings take points, so they are drawn at the final coordinates of a
moving head too (`paint`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import cv2
import numpy as np

from ..clip import ClipReader
from ..landmarks import INNER_LIPS, MOUTH_CORNERS, NUM_LANDMARKS, OUTER_LIPS
from ..types import AVATAR_UNREADABLE, FACE_TOO_SMALL, FPS, Audio, Face, PipelineError
from . import clip_warp as clip_warp_
from . import eyelids as lids_
from . import mouth_interior as interior_
from . import mouth_photo as photo_
from . import viseme_bank as bank_
from . import viseme_mesh as mesh_
from . import viseme_render as render_
from .base import LipSyncEngine
from .viseme_track import MouthTrack, mouth_track

PARAM_EPS = 1e-3  # frames whose parameters differ less than this reuse the previous warp
BLINK_EPS = 0.02  # eyelid closure below this is drawn as open eyes
MIN_MOUTH_WIDTH = 6.0  # px: a narrower mouth has no room for lips, teeth and cavity
# The drawn interior's blur (mouth widths) is chosen per photo among these, on a test frame this
# open, as the one whose edges are as soft as the photo's round the eyes (mouth_photo.edge_sharpness)
BLUR_CHOICES = (0.0, 0.004, 0.008, 0.012, 0.016, 0.022, 0.03, 0.045)
CALIBRATION_WEIGHTS = (0.7, 0.2, 0.0)
GRAIN_SHARES = (1.0, 0.8, 0.65)  # the skin's grain drawn at one of these shares (texture_ratio picks)
CALIBRATION_TIE = 0.01  # |log ratio| this close to the least counts as a tie
CALIBRATION_RISE = 0.01  # |log ratio| rising by more than this ends the search (blurs too slight to tell tie)


@dataclass
class VisemeState:
    """Everything per-avatar: the photo, its mouth and eye meshes, mouth geometry."""

    image: np.ndarray
    mouth: mesh_.Mesh
    eyes: mesh_.Mesh
    mouth_width: float
    down: np.ndarray  # unit vector from upper to lower lip
    inner_idx: np.ndarray  # mesh vertex indices of landmarks 60..67
    source: np.ndarray | None = None  # what the mouth warp samples: the photo, its own teeth painted out
    interior: photo_.MouthInterior | None = None  # the photo's light, grain, sharpness, own teeth
    lids: lids_.LidsState | None = None
    eye_points: np.ndarray | None = None  # (12, 2) landmarks 36..47
    landmarks: np.ndarray | None = None  # (68, 2) of the photo
    relief: tuple | None = None  # mouth_photo.corner_relief: the corners' creases relaxed as the mouth rounds
    relief_buffer: np.ndarray | None = None  # the source with the relief applied, rewritten per frame in its ROI


@dataclass
class VisemeClipState:
    """A video avatar: its prepared clip and the one mouth triangulation used on all of its frames."""

    reader: ClipReader
    triangles: np.ndarray
    inner_idx: np.ndarray  # mesh vertex indices of landmarks 60..67
    outer_idx: np.ndarray  # ... and of 48..59
    shapes: dict = field(default_factory=dict)  # clip frame -> mesh_.mouth_shape: a looping clip shows frames again
    interior: photo_.MouthInterior | None = None  # the drawn mouth's light, grain and softness: the clip's (clip_interior)

    def close(self) -> None:
        self.reader.close()

    def mouth_shape(self, k: int, lm: np.ndarray) -> tuple:
        """mesh_.mouth_shape of clip frame k (landmarks `lm`), built once per clip frame."""
        shape = self.shapes.get(k)
        if shape is None:
            shape = self.shapes[k] = mesh_.mouth_shape(lm, self.reader.width, self.reader.height, self.triangles)
        return shape

    def mouth_mesh(self, k: int, lm: np.ndarray) -> tuple[mesh_.Mesh, float]:
        """mesh_.mouth_mesh of clip frame k (landmarks `lm`), its vertices built once per clip frame."""
        return mesh_.gridded(self.mouth_shape(k, lm), lm)


class VisemeEngine(LipSyncEngine):
    """Mouth opening/width from phonemes or audio, lower-face warp, drawn inner mouth, blinks."""

    name = "viseme"

    def prepare(self, image: np.ndarray, face: Face) -> VisemeState:
        """Build the mouth and eye meshes of one avatar (cache the result per avatar)."""
        image = np.ascontiguousarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise PipelineError(f"The viseme engine needs an RGB uint8 image, got {image.shape} {image.dtype}.",
                                AVATAR_UNREADABLE)
        lm = np.asarray(face.landmarks, dtype=np.float64).reshape(NUM_LANDMARKS, 2)
        h, w = image.shape[:2]
        if tuple(face.image_size) != (w, h):
            # stored analysis of a differently sized copy of the same photo: rescale the points
            lm = lm * (w / face.image_size[0], h / face.image_size[1])
        mouth, mw = mesh_.mouth_mesh(lm, w, h)
        if mw < MIN_MOUTH_WIDTH:
            raise PipelineError("The face is too small for lip-sync (mouth under 6 pixels wide).", FACE_TOO_SMALL)
        eyes = mesh_.eye_mesh(lm, w, h)
        _, _, v, _ = mesh_.mouth_frame(lm)
        inner_idx = np.array([mesh_.lip_vertex(i) for i in INNER_LIPS])
        interior, source = photo_.measure(image, lm)
        state = VisemeState(image, mouth, eyes, mw, v, inner_idx, source, interior,
                            lids_.measure_lids(image, lm), lm[36:48].copy(), lm, photo_.corner_relief(source, lm))
        interior.blur = self.calibrate_blur(state)
        interior.grain *= self.calibrate_grain(state)
        return state

    def calibrate_grain(self, state: VisemeState) -> float:
        """The share of the skin's grain whose drawn mouth is as finely textured as the lips and chin round it.

        The skin's grain, measured on the photo, reads stronger in the drawing than round it (the lips
        and chin are resampled by the mouth warp; the drawn noise is not): on the test faces the drawn
        mouth's robust texture came out 2-4x its surroundings'. The teeth's own edges count too, so
        the grain is never taken below GRAIN_SHARES[-1] (a noiseless cavity is a tell of its own).
        """
        weights = np.array(CALIBRATION_WEIGHTS)
        dst = state.mouth.displaced(weights)
        outer = dst[[mesh_.lip_vertex(i) for i in range(48, 60)]]
        if state.interior.grain <= 0.05:
            return 1.0
        grain, best, best_err = state.interior.grain, 1.0, np.inf
        for share in GRAIN_SHARES:
            state.interior.grain = grain * share
            ratio = photo_.texture_ratio(self.draw(state, weights), dst[state.inner_idx], outer, state.mouth_width, robust=True)
            if ratio is None:
                break
            err = abs(np.log(max(ratio, 1e-6)))
            if err < best_err:
                best, best_err = share, err
        state.interior.grain = grain
        return best

    def calibrate_blur(self, state: VisemeState) -> float:
        """The drawn interior's blur whose edges are as soft as the photo's own round the eyes."""
        h, w = state.image.shape[:2]
        target = photo_.edge_sharpness(state.image, photo_.eyes_mask((h, w), state.landmarks))
        inner = state.mouth.displaced(np.array(CALIBRATION_WEIGHTS))[state.inner_idx]
        mouth = photo_.polygon((h, w), inner)
        if target is None or mouth.sum() < 20:
            return 0.0
        best, best_err = 0.0, np.inf
        grain, state.interior.grain = state.interior.grain, 0.0  # grain is not edge softness
        for blur in BLUR_CHOICES:
            state.interior.blur = blur
            sharp = photo_.edge_sharpness(self.draw(state, np.array(CALIBRATION_WEIGHTS)), mouth)
            err = abs(np.log(max(sharp or target, 1e-6) / target))
            if err > best_err + CALIBRATION_RISE:
                # past the first minimum heavier blur smears the teeth into one grey band, whose
                # measure turns back up (a closed-mouth photo's drawn teeth once read 1.01x at the
                # heaviest blur and were chosen so): stop there
                break
            best_err = min(best_err, err)
            # within a tie of the least error, the heavier blur: a soft photo's drawing errs on its side
            if err <= best_err + CALIBRATION_TIE:
                best = blur
        state.interior.grain = grain
        return best

    def prepare_clip(self, reader: ClipReader) -> VisemeClipState:
        """Choose the clip's mouth triangulation, on its most closed frame (what the mesh is laid out for)."""
        if reader.frame_count < 1:
            raise PipelineError("The prepared clip has no frames.", AVATAR_UNREADABLE)
        lm = np.asarray(reader.landmarks, np.float64)
        widths = np.linalg.norm(lm[:, MOUTH_CORNERS[1]] - lm[:, MOUTH_CORNERS[0]], axis=1)
        if float(np.median(widths)) < MIN_MOUTH_WIDTH:
            raise PipelineError("The face is too small for lip-sync (mouth under 6 pixels wide).", FACE_TOO_SMALL)
        closed = int(np.argmin(reader.mouth_open))
        inner_idx = np.array([mesh_.lip_vertex(i) for i in INNER_LIPS])
        outer_idx = np.array([mesh_.lip_vertex(i) for i in OUTER_LIPS])
        return VisemeClipState(reader, mesh_.mouth_triangles(lm[closed]), inner_idx, outer_idx)

    def draw_clip(self, state: VisemeClipState, k: int, weights: np.ndarray,
                  frame: np.ndarray | None = None) -> np.ndarray:
        """Clip frame k (`frame`, when already decoded; drawn on in place) with its own mouth settled
        closed, then opened by basis weights (open, spread, round, tuck, press)."""
        reader = state.reader
        frame = reader.frame(k) if frame is None else frame
        lm = np.asarray(reader.landmarks[k], np.float64)
        mesh, mw = state.mouth_mesh(k, lm)
        if mw < MIN_MOUTH_WIDTH:  # the face turned away for a moment: show the frame as it is
            return frame
        dst = mesh.displaced(weights)
        render_.warp_roi(frame, frame, mesh, dst)  # warp_roi remaps into a new array before writing
        _, _, v, _ = mesh_.mouth_frame(lm)
        interior_.draw_mouth(frame, dst[state.inner_idx], mw, v, self.clip_interior(state))
        return frame

    def clip_interior(self, state: VisemeClipState) -> photo_.MouthInterior:
        """The drawn mouth's teeth, cavity, grain and blur in the clip's own light, measured once.

        Drawn at the default light (a clean, neutral photo) the fallback mouth of a clip that never
        opens had grey teeth, a cartoon-red cavity and, unblurred, dark specks of tooth separations
        along the lips; its most closed frame is measured as a photo is (white balance from its
        sclera and skin, grain from the chin, blur calibrated against the eyes' edges).
        """
        if state.interior is None:
            k = int(np.argmin(state.reader.mouth_open))
            interior = self.prepare(state.reader.frame(k), state.reader.face(k)).interior
            interior.own = None  # that frame's own teeth belong to its own lips, not to every frame's
            state.interior = interior
        return state.interior

    def draw_clip_banked(self, state: VisemeClipState, k: int, weights: np.ndarray, plan: bank_.BankPlan, i: int,
                         frame: np.ndarray) -> np.ndarray:
        """Clip frame k (drawn on in place) with output frame i's mouth from the bank: the jaw warped as
        open as that mouth, then the mouth pasted over both the clip's and the warp's."""
        if not plan.use[i]:  # the bank has no mouth of this shape
            return self.draw_clip(state, k, weights, frame)
        reader, bank = state.reader, state.reader.bank
        lm = np.asarray(reader.landmarks[k], np.float64)
        shape = state.mouth_shape(k, lm)
        points, _, bases, rest, (x0, y0, x1, y1), mw = shape
        if mw < MIN_MOUTH_WIDTH:
            return frame
        # the jaw and the spread: round would squeeze the clip's own lips and cheeks into folds beside
        # the narrower pasted mouth of an o/u (a pink smear); the bank's own mouth is as round as wanted
        chin = mesh_.LOWER_JAW.index(bank_.CHIN)
        _, _, down, _ = mesh_.mouth_frame(lm)
        jaw = bank_.chin_weight(bank, plan, i, k, reader.landmarks[:, bank_.CHIN], points[chin] + rest[chin],
                                bases[0][chin], down)
        dst = points + rest + jaw * bases[0] + weights[1] * bases[1]
        filmed = frame[y0:y1, x0:x1].copy()  # the grain as filmed: the warp's interpolation smooths it
        # bicubic: bilinear at sub-pixel offsets halves the footage's grain round the pasted mouth
        # (hand-held 720p: mouth sharpness 0.63 -> 0.77x the clip's; the photo path keeps bilinear);
        # the map at half resolution: off only inside the lips, which the pasted mouth covers
        clip_warp_.warp_jaw(frame, shape, lm, dst, cv2.INTER_CUBIC)
        crop, lips = bank_.mouth_crop(bank, plan, i)
        outer = dst[state.outer_idx]
        bank_.paste(frame, crop, bank_.placement(bank, k, lips, outer, mw), lips, outer, mw, seed=i,
                    filmed=(filmed, (x0, y0)))
        return frame

    def track(self, audio: Audio, fps: int = FPS, seed: int = 0) -> MouthTrack:
        """Per-frame mouth parameters and blinks (what `render` draws)."""
        return mouth_track(audio, fps, seed)

    def mouth_weights(self, track: MouthTrack, i: int) -> np.ndarray:
        """Basis weights (open, spread, round, tuck, press) of frame i, in mesh_.BASES order."""
        return np.array([track.open[i], track.spread[i], track.round[i], track.tuck[i], track.press[i]])

    def inner_lips(self, state: VisemeState, weights: np.ndarray) -> np.ndarray:
        """(8, 2) warped inner-lip landmarks 60..67 for basis weights."""
        return state.mouth.displaced(weights)[state.inner_idx]

    def draw(self, state: VisemeState, weights: np.ndarray, blink: float = 0.0, tongue: float = 0.0) -> np.ndarray:
        """One frame for mouth basis weights (open, spread, round[, tuck, press]), eyelid closure and tongue height."""
        frame = state.image.copy()
        dst = state.mouth.displaced(weights)
        render_.warp_roi(self.source(state, weights), frame, state.mouth, dst)
        if blink > BLINK_EPS and state.lids is None:
            render_.warp_roi(state.image, frame, state.eyes, state.eyes.displaced(np.array([blink])))
        self.paint(frame, state, dst, blink, None, tongue)
        return frame

    @staticmethod
    def source(state: VisemeState, weights: np.ndarray | None = None) -> np.ndarray:
        """What the warps sample: the photo with its own teeth painted out (the rest image), where measured,
        and for basis weights that round the mouth its corners' creases relaxed that much."""
        image = state.image if state.source is None else state.source
        if weights is None or len(weights) < 3:
            return image
        if state.relief is not None and state.relief_buffer is None:
            state.relief_buffer = image.copy()
        return photo_.relieved(image, state.relief, float(weights[2]), state.relief_buffer)

    def local_maps(self, state: VisemeState, weights: np.ndarray, blink: float) -> list:
        """[(roi, map), ...]: the mouth (and, in a blink, the lids) warp as source positions per ROI pixel,
        for MotionSource.warp to apply in one interpolation with the head's motion."""
        maps = [(state.mouth.roi, render_.inverse_map(state.mouth, state.mouth.displaced(weights)))]
        if blink > BLINK_EPS and state.lids is None:  # lids measured: they are painted, not warped
            maps.append((state.eyes.roi, render_.inverse_map(state.eyes, state.eyes.displaced(np.array([blink])))))
        return maps

    def paint(self, frame: np.ndarray, state: VisemeState, dst: np.ndarray, blink: float, place,
              tongue: float = 0.0) -> None:
        """Everything drawn rather than warped (the inner mouth, the closing lids), in place.

        The one drawing hook of both paths: `dst` is the displaced mouth mesh in photo coordinates and
        `place` maps photo points (k, 2) to where they show in this frame (None: where they are; with
        head motion: MotionSource.forward for the frame), so drawing happens at the final pixels,
        after the one resample, never warped a second time.
        """
        inner = dst[state.inner_idx]
        down, width = state.down, state.mouth_width
        eyes = state.eye_points
        lids = blink > BLINK_EPS and state.lids is not None
        if place is not None:
            centre = inner.mean(axis=0)
            probe = [inner, centre[None], (centre + 10.0 * down)[None]]
            moved = place(np.vstack(probe + ([eyes] if lids else [])))  # one call: lips, "down", eyes
            n = len(inner)
            inner, ends = moved[:n], moved[n:n + 2]
            if lids:
                eyes = moved[n + 2:]
            step = float(np.hypot(*(ends[1] - ends[0])))
            down = (ends[1] - ends[0]) / max(step, 1e-6)
            width = state.mouth_width * step / 10.0  # the head's local scale (a nod foreshortens)
        interior_.draw_mouth(frame, inner, width, down, state.interior, tongue)
        if lids:
            lids_.draw_lids(frame, state.lids, eyes, blink)

    def render(self, state: VisemeState, audio: Audio, fps: int = FPS, seed: int = 0,
               motion=None) -> Iterator[np.ndarray]:
        """Yield one RGB frame per 1/fps s of audio, deterministic for (state, audio, fps, seed, motion).

        With a moving `motion` each frame is resampled once: the mouth and lid warps (`local_maps`,
        reused while the mouth's parameters hold) are composed into the head's motion field
        (MotionSource.warp), and the inner mouth is painted afterwards at the moved coordinates
        (`paint` with MotionSource.forward). A still head keeps the photo path's frame reuse.
        """
        track = self.track(audio, fps, seed)
        if isinstance(state, VisemeClipState):
            shown = [int(k) for k in state.reader.order(len(track))]
            bank = state.reader.bank
            plan = None
            if bank is not None and bank.coverage.usable:
                plan = bank_.plan(bank, bank_.spoken_open(track.open, audio, fps), track.spread, track.round)
            for i, frame in enumerate(state.reader.frames(shown)):  # every clip frame differs: nothing to reuse
                if plan is None:
                    yield self.draw_clip(state, shown[i], self.mouth_weights(track, i), frame)
                else:
                    yield self.draw_clip_banked(state, shown[i], self.mouth_weights(track, i), plan, i, frame)
            return
        blinks = track.blink if motion is None else motion.blink
        tongues = getattr(track, "tongue", None)  # tongue height per frame, where the track has one
        if motion is not None and not getattr(motion, "still", False):
            yield from self._render_moving(state, track, motion, tongues)
            return
        last_key, last = None, None
        for i in range(len(track)):
            weights = self.mouth_weights(track, i)
            blink = float(blinks[i])
            tongue = 0.0 if tongues is None else float(tongues[i])
            key = _frame_key(weights, blink, tongue)
            if key != last_key:
                last, last_key = self.draw(state, weights, blink, tongue), key
                yield last if motion is None else motion.warp(last, i)
            else:
                yield last.copy() if motion is None else motion.warp(last, i)

    def _render_moving(self, state: VisemeState, track: MouthTrack, motion, tongues) -> Iterator[np.ndarray]:
        """Frames of a moving head: one interpolation per frame from the rest image, then the painted parts."""
        last_key, maps, source = None, None, None
        for i in range(len(track)):
            weights = self.mouth_weights(track, i)
            blink = float(motion.blink[i])
            tongue = 0.0 if tongues is None else float(tongues[i])
            key = _frame_key(weights, blink, 0.0)  # the tongue is painted: the warp maps do not depend on it
            if key != last_key:
                maps, last_key = self.local_maps(state, weights, blink), key
                source = self.source(state, weights)
            frame = motion.warp(source, i, local=maps)
            self.paint(frame, state, state.mouth.displaced(weights), blink,
                       lambda points, i=i: motion.forward(points, i), tongue)
            yield frame


def _frame_key(weights: np.ndarray, blink: float, tongue: float) -> tuple:
    """Frames with equal keys look the same (parameters rounded to PARAM_EPS; open eyes all alike)."""
    return (tuple(np.round(weights / PARAM_EPS).astype(int)), round(blink / PARAM_EPS) if blink > BLINK_EPS else 0,
            round(tongue / PARAM_EPS))
