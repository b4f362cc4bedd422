"""Burned-in subtitles: drawn in the bottom band only, while their cue is on, with every ru/kk letter in the font."""
import numpy as np
import pytest
from PIL import Image, ImageFont

from generation.pipeline import burnin
from generation.pipeline.captions import Cue
from generation.pipeline.images import demo_avatar_image

KAZAKH = "әғқңөұүһіӘҒҚҢӨҰҮҺІ"
RUSSIAN = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяЁЖЩЪ"
CUES = [Cue(0.2, 1.0, ("Сәлеметсіз бе! Әке, ғылым, қала,", "өң, ұлы, үй, һәм, ін")),
        Cue(1.2, 2.0, ("Привет! Съешь ещё мягких булок.",))]


def burned(frames, cues=CUES, fps=25):
    return list(burnin.SubtitleFilter(frames, cues, fps))


def test_font_is_dejavu_with_every_kazakh_and_russian_letter():
    from fontTools.ttLib import TTFont

    path = burnin.find_font()
    assert path.name == "DejaVuSans-Bold.ttf"
    cmap = TTFont(path).getBestCmap()
    assert [c for c in KAZAKH + RUSSIAN if ord(c) not in cmap] == []
    font = ImageFont.truetype(str(path), 40)
    missing = np.asarray(font.getmask("\ue000"))  # a private-use code point: the font's "no glyph" box
    for letter in KAZAKH:
        mask = np.asarray(font.getmask(letter))
        assert mask.any() and (mask.shape != missing.shape or not np.array_equal(mask, missing)), letter


@pytest.mark.parametrize("cue_index, at", [(0, 0.5), (1, 1.5)])
def test_text_is_drawn_in_the_bottom_band_only_while_its_cue_is_on(cue_index, at):
    photo = demo_avatar_image()
    frames = [photo] * 60
    out = burned(frames)
    frame = out[round(at * 25)]
    diff = np.abs(frame.astype(int) - photo.astype(int)).sum(axis=2)
    rows = np.flatnonzero(diff.any(axis=1))
    height = photo.shape[0]
    assert rows.size and rows[0] > height * 0.6 and rows[-1] < height  # a band near the bottom, nothing above it
    band = frame[rows[0]:rows[-1] + 1]
    assert (band.min(axis=2) > 230).sum() > 200  # white letters ...
    assert (band.max(axis=2) < 40).sum() > 200  # ... with a dark outline on a darkened box
    for quiet in (0, 27, 55):  # before the first cue, between the cues, after the last
        assert np.array_equal(out[quiet], photo)
    assert np.array_equal(frames[0], demo_avatar_image())  # the input frames are not drawn on


def test_kazakh_letters_are_shaped_not_boxes(tmp_path):
    width, height = 640, 360
    blank = np.full((height, width, 3), 128, np.uint8)
    kazakh = burned([blank], [Cue(0.0, 1.0, ("әғқңөұүһі",))])[0]
    lookalike = burned([blank], [Cue(0.0, 1.0, ("эгкноууhi",))])[0]  # their Russian/Latin bases
    assert not np.array_equal(kazakh, lookalike)  # diacritics and hooks are really there
    Image.fromarray(kazakh).save(tmp_path / "kazakh.png")


def test_size_follows_the_frame_and_long_lines_fit_narrow_frames():
    wide = burnin.render(("Привет!",), 1280, 720)
    small = burnin.render(("Привет!",), 640, 360)
    assert wide.keep.shape[0] > 1.7 * small.keep.shape[0]
    narrow = burnin.render(("Сәлеметсіз бе! Мен сөйлейтін аватармын.",), 240, 426)
    assert narrow.keep.shape[1] <= 240 * burnin.MAX_WIDTH_SHARE + 1 and narrow.left >= 0


def test_a_cue_is_rendered_once_per_cue_not_per_frame(monkeypatch):
    calls = []
    real = burnin.render
    monkeypatch.setattr(burnin, "render", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    burned([demo_avatar_image()] * 60)
    assert calls == [CUES[0].lines, CUES[1].lines]



def test_the_pipeline_burns_them_into_the_mp4_and_returns_the_cues(tmp_path):
    from generation.pipeline.runner import Pipeline, build_engines, PipelineConfig
    from generation.pipeline.tts.espeak import EspeakBackend
    from generation.pipeline.video import extract_frame

    engines, default = build_engines(PipelineConfig(lipsync_engine="viseme"))
    pipeline = Pipeline(EspeakBackend(), engines, default)
    photo = demo_avatar_image()
    text = "Сәлеметсіз бе! Мен сөйлейтін аватармын."
    plain = pipeline.run(text, "kk", tmp_path / "plain.mp4", image=photo, avatar_key="demo", seed=1)
    burn = pipeline.run(text, "kk", tmp_path / "burn.mp4", image=photo, avatar_key="demo", seed=1, subtitles="burn")
    assert [c.lines for c in burn.captions] == [("Сәлеметсіз бе!",), ("Мен сөйлейтін аватармын.",)]
    assert [c.lines for c in plain.captions] == [c.lines for c in burn.captions]  # captions either way
    assert "subtitles" in burn.timings.extra and "subtitles" not in plain.timings.extra
    at = (burn.captions[1].start + burn.captions[1].end) / 2
    a, b = (extract_frame(tmp_path / f"{n}.mp4", at).astype(int) for n in ("plain", "burn"))
    diff = np.abs(a - b).mean(axis=2)
    height = a.shape[0]
    assert diff[int(height * 0.8):].mean() > 15  # the subtitle band changed a lot
    assert diff[: int(height * 0.6)].mean() < 2  # the face above it did not (only encoder noise)
    Image.fromarray(b.astype(np.uint8)).save(tmp_path / "burned-frame.png")
