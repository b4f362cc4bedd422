"""espeak-ng through ctypes: the default offline TTS, with phoneme timings for lip-sync.

The library and its voice data come from the `espeakng-loader` wheel (no apt). libespeak-ng keeps
all its state in C globals: it is initialised once per process and used by one caller at a time.
"""
from __future__ import annotations

import ctypes
import logging
import os
import re
import struct
import threading

import numpy as np

from ..types import Phoneme, PipelineError, Speech
from .base import TTSBackend, Voice

log = logging.getLogger(__name__)

# hyper-parameters
RATE_WPM = 160  # a little slower than espeak's 175: clearer speech, visible mouth shapes
BUFFER_MS = 100  # audio handed to the callback per call
RAND_SEED = 1  # breathy variants ("+f3") draw noise: a fixed seed keeps output repeatable
MAX_TEXT_BYTES = 100_000  # a sanity cap; the service limits text far below this

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
EVENT_LIST_TERMINATED = 0
EVENT_PHONEME = 7
EE_OK = 0

# wavegen.c keeps the pitch-flutter phase and glottal-cycle counters in C statics that no API
# resets, so the same text would come out slightly different depending on what was spoken
# before. We restore these int scalars to their post-initialisation values before each synthesis
# (addresses from the library's own symbol table); on a stripped build only repeatability is lost.
WAVEGEN_STATE = (
    "Flutter_ix", "cycle_count", "h_switch_sign", "amplitude2", "maxh", "maxh2", "agc",
    "hswitch", "wavephase", "samplecount", "samplecount_start", "nsamples", "end_wave",
)

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # \x01 would start an espeak embedded command
_STRESS_MARKS = "',%="  # espeak prefixes stressed vowels with these; lip-sync wants the phoneme


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


def _elf_objects(path: str, source_file: str) -> tuple[dict[str, tuple[int, int]], int | None]:
    """Local data symbols of `source_file` in an ELF64 .so, and the offset of espeak_Synth."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:5] != b"\x7fELF\x02":
        return {}, None
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    objects: dict[str, tuple[int, int]] = {}
    synth_offset = None
    for sec in sections:
        if sec[1] != 2:  # SHT_SYMTAB (absent when stripped)
            continue
        strtab = sections[sec[6]][4]
        current_file = None
        for off in range(sec[4], sec[4] + sec[5], 24):
            name_ix, info, _, _, value, size = struct.unpack_from("<IBBHQQ", data, off)
            start = strtab + name_ix
            name = data[start:data.index(b"\0", start)].decode("ascii", "replace")
            kind, bind = info & 0xF, info >> 4
            if kind == 4:  # STT_FILE: the local symbols that follow belong to it
                current_file = name
            elif kind == 1 and bind == 0 and current_file == source_file:
                objects[name.split(".")[0]] = (value, size)  # "Flutter_ix.5965" -> "Flutter_ix"
            elif kind == 2 and name == "espeak_Synth":
                synth_offset = value
    return objects, synth_offset


class _Engine:
    """The process's one libespeak-ng: loaded and initialised on first use, then reused."""

    def __init__(self):
        self.lock = threading.Lock()
        self.lib = None
        self.sample_rate = 0
        self._samples: list[np.ndarray] = []
        self._events: list[tuple[int, str]] = []
        self._callback = _SynthCallback(self._on_audio)  # kept referenced while the library lives
        self._state: list[tuple[int, bytes]] = []

    def _on_audio(self, wav, count, events) -> int:
        if count > 0 and wav:
            self._samples.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == EVENT_PHONEME:
                self._events.append((event.sample, event.id.string.decode("utf-8", "replace")))
            i += 1
        return 0  # 0 = go on

    def _load(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:
            raise PipelineError("espeak-ng is not installed (the espeakng-loader package).") from exc
        lib_path = espeakng_loader.get_library_path()
        lib = ctypes.CDLL(lib_path)
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        data_path = espeakng_loader.get_data_path().encode()
        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, BUFFER_MS, data_path,
                                     INITIALIZE_PHONEME_EVENTS | INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise PipelineError(f"espeak-ng failed to initialise (data at {data_path.decode()}).")
        lib.espeak_SetSynthCallback(self._callback)
        self._state = self._snapshot_wavegen(lib, lib_path)
        self.lib, self.sample_rate = lib, rate

    @staticmethod
    def _snapshot_wavegen(lib, lib_path: str) -> list[tuple[int, bytes]]:
        """(address, initial bytes) of the WAVEGEN_STATE scalars, [] when they cannot be found."""
        try:
            objects, synth_offset = _elf_objects(os.path.realpath(lib_path), "wavegen.c")
            base = ctypes.cast(lib.espeak_Synth, ctypes.c_void_p).value - synth_offset
            found = [objects[n] for n in WAVEGEN_STATE if objects.get(n, (0, 0))[1] == 4]
        except (OSError, ValueError, TypeError, IndexError, struct.error):  # an odd build: degrade
            found, base = [], 0
        if len(found) != len(WAVEGEN_STATE):
            log.warning("espeak-ng symbols not found: same text may give slightly different audio")
            return []
        return [(base + off, ctypes.string_at(base + off, size)) for off, size in found]

    def synthesize(self, text: bytes, voice: str) -> tuple[np.ndarray, list[tuple[int, str]]]:
        """int16 samples and (sample, mnemonic) phoneme events for UTF-8 `text` in `voice`."""
        with self.lock:
            if self.lib is None:
                self._load()
            lib = self.lib
            for address, initial in self._state:
                ctypes.memmove(address, initial, len(initial))
            if hasattr(lib, "espeak_ng_SetRandSeed"):
                lib.espeak_ng_SetRandSeed(ctypes.c_long(RAND_SEED))
            if lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
                raise PipelineError(f"espeak-ng has no voice {voice!r}.")
            lib.espeak_SetParameter(PARAM_RATE, RATE_WPM, 0)
            self._samples, self._events = [], []
            buf = ctypes.create_string_buffer(text)  # adds the terminating NUL
            status = lib.espeak_Synth(buf, len(text) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8 | ENDPAUSE,
                                      None, None)
            samples, events = self._samples, self._events
            self._samples, self._events = [], []
        if status != EE_OK:
            raise PipelineError(f"espeak-ng failed to synthesize (status {status}).")
        audio = np.concatenate(samples) if samples else np.zeros(0, np.int16)
        return audio, events


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
        start, end = bounds[i], max(bounds[i:i + 2])
        if not symbol or symbol.startswith("(") or end <= start:
            continue  # "(en)" marks a language switch, not a sound
        phonemes.append(Phoneme(start / sample_rate, end / sample_rate, symbol))
    return phonemes


class EspeakBackend(TTSBackend):
    """Offline formant synthesis for ru, kk and en; deterministic; reports phoneme timings."""

    name = "espeak"
    languages = tuple(VOICES)

    def voices(self, language: str) -> list[Voice]:
        """The voices of `language`, default first."""
        return [Voice(vid, title, language, self.name) for vid, title in VOICES[self.check_language(language)]]

    def synthesize(self, text: str, language: str, voice: str | None = None) -> Speech:
        """Speak `text`: float32 samples at espeak's own rate (22050 Hz) with phonemes."""
        chosen = self.resolve_voice(language, voice)
        cleaned = clean_text(text)
        if not cleaned:
            raise PipelineError("Text is empty.")
        data = cleaned.encode("utf-8")
        if len(data) > MAX_TEXT_BYTES:
            raise PipelineError(f"Text is too long for speech synthesis ({len(data)} bytes).")
        pcm, events = _engine.synthesize(data, chosen.id)
        if pcm.size == 0:
            raise PipelineError("espeak-ng produced no audio for this text.")
        samples = pcm.astype(np.float32) / 32768.0
        rate = _engine.sample_rate
        return Speech(samples, rate, phonemes_from_events(events, len(samples), rate))

    @property
    def sample_rate(self) -> int:
        """The library's output rate (22050 Hz); initialises it if needed."""
        if _engine.lib is None:
            with _engine.lock:
                if _engine.lib is None:
                    _engine._load()
        return _engine.sample_rate
