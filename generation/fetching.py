"""Download one pinned model file into WEIGHTS_DIR: streamed, resumable, verified, moved in atomically.

The bytes go to `<file>.part` beside the destination; a cut download resumes from there (HTTP
Range). Only a file of the pinned size and SHA-256 is renamed into place (os.replace: atomic on one
file system), so a wrong or partial file never lands and whatever was there stays. Every failure is a
FetchError with one sentence for the operator.
"""
from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
import urllib3

from generation.model_files import ModelFile

# hyper-parameters
CONNECT_TIMEOUT_SECONDS = 3.0  # no network: fail in seconds, not minutes
READ_TIMEOUT_SECONDS = 60.0  # a stalled server, between two chunks
CHUNK_BYTES = 1 << 20
PROGRESS_EVERY_SECONDS = 0.5
PART_SUFFIX = ".part"
MAX_CONFIG_BYTES = 256 * 1024  # a Piper voice config is ~6 KB; anything far larger is not one
USER_AGENT = "talking-avatar-fetch-models/1"


class FetchError(Exception):
    """A download that failed; the message is one sentence for the operator."""


def sha256_of(path: Path) -> str:
    """The file's SHA-256, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def is_in_place(root: Path, item: ModelFile) -> bool:
    """True when the destination already holds exactly the pinned file."""
    dest = root / item.path
    return dest.is_file() and dest.stat().st_size == item.size and sha256_of(dest) == item.sha256


def source_url(item: ModelFile, mirror: str = "") -> str:
    """Where to get `item`: its official home, or the same path under `mirror`."""
    return f"{mirror.rstrip('/')}/{item.path}" if mirror else item.url


class _Progress:
    """A one-line progress bar on stderr (no tqdm in the environment)."""

    def __init__(self, label: str, total: int, done: int, stream=None):
        self.label, self.total, self.done = label, total, done
        self.stream = stream or sys.stderr
        self._shown = 0.0

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self._shown >= PROGRESS_EVERY_SECONDS or self.done >= self.total:
            self._shown = now
            share = self.done / self.total if self.total else 1.0
            bar = "#" * int(share * 30)
            self.stream.write(f"\r  {self.label} [{bar:<30}] {share:6.1%} "
                              f"{self.done / 1e6:.1f}/{self.total / 1e6:.1f} MB")
            self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _open(session: requests.Session, url: str, offset: int) -> requests.Response:
    """GET `url` streamed, from byte `offset` on when > 0; FetchError when there is no answer."""
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = session.get(url, headers=headers, stream=True,
                               timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS))
    except requests.ConnectTimeout:
        raise FetchError(f"{_host(url)} did not answer within {CONNECT_TIMEOUT_SECONDS:g} s: no network? "
                         f"(--mirror URL fetches from a local mirror)") from None
    except requests.ConnectionError:
        raise FetchError(f"Cannot connect to {_host(url)}: no network, or the server is down "
                         f"(--mirror URL fetches from a local mirror).") from None
    except requests.RequestException as exc:
        raise FetchError(f"The request to {_host(url)} failed: {type(exc).__name__}.") from None
    if response.status_code not in (200, 206):
        response.close()
        raise FetchError(f"{_host(url)} answered {response.status_code} for {urlsplit(url).path}.")
    return response


def fetch_file(root: Path, item: ModelFile, mirror: str = "", session: requests.Session | None = None,
               stream=None) -> str:
    """Make `root/item.path` the pinned file; returns "present" or "fetched", raises FetchError."""
    dest = root / item.path
    if is_in_place(root, item):
        return "present"
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + PART_SUFFIX)
    offset = part.stat().st_size if part.is_file() else 0
    if offset > item.size:  # not a prefix of the pinned file: start over
        part.unlink()
        offset = 0
    url = source_url(item, mirror)
    session = session or requests.Session()
    if offset < item.size:
        _download(session, url, part, offset, item, stream)
    _verify_and_move(part, dest, item)
    return "fetched"


def _download(session, url: str, part: Path, offset: int, item: ModelFile, stream) -> None:
    """Append the rest of the file to `part` (all of it when the server ignores the Range)."""
    response = _open(session, url, offset)
    with response:
        if offset and response.status_code != 206:
            offset = 0  # the server sent the whole file
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and offset + int(declared) != item.size:
            raise FetchError(f"{item.path}: {_host(url)} offers {offset + int(declared)} bytes, the pinned "
                             f"size is {item.size}: not the expected file; nothing was changed.")
        progress = _Progress(Path(item.path).name, item.size, offset, stream)
        written = offset
        try:
            with open(part, "ab" if offset else "wb") as f:
                # read1: whatever has arrived, so a cut connection loses nothing that came before it
                while chunk := response.raw.read1(CHUNK_BYTES):
                    written += len(chunk)
                    if written > item.size:
                        f.close()
                        part.unlink()
                        raise FetchError(f"{item.path}: the download is larger than the pinned {item.size} "
                                         f"bytes: not the expected file; nothing was changed.")
                    f.write(chunk)
                    progress.advance(len(chunk))
                f.flush()
                os.fsync(f.fileno())
        except (requests.RequestException, urllib3.exceptions.HTTPError):
            pass  # cut off: what arrived stays in the .part file, and the size check below says so
        finally:
            progress.close()
    if written < item.size:
        raise FetchError(f"{item.path}: the download was cut after {written} of {item.size} bytes; run the "
                         f"command again to resume (nothing was changed).")


def _verify_and_move(part: Path, dest: Path, item: ModelFile) -> None:
    """Move `part` into place if it is the pinned file; else remove it and raise."""
    size = part.stat().st_size
    if size != item.size:
        part.unlink()
        raise FetchError(f"{item.path}: {size} bytes, the pinned size is {item.size}; nothing was changed.")
    digest = sha256_of(part)
    if digest != item.sha256:
        part.unlink()  # a wrong file: resuming it would only make it longer
        raise FetchError(f"{item.path}: SHA-256 {digest[:12]}… is not the pinned {item.sha256[:12]}…: "
                         f"not the expected file; nothing was changed.")
    os.replace(part, dest)


def fetch_voice_config(root: Path, path: str, url: str, language: str, mirror: str = "",
                       session: requests.Session | None = None) -> str:
    """Make `root/path` a Piper voice config for `language`; returns "present" or "fetched", raises FetchError.

    The configs are plain Git files upstream, with no published hash to pin, so they are checked by what
    they are instead: small, JSON, and the shape Piper reads (a sample rate, a phoneme map, an espeak
    voice of the model's own language). Written to a .part file and renamed in, like the pinned files.
    """
    dest = root / path
    if dest.is_file() and _config_problem(dest.read_bytes(), language) is None:
        return "present"
    source = f"{mirror.rstrip('/')}/{path}" if mirror else url
    response = _open(session or requests.Session(), source, 0)
    with response:
        body = response.raw.read(MAX_CONFIG_BYTES + 1, decode_content=True)
    problem = _config_problem(body, language)
    if problem:
        raise FetchError(f"{path}: {problem}: not a Piper voice config; nothing was changed.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + PART_SUFFIX)
    part.write_bytes(body)
    os.replace(part, dest)
    return "fetched"


def _config_problem(body: bytes, language: str) -> str | None:
    """Why `body` is not a Piper voice config for `language` (e.g. "ru"), or None."""
    import json

    if len(body) > MAX_CONFIG_BYTES:
        return f"larger than {MAX_CONFIG_BYTES} bytes"
    try:
        config = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "not JSON"
    if not isinstance(config, dict):
        return "not a JSON object"
    rate = (config.get("audio") or {}).get("sample_rate") if isinstance(config.get("audio"), dict) else None
    if not isinstance(rate, int) or not 8000 <= rate <= 48000:
        return "no usable audio.sample_rate"
    if not isinstance(config.get("phoneme_id_map"), dict) or not config["phoneme_id_map"]:
        return "no phoneme_id_map"
    voice = (config.get("espeak") or {}).get("voice") if isinstance(config.get("espeak"), dict) else None
    if not isinstance(voice, str) or not voice.lower().startswith(language.lower()):
        return f"its espeak voice is {voice!r}, not one of language {language!r}"
    return None
