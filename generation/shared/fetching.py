"""Download one pinned model file into WEIGHTS_DIR: streamed, resumable, verified, moved in atomically.

The bytes go to `<file>.part` beside the destination; a cut download resumes from there (HTTP
Range). Only a file of the pinned size (or within its bound, for a file whose size is not published)
and SHA-256, which also passes its content check if it has one, is renamed into place (os.replace:
atomic on one file system), so a wrong or partial file never lands and whatever was there stays.
Every failure is a FetchError with one sentence for the operator.
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

from generation.shared.model_files import ModelFile

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
    return dest.is_file() and item.fits(dest.stat().st_size) and sha256_of(dest) == item.sha256


def _check_wav2lip(path: Path) -> str | None:
    """Why `path` is not a Wav2Lip generator of the official tensor shapes, or None (the worker's own loader)."""
    from generation.pipeline.lipsync.wav2lip import CheckpointError, load_checkpoint

    try:
        load_checkpoint(path)
    except CheckpointError as exc:
        return str(exc)
    return None


def _wav2lip_checkable() -> str | None:
    """Why a Wav2Lip checkpoint cannot be checked in this process (a web-only machine: no torch), or None."""
    try:
        import generation.pipeline.lipsync.wav2lip  # noqa: F401  (the worker's loader and what it needs)
    except ImportError as exc:
        return (f"it is checked by loading it as the worker does, which needs {exc.name or 'torch'}, missing "
                f"here; run the command on a worker machine (requirements/worker.txt)")
    return None


# name -> (why the check cannot run here or None, why a file fails it or None)
CONTENT_CHECKS = {"wav2lip": (_wav2lip_checkable, _check_wav2lip)}


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
    if response.status_code == 416 and offset:
        return response  # nothing left after `offset`: the caller decides whether the part is whole
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
    if item.check:  # before any byte: a file that cannot be checked here is not fetched here
        unable = CONTENT_CHECKS[item.check][0]()
        if unable:
            raise FetchError(f"{item.path}: {unable}; nothing was changed.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + PART_SUFFIX)
    offset = part.stat().st_size if part.is_file() else 0
    if offset > item.limit:  # not a prefix of the pinned file: start over
        part.unlink()
        offset = 0
    url = source_url(item, mirror)
    session = session or requests.Session()
    # An exact size says when the part is whole; a bound does not, so ask for the rest (a 416 says none is left)
    if offset < item.size or not item.size:
        _download(session, url, part, offset, item, stream)
    _verify_and_move(part, dest, item)
    return "fetched"


def _pinned(item: ModelFile) -> str:
    """The size the pin allows, in words."""
    return f"the pinned size is {item.size}" if item.size else f"the bound is {item.max_size}"


def _total(response: requests.Response, offset: int) -> int | None:
    """The whole file's size by the server's headers (Content-Range's total, else offset + Content-Length)."""
    whole = response.headers.get("Content-Range", "").rpartition("/")[2]
    if response.status_code == 206 and whole.isdigit():
        return int(whole)
    declared = response.headers.get("Content-Length", "")
    return offset + int(declared) if declared.isdigit() else None


def _download(session, url: str, part: Path, offset: int, item: ModelFile, stream) -> None:
    """Append the rest of the file to `part` (all of it when the server ignores the Range)."""
    response = _open(session, url, offset)
    with response:
        if response.status_code == 416:
            return  # the part already holds all there is; the checks that follow decide
        if offset and response.status_code != 206:
            offset = 0  # the server sent the whole file
        total = _total(response, offset)
        if total is not None and (total > item.limit or item.size and total != item.size):
            raise FetchError(f"{item.path}: {_host(url)} offers {total} bytes, {_pinned(item)}: "
                             f"not the expected file; nothing was changed.")
        expected = item.size or total  # None: a bounded file sent without a length
        progress = _Progress(Path(item.path).name, expected or item.limit, offset, stream)
        written, cut = offset, False
        try:
            with open(part, "ab" if offset else "wb") as f:
                # read1: whatever has arrived, so a cut connection loses nothing that came before it
                while chunk := response.raw.read1(CHUNK_BYTES):
                    written += len(chunk)
                    if written > item.limit:
                        f.close()
                        part.unlink()
                        bound = f"the pinned {item.size}" if item.size else f"the bound of {item.max_size}"
                        raise FetchError(f"{item.path}: the download is larger than {bound} bytes: "
                                         f"not the expected file; nothing was changed.")
                    f.write(chunk)
                    progress.advance(len(chunk))
                f.flush()
                os.fsync(f.fileno())
        except (requests.RequestException, urllib3.exceptions.HTTPError):
            cut = True  # what arrived stays in the .part file for the next run to resume
        finally:
            progress.close()
    if (expected is None and cut) or (expected is not None and written < expected):
        of = f" of {expected}" if expected else ""
        raise FetchError(f"{item.path}: the download was cut after {written}{of} bytes; run the "
                         f"command again to resume (nothing was changed).")


def _verify_and_move(part: Path, dest: Path, item: ModelFile) -> None:
    """Move `part` into place if it is the pinned file; else remove it and raise."""
    size = part.stat().st_size
    if not item.fits(size):
        part.unlink()
        raise FetchError(f"{item.path}: {size} bytes, {_pinned(item)}; nothing was changed.")
    digest = sha256_of(part)
    if digest != item.sha256:
        part.unlink()  # a wrong file: resuming it would only make it longer
        raise FetchError(f"{item.path}: SHA-256 {digest[:12]}… is not the pinned {item.sha256[:12]}…: "
                         f"not the expected file; nothing was changed.")
    problem = CONTENT_CHECKS[item.check][1](part) if item.check else None
    if problem:
        part.unlink()
        raise FetchError(f"{item.path}: the file matches its pin but fails its {item.check} check ({problem}); "
                         f"nothing was changed.")
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


def status(root: Path, item) -> str:
    """present | partial | missing (size only: --list stays quick)."""
    dest = root / item.path
    if dest.is_file() and item.fits(dest.stat().st_size):
        return "present"
    if dest.with_name(dest.name + PART_SUFFIX).is_file():
        return "partial"
    return "missing"
