"""`manage.py fetch_models` against a real HTTP server on 127.0.0.1: mirror, resume, wrong files, no network."""
import functools
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

from generation.shared import fetching, model_files
from generation.management.commands import fetch_models as command
from generation.shared.model_files import Model, ModelFile

PAYLOAD = os.urandom(300_000)  # three chunks of 100 KB: enough for a cut in the middle
PATH = "piper/xx_XX-test-medium.onnx"
CONFIG = json.dumps({"audio": {"sample_rate": 22050}, "espeak": {"voice": "xx"},
                     "phoneme_id_map": {"_": [0], "a": [14]}, "num_symbols": 256}).encode()


class Server:
    """Serves `files` (path -> bytes) with Range support; `cut_after` sends that many bytes, then hangs up."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.cut_after: int | None = None
        self.no_length = False  # send no Content-Length (the end of the body is the end of the connection)
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
                    if start >= len(body):  # as real servers answer a range past the end
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                if server.no_length:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                else:
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
    assert ("wav2lip-gan: Wav2Lip + GAN lip-sync checkpoint (official, wav2lip_gan.pth) — personal, research and "
            "non-commercial use only") in out and "wav2lip_gan.pth (at most 500 MB)" in out
    with pytest.raises(CommandError, match="Unknown model nope"):
        run("nope")


def test_every_pin_is_a_sha256_and_a_size_or_a_bound():
    for model in model_files.MODELS:
        for item in model.files:
            assert len(item.sha256) == 64 and int(item.sha256, 16) >= 0 and item.limit > 1_000_000
            assert item.url.startswith("https://") and not item.path.startswith("/") and ".." not in item.path
            assert not item.check or item.check in fetching.CONTENT_CHECKS
    with pytest.raises(ValueError, match="exactly one of size and max_size"):
        ModelFile("x.pth", "https://example.org/x.pth", "0" * 64, size=10, max_size=20)
    with pytest.raises(ValueError, match="exactly one of size and max_size"):
        ModelFile("x.pth", "https://example.org/x.pth", "0" * 64)


def test_the_wav2lip_checkpoint_lands_where_the_worker_loads_it():
    from generation.pipeline.lipsync import WAV2LIP_CHECKPOINTS

    item, = model_files.by_name()["wav2lip-gan"].files
    assert item.path == WAV2LIP_CHECKPOINTS[0] and item.max_size and not item.size and item.check == "wav2lip"
    assert item.sha256 == "ca9ab7b7b812c0e80a6e70a5977c545a1e8a365a6c49d5e533023c034d7ac3d8"
    assert not model_files.by_name()["wav2lip-gan"].default  # non-commercial: only when named


@pytest.mark.django_db
def test_the_staff_page_says_what_is_in_place_and_what_the_workers_loaded(client, user, weights, caplog):
    from django.contrib.auth import get_user_model

    from generation import worker
    from generation.pipeline.tts.espeak import EspeakBackend
    from generation.workerkit import identity

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
    assert identity() in page and "ru+f3" in page  # the worker's report, voices included


# --- a file with no published size: bounded, SHA-256 pinned, checked as a Wav2Lip generator ---

W2L = "wav2lip_gan.pth"


@functools.cache
def tiny_wav2lip(break_tensor: str = "") -> bytes:
    """A Wav2Lip checkpoint of the official layout in ~50 KB: every tensor a broadcast view of one number.

    torch.save stores the one-element storage, torch.load restores the official shapes, so the worker's
    loader accepts it like a real 436 MB file. `break_tensor` gets one extra row (a foreign file).
    """
    import io

    import torch

    from generation.pipeline.lipsync.wav2lip_model import Wav2Lip

    with torch.device("meta"):
        shapes = {name: (tuple(t.shape), t.dtype) for name, t in Wav2Lip().state_dict().items()}
    one = torch.full((1,), 0.01)
    state = {}
    for name, (shape, dtype) in shapes.items():
        if name == break_tensor:
            shape = (shape[0] + 1, *shape[1:])
        state["module." + name] = one.expand(shape) if dtype.is_floating_point else torch.zeros(shape, dtype=dtype)
    buffer = io.BytesIO()
    torch.save({"state_dict": state, "global_step": 1}, buffer)
    return buffer.getvalue()


def bounded_manifest(monkeypatch, url: str, data: bytes, max_size: int) -> Model:
    """A one-file model like the Wav2Lip entry: `data`'s SHA-256, a bound instead of a size, the wav2lip check."""
    model = Model("test-lipsync", "A test lip-sync checkpoint", "research only (test data)",
                  (ModelFile(W2L, f"{url}/official/{W2L}", hashlib.sha256(data).hexdigest(),
                             max_size=max_size, check="wav2lip"),), default=False)
    monkeypatch.setattr(command, "by_name", lambda: {model.name: model})
    monkeypatch.setattr(command, "list_all", lambda: [model])
    return model


def test_a_bounded_file_is_fetched_checked_as_a_wav2lip_generator_and_loads(server, weights, monkeypatch):
    from generation.pipeline.lipsync import find_wav2lip_checkpoint
    from generation.pipeline.lipsync.wav2lip import load_checkpoint

    data = tiny_wav2lip()
    bounded_manifest(monkeypatch, server.url, data, max_size=len(data) + 10_000)
    server.files[f"official/{W2L}"] = data
    assert "skipped, fetched only when named (research only (test data))" in run()  # not by default
    assert not server.requests
    out = run("test-lipsync")
    assert "licence: research only (test data)" in out and "fetched, verified, checked as a wav2lip file" in out
    assert (weights / W2L).read_bytes() == data and not (weights / (W2L + ".part")).exists()
    assert find_wav2lip_checkpoint(weights) == weights / W2L  # where the worker looks
    assert len(load_checkpoint(weights / W2L).state_dict()) == 352
    assert "already in place" in run("test-lipsync") and len(server.requests) == 1


def test_the_bound_stops_an_oversize_body_sent_without_a_length(server, weights, monkeypatch):
    data = tiny_wav2lip()
    bounded_manifest(monkeypatch, server.url, data, max_size=len(data) + 10_000)
    server.files[f"official/{W2L}"] = data + os.urandom(3_000_000)  # a page, a wrong file: far past the bound
    server.no_length = True
    with pytest.raises(CommandError, match=f"larger than the bound of {len(data) + 10_000} bytes.*nothing was changed"):
        run("test-lipsync")
    assert not (weights / W2L).exists() and not (weights / (W2L + ".part")).exists()


def test_a_declared_length_past_the_bound_is_refused_before_any_byte(server, weights, monkeypatch):
    data = tiny_wav2lip()
    bounded_manifest(monkeypatch, server.url, data, max_size=len(data) + 10_000)
    server.files[f"official/{W2L}"] = data + bytes(20_000)
    with pytest.raises(CommandError, match=f"offers {len(data) + 20_000} bytes, the bound is {len(data) + 10_000}"):
        run("test-lipsync")
    assert not (weights / W2L).exists() and not (weights / (W2L + ".part")).exists()


def test_a_wrong_sha_within_the_bound_never_lands(server, weights, monkeypatch):
    data = tiny_wav2lip()
    bounded_manifest(monkeypatch, server.url, data, max_size=len(data) + 10_000)
    (weights).mkdir(parents=True)
    (weights / W2L).write_bytes(b"the operator's own checkpoint")
    server.files[f"official/{W2L}"] = data[:-1] + bytes([data[-1] ^ 1])  # one bit off: loads, but not the pin
    with pytest.raises(CommandError, match="SHA-256 .* is not the pinned .*nothing was changed"):
        run("test-lipsync")
    assert (weights / W2L).read_bytes() == b"the operator's own checkpoint"
    assert not (weights / (W2L + ".part")).exists()


def test_a_pinned_file_that_is_no_wav2lip_generator_never_lands(server, weights, monkeypatch):
    foreign = tiny_wav2lip("audio_encoder.0.conv_block.0.weight")  # what the pin says, but not Wav2Lip's shapes
    bounded_manifest(monkeypatch, server.url, foreign, max_size=len(foreign) + 10_000)
    server.files[f"official/{W2L}"] = foreign
    with pytest.raises(CommandError, match=r"fails its wav2lip check \(.*audio_encoder.0.conv_block.0.weight.*"
                                           r"has shape \(33, 1, 3, 3\).*nothing was changed"):
        run("test-lipsync")
    assert not (weights / W2L).exists() and not (weights / (W2L + ".part")).exists()


def test_a_cut_bounded_download_resumes_without_an_exact_size(server, weights, monkeypatch):
    data = tiny_wav2lip()
    bounded_manifest(monkeypatch, server.url, data, max_size=len(data) + 10_000)
    server.files[f"official/{W2L}"] = data
    server.cut_after = 20_000
    with pytest.raises(CommandError, match=f"cut after 20000 of {len(data)} bytes; run the command again"):
        run("test-lipsync")
    assert (weights / (W2L + ".part")).stat().st_size == 20_000 and not (weights / W2L).exists()
    assert "partial" in run("--list")
    run("test-lipsync")
    assert server.requests[-1]["range"] == "bytes=20000-"
    assert (weights / W2L).read_bytes() == data and not (weights / (W2L + ".part")).exists()


def test_a_whole_part_left_by_a_killed_run_is_checked_and_moved_in(server, weights, monkeypatch):
    data = tiny_wav2lip()
    bounded_manifest(monkeypatch, server.url, data, max_size=len(data) + 10_000)
    server.files[f"official/{W2L}"] = data
    weights.mkdir(parents=True)
    (weights / (W2L + ".part")).write_bytes(data)  # killed after the last byte, before the rename
    assert "fetched, verified" in run("test-lipsync")
    assert server.requests == [{"path": f"/official/{W2L}", "range": f"bytes={len(data)}-"}]  # answered 416
    assert (weights / W2L).read_bytes() == data


def test_without_torch_the_checkpoint_is_not_even_downloaded(server, weights, monkeypatch):
    data = tiny_wav2lip()
    bounded_manifest(monkeypatch, server.url, data, max_size=len(data) + 10_000)
    server.files[f"official/{W2L}"] = data
    monkeypatch.setitem(fetching.CONTENT_CHECKS, "wav2lip", (lambda: "no torch here (test)",
                                                           fetching.CONTENT_CHECKS["wav2lip"][1]))
    with pytest.raises(CommandError, match="wav2lip_gan.pth: no torch here \\(test\\); nothing was changed"):
        run("test-lipsync")
    assert not server.requests and not (weights / W2L).exists()


def test_the_list_shows_the_bounded_entry_and_its_licence(weights, monkeypatch):
    bounded_manifest(monkeypatch, "http://127.0.0.1:9", b"x", max_size=500_000_000)
    out = run("--list")
    assert "test-lipsync: A test lip-sync checkpoint — research only (test data) (fetched only when named)" in out
    assert f"missing  {W2L} (at most 500 MB)" in out
