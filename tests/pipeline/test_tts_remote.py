"""The remote TTS backend against a real HTTP server on 127.0.0.1 serving real MP3/WAV/OGG."""
import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from generation.pipeline.audio import ffmpeg_exe, speech_bounds, wav_bytes
from generation.pipeline.tts import get_backend
from generation.pipeline.tts.espeak import EspeakBackend
from generation.pipeline.tts.remote import RemoteBackend, looks_like_audio
from generation.pipeline.tts.text import synthesize_text
from generation.pipeline.types import SAMPLE_RATE, PipelineError

HANG_SECONDS = 3.0
SHORT_TIMEOUT = 0.3


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

    def do_POST(self):
        srv = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        srv.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        count = sum(r["path"] == self.path for r in srv.requests)
        path = self.path
        if path == "/flaky" and count <= 2:
            return self.reply(500, b"<h1>Internal Server Error</h1>", "text/html")
        if path == "/down":
            return self.reply(503, b"maintenance", "text/plain")
        if path == "/forbidden":
            return self.reply(403, b'{"error": "bad token"}', "application/json")
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

    def reply(self, code: int, data: bytes, ctype: str):
        try:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout case)


@pytest.fixture(scope="module")
def speech():
    return EspeakBackend().synthesize("Привет, это удалённый голос.", "ru")


@pytest.fixture(scope="module")
def server(speech):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.requests = []
    srv.mp3, srv.ogg = encode(speech, "mp3"), encode(speech, "ogg")
    srv.wav = wav_bytes(speech.samples, speech.sample_rate)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def requests(server):
    server.requests.clear()
    return server.requests


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
    with pytest.raises(PipelineError, match=r"failed \(HTTP 503\): maintenance \(3 attempts\)"):
        backend(server, "/down", retries=2, backoff=0.1).synthesize("Привет", "ru")
    assert len(requests) == 3
    assert time.monotonic() - start >= 0.1 + 0.2  # waited 0.1 then 0.2 s between attempts


def test_4xx_is_not_retried(server, requests):
    with pytest.raises(PipelineError, match=r"rejected the request \(HTTP 403\).*bad token"):
        backend(server, "/forbidden", token="wrong").synthesize("Привет", "ru")
    assert len(requests) == 1


def test_timeout_fails_fast_and_is_not_retried(server, requests):
    start = time.monotonic()
    with pytest.raises(PipelineError, match=r"did not answer within 0.3 s"):
        backend(server, "/hang", timeout=SHORT_TIMEOUT).synthesize("Привет", "ru")
    assert time.monotonic() - start < HANG_SECONDS - 1
    assert len(requests) == 1


def test_connection_refused_is_retried_then_reported():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tts = RemoteBackend(f"http://user:pw@127.0.0.1:{port}/tts?key=k", retries=1, backoff=0.01)
    with pytest.raises(PipelineError, match=r"127\.0\.0\.1:\d+ is unreachable.*\(2 attempts\)") as err:
        tts.synthesize("Привет", "ru")
    assert "pw" not in str(err.value) and "key=k" not in str(err.value)


@pytest.mark.parametrize("path", ["/html", "/empty", "/broken"])
def test_garbage_is_a_readable_error(server, requests, path):
    with pytest.raises(PipelineError, match="TTS service returned no audio"):
        backend(server, path).synthesize("Привет", "ru")
    assert len(requests) == 1


def test_long_text_goes_sentence_by_sentence(server, requests):
    out = synthesize_text(backend(server), "Первое предложение. Второе предложение! Третье?", "ru")
    assert [json.loads(r["body"])["text"] for r in requests] == [
        "Первое предложение.", "Второе предложение!", "Третье?"]
    assert out.sample_rate == SAMPLE_RATE and out.samples.size > 3 * SAMPLE_RATE


def test_configuration_errors():
    with pytest.raises(PipelineError, match="TTS_REMOTE_URL"):
        RemoteBackend("")
    with pytest.raises(PipelineError, match="TTS_REMOTE_URL"):
        get_backend("remote", url="")
    with pytest.raises(PipelineError, match="http"):
        RemoteBackend("ftp://example.com/tts")


def test_looks_like_audio(server):
    assert looks_like_audio(server.mp3) and looks_like_audio(server.wav) and looks_like_audio(server.ogg)
    assert not looks_like_audio(b"") and not looks_like_audio(b"<html>") and not looks_like_audio(b"{}")
