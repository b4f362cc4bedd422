"""An HTTP TTS service, as the reference used: POST {"text", "lang"} as JSON, get MP3/WAV/OGG back.

Standard library only (urllib). Connection errors and 5xx answers are retried with exponential
backoff; a 4xx is the request's own fault and a timeout means the service is overloaded, so
neither is repeated. Whatever comes back must decode as audio, or the request fails with a
message a user can read.
"""
from __future__ import annotations

import http.client
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from ..audio import decode
from ..types import SAMPLE_RATE, PipelineError, Speech
from .base import TTSBackend, Voice

log = logging.getLogger(__name__)

# hyper-parameters
MAX_RESPONSE_BYTES = 50 * 1024 * 1024  # ~50 min of 128 kbit/s MP3: far past any 1000-char text
MAX_ERROR_DETAIL_CHARS = 200  # of a failing answer's body shown in the error
LANGUAGES = ("ru", "kk", "en")
USER_AGENT = "talking-avatar/1 (+urllib)"

# the first bytes of the containers we accept; anything else (HTML, JSON, nothing) is not audio
_AUDIO_MAGIC = (b"RIFF", b"ID3", b"OggS", b"fLaC", b"\x1a\x45\xdf\xa3")
_MPEG_SYNC_MASK = 0xFFE0  # an MPEG audio frame header starts with 11 set bits


class _Retryable(Exception):
    """A failure worth another attempt; its message is the user-facing reason."""


def looks_like_audio(data: bytes) -> bool:
    """True when `data` starts like WAV, MP3, OGG, FLAC, WebM or MP4/M4A."""
    if data.startswith(_AUDIO_MAGIC) or data[4:8] == b"ftyp":
        return True
    return len(data) >= 2 and (int.from_bytes(data[:2], "big") & _MPEG_SYNC_MASK) == _MPEG_SYNC_MASK


def _where(url: str) -> str:
    """The service's host for messages: never credentials, paths or query strings."""
    parts = urlsplit(url)
    return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else "the TTS service"


def _detail(body: bytes) -> str:
    """A short printable excerpt of an error body."""
    text = " ".join(body[:MAX_ERROR_DETAIL_CHARS * 2].decode("utf-8", "replace").split())
    return f": {text[:MAX_ERROR_DETAIL_CHARS]}" if text else ""


class RemoteBackend(TTSBackend):
    """Synthesis by a configured HTTP service; one voice per language unless told otherwise."""

    name = "remote"
    languages = LANGUAGES

    def __init__(self, url: str = "", token: str = "", text_field: str = "text", lang_field: str = "lang",
                 timeout: float = 30, retries: int = 3, backoff: float = 0.5,
                 voices: dict[str, list[str] | tuple[str, ...]] | None = None, voice_field: str = ""):
        url = (url or "").strip()
        if not url:
            raise PipelineError("The remote TTS backend needs TTS_REMOTE_URL to be set.")
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise PipelineError(f"TTS_REMOTE_URL must be an http(s) URL, not {url!r}.")
        if not text_field or not lang_field:
            raise PipelineError("The remote TTS field names must not be empty.")
        self.url, self.token = url, token or ""
        self.text_field, self.lang_field, self.voice_field = text_field, lang_field, voice_field
        self.timeout, self.retries, self.backoff = float(timeout), max(0, int(retries)), float(backoff)
        voices = voices or {lang: [f"remote-{lang}"] for lang in LANGUAGES}
        self.languages = tuple(lang for lang in LANGUAGES if voices.get(lang))
        self._voices = {lang: list(ids) for lang, ids in voices.items() if lang in self.languages}

    def voices(self, language: str) -> list[Voice]:
        """The configured voice ids of `language`, default first."""
        ids = self._voices[self.check_language(language)]
        return [Voice(vid, f"Remote service ({vid})" if vid != f"remote-{language}" else
                      f"Remote service ({language})", language, self.name) for vid in ids]

    def payload(self, text: str, language: str, voice: Voice) -> bytes:
        """The JSON body the service receives."""
        body = {self.text_field: text, self.lang_field: language}
        if self.voice_field:
            body[self.voice_field] = voice.id
        return json.dumps(body, ensure_ascii=False).encode("utf-8")

    def _request(self, data: bytes) -> urllib.request.Request:
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
                   "Accept": "audio/mpeg, audio/wav, audio/ogg, audio/*;q=0.9, */*;q=0.1"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return urllib.request.Request(self.url, data=data, headers=headers, method="POST")

    def _attempt(self, data: bytes) -> bytes:
        """One POST: the body of a 2xx answer; raises _Retryable or PipelineError."""
        where = _where(self.url)
        try:
            with urllib.request.urlopen(self._request(data), timeout=self.timeout) as response:
                body = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            detail = _detail(exc.read() if exc.fp else b"")
            if exc.code >= 500:
                raise _Retryable(f"The TTS service at {where} failed (HTTP {exc.code}){detail}") from exc
            raise PipelineError(f"The TTS service at {where} rejected the request "
                                f"(HTTP {exc.code}){detail}") from exc
        except (TimeoutError, socket.timeout) as exc:
            raise PipelineError(f"The TTS service at {where} did not answer within "
                                f"{self.timeout:g} s.") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                raise PipelineError(f"The TTS service at {where} did not answer within "
                                    f"{self.timeout:g} s.") from exc
            raise _Retryable(f"The TTS service at {where} is unreachable: {exc.reason}") from exc
        except (ConnectionError, http.client.HTTPException) as exc:  # reset mid-answer, bad status line
            raise _Retryable(f"The TTS service at {where} dropped the connection: {exc}") from exc
        if len(body) > MAX_RESPONSE_BYTES:
            raise PipelineError(f"The TTS service at {where} sent more than "
                                f"{MAX_RESPONSE_BYTES // 2**20} MB of audio.")
        return body

    def fetch(self, text: str, language: str, voice: Voice) -> bytes:
        """The service's raw answer for `text`, after up to `retries` retries."""
        data = self.payload(text, language, voice)
        for attempt in range(self.retries + 1):
            try:
                return self._attempt(data)
            except _Retryable as exc:
                if attempt == self.retries:
                    tries = f" ({attempt + 1} attempts)" if attempt else ""
                    raise PipelineError(f"{exc}{tries}") from exc
                delay = self.backoff * 2**attempt
                log.warning("%s; retrying in %.1f s", exc, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def synthesize(self, text: str, language: str, voice: str | None = None) -> Speech:
        """Speak `text` through the service: 16 kHz float32, no phoneme timings."""
        chosen = self.resolve_voice(language, voice)
        text = " ".join(text.split())
        if not text:
            raise PipelineError("Text is empty.")
        body = self.fetch(text, language, chosen)
        if not looks_like_audio(body):
            kind = "an empty answer" if not body else f"something else{_detail(body)}"
            raise PipelineError(f"TTS service returned no audio ({kind}).")
        try:
            samples = decode(body, SAMPLE_RATE)
        except PipelineError as exc:
            raise PipelineError(f"TTS service returned no audio: {exc}") from exc
        return Speech(samples, SAMPLE_RATE, None)

