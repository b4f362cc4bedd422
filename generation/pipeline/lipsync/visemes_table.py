"""Phoneme -> viseme targets per language (ru, kk, en), for the viseme engine's mouth track.

Keys are espeak-ng mnemonics with stress and palatalisation marks stripped, as espeak-ng speaks
each language (checked word by word: ru «ы» is "y", kk ә "&", ө "8", ү "u#", ұ "U", ы "@", і "I").
A target is where the lips head for during the sound; viseme_track blends neighbours (co-articulation).

- open: jaw/lip opening, 0 shut .. 1 wide «а»
- spread: corners out (и і ы э), round: corners in and lips forward (о у ө ү ұ)
- press: lips squeezed together (м п б), tuck: lower lip under the upper teeth (ф в)
- tongue: the tongue tip up at the teeth or the ridge behind them (т д н л р, and between the
  teeth for English th); the mouth interior draws it where the lips let it show

Values were set against frames of the faces in bench/realism_speech.py: a rounded vowel must bring
the mouth to <= 0.85 of its rest width there, «а» open about as far in Russian as in Kazakh.
"""
from __future__ import annotations

from dataclasses import dataclass

VOWEL, CLOSURE, LABIODENTAL, CONSONANT, PAUSE = "vowel", "closure", "labiodental", "consonant", "pause"
STRIP = "'\",%=:;!^#~-"  # marks around a mnemonic that do not change the lips
PAUSE_SYMBOLS = {"_", "", "_:", "_!", "||", "|"}
# Unstressed vowels are reduced (Russian akanye, English schwas): they open less than stressed ones.
STRESS_OPEN = {2: 1.0, 1: 0.92, 0: 0.8}
# Russian's espeak voice writes the reduction into the vowel itself (a#, V, @- for unstressed «а/о»,
# each with its own smaller target): the full stress gain on top of that reduced them twice
STRESS_OPEN_BY_LANGUAGE = {"ru": {2: 1.0, 1: 0.96, 0: 0.92}}


@dataclass(frozen=True)
class Viseme:
    """Lip targets of one sound, each in [0, 1], and its kind (how strongly it holds the lips)."""

    open: float
    spread: float = 0.0
    round: float = 0.0
    press: float = 0.0
    tuck: float = 0.0
    tongue: float = 0.0
    kind: str = CONSONANT


def v(open_: float, spread: float = 0.0, round_: float = 0.0, tongue: float = 0.0) -> Viseme:
    """A vowel."""
    return Viseme(open_, spread, round_, tongue=tongue, kind=VOWEL)


def c(open_: float, spread: float = 0.0, round_: float = 0.0, tongue: float = 0.0) -> Viseme:
    """A lingual or dorsal consonant (its lip shape comes mostly from the vowels around it)."""
    return Viseme(open_, spread, round_, tongue=tongue, kind=CONSONANT)


REST = Viseme(0.0, kind=PAUSE)
BILABIAL = Viseme(0.0, press=1.0, kind=CLOSURE)
LABIODENTAL_ = Viseme(0.08, tuck=1.0, kind=LABIODENTAL)

# Shared by all three languages; each language then overrides what it says differently.
COMMON = {
    # open vowels
    "a": v(0.98, 0.25), "A": v(0.98, 0.15), "aa": v(0.98, 0.2), "&": v(0.88, 0.5), "V": v(0.75, 0.15),
    "aI": v(0.9, 0.35), "aU": v(0.9, 0.1, 0.3),
    # mid and close unrounded: spread
    "E": v(0.62, 0.6), "e": v(0.52, 0.7), "eI": v(0.55, 0.7), "@": v(0.4, 0.15), "3": v(0.45, 0.2, 0.1),
    "I": v(0.34, 0.8), "i": v(0.3, 0.95), "1": v(0.32, 0.5), "I#": v(0.32, 0.55),
    # rounded
    "o": v(0.62, 0.0, 1.0), "O": v(0.74, 0.0, 0.8), "oU": v(0.6, 0.0, 0.95), "0": v(0.75, 0.0, 0.6),
    "Q": v(0.75, 0.0, 0.6), "u": v(0.28, 0.0, 1.0), "U": v(0.32, 0.0, 0.95), "y": v(0.28, 0.0, 1.0),
    "Y": v(0.32, 0.0, 0.9), "8": v(0.5, 0.0, 0.95), "9": v(0.48, 0.0, 0.85), "ju": v(0.3, 0.0, 1.0),
    # lips
    "m": BILABIAL, "b": BILABIAL, "p": BILABIAL, "f": LABIODENTAL_, "v": LABIODENTAL_,
    "w": c(0.16, 0.0, 1.0),
    # tongue tip at the ridge or the teeth: a little open, tongue shows
    "t": c(0.2, tongue=1.0), "d": c(0.2, tongue=1.0), "n": c(0.2, tongue=1.0), "l": c(0.24, tongue=1.0),
    "L": c(0.24, tongue=1.0), "r": c(0.24, tongue=0.9), "*": c(0.24, tongue=0.9), "R": c(0.22, tongue=0.5),
    "T": c(0.16, 0.2, tongue=1.0), "D": c(0.16, 0.2, tongue=1.0),
    # sibilants: teeth nearly together; postalveolars pout a little
    "s": c(0.12, 0.35, tongue=0.4), "z": c(0.12, 0.35, tongue=0.4), "ts": c(0.12, 0.3, tongue=0.5),
    "S": c(0.14, 0.0, 0.45), "Z": c(0.14, 0.0, 0.45), "tS": c(0.14, 0.0, 0.45), "dZ": c(0.14, 0.0, 0.45),
    "C": c(0.14, 0.4), "j": c(0.2, 0.55),
}
DEFAULT_CONSONANT = c(0.25, 0.1)  # k g h x q N ...: medium-small, shape from the neighbours

LANGUAGES = {
    "ru": {
        "y": v(0.42, 0.6),  # «ы»: spread, never rounded like «у»
        # unstressed «а/о»: open, unrounded. a# (next to the stress) stays under the stressed «а» (a
        # «мама» must open more on its first syllable); V, which espeak gives most of a phrase's other
        # «а/о», opens fully: at 0.78 (and the stress gain) Russian open vowels peaked at 0.14 against
        # Kazakh's 0.18 (bench/realism_speech.py), a mumble
        "a#": v(0.78, 0.2),
        "V": v(1.0, 0.15),
        "@-": v(0.38, 0.15),  # reduced vowel far from the stress
        "o": v(0.55, 0.0, 1.0), "u": v(0.28, 0.0, 1.0), "8": v(0.5, 0.0, 1.0),  # «о у ё»: jaw drop widens the mouth again
        "E": v(0.64, 0.62), "e": v(0.55, 0.72), "i": v(0.32, 0.95), "I": v(0.34, 0.85),
    },
    "kk": {
        "&": v(0.88, 0.6),  # ә: open and spread
        "8": v(0.52, 0.0, 1.0),  # ө
        "u#": v(0.3, 0.0, 1.0),  # ү
        "U": v(0.32, 0.0, 1.0),  # ұ
        "@": v(0.4, 0.55),  # ы: unrounded, lips spread
        "I": v(0.34, 0.85),  # і
        "e": v(0.55, 0.72),
    },
    "en": {
        "@": v(0.4, 0.15), "u:": v(0.28, 0.0, 1.0), "3:": v(0.45, 0.2, 0.15),
    },
}
# Symbols only one language's espeak-ng voice makes: enough to tell which table a phoneme list needs.
MARKERS = {
    "ru": {"a#", "@-", "y"},
    "kk": {"u#", "8", "&", "q", "L", "*", "G"},
    "en": {"oU", "aI", "eI", "aU", "3:", "i:", "u:", "A:", "O:", "D", "T", "I2", "@L"},
}


def bare(symbol: str) -> str:
    """The mnemonic without stress, length and palatalisation marks."""
    raw = symbol.strip()
    return raw.strip(STRIP) or raw


def guess_language(symbols) -> str | None:
    """The language whose espeak-ng voice made these mnemonics, or None when it is not clear."""
    votes = {lang: 0 for lang in MARKERS}
    for s in symbols:
        raw = s.strip().lstrip("',%=")
        for lang, marks in MARKERS.items():
            votes[lang] += raw in marks or bare(raw) in marks
    best = max(votes, key=votes.get)
    ranked = sorted(votes.values(), reverse=True)
    return best if ranked[0] > 0 and ranked[0] >= 2 * ranked[1] else None


def viseme(symbol: str, language: str | None = None) -> Viseme:
    """Lip targets of an espeak-ng mnemonic in `language` (None: the shared table)."""
    raw = symbol.strip()
    if raw in PAUSE_SYMBOLS or raw.startswith("_"):
        return REST
    table = LANGUAGES.get(language or "", {})
    plain = raw.lstrip("',%=")
    for key in (plain, bare(plain), bare(plain)[:2], bare(plain)[:1]):
        if key in table:
            return table[key]
        if key in COMMON:
            return COMMON[key]
    first = bare(plain)[:1].lower()
    if first in "aeiouy":
        return COMMON.get(first, COMMON["@"])
    return DEFAULT_CONSONANT


def stress_gain(stress: int, language: str | None = None) -> float:
    """How far a vowel opens for its stress (2 primary, 1 secondary, 0 none) in `language`."""
    gains = STRESS_OPEN_BY_LANGUAGE.get(language or "", STRESS_OPEN)
    return gains.get(int(stress), gains[0])
