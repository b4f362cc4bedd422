"""Where stored files live: MEDIA_ROOT (one machine or a shared disk) or an S3-compatible bucket.

Everything that reads or writes a stored file goes through Django's storage API or through here, so
nothing assumes a path that another machine can see. Workers keep local copies of what they read
from a bucket (STORAGE_CACHE_DIR), keyed by name and size, so a prepared clip is fetched once per
worker machine; results are written to a scratch directory and then saved through the storage.
boto3 is imported only when a bucket is configured (the default needs none of it).
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage

log = logging.getLogger(__name__)

COPY_CHUNK = 1024 * 1024
# S3 error codes that mean "the file is not there" (a real 404), not "the bucket is unreachable"
MISSING_CODES = {"NoSuchKey", "404", "NotFound"}


class StorageUnavailable(Exception):
    """The bucket could not be reached or refused us; the request is retried once it is back."""


def is_local(storage=None) -> bool:
    """True when files are plain files under MEDIA_ROOT (paths exist, no bucket)."""
    return isinstance(storage or default_storage, FileSystemStorage)


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the bucket is down, unreachable or refusing us (not that one file is missing)."""
    if isinstance(exc, StorageUnavailable):
        return True
    if not isinstance(exc, _bucket_errors()):
        return False
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code not in MISSING_CODES


# the base classes of every error the bucket's libraries raise, in the modules that define them
BUCKET_ERRORS = {"botocore.exceptions": ("BotoCoreError", "ClientError"), "boto3.exceptions": ("Boto3Error",),
                 "s3transfer.exceptions": ("FatalError", "InvalidSubscriberMethodError", "RetriesExceededError",
                                           "S3CopyFailedError", "S3DownloadFailedError", "S3UploadFailedError",
                                           "S3ValidationError", "TransferNotDoneError")}


def _bucket_errors() -> tuple[type, ...]:
    """Those classes, from the libraries already imported: an error of one that is not cannot exist yet."""
    found = []
    for module_name, names in BUCKET_ERRORS.items():
        module = sys.modules.get(module_name)
        found += [getattr(module, name) for name in names if module is not None and hasattr(module, name)]
    return tuple(found)


@contextmanager
def guard(what: str = "storage"):
    """Turn the bucket's connection and service errors into StorageUnavailable (a file missing stays an OSError)."""
    try:
        yield
    except StorageUnavailable:
        raise
    except Exception as exc:
        if is_unavailable(exc):
            log.warning("Object storage unavailable during %s: %s", what, exc)
            raise StorageUnavailable(f"object storage unavailable during {what}: {type(exc).__name__}") from exc
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        if code in MISSING_CODES:
            raise FileNotFoundError(f"{what}: not in the bucket") from exc
        raise


def reachable() -> bool:
    """Whether the default storage answers now (always True for local files)."""
    if is_local():
        return True
    try:
        with guard("probe"):
            default_storage.bucket.meta.client.head_bucket(Bucket=default_storage.bucket_name)
        return True
    except (StorageUnavailable, OSError):
        return False


def _cache_path(name: str, size: int, version: str) -> Path:
    digest = hashlib.sha256(f"{name}\0{size}\0{version}".encode()).hexdigest()[:32]
    return Path(settings.STORAGE_CACHE_DIR) / digest[:2] / f"{digest}{Path(name).suffix}"


def _trim_cache(keep: Path) -> None:
    """Drop least recently used copies while the cache is over STORAGE_CACHE_MB."""
    root = Path(settings.STORAGE_CACHE_DIR)
    files = [p for p in root.glob("*/*") if p.is_file() and not p.name.startswith(".")]
    total = sum(p.stat().st_size for p in files)
    limit = settings.STORAGE_CACHE_MB * 1024 * 1024
    for path in sorted(files, key=lambda p: p.stat().st_atime):
        if total <= limit:
            break
        if path != keep:
            total -= path.stat().st_size
            path.unlink(missing_ok=True)


def local_copy(field, version: str = "") -> Path:
    """A local path holding the stored file behind `field`: its own path locally, else a cached download.

    `version` tells apart files that may reuse a name (an avatar prepared again). The download goes
    to a temporary name and is renamed into place, so concurrent workers never read half a file.
    """
    storage, name = field.storage, field.name
    if is_local(storage):
        return Path(storage.path(name))
    with guard("download"):
        size = storage.size(name)
        target = _cache_path(name, size, version)
        if target.exists() and target.stat().st_size == size:
            os.utime(target)  # recently used: kept by the trim
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out, storage.open(name, "rb") as src:
                shutil.copyfileobj(src, out, COPY_CHUNK)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    log.info("Fetched %s (%d bytes) from the bucket into the worker's cache", name, size)
    _trim_cache(target)
    return target


def save_file(name: str, path: Path) -> str:
    """Store the local file at `path` under `name` (or a free name near it); returns the stored name."""
    with guard("upload"), open(path, "rb") as fh:
        return default_storage.save(name, File(fh, name=Path(name).name))


def delete(storage, name: str) -> None:
    """Remove one stored file (a file already gone is fine); StorageUnavailable when the bucket is down."""
    if name:
        with guard("delete"):
            storage.delete(name)


def duplicate(storage, source: str, target: str) -> bool:
    """A second stored file with `source`'s bytes at `target` without moving them through here.

    Locally a hard link; in a bucket a server-side copy. False when that is not possible.
    """
    if is_local(storage):
        try:
            os.link(storage.path(source), storage.path(target))
            return True
        except OSError:
            return False
    try:
        with guard("copy"):
            extra = {"ACL": settings.S3_ACL} if settings.S3_ACL else {}
            storage.bucket.meta.client.copy_object(Bucket=storage.bucket_name, Key=target, **extra,
                                                   CopySource={"Bucket": storage.bucket_name, "Key": source})
        return True
    except (StorageUnavailable, OSError):
        return False


def presigned_url(field, *, content_type: str, disposition: str) -> str:
    """A short-lived signed GET URL for the file, answering with our type and disposition (no network call)."""
    parameters = {"ResponseContentType": content_type, "ResponseContentDisposition": disposition,
                  "ResponseCacheControl": "private, max-age=%d" % settings.S3_PRESIGN_SECONDS}
    return field.storage.url(field.name, parameters=parameters, expire=settings.S3_PRESIGN_SECONDS)


def open_range(field, start: int | None = None, end: int | None = None):
    """(size, chunks) of a stored object or one byte range of it, streamed from the bucket."""
    storage = field.storage
    extra = {"Range": f"bytes={start}-{end}"} if start is not None else {}
    with guard("download"):
        answer = storage.bucket.meta.client.get_object(Bucket=storage.bucket_name, Key=field.name, **extra)
    body = answer["Body"]

    def chunks():
        try:
            yield from body.iter_chunks(COPY_CHUNK)
        finally:
            body.close()

    return answer.get("ContentLength"), chunks()


def put_bytes(name: str, data: bytes, content_type: str = "application/octet-stream") -> None:
    """Store `data` under exactly `name`, replacing what was there (a growing playlist is rewritten in place).

    Locally the file is renamed into place whole; in a bucket one PUT replaces the object whole.
    """
    storage = default_storage
    if is_local(storage):
        target = Path(storage.path(name))
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.chmod(partial, 0o644)  # mkstemp makes 0600; the web server must read it
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        return
    extra = {"ACL": settings.S3_ACL} if settings.S3_ACL else {}
    with guard("upload"):
        storage.bucket.meta.client.put_object(Bucket=storage.bucket_name, Key=name, Body=data,
                                              ContentType=content_type, **extra)


def read_bytes(storage, name: str) -> bytes | None:
    """A small stored file's bytes, or None when it is not there."""
    try:
        with guard("download"), storage.open(name, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, OSError):
        return None


def delete_folder(storage, prefix: str) -> None:
    """Remove every stored file under `prefix/` (none there is fine); StorageUnavailable when the bucket is down."""
    prefix = prefix.strip("/")
    if not prefix:
        return
    if is_local(storage):
        shutil.rmtree(storage.path(prefix), ignore_errors=True)
        return
    client = storage.bucket.meta.client
    with guard("delete"):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=storage.bucket_name, Prefix=f"{prefix}/"):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=storage.bucket_name, Delete={"Objects": keys, "Quiet": True})
