"""Lip shapes per sound and per language on real espeak-ng speech (ru, kk, en): the mouth track the
viseme engine draws from, and the warped lips of the demo photo for rounding and spreading."""
from __future__ import annotations

import functools

import numpy as np
import pytest

from generation.pipeline.audio import prepare
from generation.pipeline.faces import FaceAnalyzer
from generation.pipeline.images import demo_avatar_image
from generation.pipeline.lipsync import visemes_table as T
from generation.pipeline.lipsync.phoneme_timing import refine_boundaries
from generation.pipeline.lipsync.viseme import VisemeEngine
from generation.pipeline.lipsync.viseme_track import mouth_track
from generation.pipeline.tts.espeak import EspeakBackend

FPS = 25


@functools.lru_cache(maxsize=None)
def spoken(text: str, language: str):
    """(16 kHz audio, its mouth track) of espeak speaking `text`."""
    audio = prepare(EspeakBackend().synthesize(text, language))
    return audio, mouth_track(audio, FPS)


def frames_of(audio, symbols, language=None):
    """Indices of the frames shown while phonemes with these symbols sound (refined onto the audio)."""
    refined = refine_boundaries(audio.phonemes, audio.samples, language)
    centres = (np.arange(int(audio.duration * FPS) + 1) + 0.5) / FPS
    out = []
    for p in refined:
        if p.symbol in symbols or T.bare(p.symbol) in symbols:
            idx = np.flatnonzero((centres >= p.start) & (centres < p.end))
            out.append(idx if len(idx) else np.array([int((p.start + p.end) / 2 * FPS)]))
    return out


@pytest.fixture(scope="module")
def demo():
    image = demo_avatar_image()
    face = FaceAnalyzer().analyze(image)
    engine = VisemeEngine()
    return engine, engine.prepare(image, face)


def mouth_width(engine, state, weights) -> float:
    """Corner-to-corner width (px) of the warped outer lips for basis weights."""
    from generation.pipeline.lipsync import viseme_mesh as M

    dst = state.mouth.displaced(np.asarray(weights, float))
    return float(np.linalg.norm(dst[M.lip_vertex(54)] - dst[M.lip_vertex(48)]))


def test_mama_opens_between_the_ms():
    audio, track = spoken("мама", "ru")
    vowels = frames_of(audio, {"A", "a#"}, "ru")
    closures = frames_of(audio, {"m"}, "ru")
    assert len(vowels) == 2 and len(closures) == 2
    for idx in vowels:
        assert track.open[idx].max() > 0.45  # each «а» opens, even the 30 ms unstressed one
    for idx in closures[1:]:  # the first «м» starts the word: the lips are shut anyway
        near = np.arange(idx.min() - 1, idx.max() + 2)  # within a frame of it
        assert track.open[near].min() < 0.1 and track.press[near].max() > 0.5


def test_stressed_vowels_open_more_than_unstressed():
    # «молоко»: only the last «о» is stressed; «мама»: only the first «а»
    for text in ("мама", "папа"):
        audio, track = spoken(text, "ru")
        stressed = [p for p in audio.phonemes if p.stress == 2]
        assert len(stressed) == 1
        first, second = frames_of(audio, {"A", "a#"}, "ru")
        assert track.open[first].max() > track.open[second].max() + 0.05
    assert T.stress_gain(2) > T.stress_gain(1) > T.stress_gain(0)


def test_o_and_u_narrow_the_mouth_y_does_not(demo):
    engine, state = demo
    rest = mouth_width(engine, state, np.zeros(5))
    audio, track = spoken("он сук мыло", "ru")
    for symbols in ({"o"}, {"u"}):
        idx = frames_of(audio, symbols, "ru")[0]
        i = idx[np.argmax(track.round[idx])]
        assert track.round[i] > 0.7
        assert mouth_width(engine, state, engine.mouth_weights(track, i)) <= 0.85 * rest
    ы = frames_of(audio, {"y"}, "ru")[0]
    assert track.round[ы].max() < 0.1 and track.spread[ы].max() > 0.4  # «ы» is spread, not rounded like «у»
    i = ы[np.argmax(track.spread[ы])]
    assert mouth_width(engine, state, engine.mouth_weights(track, i)) > rest


def test_f_and_v_tuck_the_lower_lip():
    audio, track = spoken("фото вода", "ru")
    for symbols in ({"f"}, {"v"}):
        idx = frames_of(audio, symbols, "ru")[0]
        i = idx[np.argmax(track.tuck[idx])]
        assert track.tuck[i] > 0.5 and track.open[i] < 0.2
    vowels = np.concatenate(frames_of(audio, {"o", "V", "A"}, "ru"))
    assert track.tuck[vowels].min() < 0.2


def test_tongue_shows_for_t_d_n_l_r():
    audio, track = spoken("тут дело", "ru")
    for symbols in ({"t"}, {"d"}, {"l"}):
        assert track.tongue[frames_of(audio, symbols, "ru")[0]].max() > 0.5
    assert 0.0 <= track.tongue.min() and track.tongue.max() <= 1.0 and len(track.tongue) == len(track)


def test_kazakh_rounded_and_spread_vowels():
    audio, track = spoken("өз түс ұл әке іні", "kk")
    assert T.guess_language(p.symbol for p in audio.phonemes) == "kk"
    for symbol in ("8", "u#", "U"):  # ө ү ұ
        idx = frames_of(audio, {symbol}, "kk")[0]
        assert track.round[idx].max() > 0.7 and track.spread[idx].max() < 0.1, symbol
    for symbol in ("&", "I"):  # ә і
        idx = frames_of(audio, {symbol}, "kk")[0]
        i = idx[np.argmax(track.spread[idx])]  # the frame where it is spread most (ә follows the ұ of «ұл»)
        assert track.spread[i] > 0.4 and track.round[i] < 0.15, symbol


def test_pauses_close_the_mouth():
    audio, track = spoken("Мама. Папа.", "ru")
    pause = max((p for p in audio.phonemes if p.symbol.startswith("_")), key=lambda p: p.end - p.start)
    assert pause.end - pause.start > 0.15
    mid = np.arange(int((pause.start + 0.1) * FPS) + 1, int((pause.end - 0.1) * FPS))
    assert len(mid) and track.open[mid].max() < 0.05


def test_tables_cover_each_language():
    assert T.viseme("y", "ru").spread > 0.4 and T.viseme("y", "ru").round == 0  # ы
    assert T.viseme("@", "kk").round == 0  # ы
    for language in ("ru", "kk", "en"):
        assert T.viseme("m", language).kind == T.CLOSURE and T.viseme("f", language).tuck == 1.0
        assert T.viseme("'a", language).open > 0.8 and T.viseme("_:", language).kind == T.PAUSE
    for text, language in (("Привет, как дела?", "ru"), ("Hello, how are you?", "en")):
        audio = prepare(EspeakBackend().synthesize(text, language))
        assert T.guess_language(p.symbol for p in audio.phonemes) == language


@pytest.mark.parametrize("text,language", [("Папа и мама были в парке. Мы поможем бабушке.", "ru"),
                                           ("Балалар бақшада ойнап жүр, апам бал әкелді.", "kk")])
def test_every_bilabial_shuts_a_frame_however_short(text, language):
    # espeak's п lasts 25-35 ms, under a frame: averaged with its vowels it stayed a fifth open
    audio, track = spoken(text, language)
    # timed as the track times them: espeak's boundaries refined onto the audio (its closures are silences)
    refined = refine_boundaries(audio.phonemes, audio.samples, language)
    closures = [p for p in refined if T.viseme(p.symbol, language).kind == T.CLOSURE and p.end > p.start]
    assert len(closures) >= 6
    for p in closures:
        middle = int(round((p.start + p.end) / 2 * FPS))
        near = track.open[max(0, middle - 1):middle + 2]
        assert near.min() < 0.02, (p.symbol, p.start, near)
