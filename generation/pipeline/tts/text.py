"""Long text for any TTS backend: normalise, split at sentences, speak piece by piece, join.

A backend is asked for one sentence at a time, so a 1000-character text never hits a remote
service's length limit, and the pauses between sentences are ours (the same for every backend)
instead of whatever silence each engine happens to leave at its ends.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from ..audio import resample, shift_phonemes, shift_words, speech_bounds, to_mono_float
from ..types import SPEECH_TOO_LONG, TEXT_EMPTY, TTS_FAILED, Phoneme, PipelineError, Speech, Word
from .base import MAX_RATE, MIN_RATE, TTSBackend

# hyper-parameters
SENTENCE_PAUSE_SECONDS = 0.3  # between sentences: a breath, as a reader would leave
ELLIPSIS_PAUSE_SECONDS = 0.7  # after «...» or «…»: a held-back thought, clearly longer than a full stop
DASH_PAUSE_SECONDS = 0.45  # at « — » inside a sentence: longer than a comma, shorter than «...»
PARAGRAPH_PAUSE_SECONDS = 0.9  # after a blank line: the longest
CLAUSE_PAUSE_SECONDS = 0.15  # where an over-long sentence had to be cut at a comma
# Our pauses shrink and grow with the pace (a fast reader breathes faster); the lead-in and tail
# (audio.py) do not.
EDGE_MARGIN_SECONDS = 0.04  # of a piece's own silence kept around its speech: consonant tails live there
MAX_PIECE_CHARS = 300  # a longer sentence is cut at clause marks, then at spaces
PAUSE_SYMBOL = "_"  # espeak's mnemonic for silence, so lip-sync sees the gap as one

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
# a sentence ends at . ! ? … (with closing quotes/brackets) followed by space and a likely sentence start
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"»”’)\]]*\s+(?=[\"«“„(\[\-—–]?[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ0-9])")
_CLAUSE_END = re.compile(r"(?<=[,;:—–])\s+")
# inside a sentence: after «...»/«…» (any spacing) or at a spaced dash « — » (not a hyphen in a word)
_PAUSE_MARK = re.compile(r"(?:\.{3,}|…)[\"»”’)\]]*\s+|\s+[—–](?=\s)")
_ELLIPSIS_END = re.compile(r"(?:\.{3,}|…)[\"»”’)\]]*$")
_SINGLE_INITIAL = re.compile(r"(?:^|\s)\w\.$")  # "А. С. Пушкин", "J. K. Rowling": not a sentence end
_SPEAKABLE = re.compile(r"\w")


@dataclass(frozen=True)
class Piece:
    """A stretch of text spoken in one backend call, and the silence that follows it."""

    text: str
    pause: float


# --- normalisation -------------------------------------------------------------------------------
# espeak-ng reads cardinals well in all three languages (kk included: "2024" -> "екі мың жиырма
# төрт"); what it gets wrong are abbreviations (spelt letter by letter), Russian year ordinals and
# percent agreement, Kazakh decimals, and English years. Each fix is a (pattern, replacement) pair.

_RU_ABBREVIATIONS = [
    (r"\bт\.\s?е\.", "то есть"),
    (r"\bт\.\s?д\.", "так далее"),
    (r"\bт\.\s?п\.", "тому подобное"),
    (r"\bт\.\s?к\.", "так как"),
    (r"\bи\s+др\.", "и другие"),
    (r"\bи\s+пр\.", "и прочее"),
    (r"\bнапр\.", "например"),
    (r"(?<!\d\s)\bсм\.", "смотри"),
    (r"\bстр\.(?=\s*\d)", "страница"),
    (r"\bруб\.", "рублей"),
    (r"\bкоп\.", "копеек"),
    (r"\bтыс\.", "тысяч"),
    (r"\bмлн\b\.?", "миллионов"),
    (r"\bмлрд\b\.?", "миллиардов"),
    (r"\bул\.", "улица"),
    (r"\bд\.(?=\s*\d)", "дом"),
]
_KK_ABBREVIATIONS = [
    (r"\bт\.\s?б\.", "тағы басқа"),
    (r"\bт\.\s?с\.\s?с\.", "тағы сол сияқты"),
    (r"\bмыс\.", "мысалы"),
    (r"(\d)\s*жж\.", r"\1 жылдары"),
    (r"(\d)\s*ж\.", r"\1 жылы"),
    (r"\bмлн\b\.?", "миллион"),
    (r"\bмлрд\b\.?", "миллиард"),
    (r"\s*%", " пайыз"),
]
_EN_ABBREVIATIONS = [
    (r"\be\.\s?g\.", "for example"),
    (r"\bi\.\s?e\.", "that is"),
    (r"\bvs\.", "versus"),
    (r"\bapprox\.", "approximately"),
    (r"\bNo\.(?=\s*\d)", "number"),
    (r"\bDr\.", "Doctor"),
    (r"\bSt\.(?=\s+[A-Z])", "Saint"),
]
# Latin abbreviations inside Russian/Kazakh text are read by espeak's English voice, which spells them
_LATIN_IN_CYRILLIC = [(r"\be\.\s?g\.", "for example"), (r"\bi\.\s?e\.", "that is")]

# Russian ordinal stems for the last non-zero part of a year: 2024 -> "2020 четвёртом"
_RU_ORDINAL_STEMS = {
    1: "перв", 2: "втор", 3: "трет", 4: "четвёрт", 5: "пят", 6: "шест", 7: "седьм", 8: "восьм",
    9: "девят", 10: "десят", 11: "одиннадцат", 12: "двенадцат", 13: "тринадцат", 14: "четырнадцат",
    15: "пятнадцат", 16: "шестнадцат", 17: "семнадцат", 18: "восемнадцат", 19: "девятнадцат",
    20: "двадцат", 30: "тридцат", 40: "сороков", 50: "пятидесят", 60: "шестидесят",
    70: "семидесят", 80: "восьмидесят", 90: "девяност", 100: "сот", 200: "двухсот", 300: "трёхсот",
    400: "четырёхсот", 500: "пятисот", 600: "шестисот", 700: "семисот", 800: "восьмисот",
    900: "девятисот", 1000: "тысячн", 2000: "двухтысячн",
}
_RU_STRESSED_ENDING = {"втор", "шест", "седьм", "восьм", "сороков"}  # -ой, not -ый
_RU_CASE_ENDINGS = {"nom": ("ый", "ой", "ий"), "gen": ("ого", "ого", "ьего"), "prep": ("ом", "ом", "ьем")}
_RU_YEAR = re.compile(r"\b(?:(в|В)\s+)?([12]\d{3})\s*(году|года|год|г\.)(?=\W|$)")


def ru_ordinal(number: int, case: str) -> str:
    """A year-style Russian ordinal: prefix kept as digits for espeak, last part as a word."""
    last = number % 100
    if 10 <= last <= 19 or (last and last % 10 == 0):
        part = last
    elif last:
        part = last % 10
    elif number % 1000:
        part = number % 1000
    else:
        part = number
    stem = _RU_ORDINAL_STEMS[part]
    endings = _RU_CASE_ENDINGS[case]
    ending = endings[2] if part == 3 else endings[1] if stem in _RU_STRESSED_ENDING else endings[0]
    if part == 3:
        stem = "трет"
    prefix = number - part
    if 1000 <= prefix < 2000:  # espeak says "одна тысяча"; years say "тысяча"
        words = f"тысяча {prefix - 1000}" if prefix > 1000 else "тысяча"
    else:
        words = str(prefix) if prefix else ""
    return f"{words} {stem}{ending}".strip()


def _ru_year(match: re.Match) -> str:
    """'в 2024 году' -> 'в 2020 четвёртом году': espeak would read a cardinal there."""
    prep, year, word = match.group(1), int(match.group(2)), match.group(3)
    if word == "г.":
        word = "году" if prep else "года"
    case = {"году": "prep", "года": "gen", "год": "nom"}[word]
    return f"{prep + ' ' if prep else ''}{ru_ordinal(year, case)} {word}"


def _ru_percent(match: re.Match) -> str:
    """'15 %' -> '15 процентов': espeak says 'процент' whatever the number."""
    number = match.group(1)
    if "," in number or "." in number:
        return f"{number} процента"
    n = int(number)
    if n % 10 == 1 and n % 100 != 11:
        word = "процент"
    elif 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        word = "процента"
    else:
        word = "процентов"
    return f"{number} {word}"


_KK_FRACTION = {1: "оннан", 2: "жүзден", 3: "мыңнан"}


def _kk_decimal(match: re.Match) -> str:
    """'3,5' -> '3 бүтін оннан 5': espeak's kk drops the comma and reads 'үш бес'."""
    whole, frac = match.group(1), match.group(2)
    return f"{whole} бүтін {_KK_FRACTION[len(frac)]} {int(frac)}"


def _en_year(match: re.Match) -> str:
    """'in 2024' -> 'in 20 24' (twenty twenty-four); 2000-2009 stay 'two thousand and four'."""
    word, year = match.group(1), match.group(2)
    high, low = year[:2], year[2:]
    if high == "20" and low[0] == "0":
        return match.group(0)
    if low == "00":
        return f"{word} {high} hundred"
    return f"{word} {high} {'oh ' + low[1] if low[0] == '0' else low}"


def _apply(text: str, rules) -> str:
    for pattern, replacement in rules:
        text = re.sub(pattern, replacement, text)
    return text


def normalize_text(text: str, language: str) -> str:
    """Text rewritten so the synthesizer reads numbers and abbreviations as a person would."""
    text = text.replace("\u00a0", " ").replace("\u202f", " ")
    if language == "ru":
        text = _apply(text, _LATIN_IN_CYRILLIC)
        text = _RU_YEAR.sub(_ru_year, text)
        text = _apply(text, _RU_ABBREVIATIONS)
        text = re.sub(r"(\d+(?:[.,]\d+)?)\s*%", _ru_percent, text)
        text = re.sub(r"№\s*(?=\d)", "номер ", text)
    elif language == "kk":
        text = _apply(text, _LATIN_IN_CYRILLIC)
        text = re.sub(r"\b(\d+),(\d{1,3})\b", _kk_decimal, text)
        text = _apply(text, _KK_ABBREVIATIONS)
        text = re.sub(r"№\s*(?=\d)", "нөмір ", text)
    elif language == "en":
        text = _apply(text, _EN_ABBREVIATIONS)
        text = re.sub(r"\b([Ii]n|[Ss]ince|[Bb]y|[Ff]rom|[Uu]ntil|[Oo]f)\s+(1[1-9]\d\d|20\d\d)\b(?![.,]\d)",
                      _en_year, text)
    return text


def has_words(text: str, language: str) -> bool:
    """True when `text`, normalised, has anything to say (a letter or digit): "!!! ???" has not."""
    return bool(_SPEAKABLE.search(normalize_text(text, language)))


# --- splitting -----------------------------------------------------------------------------------

def _split_long(sentence: str, limit: int) -> list[str]:
    """Cut a sentence over `limit` characters at clause marks, then at spaces, then anywhere."""
    if len(sentence) <= limit:
        return [sentence]
    parts: list[str] = []
    for unit in (_CLAUSE_END, re.compile(r"\s+")):
        pieces = unit.split(sentence)
        if len(pieces) > 1:
            current = ""
            for p in pieces:
                candidate = f"{current} {p}".strip()
                if current and len(candidate) > limit:
                    parts.append(current)
                    current = p
                else:
                    current = candidate
            parts.append(current)
            return [q for part in parts for q in _split_long(part, limit)]
    return [sentence[i:i + limit] for i in range(0, len(sentence), limit)]


def _sentences(paragraph: str) -> list[str]:
    """A paragraph's sentences; lines count as sentences of their own (lists, verses)."""
    out: list[str] = []
    for line in paragraph.splitlines():
        line = " ".join(line.split())
        start = 0
        for match in _SENTENCE_END.finditer(line):
            head = line[start:match.start()].rstrip("\"»”’)]")
            if _SINGLE_INITIAL.search(head):
                continue
            out.append(line[start:match.end()].strip())
            start = match.end()
        out.append(line[start:].strip())
    return [s for s in out if s]


def _phrases(sentence: str) -> list[tuple[str, float]]:
    """A sentence cut after «...» and at « — », each phrase with the pause that follows it."""
    out: list[tuple[str, float]] = []
    start = 0
    for match in _PAUSE_MARK.finditer(sentence):
        phrase = sentence[start:match.start()] + match.group().rstrip()
        phrase = phrase.strip()
        if _SPEAKABLE.search(phrase):  # a dash after nothing sayable stays with what follows
            out.append((phrase, ELLIPSIS_PAUSE_SECONDS if _ELLIPSIS_END.search(phrase) else DASH_PAUSE_SECONDS))
            start = match.end()
    rest = sentence[start:].strip()
    out.append((rest, ELLIPSIS_PAUSE_SECONDS if _ELLIPSIS_END.search(rest) else SENTENCE_PAUSE_SECONDS))
    return [(p, pause) for p, pause in out if p]


def split_text(text: str, max_chars: int = MAX_PIECE_CHARS) -> list[Piece]:
    """Text -> pieces to speak one at a time, each with the pause that follows it (0 after the last)."""
    pieces: list[Piece] = []
    for paragraph in _PARAGRAPH_BREAK.split(text.strip()):
        for sentence in _sentences(paragraph):
            if not _SPEAKABLE.search(sentence):
                continue  # "…" or "—" alone: nothing to say
            for phrase, pause in _phrases(sentence):
                chunks = _split_long(phrase, max_chars)
                pieces += [Piece(c, CLAUSE_PAUSE_SECONDS) for c in chunks[:-1]]
                pieces.append(Piece(chunks[-1], pause))
        if pieces:
            pieces[-1] = Piece(pieces[-1].text, PARAGRAPH_PAUSE_SECONDS)
    if pieces:
        pieces[-1] = Piece(pieces[-1].text, 0.0)
    return pieces


# --- synthesis -----------------------------------------------------------------------------------

def _trimmed(speech: Speech, rate: int, keep_start: bool, keep_end: bool) -> Speech | None:
    """One piece's speech at `rate`, its edge silence cut to EDGE_MARGIN_SECONDS; None if silent."""
    samples = resample(to_mono_float(speech.samples), int(speech.sample_rate), rate)
    bounds = speech_bounds(samples, rate)
    if bounds is None:
        return None
    margin = round(EDGE_MARGIN_SECONDS * rate)
    start = 0 if keep_start else max(0, bounds[0] - margin)
    end = samples.size if keep_end else min(samples.size, bounds[1] + margin)
    duration = (end - start) / rate
    return Speech(samples[start:end], rate, shift_phonemes(speech.phonemes, start / rate, duration),
                  shift_words(speech.words, start / rate, duration))


def _check_length(seconds: float, max_seconds: float | None) -> None:
    """Raise SPEECH_TOO_LONG once the speech made so far is over `max_seconds` (None or 0: no limit)."""
    if max_seconds and seconds > max_seconds:
        raise PipelineError(f"The speech is longer than {max_seconds:g} s (at least {seconds:.0f} s).",
                            SPEECH_TOO_LONG, {"seconds": round(seconds), "limit": max_seconds})


def _speak(backend: TTSBackend, text: str, language: str, voice: str | None, rate: float) -> Speech:
    """One backend call; `rate` is passed only when it is not 1.0 (not every backend takes it)."""
    if rate == 1.0:
        return backend.synthesize(text, language, voice)
    return backend.synthesize(text, language, voice, rate=rate)


def synthesize_text(backend: TTSBackend, text: str, language: str, voice: str | None = None,
                    *, normalize: bool = True, max_seconds: float | None = None, rate: float = 1.0) -> Speech:
    """Speak text of any length through `backend`, sentence by sentence, with natural pauses.

    With `max_seconds`, stops with SPEECH_TOO_LONG as soon as the speech made so far is longer.
    `rate` (0.5-2.0) speeds up or slows down the speech and our pauses alike.
    """
    backend.check_language(language)
    if not MIN_RATE <= rate <= MAX_RATE:
        raise PipelineError(f"The speaking rate must be {MIN_RATE:g}-{MAX_RATE:g}, not {rate!r}.", TTS_FAILED)
    if normalize:
        text = normalize_text(text, language)
    pieces = split_text(text)
    if not pieces:
        raise PipelineError("Text is empty.", TEXT_EMPTY)
    if len(pieces) == 1:
        speech = _speak(backend, pieces[0].text, language, voice, rate)
        _check_length(len(speech.samples) / speech.sample_rate, max_seconds)
        return speech
    sample_rate: int | None = None
    chunks: list[np.ndarray] = []
    phonemes: list[Phoneme] | None = []
    words: list[Word] | None = []
    position = 0  # samples so far
    pending_pause = 0.0
    for i, piece in enumerate(pieces):
        speech = _speak(backend, piece.text, language, voice, rate)
        sample_rate = sample_rate or int(speech.sample_rate)
        part = _trimmed(speech, sample_rate, keep_start=not chunks, keep_end=i == len(pieces) - 1)
        if part is None:
            continue  # a piece that came out silent adds nothing, not even its pause
        if chunks and pending_pause > 0:
            gap = round(pending_pause / rate * sample_rate)
            chunks.append(np.zeros(gap, np.float32))
            if phonemes is not None:
                phonemes.append(Phoneme(position / sample_rate, (position + gap) / sample_rate, PAUSE_SYMBOL))
            position += gap
        chunks.append(part.samples)
        if phonemes is not None and part.phonemes is not None:
            at = position / sample_rate  # phoneme times are seconds: resampling the piece did not move them
            phonemes += [replace(p, start=p.start + at, end=p.end + at) for p in part.phonemes]
        else:
            phonemes = None  # one piece without timings: the whole has none
        if words is not None and part.words is not None:
            at = position / sample_rate
            words += [Word(w.start + at, w.end + at, w.text) for w in part.words]
        else:
            words = None
        position += part.samples.size
        _check_length(position / sample_rate, max_seconds)
        pending_pause = piece.pause
    if not chunks:
        raise PipelineError("The synthesized audio is silent.", TTS_FAILED)
    return Speech(np.concatenate(chunks).astype(np.float32), sample_rate, phonemes, words)
