"""The remote TTS backend against real HTTP servers on 127.0.0.1 (and 127.0.0.2) serving real audio.

Every test asserts on what the stub servers actually received: no mocking of requests or urllib3.
"""
import json
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from generation.pipeline.audio import ffmpeg_exe, speech_bounds, wav_bytes
from generation.pipeline.tts import get_backend, remote
from generation.pipeline.tts.espeak import EspeakBackend
from generation.pipeline.tts.remote import MAX_REDIRECTS, RemoteBackend, looks_like_audio, same_service
from generation.pipeline.tts.text import synthesize_text
from generation.pipeline.types import (SAMPLE_RATE, TEXT_EMPTY, TTS_BAD_ANSWER, TTS_FAILED, TTS_UNREACHABLE,
                                       PipelineError)

HANG_SECONDS = 3.0
SHORT_TIMEOUT = 0.3
TRICKLE_INTERVAL = 0.05  # seconds between the bytes of a trickling answer
TEST_MAX_RESPONSE_BYTES = 1024 * 1024  # the cap while testing it, so the test moves little data
OTHER_HOST = "127.0.0.2"  # Linux routes all of 127/8 to loopback: a second "host" on this machine


def encode(speech, fmt: str) -> bytes:
    """Real espeak audio as MP3 (libmp3lame) or OGG (vorbis/opus) through the ffmpeg binary."""
    codec = {"mp3": ["-c:a", "libmp3lame", "-b:a", "64k"], "ogg": ["-c:a", "libvorbis"]}[fmt]
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "wav", "-i", "pipe:0",
           *codec, "-f", fmt, "pipe:1"]
    try:
        return subprocess.run(cmd, input=wav_bytes(speech.samples, speech.sample_rate),
                              capture_output=True, check=True).stdout
    except subprocess.CalledProcessError:
        if fmt != "ogg":
            raise
        cmd[cmd.index("libvorbis")] = "libopus"
        return subprocess.run(cmd, input=wav_bytes(speech.samples, speech.sample_rate),
                              capture_output=True, check=True).stdout


class Handler(BaseHTTPRequestHandler):
    """Behaviour chosen by path; every request is recorded on the server."""

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):  # recorded too: a redirect must never turn our POST into a GET
        self.server.requests.append({"method": "GET", "path": self.path, "headers": dict(self.headers),
                                     "body": b""})
        self.reply(405, b"POST only", "text/plain")

    def do_POST(self):
        srv = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        srv.requests.append({"method": "POST", "path": self.path, "headers": dict(self.headers),
                             "body": body})
        count = sum(r["path"] == self.path for r in srv.requests)
        path = self.path
        if path == "/flaky" and count <= 2:
            return self.reply(500, b"<h1>Internal Server Error</h1>", "text/html")
        if path == "/down":  # asks for an hour's pause, which must not be honoured
            return self.reply(503, b"maintenance", "text/plain", {"Retry-After": "3600"})
        if path == "/forbidden":
            return self.reply(403, b'{"error": "bad token"}', "application/json")
        if path == "/busy":
            return self.reply(429, b"slow down", "text/plain", {"Retry-After": "1"})
        if path == "/drop":  # the connection closes with no answer at all
            self.close_connection = True
            return None
        if path.startswith("/redirect-"):  # /redirect-<code>-<where>
            code, where = path.split("-")[1:3]
            target = {"other": f"{srv.other_base}/mp3", "same": "/mp3", "loop": path,
                      "ftp": "ftp://127.0.0.1/mp3", "badport": "http://127.0.0.1:99999/mp3"}[where]
            return self.reply(int(code), b"", "text/plain", {"Location": target})
        if path == "/huge-declared":
            return self.reply(200, b"ID3" + b"\x00" * 1000, "audio/mpeg", {"Content-Length": str(10**10)})
        if path == "/endless":
            return self.endless()
        if path == "/trickle":
            return self.trickle()
        if path == "/hang":
            time.sleep(HANG_SECONDS)
            return self.reply(200, srv.mp3, "audio/mpeg")
        if path == "/html":
            return self.reply(200, b"<html><body>Welcome to nginx!</body></html>", "text/html")
        if path == "/empty":
            return self.reply(200, b"", "audio/mpeg")
        if path == "/broken":  # an MP3 header, then nothing decodable
            return self.reply(200, b"ID3" + b"\x00" * 64, "audio/mpeg")
        fmt = {"/wav": "wav", "/ogg": "ogg"}.get(path, "mp3")
        data = {"mp3": srv.mp3, "wav": srv.wav, "ogg": srv.ogg}[fmt]
        self.reply(200, data, f"audio/{fmt}")

    def reply(self, code: int, data: bytes, ctype: str, headers: dict | None = None):
        headers = {"Content-Type": ctype, "Content-Length": str(len(data)), **(headers or {})}
        try:
            self.send_response(code)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout case)

    def endless(self):
        """MP3-looking bytes with no length, until the client hangs up; counts what it sent."""
        srv = self.server
        chunk = b"\xff\xfb" + b"\x00" * (64 * 1024 - 2)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.end_headers()
            while srv.endless_sent < 64 * TEST_MAX_RESPONSE_BYTES:  # a bound, should the client not stop
                self.wfile.write(chunk)
                srv.endless_sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            srv.endless_cut.set()

    def trickle(self):
        """A 10 kB answer, one byte at a time: each read is quick, the whole would take minutes."""
        try:
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Content-Length", "10000")
            self.end_headers()
            for _ in range(10000):
                self.wfile.write(b"\x00")
                self.wfile.flush()
                time.sleep(TRICKLE_INTERVAL)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def speech():
    return EspeakBackend().synthesize("Привет, это удалённый голос.", "ru")


def start_server(host: str, speech, mp3: bytes, ogg: bytes) -> ThreadingHTTPServer:
    """A stub TTS service on `host`, on a free port, in a daemon thread."""
    srv = ThreadingHTTPServer((host, 0), Handler)
    srv.daemon_threads = True
    srv.requests = []
    srv.mp3, srv.ogg, srv.wav = mp3, ogg, wav_bytes(speech.samples, speech.sample_rate)
    srv.endless_sent, srv.endless_cut = 0, threading.Event()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    srv.base = f"http://{host}:{srv.server_address[1]}"
    return srv


@pytest.fixture(scope="module")
def servers(speech):
    """The configured service on 127.0.0.1 and another host on 127.0.0.2 it may redirect to."""
    mp3, ogg = encode(speech, "mp3"), encode(speech, "ogg")
    main, other = start_server("127.0.0.1", speech, mp3, ogg), start_server(OTHER_HOST, speech, mp3, ogg)
    main.other_base = other.base
    other.other_base = main.base
    yield main, other
    for srv in (main, other):
        srv.shutdown()
        srv.server_close()


@pytest.fixture(scope="module")
def server(servers):
    return servers[0]


@pytest.fixture
def requests(servers):
    """What the configured service received during the test."""
    for srv in servers:
        srv.requests.clear()
    return servers[0].requests


@pytest.fixture
def other_requests(servers, requests):
    """What the other host received during the test."""
    return servers[1].requests


def backend(server, path="/tts", **options) -> RemoteBackend:
    options.setdefault("backoff", 0.01)
    return RemoteBackend(server.base + path, **options)


@pytest.mark.parametrize("path", ["/mp3", "/wav", "/ogg"])
def test_audio_formats_decode_to_16k_speech(server, requests, speech, path):
    out = backend(server, path).synthesize("Привет", "ru")
    assert out.sample_rate == SAMPLE_RATE and out.samples.dtype == np.float32
    expected = len(speech.samples) / speech.sample_rate
    assert abs(len(out.samples) / SAMPLE_RATE - expected) < 0.1  # MP3 pads by a frame at most
    assert speech_bounds(out.samples) is not None
    assert float(np.abs(out.samples).max()) > 0.1
    assert out.phonemes is None


def test_json_body_and_bearer_token(server, requests):
    backend(server, token="s3cret").synthesize("  Сәлем,\n әлем  ", "kk")
    (req,) = requests
    assert req["headers"]["Authorization"] == "Bearer s3cret"
    assert req["headers"]["Content-Type"].startswith("application/json")
    assert json.loads(req["body"]) == {"text": "Сәлем, әлем", "lang": "kk"}


def test_no_token_no_authorization_header(server, requests):
    backend(server).synthesize("Hello", "en")
    assert "Authorization" not in requests[0]["headers"]


def test_field_names_and_voice_field_are_configurable(server, requests):
    tts = backend(server, text_field="input", lang_field="language", voice_field="speaker",
                  voices={"en": ["anna", "bob"], "ru": ["irina"]})
    assert tts.languages == ("ru", "en")
    assert [v.id for v in tts.voices("en")] == ["anna", "bob"]
    tts.synthesize("Hi", "en", "bob")
    assert json.loads(requests[0]["body"]) == {"input": "Hi", "language": "en", "speaker": "bob"}
    with pytest.raises(PipelineError, match="Unknown language 'kk'"):
        tts.synthesize("Сәлем", "kk")
    with pytest.raises(PipelineError, match="allowed: anna, bob"):
        tts.synthesize("Hi", "en", "carol")


def test_default_voices_one_per_language(server):
    tts = backend(server)
    assert tts.languages == ("ru", "kk", "en")
    assert [v.id for v in tts.voices("kk")] == ["remote-kk"]
    assert tts.voices("ru")[0].backend == "remote"


def test_5xx_is_retried_until_success(server, requests):
    out = backend(server, "/flaky", retries=3).synthesize("Привет", "ru")
    assert len(requests) == 3
    assert out.samples.size > SAMPLE_RATE // 2


def test_5xx_gives_up_after_retries_with_backoff(server, requests):
    start = time.monotonic()
    with pytest.raises(PipelineError, match=r"failed \(HTTP 503\): maintenance \(3 attempts\)") as err:
        backend(server, "/down", retries=2, backoff=0.1).synthesize("Привет", "ru")
    elapsed = time.monotonic() - start
    assert err.value.code == TTS_UNREACHABLE
    assert len(requests) == 3
    assert 0.1 + 0.2 <= elapsed < 2.0  # waited 0.1 then 0.2 s, not the hour Retry-After asked for


@pytest.mark.parametrize("path, status", [("/forbidden", 403), ("/busy", 429)])
def test_4xx_is_not_retried(server, requests, path, status):
    with pytest.raises(PipelineError, match=rf"rejected the request \(HTTP {status}\)") as err:
        backend(server, path, token="wrong").synthesize("Привет", "ru")
    assert err.value.code == TTS_UNREACHABLE
    assert len(requests) == 1  # 429 with Retry-After included
    if path == "/forbidden":
        assert "bad token" in str(err.value)


def test_read_timeout_fails_fast_and_is_not_retried(server, requests):
    start = time.monotonic()
    with pytest.raises(PipelineError, match=r"did not answer within 0.3 s") as err:
        backend(server, "/hang", timeout=SHORT_TIMEOUT, retries=3).synthesize("Привет", "ru")
    assert time.monotonic() - start < SHORT_TIMEOUT + 0.7  # one timeout, not four
    assert err.value.code == TTS_UNREACHABLE
    assert len(requests) == 1


def test_connection_refused_is_retried_then_reported():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tts = RemoteBackend(f"http://user:pw@127.0.0.1:{port}/tts?key=k", token="s3cret", retries=2, backoff=0.1)
    start = time.monotonic()
    with pytest.raises(PipelineError, match=r"127\.0\.0\.1:\d+ is unreachable: Connection refused "
                                            r"\(3 attempts\)") as err:
        tts.synthesize("Привет", "ru")
    assert time.monotonic() - start >= 0.1 + 0.2  # the backoff between the three attempts
    assert err.value.code == TTS_UNREACHABLE
    assert not any(secret in str(err.value) for secret in ("pw", "key=k", "s3cret", "/tts"))


def test_dropped_connection_is_retried(server, requests):
    with pytest.raises(PipelineError, match=r"is unreachable.*\(3 attempts\)") as err:
        backend(server, "/drop", retries=2).synthesize("Привет", "ru")
    assert err.value.code == TTS_UNREACHABLE
    assert len(requests) == 3


@pytest.mark.parametrize("path", ["/html", "/empty", "/broken"])
def test_garbage_is_a_readable_error(server, requests, path):
    with pytest.raises(PipelineError, match=r"TTS service at 127\.0\.0\.1:\d+ returned no audio") as err:
        backend(server, path).synthesize("Привет", "ru")
    assert err.value.code == TTS_BAD_ANSWER
    assert len(requests) == 1  # a 200 with garbage is an answer: not retried


def test_oversized_answer_is_cut_off_while_streaming(server, requests, monkeypatch):
    monkeypatch.setattr(remote, "MAX_RESPONSE_BYTES", TEST_MAX_RESPONSE_BYTES)
    server.endless_sent, server.endless_cut = 0, threading.Event()
    with pytest.raises(PipelineError, match="sent more than 1 MB") as err:
        backend(server, "/endless").synthesize("Привет", "ru")
    assert err.value.code == TTS_UNREACHABLE
    # we hung up: the server's next writes failed long before its own bound
    assert server.endless_cut.wait(5), server.endless_sent
    assert server.endless_sent < 64 * TEST_MAX_RESPONSE_BYTES
    assert len(requests) == 1


def test_oversized_declared_length_is_refused_unread(server, requests):
    with pytest.raises(PipelineError, match="sent more than 50 MB") as err:
        backend(server, "/huge-declared").synthesize("Привет", "ru")
    assert err.value.code == TTS_UNREACHABLE


def test_trickling_answer_is_cut_at_the_deadline(server, requests):
    start = time.monotonic()
    with pytest.raises(PipelineError, match=r"took more than 0.6 s to send its answer") as err:
        backend(server, "/trickle", timeout=SHORT_TIMEOUT).synthesize("Привет", "ru")
    assert time.monotonic() - start < 2 * SHORT_TIMEOUT + 1.0  # not the 500 s the answer would take
    assert err.value.code == TTS_UNREACHABLE


# --- redirects: the token goes to the configured host only ---

@pytest.mark.parametrize("status", [307, 308])
def test_cross_host_redirect_is_followed_without_the_token(server, requests, other_requests, status):
    out = backend(server, f"/redirect-{status}-other", token="s3cret").synthesize("Привет", "ru")
    assert out.samples.size > SAMPLE_RATE // 2  # the other host's audio
    (first,), (second,) = requests, other_requests
    assert first["headers"]["Authorization"] == "Bearer s3cret"
    assert second["headers"]["Host"].startswith(OTHER_HOST)
    assert second["method"] == "POST" and json.loads(second["body"]) == {"text": "Привет", "lang": "ru"}
    assert "Authorization" not in second["headers"]
    assert not any("s3cret" in value for value in second["headers"].values())


@pytest.mark.parametrize("status", [301, 302, 303])
def test_redirect_that_drops_the_body_is_refused(server, requests, other_requests, status):
    with pytest.raises(PipelineError, match=rf"redirect \(HTTP {status}\) to {OTHER_HOST}:\d+") as err:
        backend(server, f"/redirect-{status}-other", token="s3cret").synthesize("Привет", "ru")
    assert err.value.code == TTS_UNREACHABLE and "s3cret" not in str(err.value)
    assert len(requests) == 1
    assert other_requests == []  # the other host saw nothing at all, token or not


def test_same_host_redirect_keeps_the_token(server, requests):
    backend(server, "/redirect-307-same", token="s3cret").synthesize("Привет", "ru")
    assert [r["path"] for r in requests] == ["/redirect-307-same", "/mp3"]
    assert all(r["headers"]["Authorization"] == "Bearer s3cret" for r in requests)


def test_redirects_are_capped(server, requests):
    with pytest.raises(PipelineError, match=f"redirected more than {MAX_REDIRECTS} times") as err:
        backend(server, "/redirect-307-loop").synthesize("Привет", "ru")
    assert err.value.code == TTS_UNREACHABLE
    assert len(requests) == MAX_REDIRECTS + 1


@pytest.mark.parametrize("where", ["ftp", "badport"])
def test_redirect_to_a_non_http_address_is_refused(server, requests, where):
    with pytest.raises(PipelineError, match="not a valid http") as err:
        backend(server, f"/redirect-307-{where}").synthesize("Привет", "ru")
    assert err.value.code == TTS_UNREACHABLE
    assert len(requests) == 1


def test_same_service():
    base = "http://tts.example.com/v1/speak"
    assert same_service("http://TTS.example.com:80/other", base)
    assert same_service("https://tts.example.com/v1/speak", base)  # the http -> https upgrade
    assert not same_service("https://tts.example.com:8443/v1", base)
    assert not same_service("http://tts.example.com:8080/v1", base)
    assert not same_service("http://evil.example.com/v1", base)
    assert not same_service("http://tts.example.com@evil.example.com/", base)
    assert not same_service("http://tts.example.com/", "https://tts.example.com/")  # no downgrade


def test_one_session_per_backend(server):
    a, b = backend(server), backend(server)
    assert a.session is a.session and a.session is not b.session


def test_long_text_goes_sentence_by_sentence(server, requests):
    out = synthesize_text(backend(server), "Первое предложение. Второе предложение! Третье?", "ru")
    assert [json.loads(r["body"])["text"] for r in requests] == [
        "Первое предложение.", "Второе предложение!", "Третье?"]
    assert out.sample_rate == SAMPLE_RATE and out.samples.size > 3 * SAMPLE_RATE


def test_configuration_errors():
    for make in (lambda: RemoteBackend(""), lambda: get_backend("remote", url=""),
                 lambda: RemoteBackend("ftp://user:pw@example.com/tts")):
        with pytest.raises(PipelineError, match="TTS_REMOTE_URL") as err:
            make()
        assert err.value.code == TTS_FAILED and "pw" not in str(err.value)


def test_empty_text(server, requests):
    with pytest.raises(PipelineError, match="empty") as err:
        backend(server).synthesize(" \n\t ", "ru")
    assert err.value.code == TEXT_EMPTY
    assert requests == []


def test_looks_like_audio(server):
    assert looks_like_audio(server.mp3) and looks_like_audio(server.wav) and looks_like_audio(server.ogg)
    assert not looks_like_audio(b"") and not looks_like_audio(b"<html>") and not looks_like_audio(b"{}")
