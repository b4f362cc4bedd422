"""Seconds of video per user per UTC day (USER_DAILY_SECONDS): reads here, the count is kept by the worker.

How queued and running requests count: they do not. Only finished seconds are counted (exact:
the encoded video's duration, whatever the voice, language or uploaded recording), and what may
run past the limit is bounded by the existing cap on active jobs (MAX_ACTIVE_PER_USER): a user
under the limit may still have that many videos in flight. An estimate from the text length would
be wrong for uploaded recordings and slow or fast voices, and would refuse users who are not over.
Seconds stay counted when a video is deleted or expires (the ledger is its own table); a reused
identical video renders nothing and costs nothing.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone as dt_timezone

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from generation.models import DailyUsage


def utc_day(now: datetime | None = None):
    """Today's date in UTC (quotas reset at UTC midnight whatever TIME_ZONE says)."""
    return (now or timezone.now()).astimezone(dt_timezone.utc).date()


def resets_at(now: datetime | None = None) -> datetime:
    """The next UTC midnight."""
    return datetime.combine(utc_day(now) + timedelta(days=1), time.min, tzinfo=dt_timezone.utc)


def used_seconds(user, now: datetime | None = None) -> float:
    row = DailyUsage.objects.filter(owner=user, day=utc_day(now)).values_list("seconds", flat=True).first()
    return float(row or 0.0)


def quota_status(user) -> dict:
    """{used_seconds, limit_seconds (0 = no limit), resets_at} for `user` today."""
    now = timezone.now()
    return {"used_seconds": round(used_seconds(user, now), 2), "limit_seconds": settings.USER_DAILY_SECONDS,
            "resets_at": resets_at(now)}


def exhausted(user) -> datetime | None:
    """When the user's quota resets, if it is used up now (exactly at the limit counts as used up); else None."""
    limit = settings.USER_DAILY_SECONDS
    now = timezone.now()
    if limit <= 0 or used_seconds(user, now) < limit:
        return None
    return resets_at(now)


def on_video_made(sender, owner_id: int, seconds: float, **kwargs) -> None:
    """lifecycle.video_made's receiver."""
    add_seconds(owner_id, seconds)


def add_seconds(owner_id: int, seconds: float, now: datetime | None = None) -> None:
    """Count a finished video's seconds on today's row (called inside the worker's finishing transaction)."""
    day = utc_day(now)
    row, created = DailyUsage.objects.get_or_create(owner_id=owner_id, day=day, defaults={"seconds": seconds})
    if not created:
        DailyUsage.objects.filter(pk=row.pk).update(seconds=F("seconds") + seconds)
