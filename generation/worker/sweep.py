"""Stored files that no row references (orphans) are removed, on disk or in the bucket.

Orphans come from runs that died between storing a file and recording it (a killed worker, a bucket
that failed a delete). Every FileField of every model counts as a reference, so a file is only ever
removed when nothing in the database names it; files younger than ORPHAN_GRACE_MINUTES are kept,
since a running job may have stored them a moment before recording them. Runs hourly in the workers
(generation.worker.recovery's watchdog) and as `manage.py sweep_orphans`.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone as dt_timezone
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import models
from django.utils import timezone

from generation.shared import storage as stored
from generation.models import GenerationRequest

log = logging.getLogger(__name__)

FOLDERS = ("avatars", "videos", "uploads", "streams")  # what the site stores under; nothing else is touched
LIST_PAGE = 1000  # objects per bucket listing call


@dataclass
class SweepReport:
    removed: list[str] = field(default_factory=list)  # (or, in a dry run, what would be)
    kept_young: int = 0  # unreferenced but within the grace period
    failed: list[str] = field(default_factory=list)  # the storage refused to delete them now
    bytes: int = 0

    def __str__(self) -> str:
        return (f"{len(self.removed)} orphan file(s), {self.bytes / 1e6:.1f} MB; {self.kept_young} younger than the "
                f"grace period kept; {len(self.failed)} could not be removed")


def referenced_names() -> set[str]:
    """Every stored name any row of any model holds in a FileField."""
    names = set()
    for model in apps.get_models():
        for f in model._meta.get_fields():
            if isinstance(f, models.FileField):
                names.update(model._default_manager.exclude(**{f.name: ""}).exclude(**{f"{f.name}__isnull": True})
                             .values_list(f.name, flat=True))
    return names


def stream_folders() -> set[str]:
    """The stored folders of the requests' HLS streams: their files belong to a row too."""
    return set(GenerationRequest.objects.exclude(stream_dir="").values_list("stream_dir", flat=True))


def local_files(storage, folders=FOLDERS):
    """(name, size, modified) of every file under the folders of a FileSystemStorage."""
    root = Path(storage.location)
    for folder in folders:
        for directory, _dirs, files in os.walk(root / folder):
            for file in files:
                path = Path(directory) / file
                try:
                    info = path.stat()
                except FileNotFoundError:  # removed meanwhile
                    continue
                yield (path.relative_to(root).as_posix(), info.st_size,
                       datetime.fromtimestamp(info.st_mtime, tz=dt_timezone.utc))


def bucket_files(storage, folders=FOLDERS):
    """(name, size, modified) of every object under the folders of the bucket (one listing per 1000)."""
    client = storage.bucket.meta.client
    for folder in folders:
        with stored.guard("listing"):
            pages = client.get_paginator("list_objects_v2").paginate(
                Bucket=storage.bucket_name, Prefix=f"{folder}/", PaginationConfig={"PageSize": LIST_PAGE})
            for page in pages:
                for item in page.get("Contents", []):
                    yield item["Key"], item["Size"], item["LastModified"]


def sweep_orphans(grace_minutes: int | None = None, dry_run: bool = False, storage=None,
                  now: datetime | None = None) -> SweepReport:
    """Remove stored files older than the grace period that no row references; what was removed."""
    storage = storage or default_storage
    grace = settings.ORPHAN_GRACE_MINUTES if grace_minutes is None else grace_minutes
    cutoff = (now or timezone.now()) - timedelta(minutes=grace)
    listing = local_files(storage) if stored.is_local(storage) else bucket_files(storage)
    # listed before the references are read: a file stored and recorded meanwhile is then referenced
    files = list(listing)
    referenced = referenced_names()
    streams = stream_folders()
    report = SweepReport()
    for name, size, modified in files:
        if name in referenced or name.rsplit("/", 1)[0] in streams:
            continue
        if modified > cutoff:
            report.kept_young += 1
            continue
        if not dry_run:
            try:
                stored.delete(storage, name)
            except Exception:  # the bucket is down: the next sweep tries again
                log.warning("Sweep: could not remove %s", name, exc_info=True)
                report.failed.append(name)
                continue
        report.removed.append(name)
        report.bytes += size
    if report.removed and not dry_run:
        log.warning("Sweep: removed %d orphan file(s) (%.1f MB): %s", len(report.removed), report.bytes / 1e6,
                    ", ".join(report.removed[:20]))
    return report
