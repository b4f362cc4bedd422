"""The viseme lip-sync engine on real photos, real espeak speech and real dlib landmarks."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from generation.pipeline.audio import prepare
from generation.pipeline.faces import FaceAnalyzer
from generation.pipeline.images import demo_avatar_image
from generation.pipeline.lipsync.base import LipSyncEngine
from generation.pipeline.lipsync.viseme import VisemeEngine
from generation.pipeline.lipsync.viseme_track import LEAD, classify, mouth_track
from generation.pipeline.preview import contact_sheet, lipsync_sheet
from generation.pipeline.tts.espeak import EspeakBackend
from generation.pipeline.types import SAMPLE_RATE, Audio, Phoneme, frame_count

FPS = 25
SILENCE = 0.61  # seconds of digital silence around the speech (puts its onset mid-frame, as before the 0.28 s lead-in)


@pytest.fixture(scope="module")
def analyzer():
    return FaceAnalyzer()


@pytest.fixture(scope="module")
def engine():
    return VisemeEngine()


@pytest.fixture(scope="module")
def speech() -> Audio:
    """English espeak speech with phonemes, padded with silence on both sides."""
    audio = prepare(EspeakBackend().synthesize("Hello, my name is Eileen. Papa, how are you?", "en"))
    pad = np.zeros(int(SILENCE * SAMPLE_RATE), np.float32)
    phonemes = [Phoneme(p.start + SILENCE, p.end + SILENCE, p.symbol) for p in audio.phonemes]
    return Audio(np.concatenate([pad, audio.samples, pad]), 0.0, phonemes)


@pytest.fixture(scope="module")
def russian() -> Audio:
    return prepare(EspeakBackend().synthesize("Привет! Мама мыла раму.", "ru"))


@pytest.fixture(scope="module")
def demo(analyzer, engine):
    image = demo_avatar_image()
    face = analyzer.analyze(image)
    return image, face, engine.prepare(image, face)


@pytest.fixture(scope="module")
def demo_frames(engine, demo, speech):
    return list(engine.render(demo[2], speech, FPS, seed=3))


def lip_gap(engine, state, track, i) -> float:
    """Warped inner-lip opening (px) of frame i: mean distance upper -> lower inner lip."""
    inner = engine.inner_lips(state, engine.mouth_weights(track, i))
    return float(np.mean((inner[[7, 6, 5]] - inner[[1, 2, 3]]) @ state.down))


def speaking(audio: Audio, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame masks: well inside the speech, and well inside the silence around it."""
    t = np.arange(n) / FPS
    start = min(p.start for p in audio.phonemes if p.symbol.strip("_:"))
    end = max(p.end for p in audio.phonemes if p.symbol.strip("_:"))
    return (t > start + 0.1) & (t < end - 0.1), (t < start - 0.25) | (t > end + 0.25)


def mouth_box(face, pad: float = 0.15) -> tuple[slice, slice]:
    """Rows/cols around the outer lips, padded by a share of the mouth width."""
    lips = face.landmarks[48:60]
    w = float(np.ptp(lips[:, 0]))
    x0, y0 = (lips.min(axis=0) - pad * w).astype(int)
    x1, y1 = (lips.max(axis=0) + pad * w).astype(int)
    return slice(max(0, y0), y1), slice(max(0, x0), x1)


def test_engine_contract(engine, demo, demo_frames, speech):
    image = demo[0]
    assert isinstance(engine, LipSyncEngine) and engine.name == "viseme"
    assert len(demo_frames) == frame_count(len(speech.samples), FPS)
    for frame in demo_frames[::10]:
        assert frame.shape == image.shape and frame.dtype == np.uint8
    for seconds, fps in ((0.01, 25), (1.0, 25), (1.03, 30)):
        audio = Audio(np.zeros(int(seconds * SAMPLE_RATE), np.float32))
        assert sum(1 for _ in engine.render(demo[2], audio, fps)) == frame_count(len(audio.samples), fps)


def test_mouth_closed_in_silence_open_in_speech(engine, demo, demo_frames, speech):
    image, face, state = demo
    track = engine.track(speech, FPS, seed=3)
    talk, quiet = speaking(speech, len(track))
    gaps = np.array([lip_gap(engine, state, track, i) for i in range(len(track))])
    mw = state.mouth_width
    assert track.source == "phonemes"
    assert gaps[quiet].max() < 0.5  # lips together in silence (the photo's toothy smile is closed)
    assert np.percentile(gaps[talk], 90) > 0.18 * mw
    assert (gaps[talk] > 0.08 * mw).mean() > 0.4
    # The same on pixels: the mouth box changes with speech, the rest of the lower face much less
    rows, cols = mouth_box(face)
    rest = demo_frames[int(np.flatnonzero(quiet)[0])].astype(np.int16)
    inside = np.array([np.abs(f[rows, cols].astype(np.int16) - rest[rows, cols]).mean() for f in demo_frames])
    outside = np.array([np.abs(f.astype(np.int16) - rest).mean() for f in demo_frames]) * rest.size
    outside = (outside - inside * rest[rows, cols].size) / (rest.size - rest[rows, cols].size)
    assert inside[quiet].max() < 0.5
    assert inside[talk].mean() > 8 * max(outside[talk].mean(), 0.1)
    assert np.percentile(inside[talk], 90) > 10


def test_bilabials_close_and_shapes_follow_vowels(speech):
    track = mouth_track(speech, FPS)
    rate = FPS

    def at(symbols):
        # frame i shows the mouth of time i / fps + LEAD
        frames = [int(round(((p.start + p.end) / 2 - LEAD) * rate)) for p in speech.phonemes if p.symbol in symbols]
        return np.array(frames)

    m_b_p = at({"m", "p", "b"})
    vowels = at({"aI", "eI", "A:", "a", "aU"})
    assert len(m_b_p) >= 3 and len(vowels) >= 3
    assert track.open[m_b_p].mean() < 0.25 * track.open[vowels].mean()
    assert classify("u:")[0][2] > 0.8 and classify("i:")[0][1] > 0.8  # rounding vs spreading targets
    assert classify("m")[0][0] == 0.0 and classify("a")[0][0] > 0.8


def test_audio_only_track(engine, demo, speech):
    state = demo[2]
    plain = Audio(speech.samples)  # remote TTS / uploaded audio: no phonemes
    track = engine.track(plain, FPS)
    talk, quiet = speaking(speech, len(track))
    assert track.source == "audio"
    assert track.open[quiet].max() < 0.02
    assert track.open[talk].mean() > 0.25
    gaps = np.array([lip_gap(engine, state, track, i) for i in range(len(track))])
    assert gaps[quiet].max() < 0.5 and np.percentile(gaps[talk], 90) > 0.15 * state.mouth_width


def test_smooth_without_jitter(engine, speech):
    track = engine.track(speech, FPS)
    for curve in (track.open, track.spread, track.round):
        step = np.abs(np.diff(curve))
        # a lip release after p/b may be fast, but nothing jumps; only a shut m/b/p frame (open 0:
        # a closure shorter than a frame, as espeak's п, still shows) is reached and left in one step
        shut = curve == 0.0
        assert step[~(shut[1:] | shut[:-1])].max() < 0.5
        # no flicker: four successive steps alternating up/down (a one-frame p/b closure is fine)
        d = np.sign(np.where(np.abs(np.diff(curve)) > 0.03, np.diff(curve), 0))
        flicker = (d[:-3] * d[1:-2] < 0) & (d[1:-2] * d[2:-1] < 0) & (d[2:-1] * d[3:] < 0)
        assert flicker.sum() == 0


def test_above_nose_untouched_except_blinks(engine, demo, demo_frames, speech):
    image, face, state = demo
    track = engine.track(speech, FPS, seed=3)
    nose_tip = int(face.landmarks[30, 1])
    ex0, ey0, ex1, ey1 = state.eyes.roi
    blinking = track.blink > 0.02
    assert blinking.any(), "a few seconds of speech should contain a blink"
    for frame, blink in zip(demo_frames, blinking):
        top, src = frame[:nose_tip].copy(), image[:nose_tip].copy()
        if blink:
            top[ey0:ey1, ex0:ex1] = src[ey0:ey1, ex0:ex1]  # only the eye region may change
        assert np.array_equal(top, src)
    closed = demo_frames[int(np.argmax(track.blink))]
    eyes = face.landmarks[36:48]
    y0, y1 = int(eyes[:, 1].min()), int(eyes[:, 1].max()) + 1
    x0, x1 = int(eyes[:, 0].min()), int(eyes[:, 0].max()) + 1
    assert np.abs(closed[y0:y1, x0:x1].astype(int) - image[y0:y1, x0:x1]).mean() > 5  # lids really move


def test_no_seam_at_warp_border(engine, demo, demo_frames):
    image, face, state = demo
    gaps = [lip_gap(engine, state, engine.track(Audio(np.zeros(1)), FPS), 0)]
    assert gaps[0] < 0.5
    frame = engine.draw(state, np.array([1.0, 0.0, 0.0]))  # widest opening: the largest warp
    diff = np.abs(frame.astype(np.int16) - image).max(axis=2)
    changed = (diff > 0).astype(np.uint8)
    kernel = np.ones((5, 5), np.uint8)
    ring = (cv2.dilate(changed, kernel) > 0) & ~(cv2.erode(changed, kernel) > 0)
    assert ring.sum() > 100
    # The change fades out: no step in |frame - photo| where the warp ends
    assert np.percentile(diff[ring], 95) < 12

    def grad(img):
        g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))

    assert np.percentile(grad(frame)[ring], 99) <= 1.15 * np.percentile(grad(image)[ring], 99) + 4
    assert grad(frame)[ring].mean() <= 1.1 * grad(image)[ring].mean() + 2


def test_deterministic(engine, demo, demo_frames, speech):
    again = list(engine.render(demo[2], speech, FPS, seed=3))
    assert all(np.array_equal(a, b) for a, b in zip(again, demo_frames))
    other = engine.track(speech, FPS, seed=4)
    same = engine.track(speech, FPS, seed=3)
    assert np.array_equal(other.open, same.open) and not np.array_equal(other.blink, same.blink)


def edge_canvas(image: np.ndarray, face_box, scale: float, side: str) -> np.ndarray:
    """The photo rescaled and pasted on a larger grey canvas with the face close to one edge."""
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    canvas = np.full((h + 160, w + 200, 3), 128, np.uint8)
    left, top, right, bottom = (int(v * scale) for v in face_box)
    if side == "right":  # face box right edge 12 px from the canvas edge; part of the head is cut
        x = canvas.shape[1] - right - 12
        pasted = small[:, : min(w, canvas.shape[1] - x)]
        canvas[100:100 + h, x:x + pasted.shape[1]] = pasted
    else:  # bottom: chin just above the bottom edge
        y = canvas.shape[0] - bottom - 10
        pasted = small[: canvas.shape[0] - y]
        canvas[y:y + pasted.shape[0], 40:40 + w] = pasted
    return canvas


@pytest.fixture(scope="module")
def avatars(analyzer):
    from skimage import data

    full = np.ascontiguousarray(data.astronaut())
    box = analyzer.analyze(full).box
    demo = demo_avatar_image()
    return {
        "full_512": full,
        "mirrored_small": np.ascontiguousarray(cv2.resize(demo[:, ::-1], None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)),
        "large_1.6x": cv2.resize(demo, None, fx=1.6, fy=1.6, interpolation=cv2.INTER_CUBIC),
        "face_at_right_edge": edge_canvas(full, box, 0.8, "right"),
        "chin_at_bottom_edge": edge_canvas(full, box, 0.9, "bottom"),
    }


@pytest.mark.parametrize("name", ["full_512", "mirrored_small", "large_1.6x", "face_at_right_edge", "chin_at_bottom_edge"])
def test_other_avatars(name, avatars, analyzer, engine, russian):
    image = avatars[name]
    face = analyzer.analyze(image)
    assert face is not None, name
    state = engine.prepare(image, face)
    frames = list(engine.render(state, russian, FPS, seed=1))
    track = engine.track(russian, FPS, seed=1)
    assert len(frames) == frame_count(len(russian.samples), FPS)
    assert all(f.shape == image.shape for f in frames)
    gaps = np.array([lip_gap(engine, state, track, i) for i in range(len(track))])
    assert gaps[0] < 0.5 and gaps[-1] < 0.5
    assert gaps.max() > 0.18 * state.mouth_width
    nose_tip = int(face.landmarks[30, 1])
    for frame, blink in zip(frames, track.blink):
        if blink <= 0.02:
            assert np.array_equal(frame[:nose_tip], image[:nose_tip])
    widest = frames[int(np.argmax(gaps))]
    rows, cols = mouth_box(face)
    assert np.abs(widest[rows, cols].astype(int) - image[rows, cols]).mean() > 8


def test_prepare_reuses_stored_face_of_another_size(engine, demo):
    image, face, _ = demo
    big = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    state = engine.prepare(big, face)  # stored analysis was made on the smaller copy
    assert abs(state.mouth_width - 2 * engine.prepare(image, face).mouth_width) < 1e-6


def test_contact_sheet(tmp_path, engine, demo, russian):
    out = tmp_path / "sheet.png"
    sheet = lipsync_sheet(engine, demo[2], russian, out, count=6, title="ru")
    assert out.is_file() and sheet.ndim == 3 and sheet.shape[1] > 600
    written = cv2.imread(str(out))
    assert written.shape == sheet.shape
    frames = [(0.1, demo[0]), (0.5, demo[0])]
    plain = contact_sheet(frames, russian.samples, np.linspace(0, 1, 20))
    assert plain.shape[0] > 300
