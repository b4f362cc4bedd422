"""Photo motion as the lip-sync engines render it: measured on the output frames with dlib.

test_motion.py checks the plan and the warp alone; here the head moves while the mouth speaks, in
both engines and through the runner, and the lips still close in the pause and open in speech.
"""
import numpy as np
import pytest

from generation.pipeline import runner
from generation.pipeline.faces import FaceAnalyzer
from generation.pipeline.lipsync.viseme import VisemeEngine
from generation.pipeline.motion import NONE, SUBTLE, MotionSource, plan_motion
from generation.pipeline.types import FPS, frame_count
from tests.pipeline.test_clip_render import (CLOSED_GAP, OPEN_GAP, dlib_gap, pause_frames, speech_frames,
                                             speech_pause_speech)
from tests.pipeline.test_motion import MAX_BORDER_DIFF, border_diff, dlib_landmarks, face_width, photo
from tests.probing import probe

MIN_NOSE_RANGE = 0.03  # face widths (the figure for a 10 s phrase; this phrase is ~4 s)
MAX_MOUTH_DRIFT = 0.05  # face widths: dlib's mouth centre on an output frame vs the warp's moved landmarks


@pytest.fixture(scope="module")
def analyzer():
    return FaceAnalyzer()


@pytest.fixture(scope="module")
def speech():
    return speech_pause_speech(pause=1.6)


@pytest.fixture(scope="module")
def viseme_run(speech):
    """The demo-like astronaut spoken by the viseme engine with subtle motion: (image, face, source, frames)."""
    audio, _, _ = speech
    image, face = photo("astronaut")
    engine = VisemeEngine()
    source = MotionSource(image, face, plan_motion(audio, face, SUBTLE, seed=7))
    frames = list(engine.render(engine.prepare(image, face), audio, FPS, seed=7, motion=source))
    return image, face, source, frames


def test_viseme_with_motion_moves_the_head(viseme_run, speech):
    image, face, source, frames = viseme_run
    audio, _, _ = speech
    assert len(frames) == frame_count(len(audio.samples)) == source.frame_count
    fw = face_width(face)
    sampled = range(0, len(frames), 3)
    points = np.array([dlib_landmarks(frames[i], face.box) for i in sampled])
    noses = points[:, 30]
    assert max(np.hypot(*(a - b)) for a in noses for b in noses) / fw >= MIN_NOSE_RANGE
    # the drawn mouth went where the head went: dlib's mouth centre follows the moved landmarks
    drift = np.abs(points[:, 48:68].mean(axis=1) - source.landmarks[list(sampled), 48:68].mean(axis=1)).max()
    assert drift < MAX_MOUTH_DRIFT * fw, drift / fw
    assert max(border_diff(frames[i], image) for i in sampled) <= MAX_BORDER_DIFF


def test_viseme_with_motion_still_closes_and_opens(viseme_run, speech, analyzer):
    _, _, _, frames = viseme_run
    pause = [dlib_gap(analyzer, frames[i]) for i in pause_frames(speech)[::3]]
    talk = [dlib_gap(analyzer, frames[i]) for i in speech_frames(speech)[::2]]
    # dlib reads a moving closed mouth less steadily than a still one (0.02-0.06 on the same closed lips,
    # looked at in 3x crops): most pause frames must read closed, none clearly open
    assert np.percentile(pause, 80) < CLOSED_GAP and max(pause) < OPEN_GAP, pause
    assert np.percentile(talk, 90) > OPEN_GAP, talk


def test_none_gives_todays_still_frames(speech):
    audio, _, _ = speech
    image, face = photo("astronaut")
    engine = VisemeEngine()
    state = engine.prepare(image, face)
    still = list(engine.render(state, audio, FPS, seed=3))
    source = MotionSource(image, face, plan_motion(audio, face, NONE, seed=3))
    moved = list(engine.render(state, audio, FPS, seed=3, motion=source))
    assert all(np.array_equal(a, b) for a, b in zip(still, moved))


def test_wav2lip_generates_on_the_moved_face(speech, tmp_path):
    """The crop follows the head: the generated rows land where the moved mouth is, not the photo's."""
    from generation.pipeline.lipsync.wav2lip import Wav2LipEngine, padded_box
    from generation.pipeline.lipsync.wav2lip_model import random_wav2lip, save_as_official

    save_as_official(random_wav2lip(seed=0), tmp_path / "wav2lip_gan.pth")
    engine = Wav2LipEngine(tmp_path / "wav2lip_gan.pth", threads=2)
    audio, _, _ = speech
    image, face = photo("astronaut")
    source = MotionSource(image, face, plan_motion(audio, face, "lively", seed=2))
    frames = list(engine.render(engine.prepare(image, face), audio, FPS, motion=source))
    assert len(frames) == source.frame_count
    # the frame where the head is furthest from the photo's pose
    k = int(np.argmax(np.abs(source.landmarks[:, 30] - face.landmarks[30]).sum(axis=1)))
    moved = source.frame(k)
    x1, y1, x2, y2 = padded_box(source.face(k).box, source.width, source.height)
    outside = np.ones(moved.shape[:2], bool)
    outside[y1:y2, x1:x2] = False
    assert np.array_equal(frames[k][outside], moved[outside])  # everything but the crop is the moved photo
    lm = source.landmarks[k]
    mouth = (slice(int(lm[51, 1]), int(lm[57, 1]) + 1), slice(int(lm[48, 0]), int(lm[54, 0]) + 1))
    assert np.abs(frames[k][mouth].astype(int) - moved[mouth]).mean() > 2  # a generated mouth, there
    assert not engine._clip_faces._items  # one request's frames are not kept


def test_runner_passes_motion(tmp_path):
    from generation.pipeline.tts.registry import build_registry

    pipeline = runner.Pipeline(tts=build_registry("espeak"), engines={"viseme": VisemeEngine()},
                               default_engine="viseme")
    image, face = photo("astronaut")
    text = "Hello there. I am moving my head while I talk."
    # one synthesis for both: espeak-ng is not bit-repeatable (espeak.py), and a few samples more can
    # move the end of the speech by a 10 ms frame; the point here is that motion leaves the audio alone
    from generation.pipeline.tts.text import synthesize_text

    speech = synthesize_text(pipeline.tts, text, "en")
    still = pipeline.run(text, "en", tmp_path / "still.mp4", image=image, face=face, avatar_key="a", seed=4,
                         speech=speech)
    moving = pipeline.run(text, "en", tmp_path / "moving.mp4", image=image, face=face, avatar_key="a", seed=4,
                          motion=SUBTLE, speech=speech)
    assert probe(tmp_path / "moving.mp4", count_frames=True)["frames"] == frame_count(
        round(moving.audio_duration * 16000))
    assert abs(still.audio_duration - moving.audio_duration) < 1e-6
    with pytest.raises(runner.PipelineError) as err:
        pipeline.run(text, "en", tmp_path / "bad.mp4", image=image, face=face, motion="wild")
    assert err.value.code == "pipeline_failed"
