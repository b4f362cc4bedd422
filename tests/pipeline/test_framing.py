"""Framing: output sizes, where the face lands (measured by dlib on the encoded video), the backgrounds."""
import functools

import numpy as np
import pytest
from PIL import Image

from generation.pipeline import burnin, framing
from generation.pipeline.captions import Cue
from generation.pipeline.video import encode_mp4, extract_frame

FRAMES_OUT = 5  # a still clip of this many frames is enough to decode one back
EYE_BAND = {"16:9": (0.36, 0.44), "1:1": (0.36, 0.44), "9:16": (0.32, 0.40)}
CENTRE_TOLERANCE = 0.03  # of the frame's width


@functools.lru_cache(maxsize=1)
def demo():
    from generation.pipeline.faces import FaceAnalyzer
    from generation.pipeline.images import demo_avatar_image

    image = demo_avatar_image()
    return image, FaceAnalyzer().analyze(image)


def analyze(image):
    from generation.pipeline.faces import FaceAnalyzer

    return FaceAnalyzer().analyze(image)


def encoded_frame(composer, tmp_path, photo, name="out"):
    """One frame of a short MP4 made from the composed photo: what the encoder really gives back."""
    frames = framing.FramedFrames(iter([photo] * FRAMES_OUT), composer)
    audio = np.zeros(16000 * FRAMES_OUT // 25, np.float32)
    info = encode_mp4(frames, audio, tmp_path / f"{name}.mp4")
    frame = extract_frame(info.path, 0.0)
    Image.fromarray(frame).save(tmp_path / f"{name}.png")
    return info, frame


@pytest.mark.parametrize("frame,resolution,size", [
    ("16:9", 720, (1280, 720)), ("16:9", 1080, (1920, 1080)), ("9:16", 720, (720, 1280)),
    ("9:16", 1080, (1080, 1920)), ("1:1", 720, (720, 720)), ("1:1", 1080, (1080, 1080)),
])
def test_output_sizes_are_even_and_the_short_side_is_the_resolution(frame, resolution, size):
    assert framing.output_size(frame, resolution) == size
    image, face = demo()
    layout = framing.plan_layout(face, (image.shape[1], image.shape[0]), frame, resolution)
    assert (layout.width, layout.height) == size
    left, top, right, bottom = layout.dst
    assert 0 <= left < right <= size[0] and 0 <= top < bottom <= size[1]
    with pytest.raises(ValueError):
        framing.output_size(frame, 900)


@pytest.mark.parametrize("frame,resolution", [("16:9", 720), ("9:16", 720), ("1:1", 720), ("16:9", 1080)])
def test_the_face_stands_centred_with_its_eyes_in_the_band(frame, resolution, tmp_path):
    image, face = demo()
    composer, notes = framing.prepare(framing.Format(frame, resolution, "#204060"), face, image)
    info, out = encoded_frame(composer, tmp_path, image, f"face-{frame.replace(':', 'x')}-{resolution}")
    assert (info.width, info.height) == framing.output_size(frame, resolution)
    found = analyze(out)
    assert found is not None, "dlib finds the face on the framed video"
    left, top, right, bottom = found.box
    assert abs((left + right) / 2 / info.width - 0.5) < CENTRE_TOLERANCE
    _x, eye_y = framing.eye_point(found)
    low, high = EYE_BAND[frame]
    assert low < eye_y / info.height < high, eye_y / info.height
    # the demo photo is 416 px tall: filling 720p enlarges it, and the request is told so
    assert notes and notes[0]["code"] == "upscaled" and notes[0]["params"]["height"] == 416
    assert notes[0]["params"]["scale"] > 1


def test_the_scale_follows_the_face_not_the_photo_and_big_photos_are_not_noted():
    image, face = demo()
    big = np.ascontiguousarray(np.repeat(np.repeat(image, 4, axis=0), 4, axis=1))  # 1408x1664, same framing
    big_face = face.fitted(big.shape[1], big.shape[0])
    small = framing.plan_layout(face, (352, 416), "16:9", 720)
    large = framing.plan_layout(big_face, (1408, 1664), "16:9", 720)
    assert abs(small.scale / large.scale - 4) < 0.05
    assert framing.upscale_note(large, (1408, 1664), 720) is None
    composer = framing.Composer(large, framing.colour_background("#000000", large))
    assert composer.filter == framing.cv2.INTER_AREA  # shrinking: area, not Lanczos


def test_blur_keeps_the_photos_colours(tmp_path):
    image, face = demo()
    composer, _notes = framing.prepare(framing.Format("16:9", 720, "blur"), face, image)
    _info, out = encoded_frame(composer, tmp_path, image, "blur")
    left, top, right, bottom = composer.layout.dst
    sides = np.concatenate([out[:, :left - 20].reshape(-1, 3), out[:, right + 20:].reshape(-1, 3)]).astype(float)
    border = np.concatenate([image[:, :12].reshape(-1, 3), image[:, -12:].reshape(-1, 3),
                             image[:12].reshape(-1, 3)]).astype(float)
    # the mirrored surroundings, blurred: the colours of the photo's edges, not grey nor black
    assert np.abs(sides.mean(axis=0) - border.mean(axis=0)).max() < 25, (sides.mean(axis=0), border.mean(axis=0))
    assert sides.std(axis=0).mean() > 5, "a blurred picture, not one flat colour"
    # and blurred: far less fine detail than the photo itself
    gray = out[:, :left - 20].mean(axis=2)
    assert np.abs(np.diff(gray, axis=1)).mean() < 0.5 * np.abs(np.diff(image.mean(axis=2), axis=1)).mean()


def test_a_colour_background_is_that_colour(tmp_path):
    image, face = demo()
    composer, _notes = framing.prepare(framing.Format("9:16", 720, "#1f77b4"), face, image)
    _info, out = encoded_frame(composer, tmp_path, image, "colour")
    top = composer.layout.dst[1]
    above = out[: top - 10].reshape(-1, 3).astype(float)
    assert np.abs(above.mean(axis=0) - (0x1F, 0x77, 0xB4)).max() < 4  # yuv420 rounding only
    assert above.std(axis=0).max() < 2


def test_an_image_background_covers_the_frame():
    image, face = demo()
    picture = np.zeros((300, 400, 3), np.uint8)
    picture[:, :200] = (200, 30, 30)
    picture[:, 200:] = (30, 200, 30)
    composer, _notes = framing.prepare(framing.Format("16:9", 720, framing.IMAGE, picture), face, image)
    bg = composer.background
    assert bg.shape == (720, 1280, 3)
    assert tuple(bg[10, 10]) == (200, 30, 30) and tuple(bg[10, 1270]) == (30, 200, 30)


def test_original_is_not_framed():
    assert framing.Format().is_original and framing.Format(resolution=1080).is_original


def test_burned_subtitles_follow_the_output_frame():
    image, face = demo()
    composer, _notes = framing.prepare(framing.Format("9:16", 720, "#000000"), face, image)
    plain = composer.compose(image)
    shown = next(burnin.SubtitleFilter(iter([plain]), [Cue(0.0, 2.0, ("Сәлеметсіз бе!",))], 25))
    changed = np.abs(shown.astype(int) - plain.astype(int)).max(axis=2) > 20
    rows = np.nonzero(changed.any(axis=1))[0]
    assert rows.min() > 0.8 * plain.shape[0], "the subtitle sits near the bottom of the 9:16 frame"
    # letters sized to the output frame (5 % of its height), not to the 416 px avatar
    assert rows.max() - rows.min() > 0.05 * plain.shape[0]


def test_a_video_avatar_is_framed_the_same_way(tmp_path):
    """A clip's frames composed like a photo's: the size asked for, the face centred at the eye height."""
    from generation.pipeline import runner
    from generation.pipeline.clip import inspect_video, prepare_clip
    from generation.pipeline.faces import FaceAnalyzer
    from generation.pipeline.lipsync.viseme import VisemeEngine
    from generation.pipeline.tts.registry import build_registry
    from tests import media

    # a calm presenter (little sway), 2.4 s: the shortest clip preparation takes
    made = media.moving_face(2.4, size=(320, 180), width=0.4, seed=1, sway=0.01, roll=2.0)
    clip = prepare_clip(made.data, inspect_video(made.data).demuxer, tmp_path, FaceAnalyzer())
    pipeline = runner.Pipeline(tts=build_registry("espeak"), engines={"viseme": VisemeEngine()},
                               default_engine="viseme")
    result = pipeline.run("Hello there.", "en", tmp_path / "clip.mp4", clip=(clip.data_path, clip.frames_path),
                          framing=framing.Format("9:16", 720, "blur"))
    assert (result.video.width, result.video.height) == (720, 1280)
    frame = extract_frame(result.video.path, 0.2)
    Image.fromarray(frame).save(tmp_path / "clip-9x16.png")
    found = analyze(frame)
    assert found is not None
    left, _top, right, _bottom = found.box
    assert abs((left + right) / 2 / 720 - 0.5) < 0.04  # the clip sways a little: its median face is centred
    assert 0.28 < framing.eye_point(found)[1] / 1280 < 0.44
    assert result.timings.extra["framing"] > 0
