"""Video avatars rendered: clip frames in their loop order under real speech, the mouth drawn by each engine.

Real everything: clips of real faces moved along known paths and encoded by the real ffmpeg
(tests/media.py), prepared by clip.prepare_clip with real dlib tracking, espeak speech with a long
pause in the middle, Wav2Lip on random weights of the official shape. Mouths are measured on the
output frames themselves: dlib's 68 landmarks (inner-lip gap over mouth width) and the dark
inner-mouth area inside the lips.
"""
from __future__ import annotations

import numpy as np
import pytest

from generation.pipeline import runner
from generation.pipeline.audio import prepare
from generation.pipeline.clip import ClipReader, inspect_video, prepare_clip
from generation.pipeline.faces import FaceAnalyzer
from generation.pipeline.lipsync.frames import LRU, clip_indices
from generation.pipeline.lipsync.viseme import VisemeEngine
from generation.pipeline.tracking import mouth_opening
from generation.pipeline.tts.espeak import EspeakBackend
from generation.pipeline.types import FPS, SAMPLE_RATE, Phoneme, Speech, frame_count
from tests import media
from tests.probing import probe

PAUSE_SECONDS = 1.6
EDGE_FRAMES = 6  # frames at each end of the pause left out: lips close and open over a few frames
CLOSED_GAP = 0.06  # dlib's inner-lip gap over mouth width below this: a closed mouth
OPEN_GAP = 0.12  # ... above this: clearly open
DARK_LEVEL = 75  # luminance under this inside the lips: the mouth's cavity (the lips and skin are lighter)


@pytest.fixture(scope="module")
def analyzer():
    return FaceAnalyzer()


def prepared(made, analyzer, folder) -> tuple:
    """(data_path, frames_path) of a prepared clip."""
    result = prepare_clip(made.data, inspect_video(made.data).demuxer, folder, analyzer)
    return result.data_path, result.frames_path


@pytest.fixture(scope="module")
def moving(analyzer, tmp_path_factory):
    """A calm astronaut moving and blinking, 2.4 s at 480x270 (a face ~170 px wide)."""
    return prepared(media.moving_face(2.4, size=(480, 270), width=0.35, seed=1), analyzer,
                    tmp_path_factory.mktemp("moving"))


@pytest.fixture(scope="module")
def talking(analyzer, tmp_path_factory):
    """The astronaut talking: her own mouth opens and closes all through the clip."""
    return prepared(media.talking(), analyzer, tmp_path_factory.mktemp("talking"))


def speech_pause_speech(first="Hello there, how are you?", second="Fine, thank you very much.",
                        pause=PAUSE_SECONDS):
    """Real espeak speech, a silence of `pause` s, speech again; (audio, pause start s, pause end s)."""
    tts = EspeakBackend()
    a, b = tts.synthesize(first, "en"), tts.synthesize(second, "en")
    rate = a.sample_rate
    start, end = len(a.samples) / rate, len(a.samples) / rate + pause
    phonemes = None
    if a.phonemes is not None and b.phonemes is not None:
        phonemes = [*a.phonemes, Phoneme(start, end, "_"),
                    *(Phoneme(p.start + end, p.end + end, p.symbol) for p in b.phonemes)]
    samples = np.concatenate([a.samples, np.zeros(round(pause * rate), np.float32), b.samples])
    audio = prepare(Speech(samples, rate, phonemes))
    return audio, start - audio.offset, end - audio.offset


@pytest.fixture(scope="module")
def speech():
    return speech_pause_speech()


def pause_frames(speech) -> range:
    """Output frames well inside the pause."""
    _, start, end = speech
    return range(int(start * FPS) + EDGE_FRAMES, int(end * FPS) - EDGE_FRAMES)


def speech_frames(speech) -> list[int]:
    """Output frames while someone speaks (the pause and its edges left out)."""
    audio, start, end = speech
    n = frame_count(len(audio.samples))
    return [i for i in range(n) if i < int(start * FPS) - 2 or i > int(end * FPS) + 2]


def dlib_gap(analyzer, frame) -> float:
    """Inner-lip gap over mouth width that dlib sees on a frame."""
    face = analyzer.analyze(frame)
    assert face is not None, "no face on an output frame"
    return float(mouth_opening(np.asarray(face.landmarks)[None])[0])


def dark_share(frame, landmarks) -> float:
    """Share of the outer-lip polygon that is dark: the open mouth's cavity."""
    import cv2

    mask = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[48:60]).astype(np.int32)], 1)
    luma = frame @ np.array([0.299, 0.587, 0.114])
    return float((luma[mask > 0] < DARK_LEVEL).mean())


def interior_share(frame, landmarks) -> float:
    """Share of the outer-lip polygon that is the open mouth's inside: dark cavity or pale teeth."""
    from generation.pipeline.lipsync.mouth_photo import lips_rgb, pale_mask, polygon

    lm = np.asarray(landmarks, np.float64)
    mask = polygon(frame.shape[:2], lm[48:60])
    luma = frame @ np.array([0.299, 0.587, 0.114])
    return float(((luma < DARK_LEVEL) | pale_mask(frame, mask, lips_rgb(frame, lm)))[mask].mean())


def upper_face(reader, k) -> tuple[slice, slice]:
    """Rows from the top of the frame to a little above the nose tip, all columns: never drawn on."""
    lm = reader.landmarks[k]
    mouth_width = np.linalg.norm(lm[54] - lm[48])
    return slice(0, int(lm[30, 1] - 0.1 * mouth_width)), slice(None)


def jumps(frames) -> np.ndarray:
    """Mean absolute difference between consecutive frames."""
    return np.array([np.abs(b.astype(np.int16) - a).mean() for a, b in zip(frames[:-1], frames[1:])])


# ---- the frame source ----

def test_clip_indices_and_lru(moving):
    with ClipReader(*moving) as reader:
        order = reader.order(3 * reader.frame_count).tolist()
        assert clip_indices(reader, 0, 10) == order[:10]
        assert clip_indices(reader, reader.frame_count - 2, reader.frame_count + 5) == \
            order[reader.frame_count - 2:reader.frame_count + 5]
    evicted = []
    cache = LRU(2, on_evict=lambda key, value: evicted.append(key))
    cache.put("a", 1), cache.put("b", 2)
    assert cache.get("a") == 1  # now "b" is the least recently used
    cache.put("c", 3)
    assert evicted == ["b"] and "a" in cache and "c" in cache and len(cache) == 2
    cache.drop(lambda key: key == "a")
    assert evicted == ["b", "a"] and cache.get("a") is None


# ---- viseme ----

@pytest.fixture(scope="module")
def viseme_moving(moving, speech):
    engine = VisemeEngine()
    reader = ClipReader(*moving)
    frames = list(engine.render(engine.prepare_clip(reader), speech[0], FPS))
    return reader, frames


def test_viseme_clip_frames_play_in_loop_order(viseme_moving, speech):
    reader, frames = viseme_moving
    assert len(frames) == frame_count(len(speech[0].samples)) > 2 * reader.frame_count  # it turned twice
    assert all(f.shape == (reader.height, reader.width, 3) and f.dtype == np.uint8 for f in frames)
    order = reader.order(len(frames))
    for i in range(0, len(frames), 3):
        k = order[i]
        rows, cols = upper_face(reader, k)
        source = reader.frame(k)
        assert np.abs(frames[i][rows, cols].astype(int) - source[rows, cols]).max() <= 1, i
        # and the whole frame is the clip's but for the lower face
        assert np.abs(frames[i].astype(int) - source).mean() < 1.5, i
    clip_jump = jumps([reader.frame(k) for k in range(reader.frame_count)]).max()
    assert jumps(frames).max() <= clip_jump + 1.0  # the mouth moves; nothing jumps


def test_viseme_mouth_closed_in_the_pause_open_in_speech(viseme_moving, speech, analyzer):
    reader, frames = viseme_moving
    pause = [dlib_gap(analyzer, frames[i]) for i in pause_frames(speech)[::3]]
    spoken = [dlib_gap(analyzer, frames[i]) for i in speech_frames(speech)[::3]]
    assert max(pause) < CLOSED_GAP
    assert max(spoken) > OPEN_GAP and np.mean(np.array(spoken) > OPEN_GAP) > 0.2


def test_viseme_settles_a_talking_clips_own_mouth(talking, speech, analyzer):
    engine = VisemeEngine()
    reader = ClipReader(*talking)
    frames = list(engine.render(engine.prepare_clip(reader), speech[0], FPS))
    pause = list(pause_frames(speech))
    shown = [reader.order(len(frames))[i] for i in pause]
    # the test means something: the clip's own mouth is wide open during the pause's frames
    assert max(reader.mouth_open[k] for k in shown) > 0.2
    # (the photo engine that made the clip now shows teeth and a tongue in it, not only a dark
    # cavity: its inside is counted as dark or pale; still well above what a settled frame may show)
    assert max(interior_share(reader.frame(k), reader.landmarks[k]) for k in shown) > 0.06  # 0.077-0.09 seen
    # the pause shows one closed mouth: no cavity on any frame, and dlib sees it closed on most and
    # open on none (it reads this clip's closed smiling mouth, from the bank, at 0.015-0.09 of the
    # mouth's width; 3x crops show the lips together)
    gaps = []
    for i, k in list(zip(pause, shown))[::2]:
        gaps.append(dlib_gap(analyzer, frames[i]))
        assert gaps[-1] < OPEN_GAP, (i, k)
        assert dark_share(frames[i], reader.landmarks[k]) < 0.05, (i, k)
    assert np.median(gaps) < CLOSED_GAP, gaps
    spoken = speech_frames(speech)
    assert max(dlib_gap(analyzer, frames[i]) for i in spoken[::3]) > OPEN_GAP
    for i in range(0, len(frames), 5):  # eyes and all above the nose are the clip's
        k = reader.order(len(frames))[i]
        rows, cols = upper_face(reader, k)
        assert np.abs(frames[i][rows, cols].astype(int) - reader.frame(k)[rows, cols]).max() <= 1


# ---- Wav2Lip ----

@pytest.fixture(scope="module")
def wav2lip(tmp_path_factory):
    from generation.pipeline.lipsync.wav2lip import Wav2LipEngine
    from generation.pipeline.lipsync.wav2lip_model import random_wav2lip, save_as_official

    folder = tmp_path_factory.mktemp("weights")
    save_as_official(random_wav2lip(seed=0), folder / "wav2lip_gan.pth")
    return Wav2LipEngine(folder / "wav2lip_gan.pth", threads=2)


def test_wav2lip_clip_frames(wav2lip, moving):
    from generation.pipeline.lipsync.wav2lip import padded_box

    audio = prepare(EspeakBackend().synthesize("Hello, how are you?", "en"))
    reader = ClipReader(*moving)
    state = wav2lip.prepare_clip(reader)
    frames = list(wav2lip.render(state, audio, FPS))
    assert len(frames) == frame_count(len(audio.samples))
    assert all(f.shape == (reader.height, reader.width, 3) and f.dtype == np.uint8 for f in frames)
    for i in range(0, len(frames), 4):
        k = reader.order(len(frames))[i]
        source = reader.frame(k)
        x1, y1, x2, y2 = padded_box(reader.face(k).box, reader.width, reader.height)
        outside = np.ones(source.shape[:2], bool)
        outside[y1:y2, x1:x2] = False
        assert np.array_equal(frames[i][outside], source[outside]), i  # the background and the clip's motion
        rows, cols = upper_face(reader, k)
        assert np.array_equal(frames[i][rows, cols], source[rows, cols]), i
        lm = reader.landmarks[k]
        mouth = (slice(int(lm[51, 1]), int(lm[57, 1]) + 1), slice(int(lm[48, 0]), int(lm[54, 0]) + 1))
        assert np.abs(frames[i][mouth].astype(int) - source[mouth]).mean() > 2, i  # a generated mouth
    # a second render finds every clip frame's face terms cached, and gives the same frames
    again = list(wav2lip.render(state, audio, FPS))
    assert all(np.array_equal(a, b) for a, b in zip(frames, again))
    wav2lip.close_state(state)
    assert not any(key[0] == state.key for key in wav2lip._clip_faces._items)


def test_wav2lip_clip_batch_equals_one_by_one(wav2lip, moving):
    """Face terms encoded as a batch equal the photo path's one-frame encoding of the same crop."""
    from generation.pipeline.lipsync.wav2lip import face_input

    reader = ClipReader(*moving)
    state = wav2lip.prepare_clip(reader)
    frames = {k: reader.frame(k) for k in (0, 5, 9)}
    faces = wav2lip.clip_faces(state, frames)
    for k, face in faces.items():
        crop = np.round(face.face96[..., ::-1] * 255).astype(np.uint8)[..., ::-1]  # back to the BGR crop
        single = wav2lip.face_terms(face_input(crop))
        for got, want in zip(face.terms, single):
            assert got.shape == want.shape and float((got - want).abs().max()) < 1e-4
    wav2lip.close_state(state)


# ---- the runner ----

def test_runner_makes_the_clip_video_with_the_speech(moving, tmp_path):
    from generation.pipeline.tts.registry import build_registry

    pipeline = runner.Pipeline(tts=build_registry("espeak"), engines={"viseme": VisemeEngine()},
                               default_engine="viseme")
    reader = ClipReader(*moving)
    stages = []
    result = pipeline.run("Hello, this is a video avatar.", "en", tmp_path / "out.mp4", clip=moving,
                          avatar_key="clip-1", progress=lambda stage, percent: stages.append(stage))
    info = probe(tmp_path / "out.mp4", count_frames=True)
    assert (info["width"], info["height"]) == (reader.width, reader.height) == (result.video.width, result.video.height)
    assert info["video_codec"] == "h264" and info["audio_codec"] == "aac"
    assert abs(info["audio_duration"] - result.audio_duration) <= 1 / FPS + 0.03  # AAC frames round up a little
    assert info["frames"] == frame_count(round(result.audio_duration * SAMPLE_RATE))
    assert "face" in stages and result.timings.face >= 0 and result.timings.lipsync > 0
    state = pipeline._prepared[("viseme", "clip-1")][1]
    pipeline.run("Again.", "en", tmp_path / "again.mp4", clip=moving, avatar_key="clip-1")
    assert pipeline._prepared[("viseme", "clip-1")][1] is state  # prepared once per avatar
    # beyond the cache size the oldest avatar goes, its frame store closed
    for n in range(runner.PREPARED_CACHE_SIZE):
        pipeline.prepared_clip("viseme", pipeline.engines["viseme"], moving, f"other-{n}")
    assert ("viseme", "clip-1") not in pipeline._prepared and state.reader._store.closed
