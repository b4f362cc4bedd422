"""The espeak-ng backend on real synthesis: audio, phoneme timings, voices, errors, determinism."""
import itertools

import numpy as np
import pytest

from generation.pipeline.tts import get_backend
from generation.pipeline.tts.base import TTSBackend, Voice
from generation.pipeline.tts.espeak import EspeakBackend, clean_text, phonemes_from_events
from generation.pipeline.types import PipelineError

PHRASES = {
    "ru": "Привет! Я говорящий аватар.",
    "kk": "Сәлеметсіз бе! Мен сөйлейтін аватармын.",
    "en": "Hello! I am a talking avatar.",
}
MIN_RMS = 0.02  # espeak speech sits around 0.08; silence or a broken callback would be ~0


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


@pytest.fixture(scope="module")
def tts() -> EspeakBackend:
    return get_backend("espeak")


@pytest.fixture(scope="module")
def speeches(tts):
    return {lang: tts.synthesize(text, lang) for lang, text in PHRASES.items()}


def assert_phonemes_valid(phonemes, duration):
    assert phonemes, "no phoneme timings"
    for prev, cur in itertools.pairwise(phonemes):
        assert cur.start >= prev.end - 1e-9, (prev, cur)
    for p in phonemes:
        assert 0.0 <= p.start < p.end <= duration + 1e-9, p
        assert p.symbol and p.symbol[0] not in "',(", p


@pytest.mark.parametrize("language", list(PHRASES))
def test_speaks_each_language(speeches, language):
    speech = speeches[language]
    duration = len(speech.samples) / speech.sample_rate
    assert speech.sample_rate == 22050
    assert speech.samples.dtype == np.float32 and speech.samples.ndim == 1
    assert np.abs(speech.samples).max() <= 1.0
    assert 1.0 <= duration <= 6.0
    assert rms(speech.samples) > MIN_RMS
    assert_phonemes_valid(speech.phonemes, duration)
    sounds = [p for p in speech.phonemes if not p.symbol.startswith("_")]
    assert len(sounds) >= 15  # every phrase has well over 15 sounds
    # the phonemes cover the speech: the last sound ends within the final pause
    assert sounds[-1].end > duration - 0.6


def test_english_phoneme_mnemonics(tts):
    speech = tts.synthesize("Hello world", "en")
    symbols = [p.symbol for p in speech.phonemes if not p.symbol.startswith("_")]
    assert symbols == ["h", "@", "l", "oU", "w", "3:", "l", "d"]


def test_phoneme_times_match_the_audio(tts):
    # the sentence pause must be quiet and the vowels loud at the times the events report
    speech = tts.synthesize("Mama. Papa.", "en")
    sr, x = speech.sample_rate, speech.samples

    def level(p):
        return rms(x[int(p.start * sr): int(p.end * sr)])

    pauses = [p for p in speech.phonemes if p.symbol.startswith("_") and p.end - p.start > 0.1]
    vowels = [p for p in speech.phonemes if p.symbol.startswith(("a", "A", "0", "V"))]
    assert pauses and vowels, [p.symbol for p in speech.phonemes]
    quietest_vowel = min(level(p) for p in vowels)
    assert all(level(p) < quietest_vowel / 5 for p in pauses)


def test_unknown_language_names_the_allowed_ones(tts):
    with pytest.raises(PipelineError) as err:
        tts.synthesize("Hallo", "de")
    assert all(lang in str(err.value) for lang in ("ru", "kk", "en"))
    with pytest.raises(PipelineError):
        tts.voices("xx")


def test_unknown_voice_names_the_allowed_ones(tts):
    with pytest.raises(PipelineError) as err:
        tts.synthesize("Привет", "ru", voice="en-us")  # a real espeak voice, but not a Russian one
    assert "ru+f3" in str(err.value)


def test_every_listed_voice_speaks_and_variants_differ(tts):
    assert isinstance(tts, TTSBackend) and tts.languages == ("ru", "kk", "en")
    for language, text in PHRASES.items():
        voices = tts.voices(language)
        assert voices[0] == tts.default_voice(language)
        assert len({v.id for v in voices}) == len(voices) >= 2
        outputs = []
        for voice in voices:
            assert voice == Voice(voice.id, voice.name, language, "espeak")
            speech = tts.synthesize(text, language, voice.id)
            assert rms(speech.samples) > MIN_RMS, voice
            outputs.append(speech.samples)
        assert not np.array_equal(outputs[0][:20000], outputs[1][:20000])


def test_same_text_gives_identical_samples(tts):
    first = tts.synthesize(PHRASES["ru"], "ru")
    tts.synthesize("Something else entirely, to move the synthesizer's state on.", "en", "en-us+f3")
    tts.synthesize(PHRASES["ru"], "ru", "ru+f3")
    again = tts.synthesize(PHRASES["ru"], "ru")
    assert np.array_equal(first.samples, again.samples)
    assert first.phonemes == again.phonemes
    # the breathy female variant draws noise: it must repeat too
    a, b = (tts.synthesize(PHRASES["kk"], "kk", "kk+f3") for _ in range(2))
    assert np.array_equal(a.samples, b.samples)


def test_long_text(tts):
    text = ("Съешь же ещё этих мягких французских булок, да выпей чаю. " * 20)[:1000]
    speech = tts.synthesize(text, "ru")
    duration = len(speech.samples) / speech.sample_rate
    assert 30 < duration < 120
    assert_phonemes_valid(speech.phonemes, duration)
    assert speech.phonemes[-1].end > duration - 1.0  # timings did not stop or wrap part-way


def test_odd_characters(tts):
    speech = tts.synthesize("Hello\x00 \x01world\x07 \ud800 😀\n\t", "en")
    symbols = [p.symbol for p in speech.phonemes]
    assert "h" in symbols and "w" in symbols  # text after the NUL is still spoken
    assert clean_text("  a\x00b\n\tc \x01 ") == "a b c"
    for empty in ("", "   \n\t", "\x00\x01"):
        with pytest.raises(PipelineError, match="empty"):
            tts.synthesize(empty, "en")


def test_phonemes_from_events_drops_markers_and_zero_lengths():
    events = [(0, "(en)"), (0, "h"), (2205, "'oU"), (4410, "_"), (4410, "_:")]
    phonemes = phonemes_from_events(events, 6615, 22050)
    assert [(p.symbol, round(p.start, 2), round(p.end, 2)) for p in phonemes] == [
        ("h", 0.0, 0.1), ("oU", 0.1, 0.2), ("_:", 0.2, 0.3)]


def test_registry():
    assert isinstance(get_backend("espeak"), EspeakBackend)
    with pytest.raises(PipelineError, match="espeak"):
        get_backend("nope")
