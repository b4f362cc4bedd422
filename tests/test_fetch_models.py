"""`manage.py fetch_models` against a real HTTP server on 127.0.0.1: mirror, resume, wrong files, no network."""
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from generation import model_files
from generation.management.commands import fetch_models as command
from generation.model_files import Model, ModelFile

PAYLOAD = os.urandom(300_000)  # three chunks of 100 KB: enough for a cut in the middle
PATH = "piper/xx_XX-test-medium.onnx"
CONFIG = json.dumps({"audio": {"sample_rate": 22050}, "espeak": {"voice": "xx"},
                     "phoneme_id_map": {"_": [0], "a": [14]}, "num_symbols": 256}).encode()


class Server:
    """Serves `files` (path -> bytes) with Range support; `cut_after` sends that many bytes, then hangs up."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.cut_after: int | None = None
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                server.requests.append({"path": self.path, "range": self.headers.get("Range")})
                body = server.files.get(self.path.lstrip("/"))
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = 0
                if self.headers.get("Range"):
                    start = int(self.headers["Range"].split("=")[1].rstrip("-"))
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                rest = body[start:]
                if server.cut_after is not None:
                    self.wfile.write(rest[:server.cut_after])
                    self.wfile.flush()
                    server.cut_after = None
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(rest)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def server():
    s = Server()
    yield s
    s.httpd.shutdown()


@pytest.fixture
def weights(settings, tmp_path):
    settings.WEIGHTS_DIR = tmp_path / "weights"
    return settings.WEIGHTS_DIR


def manifest(monkeypatch, url: str, data: bytes = PAYLOAD, size: int | None = None) -> Model:
    """A one-file test model whose official home is `url`, pinned to PAYLOAD."""
    model = Model("test-voice", "A test voice", "CC0 (test data)",
                  (ModelFile(PATH, f"{url}/official/{PATH}", hashlib.sha256(data).hexdigest(),
                             len(data) if size is None else size),),
                  ((PATH + ".json", f"{url}/official/{PATH}.json", "xx"),))
    monkeypatch.setattr(command, "by_name", lambda: {model.name: model})
    monkeypatch.setattr(command, "list_all", lambda: [model])
    return model


def run(*args) -> str:
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command("fetch_models", *args, stdout=out, stderr=err)
    return out.getvalue()


def test_fetches_from_the_official_home_verifies_and_says_the_licence(server, weights, monkeypatch):
    manifest(monkeypatch, server.url)
    server.files[f"official/{PATH}"] = PAYLOAD
    server.files[f"official/{PATH}.json"] = CONFIG
    out = run()
    assert (weights / PATH).read_bytes() == PAYLOAD
    assert (weights / (PATH + ".json")).read_bytes() == CONFIG  # the voice is usable: its config came too
    assert not (weights / (PATH + ".part")).exists()
    assert "licence: CC0 (test data)" in out and "fetched, verified" in out and "Restart the worker" in out
    assert "checked as a Piper config of language xx" in out
    again = run()
    assert again.count("already in place") == 2 and len(server.requests) == 2  # nothing downloaded twice


@pytest.mark.parametrize("body", [b"<html>Sign in to continue</html>", json.dumps({"audio": {}}).encode(),
                                  CONFIG.replace(b'"xx"', b'"de"'), b"{" + b" " * 300_000 + b"}"])
def test_a_config_that_is_not_the_voices_never_lands(server, weights, monkeypatch, body):
    manifest(monkeypatch, server.url)
    server.files[f"official/{PATH}"] = PAYLOAD
    server.files[f"official/{PATH}.json"] = body
    with pytest.raises(CommandError, match="not a Piper voice config; nothing was changed"):
        run()
    assert not (weights / (PATH + ".json")).exists() and not (weights / (PATH + ".json.part")).exists()


def test_mirror_serves_the_weights_layout(server, weights, monkeypatch):
    manifest(monkeypatch, "http://127.0.0.1:9")  # the official home is unreachable
    server.files[f"mirror/{PATH}"] = PAYLOAD
    server.files[f"mirror/{PATH}.json"] = CONFIG
    run("test-voice", "--mirror", f"{server.url}/mirror/")
    assert (weights / PATH).read_bytes() == PAYLOAD
    assert server.requests == [{"path": f"/mirror/{PATH}", "range": None},
                               {"path": f"/mirror/{PATH}.json", "range": None}]


def test_a_cut_download_resumes_with_range(server, weights, monkeypatch):
    manifest(monkeypatch, server.url)
    server.files[f"official/{PATH}"] = PAYLOAD
    server.files[f"official/{PATH}.json"] = CONFIG
    server.cut_after = 120_000
    with pytest.raises(CommandError, match="cut after 120000 of 300000 bytes; run the command again"):
        run()
    assert not (weights / PATH).exists()  # a partial file never lands
    assert (weights / (PATH + ".part")).stat().st_size == 120_000
    assert "partial" in run("--list")
    run()
    assert server.requests[-2]["range"] == "bytes=120000-"  # the last one fetched the config
    assert (weights / PATH).read_bytes() == PAYLOAD
    assert not (weights / (PATH + ".part")).exists()


def test_a_wrong_file_never_lands_and_the_old_one_stays(server, weights, monkeypatch):
    manifest(monkeypatch, server.url)
    (weights / "piper").mkdir(parents=True)
    (weights / PATH).write_bytes(b"the operator's old file")
    server.files[f"official/{PATH}"] = bytes(reversed(PAYLOAD))  # the right size, the wrong bytes
    with pytest.raises(CommandError, match="SHA-256 .* is not the pinned .*nothing was changed"):
        run()
    assert (weights / PATH).read_bytes() == b"the operator's old file"
    assert not (weights / (PATH + ".part")).exists()


def test_a_file_of_another_size_is_refused(server, weights, monkeypatch):
    manifest(monkeypatch, server.url)
    server.files[f"official/{PATH}"] = PAYLOAD + b"extra"
    with pytest.raises(CommandError, match="offers 300005 bytes, the pinned size is 300000"):
        run()
    assert not (weights / PATH).exists() and not (weights / (PATH + ".part")).exists()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_network_is_one_sentence_not_a_traceback(weights, tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "avatarsite.settings_test", "WEIGHTS_DIR": str(weights)}
    done = subprocess.run([sys.executable, "manage.py", "fetch_models", "s3fd", "--mirror",
                           f"http://127.0.0.1:{closed_port()}"], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parent.parent, timeout=60)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "Cannot connect to 127.0.0.1" in done.stderr and "no network" in done.stderr
    assert not any(weights.rglob("*")) if weights.exists() else True


def test_the_list_names_every_model_with_its_licence(weights):
    out = run("--list")
    for model in model_files.MODELS:
        assert model.name in out and model.licence in out
    assert "missing" in out
    with pytest.raises(CommandError, match="Unknown model nope"):
        run("nope")


def test_every_pin_is_a_sha256_and_a_size():
    for model in model_files.MODELS:
        for item in model.files:
            assert len(item.sha256) == 64 and int(item.sha256, 16) >= 0 and item.size > 1_000_000
            assert item.url.startswith("https://") and not item.path.startswith("/") and ".." not in item.path


@pytest.mark.django_db
def test_the_staff_page_says_what_is_in_place_and_what_the_workers_loaded(client, user, weights, caplog):
    from django.contrib.auth import get_user_model

    from generation import worker
    from generation.pipeline.tts.espeak import EspeakBackend

    class Pipeline:  # what report_models reads of the real one
        engine_names, default_engine, tts = ["viseme"], "viseme", EspeakBackend()

    (weights).mkdir(parents=True, exist_ok=True)
    with open(weights / "s3fd-619a316812.pth", "wb") as f:
        f.truncate(89843225)  # sparse: the page checks sizes only
    with caplog.at_level("INFO", logger="generation.worker"):
        worker.report_models(Pipeline())
    assert "lip-sync viseme (default viseme)" in caplog.text and "s3fd-619a316812.pth" in caplog.text
    client.force_login(user)
    assert client.get("/staff/models/").status_code == 302  # staff only
    staff = get_user_model().objects.create_user("root", password="x", is_staff=True)
    client.force_login(staff)
    page = client.get("/staff/models/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "ru_RU-irina-medium" in page and "present" in page and "missing" in page
    assert worker.identity() in page and "ru+f3" in page  # the worker's report, voices included
