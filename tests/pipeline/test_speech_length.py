"""Speech length is bounded: estimated from the text before anything is spoken, measured while it is made,
and espeak reads text as text (no SSML, no phoneme input)."""
import pytest

from generation.pipeline.tts import espeak
from generation.pipeline.tts.espeak import EspeakBackend
from generation.pipeline.tts.estimate import estimate_seconds
from generation.pipeline.tts.text import split_text, synthesize_text
from generation.pipeline.types import SPEECH_TOO_LONG, PipelineError

DIGITS = "1234567 " * 125  # the finding: 1000 characters of digits made 299 s of video
LIMIT = 180  # MAX_SPEECH_SECONDS' default

TEXTS = {
    "ru": ["Привет! Как у тебя дела сегодня?",
           "Здравствуйте, меня зовут Анна. Я ваш виртуальный помощник, и сегодня я расскажу о погоде.",
           "В 2024 году цены выросли на 5%, а зарплаты — на 3%.",
           "Звоните по номеру 8 800 555 35 35.", "1234567 " * 10],
    "kk": ["Сәлеметсіз бе! Бүгін ауа райы жақсы.", "Кітапханада көптеген қызықты кітаптар бар, келіңіздер.",
           "2024 жылы біз жаңа үй салдық.", "1234567 " * 10],
    "en": ["Hello! How are you doing today?",
           "Artificial intelligence is changing the way people communicate with computers and each other.",
           "Please call us on 555 0199 between 9 and 5.", "1234567 " * 10],
}


@pytest.fixture(scope="module")
def tts():
    return EspeakBackend()


def seconds(speech) -> float:
    return len(speech.samples) / speech.sample_rate


@pytest.mark.parametrize("language", sorted(TEXTS))
def test_the_estimate_is_near_the_measured_speech(tts, language):
    for text in TEXTS[language]:
        measured = seconds(synthesize_text(tts, text, language))
        estimate = estimate_seconds(text, language)
        assert 0.6 * measured <= estimate <= 1.5 * measured, (text, estimate, measured)


@pytest.mark.parametrize("language", sorted(TEXTS))
def test_a_thousand_characters_of_digits_are_over_the_limit_before_anything_is_spoken(tts, language):
    assert estimate_seconds(DIGITS, language) > LIMIT
    assert estimate_seconds("Привет! " * 100 if language != "en" else "Hello! " * 100, language) < LIMIT


class CountingBackend:
    """espeak, counting the pieces it is asked to speak."""

    def __init__(self, backend):
        self.backend, self.calls = backend, 0

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def synthesize(self, *args, **kwargs):
        self.calls += 1
        return self.backend.synthesize(*args, **kwargs)


def test_measured_speech_over_the_limit_stops_synthesis_early(tts):
    text = ". ".join(["Один два три четыре пять шесть семь восемь девять десять"] * 40) + "."
    counting = CountingBackend(tts)
    with pytest.raises(PipelineError) as failed:
        synthesize_text(counting, text, "ru", max_seconds=10)
    assert failed.value.code == SPEECH_TOO_LONG and failed.value.params["limit"] == 10
    assert counting.calls < len(split_text(text)) / 2  # it stopped, it did not speak all 40 sentences first
    with pytest.raises(PipelineError):  # one piece alone over the limit fails too
        synthesize_text(tts, "1234567 " * 5, "en", max_seconds=5)
    assert seconds(synthesize_text(tts, "Привет!", "ru", max_seconds=10)) < 10


def test_espeak_gets_neither_ssml_nor_phoneme_input(tts):
    assert espeak.SYNTH_FLAGS & (espeak.SSML | espeak.PHONEMES) == 0
    # two <break>s obeyed are 60 s of silence; read as text it is a few words (7 s)
    assert seconds(tts.synthesize('<speak><break time="30s"/>Hi<break time="30s"/></speak>', "en")) < 20
    hello = [p.symbol for p in tts.synthesize("hello", "en").phonemes if not p.symbol.startswith("_")]
    bracketed = [p.symbol for p in tts.synthesize("[[h@l'oU]]", "en").phonemes if not p.symbol.startswith("_")]
    assert bracketed != hello  # phoneme input would have said exactly "hello"; text reads the letters
