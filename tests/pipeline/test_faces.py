"""Face analysis with real dlib on the real demo photo; image loading through real Pillow codecs."""
import io

import cv2
import numpy as np
import pytest
from PIL import Image

from generation.pipeline import faces
from generation.pipeline.images import demo_avatar_image, draw_face_preview, load_image
from generation.pipeline.types import (AVATAR_UNREADABLE, ENGINE_UNAVAILABLE, FACE_NOT_FOUND, FACE_TOO_SMALL, Face,
                                       PipelineError, Speech)


@pytest.fixture(scope="module")
def analyzer():
    return faces.FaceAnalyzer()


@pytest.fixture(scope="module")
def avatar():
    return demo_avatar_image()


@pytest.fixture(scope="module")
def face(analyzer, avatar):
    return analyzer.analyze(avatar)


def _jpeg_bytes(rgb: np.ndarray, orientation: int | None = None) -> bytes:
    buf = io.BytesIO()
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation  # EXIF Orientation tag
    Image.fromarray(rgb).save(buf, "JPEG", quality=95, exif=exif.tobytes())
    return buf.getvalue()


def test_models_found_without_importing_package():
    import sys

    path = faces.landmarks_model_path()
    assert path.name == "shape_predictor_68_face_landmarks.dat" and path.stat().st_size > 90_000_000
    assert "face_recognition_models" not in sys.modules


def test_demo_avatar_is_even_portrait(avatar):
    h, w, c = avatar.shape
    assert (c, h % 2, w % 2) == (3, 0, 0)
    assert h > w >= 320 and avatar.dtype == np.uint8


def test_demo_avatar_has_one_centred_face(analyzer, avatar, face):
    assert len(analyzer.detect(avatar)) == 1
    assert face is not None and face.image_size == (avatar.shape[1], avatar.shape[0])
    left, top, right, bottom = face.box
    assert 0 <= left < right <= avatar.shape[1] and 0 <= top < bottom <= avatar.shape[0]
    assert right - left >= 60  # big enough for lip-sync crops
    cx, cy = (left + right) / 2, (top + bottom) / 2
    assert abs(cx - avatar.shape[1] / 2) < avatar.shape[1] * 0.1  # centred horizontally
    assert cy < avatar.shape[0] / 2  # face in the upper half: head and shoulders


def test_landmarks_follow_ibug_layout(face):
    pts = face.landmarks
    assert pts.shape == (68, 2) and pts.dtype == np.float32
    left, top, right, bottom = face.box
    margin = 0.25 * (right - left)  # the jaw line may dip a little below dlib's box
    assert np.all(pts[:, 0] > left - margin) and np.all(pts[:, 0] < right + margin)
    assert np.all(pts[:, 1] > top - margin) and np.all(pts[:, 1] < bottom + margin)
    jaw_x = pts[0:17, 0]
    assert np.all(np.diff(jaw_x) >= 0), "jaw 0..16 runs left to right (its ends are near vertical)"
    assert jaw_x[16] - jaw_x[0] > 0.7 * (right - left)
    assert pts[8, 1] == pts[0:17, 1].max(), "chin (8) is the lowest jaw point"
    eyes_y = pts[36:48, 1].mean()
    nose_tip_y = pts[30, 1]
    mouth_y = pts[48:68, 1].mean()
    assert eyes_y < nose_tip_y < mouth_y < pts[8, 1]
    assert pts[36:42, 0].mean() < pts[27:36, 0].mean() < pts[42:48, 0].mean(), "right eye, nose, left eye"
    assert pts[48, 0] < pts[54, 0], "mouth corners left to right"
    assert pts[62, 1] <= pts[66, 1] + 1, "inner upper lip above inner lower lip"
    assert pts[17:27, 1].mean() < eyes_y, "brows above eyes"


def test_flat_grey_image_has_no_face(analyzer):
    assert analyzer.analyze(np.full((300, 240, 3), 128, np.uint8)) is None


def test_largest_face_wins(analyzer, avatar):
    big = cv2.resize(avatar, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)
    canvas = np.full((big.shape[0], avatar.shape[1] + big.shape[1], 3), 200, np.uint8)
    canvas[: avatar.shape[0], : avatar.shape[1]] = avatar
    canvas[:, avatar.shape[1]:] = big
    assert len(analyzer.detect(canvas)) == 2
    found = analyzer.analyze(canvas)
    assert found.box[0] >= avatar.shape[1], "the bigger copy (right half) wins"
    assert found.box[2] - found.box[0] > 120


def test_small_image_found_by_upsampling(analyzer, avatar, face):
    small = cv2.resize(avatar, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    found = analyzer.analyze(small)
    assert found is not None
    assert np.abs(found.landmarks * 2 - face.landmarks).mean() < 6


def test_big_image_detected_downscaled_and_mapped_back(analyzer, avatar, face):
    big = cv2.resize(avatar, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    assert max(big.shape[:2]) > faces.MAX_DETECT_SIDE
    found = analyzer.analyze(big)
    assert found.image_size == (big.shape[1], big.shape[0])
    assert np.abs(found.landmarks / 3 - face.landmarks).mean() < 3
    assert abs(found.box[0] / 3 - face.box[0]) < 6 and abs(found.box[3] / 3 - face.box[3]) < 6


def test_box_clamped_when_face_touches_edge(analyzer, avatar, face):
    left = face.box[0] + 20
    cut = np.ascontiguousarray(avatar[:, left:])
    found = analyzer.analyze(cut)
    assert found is not None
    assert found.box[0] == 0 and found.box[2] <= cut.shape[1]


def test_accepts_grey_and_rgba_arrays(analyzer, avatar):
    grey = cv2.cvtColor(avatar, cv2.COLOR_RGB2GRAY)
    assert analyzer.analyze(grey) is not None
    rgba = np.dstack([avatar, np.full(avatar.shape[:2], 255, np.uint8)])
    assert analyzer.analyze(rgba) is not None


def test_module_level_analyze_face_reuses_one_analyzer(avatar, face):
    first = faces.analyze_face(avatar)
    assert faces.default_analyzer() is faces.default_analyzer()
    assert first.box == face.box


def test_face_round_trips_through_dict(face):
    again = Face.from_dict(face.to_dict())
    assert again.box == face.box and np.allclose(again.landmarks, face.landmarks, atol=0.01)


def test_exif_rotated_jpeg_loads_upright(analyzer, avatar):
    # Stored sideways (rotated 90 degrees counter-clockwise) with Orientation=6 "rotate 90 CW to view"
    sideways = np.ascontiguousarray(np.rot90(avatar, 1))
    data = _jpeg_bytes(sideways, orientation=6)
    assert analyzer.analyze(load_image(data).copy()) is not None
    assert analyzer.analyze(np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))) is None
    upright = load_image(data)
    assert upright.shape == avatar.shape
    assert np.abs(upright.astype(int) - avatar).mean() < 6


def test_exif_orientation_markers(tmp_path):
    img = np.zeros((20, 40, 3), np.uint8)
    img[:, :20] = (255, 0, 0)  # left half red, right half blue
    img[:, 20:] = (0, 0, 255)
    path = tmp_path / "rot.jpg"
    path.write_bytes(_jpeg_bytes(np.ascontiguousarray(np.rot90(img, 1)), orientation=6))
    out = load_image(path)
    assert out.shape == (20, 40, 3)
    assert out[10, 5, 0] > 200 and out[10, 5, 2] < 60
    assert out[10, 35, 2] > 200 and out[10, 35, 0] < 60


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L", "P", "CMYK", "I;16"])
def test_any_mode_becomes_rgb(mode):
    src = Image.new("RGB", (30, 20), (200, 40, 10))
    if mode in ("RGBA", "LA"):
        img = Image.new(mode, (30, 20), (0,) * len(mode))  # fully transparent
    elif mode == "I;16":
        img = Image.fromarray(np.full((20, 30), 65535, np.uint16))
    else:
        img = src.convert(mode)
    buf = io.BytesIO()
    img.save(buf, "TIFF" if mode == "CMYK" else "PNG")
    out = load_image(buf.getvalue())
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8
    if mode in ("RGBA", "LA", "I;16"):
        assert out.min() >= 250, "transparent composited on white; 16-bit white stays white"
    elif mode != "L":
        assert abs(int(out[5, 5, 0]) - 200) < 25 and out[5, 5, 2] < 64  # palette quantisation


def test_garbage_bytes_raise_pipeline_error():
    with pytest.raises(PipelineError) as err:
        load_image(b"this is not an image")
    assert err.value.code == AVATAR_UNREADABLE
    with pytest.raises(PipelineError) as err:
        faces.as_rgb_uint8(np.zeros((4, 4, 2), np.uint8))
    assert err.value.code == AVATAR_UNREADABLE


def test_face_errors_carry_codes(tmp_path, analyzer, avatar, face):
    from generation.pipeline.lipsync.viseme import VisemeEngine
    from generation.pipeline.runner import Pipeline

    pipeline = Pipeline(tts=None, engines={"viseme": VisemeEngine()}, default_engine="viseme",
                        analyzer_factory=lambda: analyzer)
    with pytest.raises(PipelineError) as err:
        pipeline.engine("no-such-engine")
    assert err.value.code == ENGINE_UNAVAILABLE
    tone = (0.3 * np.sin(np.arange(16000) * 0.1)).astype(np.float32)
    with pytest.raises(PipelineError) as err:  # a plain grey picture: nobody there
        pipeline.run("", "en", tmp_path / "x.mp4", image=np.full((120, 160, 3), 128, np.uint8),
                     speech=Speech(tone, 16000))
    assert err.value.code == FACE_NOT_FOUND
    with pytest.raises(PipelineError) as err:
        pipeline.run("", "en", tmp_path / "x.mp4", image_path=tmp_path / "missing.png", speech=Speech(tone, 16000))
    assert err.value.code == AVATAR_UNREADABLE
    # the same face shrunk to a few pixels around its centre: no mouth to move
    centre = face.landmarks.mean(axis=0)
    tiny = Face(face.box, (centre + (face.landmarks - centre) * 0.03).astype(np.float32), face.image_size)
    with pytest.raises(PipelineError) as err:
        VisemeEngine().prepare(avatar, tiny)
    assert err.value.code == FACE_TOO_SMALL


def test_draw_face_preview_marks_landmarks_without_touching_input(avatar, face):
    before = avatar.copy()
    out = draw_face_preview(avatar, face)
    assert np.array_equal(avatar, before)
    changed = np.any(out != avatar, axis=-1)
    for x, y in face.landmarks.astype(int):
        assert changed[y, x]
    assert changed[face.box[1], (face.box[0] + face.box[2]) // 2], "box top edge drawn"
    assert np.array_equal(draw_face_preview(avatar, None), avatar)
