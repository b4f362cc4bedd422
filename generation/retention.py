"""RESULT_RETENTION_DAYS: finished videos older than that lose their files; their rows stay, marked expired.

Runs hourly on the workers' django-q2 schedule (migration 0012) and as `manage.py purge_results`.
A file the bucket cannot delete right now keeps its row unexpired, so the next pass tries again.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import models
from django.utils import timezone

from generation.shared import storage, streams
from generation.models import GenerationRequest, Status, Video

log = logging.getLogger(__name__)

BATCH = 200  # requests per pass: a backlog is worked off over a few passes, never in one huge one


def result_files(video: Video) -> list:
    """Every stored file of a finished video: the MP4 and its poster (captions are text on the row, gone with it)."""
    return [getattr(video, f.name) for f in Video._meta.get_fields()
            if isinstance(f, models.FileField) and getattr(video, f.name)]


def expire(request: GenerationRequest, now: datetime) -> bool:
    """Remove one request's result files (and its stream) and mark it expired; False when the storage is down."""
    video = request.video_or_none
    try:
        for file in result_files(video) if video else []:
            storage.delete(file.storage, file.name)
        streams.delete(default_storage, request.stream_dir)
    except storage.StorageUnavailable:
        return False
    GenerationRequest.objects.expire(request.pk, now)
    return True


def purge_results(days: int | None = None, now: datetime | None = None) -> int:
    """Expire finished requests created more than `days` (default RESULT_RETENTION_DAYS) ago; how many."""
    days = settings.RESULT_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    now = now or timezone.now()
    due = (GenerationRequest.objects.filter(status=Status.DONE, expired_at__isnull=True,
                                            created_at__lt=now - timedelta(days=days))
           .select_related("video").order_by("created_at")[:BATCH])
    expired = sum(expire(request, now) for request in due)
    if expired:
        log.info("Retention: %d result(s) older than %d day(s) removed", expired, days)
    return expired
