"""How long a text takes to say, estimated from its letters, words and digits before anything is spoken.

The service refuses a text whose estimate is over its limit at submission (no worker time spent);
the measured speech is checked again while it is made (`text.synthesize_text(max_seconds=…)`), so an
estimate that errs low costs at most one piece of speech past the limit.

Fitted on espeak-ng at the pipeline's rate (bench/speech_estimate.py prints estimate against measured
speech): digits are the expensive case, «1234567» is read as seven words, 0.3–0.6 s a digit.
"""
from __future__ import annotations

import re

from .text import normalize_text, split_text

# hyper-parameters: seconds of espeak-ng speech (RATE_WPM 160) per letter, per word and per digit
SECONDS_PER_LETTER = {"ru": 0.078, "kk": 0.085, "en": 0.055}
SECONDS_PER_WORD = {"ru": 0.02, "kk": 0.05, "en": 0.09}
SECONDS_PER_DIGIT = {"ru": 0.4, "kk": 0.38, "en": 0.48}  # 0.27 to 0.66 measured, by the number's length
DEFAULT_LANGUAGE = "en"  # rates for a language not fitted here

_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[^\W\d_]+")
_DIGIT = re.compile(r"\d")


def estimate_seconds(text: str, language: str) -> float:
    """Seconds of speech `text` makes in `language`: as the pipeline normalises, splits and pauses it."""
    rates = language if language in SECONDS_PER_LETTER else DEFAULT_LANGUAGE
    spoken = normalize_text(text, language)
    pieces = split_text(spoken)  # what is not spoken (symbols alone) is dropped here, as in synthesis
    seconds = sum(piece.pause for piece in pieces)
    for piece in pieces:
        seconds += (SECONDS_PER_LETTER[rates] * len(_LETTER.findall(piece.text))
                    + SECONDS_PER_WORD[rates] * len(_WORD.findall(piece.text))
                    + SECONDS_PER_DIGIT[rates] * len(_DIGIT.findall(piece.text)))
    return seconds
