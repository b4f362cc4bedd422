"""An HTTP TTS service, as the reference used: POST {"text", "lang"} as JSON, get MP3/WAV/OGG back.

The reference contract has no speaking rate; a service that takes one is configured with its field
name (TTS_REMOTE_RATE_FIELD), and without it a pace other than 1.0 is refused.

Built on `requests`, one Session (connection pool) per backend and process. urllib3's Retry repeats
a request, with exponential backoff, only when the connection fails or the service answers 5xx: a
4xx is the request's own fault and a read timeout means the service is overloaded, so neither is
repeated. Redirects are followed by hand, and only 307/308 (the ones that keep a POST's body); the
bearer token goes to the configured host alone, never to a redirect's other host. The answer is
read in chunks and refused past MAX_RESPONSE_BYTES, and it must decode as audio. Every failure is
a PipelineError whose code says which kind it was; its text may name the host, never the token.
"""
from __future__ import annotations

import builtins
import http.client
import json
import logging
import os
import socket
import ssl
import time
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.exceptions import MaxRetryError, ReadTimeoutError
from urllib3.util.retry import Retry

from ..audio import decode
from ..types import (LANGUAGES, SAMPLE_RATE, TEXT_EMPTY, TTS_BAD_ANSWER, TTS_FAILED, TTS_UNREACHABLE,
                     PipelineError, Speech)
from .base import TTSBackend, Voice

log = logging.getLogger(__name__)

# hyper-parameters
CONNECT_TIMEOUT_SECONDS = 5.0  # a service that cannot even accept a connection in 5 s is down
ANSWER_TIME_FACTOR = 2  # the whole answer, first byte to last, within this many read timeouts
MAX_BACKOFF_SECONDS = 10.0  # a large `backoff` must not park a worker for minutes
MAX_REDIRECTS = 3
MAX_RESPONSE_BYTES = 50 * 1024 * 1024  # ~50 min of 128 kbit/s MP3: far past any 1000-char text
READ_CHUNK_BYTES = 64 * 1024
MAX_ERROR_DETAIL_CHARS = 200  # of a failing answer's body shown in the error
USER_AGENT = f"talking-avatar/1 (+requests/{requests.__version__})"

_KEPT_BODY_REDIRECTS = (307, 308)  # 301/302/303 turn a POST into a bodiless GET: the text would be lost
_DEFAULT_PORTS = {"http": 80, "https": 443}

# the first bytes of the containers we accept; anything else (HTML, JSON, nothing) is not audio
_AUDIO_MAGIC = (b"RIFF", b"ID3", b"OggS", b"fLaC", b"\x1a\x45\xdf\xa3")
_MPEG_SYNC_MASK = 0xFFE0  # an MPEG audio frame header starts with 11 set bits


class _Retry(Retry):
    """urllib3's Retry, except that a read timeout is final and the first retry waits too."""

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        # a service too slow to answer is overloaded: asking again only adds to its queue. Other read
        # errors (a pooled keep-alive connection the service had closed) are still retried.
        if isinstance(error, ReadTimeoutError):
            raise error
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def get_backoff_time(self) -> float:
        """backoff, 2·backoff, 4·backoff … before retries 1, 2, 3 (urllib3's own first retry is at once)."""
        failures = len(self.history)
        if not failures:
            return 0.0
        return float(min(self.backoff_max, self.backoff_factor * 2 ** (failures - 1)))


class _BearerAuth(AuthBase):
    """Adds `Authorization: Bearer <token>` to the one request it is attached to."""

    def __init__(self, token: str):
        self.token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def looks_like_audio(data: bytes) -> bool:
    """True when `data` starts like WAV, MP3, OGG, FLAC, WebM or MP4/M4A."""
    if data.startswith(_AUDIO_MAGIC) or data[4:8] == b"ftyp":
        return True
    return len(data) >= 2 and (int.from_bytes(data[:2], "big") & _MPEG_SYNC_MASK) == _MPEG_SYNC_MASK


def _where(url: str) -> str:
    """The service's host for messages: never credentials, paths or query strings."""
    try:
        parts = urlsplit(url)
        if not parts.hostname:
            return "the TTS service"
        return parts.hostname + (f":{parts.port}" if parts.port else "")
    except ValueError:  # a malformed port or IPv6 address
        return "the TTS service"


def is_http_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host and a valid port."""
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 0) >= 0
    except ValueError:
        return False


def _detail(body: bytes) -> str:
    """A short printable excerpt of an error body."""
    text = " ".join(body[:MAX_ERROR_DETAIL_CHARS * 2].decode("utf-8", "replace").split())
    return f": {text[:MAX_ERROR_DETAIL_CHARS]}" if text else ""


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in."""
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(parts.scheme)


def same_service(url: str, configured: str) -> bool:
    """True when `url` may receive the token: the configured host and port, or its http->https upgrade."""
    scheme, host, port = _origin(url)
    base_scheme, base_host, base_port = _origin(configured)
    if host != base_host:
        return False
    if (scheme, port) == (base_scheme, base_port):
        return True
    # the one scheme change allowed: plain http on its default port moving to https on its own
    return (base_scheme, base_port, scheme, port) == ("http", 80, "https", 443)


def _chain(exc: BaseException):
    """`exc`, then each error it wraps, down to the innermost (e.g. a ConnectionRefusedError)."""
    for _ in range(10):  # a bound, in case of a cycle
        yield exc
        inner = exc.reason if isinstance(exc, MaxRetryError) else None
        inner = inner or exc.__cause__ or exc.__context__
        if inner is None and exc.args and isinstance(exc.args[0], BaseException):
            inner = exc.args[0]
        if inner is None:
            return
        exc = inner


# Errors whose text says what went wrong without naming the URL: Python's own, and the standard
# library's HTTP, socket and TLS errors. requests' and urllib3's own (some are OSErrors) name the URL.
_BUILTIN_ERRORS = frozenset(v for v in vars(builtins).values() if isinstance(v, type) and issubclass(v, BaseException))
_PLAIN_ERRORS = (http.client.HTTPException, socket.gaierror, socket.herror, ssl.SSLError)
_URL_NAMING_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError)


def _reason(exc: BaseException) -> str:
    """Why a request failed, without the URL (its path or query may hold a key)."""
    *_, root = _chain(exc)
    if isinstance(root, OSError) and root.strerror:
        return root.strerror  # "Connection refused"
    if not isinstance(root, _URL_NAMING_ERRORS) and (isinstance(root, _PLAIN_ERRORS) or type(root) in _BUILTIN_ERRORS):
        return str(root) or type(root).__name__  # "Remote end closed connection without response"
    return type(root).__name__  # requests' and urllib3's own messages name the URL


def _is_read_timeout(exc: BaseException) -> bool:
    """True for a read timeout, also when requests wraps it as a ConnectionError mid-body."""
    return any(isinstance(e, (requests.ReadTimeout, ReadTimeoutError)) for e in _chain(exc))


class RemoteBackend(TTSBackend):
    """Synthesis by a configured HTTP service; one voice per language unless told otherwise."""

    name = "remote"
    languages = LANGUAGES

    def __init__(self, url: str = "", token: str = "", text_field: str = "text", lang_field: str = "lang",
                 timeout: float = 30, retries: int = 3, backoff: float = 0.5,
                 voices: dict[str, list[str] | tuple[str, ...]] | None = None, voice_field: str = "",
                 rate_field: str = ""):
        url = (url or "").strip()
        if not url:
            raise PipelineError("The remote TTS backend needs TTS_REMOTE_URL to be set.", TTS_FAILED)
        if not is_http_url(url):
            raise PipelineError(f"TTS_REMOTE_URL must be an http(s) URL with a host, not one to "
                                f"{_where(url)!r}.", TTS_FAILED)
        if not text_field or not lang_field:
            raise PipelineError("The remote TTS field names must not be empty.", TTS_FAILED)
        self.url, self.token = url, token or ""
        self.text_field, self.lang_field, self.voice_field = text_field, lang_field, voice_field
        # the reference contract has no pace: only a service configured with a rate field gets one
        self.rate_field = rate_field
        self.supports_rate = bool(rate_field)
        self.timeout, self.retries, self.backoff = float(timeout), max(0, int(retries)), float(backoff)
        voices = voices or {lang: [f"remote-{lang}"] for lang in LANGUAGES}
        self.languages = tuple(lang for lang in LANGUAGES if voices.get(lang))
        self._voices = {lang: list(ids) for lang, ids in voices.items() if lang in self.languages}
        self._session: requests.Session | None = None
        self._session_pid = 0

    @property
    def session(self) -> requests.Session:
        """This backend's Session in this process (a forked worker must not share the parent's sockets)."""
        if self._session is None or self._session_pid != os.getpid():
            self._session, self._session_pid = self._new_session(), os.getpid()
        return self._session

    def _new_session(self) -> requests.Session:
        """A Session whose adapter retries connection errors and 5xx answers, POST included."""
        retry = _Retry(
            total=self.retries, other=0,
            allowed_methods=frozenset({"POST"}),  # not retried by default; synthesis has no side effects
            status_forcelist=range(500, 600),
            backoff_factor=self.backoff, backoff_max=MAX_BACKOFF_SECONDS,
            respect_retry_after_header=False,  # else a 503 "Retry-After: 3600" parks the worker for an hour
            raise_on_status=False,  # hand back the last 5xx answer, so its status and body reach the log
        )
        adapter = HTTPAdapter(max_retries=retry)
        session = requests.Session()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update({
            "User-Agent": USER_AGENT, "Accept-Encoding": "identity",  # audio does not compress
            "Accept": "audio/mpeg, audio/wav, audio/ogg, audio/*;q=0.9, */*;q=0.1"})
        return session

    @property
    def _timeouts(self) -> tuple[float, float]:
        """(connect, read) timeouts in seconds."""
        return min(CONNECT_TIMEOUT_SECONDS, self.timeout), self.timeout

    def voices(self, language: str) -> list[Voice]:
        """The configured voice ids of `language`, default first."""
        ids = self._voices[self.check_language(language)]
        return [Voice(vid, f"Remote service ({vid})" if vid != f"remote-{language}" else
                      f"Remote service ({language})", language, self.name) for vid in ids]

    def payload(self, text: str, language: str, voice: Voice, rate: float = 1.0) -> bytes:
        """The JSON body the service receives."""
        body = {self.text_field: text, self.lang_field: language}
        if self.voice_field:
            body[self.voice_field] = voice.id
        if self.rate_field:
            body[self.rate_field] = rate
        return json.dumps(body, ensure_ascii=False).encode("utf-8")

    def _post(self, url: str, data: bytes) -> requests.Response:
        """One POST to `url` (urllib3 retrying it), streamed; the token only for the configured service."""
        auth = _BearerAuth(self.token) if self.token and same_service(url, self.url) else None
        headers = {"Content-Type": "application/json; charset=utf-8"}
        return self.session.post(url, data=data, headers=headers, auth=auth, timeout=self._timeouts,
                                 stream=True, allow_redirects=False)

    def _redirect_target(self, response: requests.Response, url: str) -> str:
        """The absolute URL a 307/308 answer points to; PipelineError for any other redirect."""
        location = response.headers.get("Location", "")
        try:
            target = urljoin(url, location) if location else ""
        except ValueError:
            target = "-"  # not a URL at all: refused below
        if response.status_code not in _KEPT_BODY_REDIRECTS or not target:
            raise PipelineError(
                f"The TTS service at {_where(url)} answered with a redirect (HTTP {response.status_code})"
                f"{' to ' + _where(target) if target else ''} that a POST cannot follow; point "
                f"TTS_REMOTE_URL at the final address.", TTS_UNREACHABLE)
        if not is_http_url(target):
            raise PipelineError(f"The TTS service at {_where(url)} redirected to an address that is not "
                                f"a valid http(s) URL.", TTS_UNREACHABLE)
        if not same_service(target, self.url):
            log.info("TTS service at %s redirects to %s: following without the token",
                     _where(url), _where(target))
        return target

    def _read_body(self, response: requests.Response, where: str) -> bytes:
        """The answer's body, read in chunks and refused past MAX_RESPONSE_BYTES or a slow trickle."""
        too_large = PipelineError(f"The TTS service at {where} sent more than "
                                  f"{MAX_RESPONSE_BYTES // 2**20} MB of audio.", TTS_UNREACHABLE)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
            raise too_large
        # The read timeout bounds each read, not the whole: a service sending a byte every few seconds
        # could hold the worker for as long as it liked. read1 returns whatever one read brings, so
        # the deadline is checked often (urllib3 < 2.3 has no read1: then once per full chunk).
        read = getattr(response.raw, "read1", response.raw.read)
        deadline = time.monotonic() + ANSWER_TIME_FACTOR * self.timeout
        chunks, size = [], 0
        while chunk := read(READ_CHUNK_BYTES, decode_content=True):
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise too_large
            if time.monotonic() > deadline:
                raise PipelineError(f"The TTS service at {where} took more than "
                                    f"{ANSWER_TIME_FACTOR * self.timeout:g} s to send its answer.",
                                    TTS_UNREACHABLE)
            chunks.append(chunk)
        return b"".join(chunks)

    def _error_detail(self, response: requests.Response) -> str:
        """The start of a failing answer's body, '' when it cannot be read."""
        read = getattr(response.raw, "read1", response.raw.read)  # one read: an error page may trickle too
        try:
            return _detail(read(MAX_ERROR_DETAIL_CHARS * 2, decode_content=True) or b"")
        except (urllib3.exceptions.HTTPError, OSError):
            return ""

    def _attempts(self, response: requests.Response | None = None) -> str:
        """' (N attempts)' when the request was tried more than once."""
        history = getattr(getattr(getattr(response, "raw", None), "retries", None), "history", None)
        count = len(history) + 1 if history is not None else self.retries + 1
        return f" ({count} attempts)" if count > 1 else ""

    def _exchange(self, data: bytes) -> bytes:
        """POST `data`, following up to MAX_REDIRECTS 307/308 redirects: the body of the 2xx answer."""
        url = self.url
        for _ in range(MAX_REDIRECTS + 1):
            where = _where(url)
            with self._post(url, data) as response:
                status = response.status_code
                if 300 <= status < 400:
                    url = self._redirect_target(response, url)
                    continue
                if status >= 500:
                    raise PipelineError(f"The TTS service at {where} failed (HTTP {status})"
                                        f"{self._error_detail(response)}{self._attempts(response)}",
                                        TTS_UNREACHABLE)
                if status >= 400:
                    raise PipelineError(f"The TTS service at {where} rejected the request "
                                        f"(HTTP {status}){self._error_detail(response)}", TTS_UNREACHABLE)
                return self._read_body(response, where)
        raise PipelineError(f"The TTS service at {_where(self.url)} redirected more than {MAX_REDIRECTS} "
                            f"times.", TTS_UNREACHABLE)

    def fetch(self, text: str, language: str, voice: Voice, rate: float = 1.0) -> bytes:
        """The service's raw answer for `text`; PipelineError(TTS_UNREACHABLE) when there is none."""
        data = self.payload(text, language, voice, rate)
        where = _where(self.url)
        try:
            return self._exchange(data)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:  # urllib3: reading the body
            # requests' own messages carry the full URL, whose path or query may hold a key: not used
            if isinstance(exc, (requests.exceptions.ContentDecodingError, urllib3.exceptions.DecodeError)):
                raise PipelineError(f"The TTS service at {where} sent an answer that does not "
                                    f"decompress.", TTS_BAD_ANSWER) from exc
            raise PipelineError(self._failure(exc, where), TTS_UNREACHABLE) from exc

    def _failure(self, exc: Exception, where: str) -> str:
        """The log message for a request that got no answer."""
        if isinstance(exc, requests.ConnectTimeout):  # before the read check: both wrap a TimeoutError
            return (f"The TTS service at {where} is unreachable: no connection within "
                    f"{self._timeouts[0]:g} s{self._attempts()}.")
        if _is_read_timeout(exc):
            return f"The TTS service at {where} did not answer within {self.timeout:g} s."
        if isinstance(exc, (requests.exceptions.SSLError, urllib3.exceptions.SSLError)):  # never retried
            return f"The TLS handshake with the TTS service at {where} failed: {_reason(exc)}."
        if isinstance(exc, requests.ConnectionError):
            return f"The TTS service at {where} is unreachable: {_reason(exc)}{self._attempts()}."
        if isinstance(exc, (requests.exceptions.ChunkedEncodingError, urllib3.exceptions.ProtocolError)):
            return f"The TTS service at {where} broke off its answer: {_reason(exc)}."
        return f"The TTS service at {where} failed: {_reason(exc)}."

    def synthesize(self, text: str, language: str, voice: str | None = None, rate: float = 1.0) -> Speech:
        """Speak `text` through the service: 16 kHz float32, no phoneme timings."""
        chosen = self.resolve_voice(language, voice)
        self.check_rate(rate)
        text = " ".join(text.split())
        if not text:
            raise PipelineError("Text is empty.", TEXT_EMPTY)
        body = self.fetch(text, language, chosen, rate)
        if not looks_like_audio(body):
            kind = "an empty answer" if not body else f"something else{_detail(body)}"
            raise PipelineError(f"TTS service at {_where(self.url)} returned no audio ({kind}).",
                                TTS_BAD_ANSWER)
        try:
            samples = decode(body, SAMPLE_RATE)
        except PipelineError as exc:
            raise PipelineError(f"TTS service at {_where(self.url)} returned no audio: {exc}",
                                TTS_BAD_ANSWER) from exc
        return Speech(samples, SAMPLE_RATE, None)
