"""Long text: normalisation, sentence splitting, and joining real espeak pieces with pauses."""
import itertools

import numpy as np
import pytest

from generation.pipeline.tts.base import TTSBackend, Voice
from generation.pipeline.tts.espeak import EspeakBackend
from generation.pipeline.tts.text import (CLAUSE_PAUSE_SECONDS, DASH_PAUSE_SECONDS, ELLIPSIS_PAUSE_SECONDS,
                                          PARAGRAPH_PAUSE_SECONDS, PAUSE_SYMBOL,
                                          SENTENCE_PAUSE_SECONDS, normalize_text, ru_ordinal,
                                          split_text, synthesize_text)
from generation.pipeline.types import TEXT_EMPTY, TTS_FAILED, PipelineError, Speech


@pytest.fixture(scope="module")
def tts():
    return EspeakBackend()


def phoneme_string(tts, text, lang):
    return " ".join(p.symbol for p in tts.synthesize(text, lang).phonemes)


# --- splitting ---

def test_split_at_sentences_with_pauses():
    pieces = split_text("Привет! Как дела? Хорошо… Спасибо.\n\nНовый абзац. Конец")
    assert [p.text for p in pieces] == ["Привет!", "Как дела?", "Хорошо…", "Спасибо.", "Новый абзац.", "Конец"]
    assert [p.pause for p in pieces] == [SENTENCE_PAUSE_SECONDS] * 2 + [
        ELLIPSIS_PAUSE_SECONDS, PARAGRAPH_PAUSE_SECONDS, SENTENCE_PAUSE_SECONDS, 0.0]


def test_ellipsis_and_dash_inside_a_sentence_pause_longer():
    pieces = split_text("Я думал... нет, не так. Вот — и всё, а-ля «Ну...» и ушёл.")
    assert [(p.text, p.pause) for p in pieces] == [
        ("Я думал...", ELLIPSIS_PAUSE_SECONDS), ("нет, не так.", SENTENCE_PAUSE_SECONDS),
        ("Вот —", DASH_PAUSE_SECONDS), ("и всё, а-ля «Ну...»", ELLIPSIS_PAUSE_SECONDS), ("и ушёл.", 0.0)]
    assert CLAUSE_PAUSE_SECONDS < SENTENCE_PAUSE_SECONDS < DASH_PAUSE_SECONDS < ELLIPSIS_PAUSE_SECONDS \
        < PARAGRAPH_PAUSE_SECONDS


def test_split_keeps_initials_decimals_and_quotes_together():
    pieces = split_text("Я читал А. С. Пушкина. Цена 3.5 рубля. «Да!» — сказал он. Он ушёл.")
    assert [p.text for p in pieces] == ["Я читал А. С. Пушкина.", "Цена 3.5 рубля.",
                                        "«Да!» —", "сказал он.", "Он ушёл."]  # the dash pauses


def test_lines_are_sentences_and_punctuation_only_is_dropped():
    assert [p.text for p in split_text("1. Один\n2. Два\n…\n —")] == ["1. Один", "2. Два"]
    assert split_text("  \n\n …  ") == []


def test_long_sentence_is_cut_at_commas_then_spaces():
    sentence = ", ".join(["слово " * 8] * 20).strip() + "."
    pieces = split_text(sentence, max_chars=120)
    assert len(pieces) > 3 and all(len(p.text) <= 120 for p in pieces)
    assert all(p.pause == CLAUSE_PAUSE_SECONDS for p in pieces[:-1])
    assert " ".join(p.text for p in pieces).split() == sentence.split()
    no_commas = split_text("а" * 50 + " " + "б" * 50, max_chars=60)
    assert [p.text for p in no_commas] == ["а" * 50, "б" * 50]


# --- normalisation (checked on espeak's own phonemes where it matters) ---

@pytest.mark.parametrize("year, case, words", [
    (2024, "prep", "2020 четвёртом"), (2000, "prep", "двухтысячном"), (1990, "gen", "тысяча 900 девяностого"),
    (2013, "nom", "2000 тринадцатый"), (1900, "gen", "тысяча девятисотого"), (2003, "prep", "2000 третьем"),
    (2022, "nom", "2020 второй"), (1941, "gen", "тысяча 940 первого"), (2040, "prep", "2000 сороковом"),
])
def test_russian_year_ordinals(year, case, words):
    assert ru_ordinal(year, case) == words


def test_russian_numbers_and_abbreviations(tts):
    text = normalize_text("В 2024 году 15 участников, т.е. 21 % и т.д., см. стр. 5, № 7, 2020 г.", "ru")
    assert text == ("В 2020 четвёртом году 15 участников, то есть 21 процент и так далее, "
                    "смотри страница 5, номер 7, 2000 двадцатого года")
    said = phoneme_string(tts, text, "ru")
    assert "tS; i t v ; 8 r t V m g o d u" in said  # "четвёртом году", not "четыре году"
    assert "p ; I t n A t ts V t; u tS; A s n ; i k V f" in said  # espeak already right: 15 участников
    assert normalize_text("3 %, 5 %, 3,5 %, 11 %", "ru") == "3 процента, 5 процентов, 3,5 процента, 11 процентов"


def test_kazakh_numbers_and_abbreviations(tts):
    assert normalize_text("2024 ж. 3,5 % т.б.", "kk") == "2024 жылы 3 бүтін оннан 5 пайыз тағы басқа"
    said = phoneme_string(tts, "2024 жылы 15 қатысушы", "kk")
    assert said.startswith("j e k I m @ N Z @ j @ r m A t 8 r t")  # espeak's kk numbers are right
    assert "o n b e s" in said  # "он бес"


def test_english_numbers_and_abbreviations(tts):
    text = normalize_text("In 2024, Dr. Smith saw No. 7, e.g. in 1905 and since 2005.", "en")
    assert text == "In 20 24, Doctor Smith saw number 7, for example in 19 oh 5 and since 2005."
    said = phoneme_string(tts, text, "en")
    assert said.startswith("I n t w E n t2 i t w E n t2 i f o@")  # "twenty twenty-four"
    assert "d 0 k t 3" in said and "f O@ r E g z aa m p @L" in said


def test_other_numbers_are_left_to_espeak():
    assert normalize_text("Цена 1000 рублей в 21:30", "ru") == "Цена 1000 рублей в 21:30"
    assert normalize_text("It costs 3.5 % of 2000.", "en") == "It costs 3.5 % of 2000."


# --- synthesis ---

def test_sentences_joined_with_pauses_and_shifted_phonemes(tts):
    text = "Первое предложение. Второе предложение.\n\nНовый абзац."
    speech = synthesize_text(tts, text, "ru")
    rate = speech.sample_rate
    pauses = [p for p in speech.phonemes if p.symbol == PAUSE_SYMBOL and p.end - p.start >= 0.25]
    lengths = sorted(round(p.end - p.start, 2) for p in pauses)
    assert lengths[0] >= SENTENCE_PAUSE_SECONDS and lengths[-1] >= PARAGRAPH_PAUSE_SECONDS
    for prev, cur in itertools.pairwise(speech.phonemes):
        assert cur.start >= prev.end - 1e-6, (prev, cur)
    assert speech.phonemes[-1].end <= len(speech.samples) / rate + 1e-6
    # the inserted paragraph pause really is silence in the samples
    para = max(pauses, key=lambda p: p.end - p.start)
    gap = speech.samples[int(para.start * rate) + 10:int(para.end * rate) - 10]
    assert gap.size > 0.55 * rate and float(np.abs(gap).max()) == 0.0
    # each piece keeps its speech, loses only its edge silence: total = pieces + our pauses
    alone = [tts.synthesize(t, "ru") for t in ("Первое предложение.", "Второе предложение.", "Новый абзац.")]
    spoken = sum(len(s.samples) for s in alone) / rate
    total = len(speech.samples) / rate
    ours = SENTENCE_PAUSE_SECONDS + PARAGRAPH_PAUSE_SECONDS
    assert spoken - 1.0 < total - ours < spoken, (spoken, total)


class Fixed(TTSBackend):
    """A backend that always returns the same Speech object: espeak repeats only closely, not exactly."""

    name = "fixed"
    languages = ("ru",)

    def __init__(self):
        self.speech = Speech(np.linspace(-0.5, 0.5, 22050, dtype=np.float32), 22050, None)
        self.texts = []

    def voices(self, language):
        return [Voice("fixed", "Fixed", "ru", self.name)]

    def synthesize(self, text, language, voice=None):
        self.texts.append(text)
        return self.speech


def test_single_sentence_is_the_backend_output_as_is():
    backend = Fixed()
    out = synthesize_text(backend, "Просто одно предложение.", "ru")
    assert out is backend.speech  # no trimming, resampling or copying
    assert backend.texts == ["Просто одно предложение."]


def test_thousand_characters_in_a_few_seconds(tts):
    text = " ".join(["This is sentence number %d of a long text." % i for i in range(1, 25)])[:1000]
    speech = synthesize_text(tts, text, "en")
    assert len(speech.samples) / speech.sample_rate > 40


def test_errors(tts):
    with pytest.raises(PipelineError, match="empty") as err:
        synthesize_text(tts, " … \n\n ", "ru")
    assert err.value.code == TEXT_EMPTY
    with pytest.raises(PipelineError, match="Unknown language") as err:
        synthesize_text(tts, "Привет", "de")
    assert err.value.code == TTS_FAILED


def test_all_pieces_silent_is_a_tts_failure():
    backend = Fixed()
    backend.speech = Speech(np.zeros(22050, np.float32), 22050, None)
    with pytest.raises(PipelineError, match="silent") as err:
        synthesize_text(backend, "Первое. Второе.", "ru")
    assert err.value.code == TTS_FAILED
    assert backend.texts == ["Первое.", "Второе."]
