"""Captions: the user's words, timed against the speech, as cues of at most two short lines; WebVTT and SRT.

Timings come from the synthesizer's word events where it reports them (espeak); otherwise (remote or
piper TTS, an uploaded recording) from the text's sentences laid over the audio's pauses, words spread
by length within each sentence. Either way the text shown is the user's own, as typed: "2024" stays
"2024" although espeak was given, and said, "двадцать двадцать четвёртом".

WebVTT is written (and, in tests, read) with webvtt-py, which also refuses what would break a player
(an empty line or "-->" inside a cue). SRT is written here: webvtt-py's SRT writer drops anything
that looks like a tag, and "<3" or "a<b>c" in the user's text must stay as typed.
"""
from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass

import numpy as np

from .audio import frame_rms
from .tts.text import split_text
from .types import SAMPLE_RATE, Audio, Word

log = logging.getLogger(__name__)

# hyper-parameters
MAX_LINE_CHARS = 42  # the broadcast rule of thumb for one subtitle line
MAX_LINES = 2
MAX_CUE_SECONDS = 6.0  # a longer cue is split even when its text would fit
BREAK_PAUSE_SECONDS = 0.8  # a silence this long inside a sentence starts a new cue
HOLD_SECONDS = 0.4  # a cue stays up this long after its last word, unless the next one starts
MIN_CUE_SECONDS = 0.8  # ... and at least this long in all, if there is room before the next one
PAUSE_FRAME_SECONDS = 0.01  # energy frames for finding pauses in audio without word timings
PAUSE_REL_DB = -30.0  # a frame this far below the loudest one is silence
PAUSE_ABS_DBFS = -50.0  # ... and so is anything under this level
MIN_PAUSE_SECONDS = 0.12  # shorter dips are stops inside words, not pauses
PAUSE_LENGTH_BONUS = 1.0  # when matching sentence ends to pauses, a longer pause wins by this much per second

_KEY = re.compile(r"\W+")


@dataclass(frozen=True)
class TimedWord:
    """One word of the user's text with its time in the audio; `last` ends a sentence."""

    start: float
    end: float
    text: str
    last: bool = False


@dataclass(frozen=True)
class Cue:
    """One caption: shown from `start` to `end` seconds, one or two lines."""

    start: float
    end: float
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


# --- the user's words ------------------------------------------------------------------------------

def _hard_split(token: str) -> list[str]:
    """A token longer than a line (a URL, a run of letters) in line-sized pieces."""
    return [token[i:i + MAX_LINE_CHARS] for i in range(0, len(token), MAX_LINE_CHARS)] or [token]


def text_words(text: str) -> list[tuple[str, bool]]:
    """The user's words in order as (word, ends a sentence), sentences as the TTS split them."""
    words = []
    for piece in split_text(text or ""):
        tokens = [part for token in piece.text.split() for part in _hard_split(token)]
        words += [(token, i == len(tokens) - 1) for i, token in enumerate(tokens)]  # "т.е." inside is no end
    return words


def _key(token: str) -> str:
    """What two spellings of a word share for alignment: lower case, letters and digits only."""
    return _KEY.sub("", token.lower())


def _spread(tokens: list[tuple[str, bool]], start: float, end: float) -> list[TimedWord]:
    """Words over [start, end], each given time in proportion to its length."""
    weights = np.array([len(t) + 1 for t, _ in tokens], dtype=float)
    edges = start + (end - start) * np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum()
    return [TimedWord(float(edges[i]), float(edges[i + 1]), t, last) for i, (t, last) in enumerate(tokens)]


def align(words: list[tuple[str, bool]], spoken: list[Word]) -> list[TimedWord]:
    """Time the user's words from the words the synthesizer spoke (after normalisation).

    Equal words take the spoken word's time; a stretch rewritten by normalisation ("т.е." ->
    "то есть", "2024" -> "2020 четвёртом") shares the time of what replaced it; a token nothing was
    said for ("—") sits at the start of the next spoken word.
    """
    if not spoken:
        return []
    timed: list[TimedWord | None] = [None] * len(words)
    matcher = difflib.SequenceMatcher(None, [_key(w) for w, _ in words], [_key(w.text) for w in spoken],
                                      autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for k in range(i2 - i1):
                w = spoken[j1 + k]
                timed[i1 + k] = TimedWord(w.start, w.end, *words[i1 + k])
        elif op == "replace":
            timed[i1:i2] = _spread(words[i1:i2], spoken[j1].start, spoken[j2 - 1].end)
    following = spoken[-1].end
    for i in range(len(words) - 1, -1, -1):  # the unspoken ones: at the next word's start
        if timed[i] is None:
            timed[i] = TimedWord(following, following, *words[i])
        following = timed[i].start
    return timed


# --- audio without word timings ----------------------------------------------------------------------

def speech_segments(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> list[tuple[float, float]]:
    """(start, end) seconds of the sounding stretches, split at pauses of MIN_PAUSE_SECONDS or more."""
    frame = max(1, round(PAUSE_FRAME_SECONDS * sample_rate))
    rms = frame_rms(np.asarray(samples, np.float32), frame)
    if rms.size == 0 or rms.max() <= 0:
        return []
    threshold = max(float(rms.max()) * 10 ** (PAUSE_REL_DB / 20), 10 ** (PAUSE_ABS_DBFS / 20))
    loud = rms >= threshold
    segments, start, quiet = [], None, 0
    min_quiet = max(1, round(MIN_PAUSE_SECONDS / PAUSE_FRAME_SECONDS))
    for i, on in enumerate(loud):
        if on:
            if start is None:
                start = i
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet >= min_quiet:
                segments.append((start, i - quiet + 1))
                start, quiet = None, 0
    if start is not None:
        segments.append((start, len(loud) - quiet))
    step = frame / sample_rate
    return [(a * step, b * step) for a, b in segments]


class _VoicedClock:
    """Maps 'seconds of sound so far' to the time in the audio, skipping the pauses."""

    def __init__(self, segments: list[tuple[float, float]]):
        self.segments = segments
        self.offsets = np.concatenate([[0.0], np.cumsum([b - a for a, b in segments])])

    @property
    def total(self) -> float:
        return float(self.offsets[-1])

    def time(self, voiced: float, at_end: bool = False) -> float:
        """The audio time `voiced` seconds of sound in; on a segment border, the end of the earlier one if `at_end`."""
        voiced = min(max(voiced, 0.0), self.total)
        side = "left" if at_end else "right"
        i = min(max(int(np.searchsorted(self.offsets, voiced, side=side)) - 1, 0), len(self.segments) - 1)
        return self.segments[i][0] + voiced - float(self.offsets[i])


def _sentence_spans(sentences: list[list[tuple[str, bool]]], clock: _VoicedClock) -> list[tuple[float, float]]:
    """Each sentence's stretch of sound: sentence ends matched to the pauses nearest where their share of the text ends."""
    weights = np.array([sum(len(t) + 1 for t, _ in s) for s in sentences], dtype=float)
    expected = clock.total * np.cumsum(weights)[:-1] / weights.sum()  # in voiced seconds
    gaps = [(float(clock.offsets[i + 1]), clock.segments[i + 1][0] - clock.segments[i][1])
            for i in range(len(clock.segments) - 1)]  # (voiced position, pause length)
    bounds, after = [], -1
    for b, want in enumerate(expected):
        left = len(expected) - b - 1  # boundaries still to place after this one
        options = range(after + 1, len(gaps) - left)
        if not options:
            bounds.append(float(want))
            continue
        after = min(options, key=lambda g: abs(gaps[g][0] - want) - PAUSE_LENGTH_BONUS * gaps[g][1])
        bounds.append(gaps[after][0])
    bounds = np.maximum.accumulate(bounds).tolist() if bounds else []  # a guessed end never before a matched one
    edges = [0.0] + bounds + [clock.total]
    return [(edges[i], edges[i + 1]) for i in range(len(sentences))]


def estimate(words: list[tuple[str, bool]], samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> list[TimedWord]:
    """Time the user's words over audio with no word timings: sentences to pauses, words by length."""
    segments = speech_segments(samples, sample_rate)
    if not words or not segments:
        return []
    sentences, current = [], []
    for word in words:
        current.append(word)
        if word[1]:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    clock = _VoicedClock(segments)
    timed = []
    for sentence, (v0, v1) in zip(sentences, _sentence_spans(sentences, clock)):
        for w in _spread(sentence, v0, v1):  # in voiced seconds, then onto the audio's clock
            timed.append(TimedWord(clock.time(w.start), clock.time(w.end, at_end=True), w.text, w.last))
    return timed


def timed_words(text: str, audio: Audio) -> list[TimedWord]:
    """The user's words with their times in `audio`, by word events when there are any."""
    words = text_words(text)
    if not words:
        return []
    if audio.words:
        return align(words, audio.words)
    return estimate(words, audio.samples, SAMPLE_RATE)


# --- cues ----------------------------------------------------------------------------------------

def wrap(tokens: list[str]) -> tuple[str, ...] | None:
    """The tokens as one line, or two balanced ones, within MAX_LINE_CHARS; None if they do not fit."""
    one = " ".join(tokens)
    if len(one) <= MAX_LINE_CHARS:
        return (one,)
    best = None
    for cut in range(1, len(tokens)):
        lines = (" ".join(tokens[:cut]), " ".join(tokens[cut:]))
        longest = max(map(len, lines))
        if longest <= MAX_LINE_CHARS and (best is None or longest < best[0]):
            best = (longest, lines)
    return best[1] if best else None


def group(words: list[TimedWord]) -> list[list[TimedWord]]:
    """Words in cues: a cue ends at a sentence's end, a long pause, MAX_CUE_SECONDS, or when it is full."""
    cues: list[list[TimedWord]] = []
    current: list[TimedWord] = []
    for w in words:
        if current and (wrap([x.text for x in current + [w]]) is None
                        or w.end - current[0].start > MAX_CUE_SECONDS
                        or w.start - current[-1].end > BREAK_PAUSE_SECONDS):
            cues.append(current)
            current = []
        current.append(w)
        if w.last:
            cues.append(current)
            current = []
    if current:
        cues.append(current)
    return cues


def build_cues(words: list[TimedWord], duration: float | None = None) -> list[Cue]:
    """Cues from timed words; each stays up a little after its last word, never over the next one."""
    groups = group(words)
    cues = []
    for i, g in enumerate(groups):
        start = g[0].start
        limit = groups[i + 1][0].start if i + 1 < len(groups) else (duration if duration else float("inf"))
        end = min(max(g[-1].end + HOLD_SECONDS, start + MIN_CUE_SECONDS), limit)
        end = max(end, start + 0.001)  # a zero-length cue would be dropped by players
        cues.append(Cue(round(start, 3), round(end, 3), wrap([w.text for w in g])))
    return cues


def cues_for(text: str, audio: Audio) -> list[Cue]:
    """The captions of one video: the user's `text` timed against its prepared `audio`.

    Captions come with every video but are not what it is for: a failure here is logged and the
    video is made without them rather than failing the user's request.
    """
    try:
        return build_cues(timed_words(text, audio), audio.duration)
    except Exception:
        log.exception("Captions could not be made; the video goes without them")
        return []


# --- files ---------------------------------------------------------------------------------------

def timestamp(seconds: float) -> str:
    """WebVTT's HH:MM:SS.mmm."""
    ms = max(0, round(seconds * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _vtt_text(line: str) -> str:
    """Cue text is markup in WebVTT: the user's <, > and & are escaped (which also defuses "-->")."""
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_webvtt(cues: list[Cue]) -> str:
    """The cues as a WebVTT file (just the header when there are none, e.g. a recording without text)."""
    import webvtt

    captions = [webvtt.Caption(timestamp(c.start), timestamp(c.end), [_vtt_text(line) for line in c.lines])
                for c in cues if c.end > c.start]
    return webvtt.WebVTT(captions=captions).content if captions else "WEBVTT\n"


def to_srt(cues: list[Cue]) -> str:
    """The cues as SubRip: numbered blocks, comma before the milliseconds, a blank line between."""
    blocks = []
    for c in (c for c in cues if c.end > c.start):
        lines = "\n".join(line.replace("-->", "->") for line in c.lines)  # "-->" would read as a timing line
        blocks.append(f"{len(blocks) + 1}\n{timestamp(c.start).replace('.', ',')} --> "
                      f"{timestamp(c.end).replace('.', ',')}\n{lines}\n")
    return "\n".join(blocks)
