"""Writes on behalf of users: create (or reuse), cancel and delete generation requests."""
from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from generation import quotas, webhooks
from generation.shared import locks, storage, streams, voices
from generation.web import idempotency
from generation.models import TIMING_FIELDS, GenerationRequest, Status, SyncWait
from generation.queue import enqueue
from generation.web.validation import GenerationInput, default_engine
from generation.retention import result_files

SYNC_WAIT_GRACE_SECONDS = 30  # a wait row older than the timeout plus this was left by a killed web process


class TooManyActive(Exception):
    """The user already has the allowed number of videos queued or running."""


class QuotaExceeded(Exception):
    """The user's seconds of video for today (USER_DAILY_SECONDS) are used up; `resets_at` says until when."""

    def __init__(self, resets_at):
        self.resets_at = resets_at
        self.retry_after = max(1, int((resets_at - timezone.now()).total_seconds()))
        limit, minutes = settings.USER_DAILY_SECONDS, -(-self.retry_after // 60)  # rounded up
        super().__init__(_("You have used today's %(limit)s s of video. The limit resets at %(time)s UTC "
                           "(in %(hours)s h %(minutes)s min).")
                         % {"limit": limit, "time": resets_at.strftime("%H:%M"), "hours": minutes // 60,
                            "minutes": minutes % 60})


class TooManyWaiting(Exception):
    """Too many synchronous waits are open (the user's own, or everybody's)."""


def find_reusable(owner, data: GenerationInput) -> GenerationRequest | None:
    """The owner's finished request with the very same input, made after the avatar last changed."""
    voice = data.voice or voices.default_voice_id(data.language)
    return (
        GenerationRequest.objects.owned_by(owner)
        .filter(status=Status.DONE, avatar=data.avatar, text=data.text, language=data.language,
                voice=voice, engine=data.engine or default_engine(), motion=data.motion, subtitles=data.subtitles,
                frame=data.frame, resolution=data.resolution, background=data.background,
                background_image=data.background_image, rate=data.rate, video__isnull=False,
                created_at__gt=data.avatar.updated_at)
        .select_related("video").order_by("-created_at").first()
    )


def reuse_generation(owner, data: GenerationInput, source: GenerationRequest,
                     keyed: dict | None = None) -> GenerationRequest | None:
    """A new, already finished request sharing `source`'s video file through a hard link (no re-render)."""
    files = source.video.file.storage
    relative = str(Path(source.video.file.name).with_name(f"reuse-{uuid.uuid4().hex[:12]}.mp4"))
    if not storage.duplicate(files, source.video.file.name, relative):
        return None
    poster = ""  # its own copy too: deleting (or expiring) either request must not take the other's poster
    if source.video.poster and storage.duplicate(files, source.video.poster.name, relative + ".jpg"):
        poster = relative + ".jpg"
    now = timezone.now()
    v = source.video
    # finished the moment it was made: its receiver is told too
    return GenerationRequest.objects.create_finished(
        owner=owner, **{**data.model_fields(), "voice": source.voice, "engine": source.engine}, notes=source.notes,
        reused_from=source, started_at=now, finished_at=now,
        **{f"{name}_seconds": 0.0 for name in TIMING_FIELDS}, **(keyed or {}),
        video={"file": relative, "poster": poster, "duration": v.duration, "fps": v.fps, "width": v.width,
               "height": v.height, "size": v.size, "captions_vtt": v.captions_vtt, "captions_srt": v.captions_srt},
    )


def refusal(owner) -> Exception | None:
    """Why `owner` may not start another video now (TooManyActive, QuotaExceeded), or None."""
    limit = settings.MAX_ACTIVE_PER_USER
    if GenerationRequest.objects.owned_by(owner).unfinished().count() >= limit:
        return TooManyActive(_("You already have %(limit)s videos in progress; wait for one to finish.")
                             % {"limit": limit})
    resets_at = quotas.exhausted(owner)
    return QuotaExceeded(resets_at) if resets_at is not None else None


def create_generation(owner, data, idempotency_key: str = "", body_sha256: str = "") -> GenerationRequest:
    """Reuse an identical finished video or queue a new job, within the user's cap of active jobs.

    `data` is the validated GenerationInput, or a callable that validates and returns it: with an
    idempotency key the key's original request is answered first (marked `replayed`), before any
    validation (the original may name an avatar that is gone by now). This is the one place a key is
    replayed: at once, again under the lock, and after a lost race on the (owner, key) constraint.

    The cap is counted and the row inserted under one lock per user, so simultaneous posts cannot
    slip past it; a reuse is refused at the cap too (it would otherwise be a free extra job).
    """
    if idempotency_key:
        found = _replayed(owner, idempotency_key, body_sha256)
        if found is not None:
            return found
    if callable(data):
        data = data()
    with transaction.atomic():
        locks.hold(f"generation-cap-{owner.pk}")
        if idempotency_key:
            found = _replayed(owner, idempotency_key, body_sha256)
            if found is not None:
                return found
            idempotency.release_expired(owner, idempotency_key)
        refused = refusal(owner)
        if refused is not None:
            raise refused
        keyed = {"idempotency_key": idempotency_key, "body_sha256": body_sha256} if idempotency_key else {}
        if data.callback_url:
            webhooks.ensure_secret(owner)  # its deliveries are signed: the secret exists before the first one
        try:
            with transaction.atomic():  # a savepoint: a lost race on the key leaves the outer transaction usable
                return _create(owner, data, keyed)
        except IntegrityError:
            found = _replayed(owner, idempotency_key, body_sha256) if idempotency_key else None
            if found is None:
                raise
            return found


def _replayed(owner, key: str, body: str) -> GenerationRequest | None:
    """The key's original request, marked `replayed`; None when the key is unused (KeyMismatch on another body)."""
    found = idempotency.replay(owner, key, body)
    if found is not None:
        found.replayed = True
    return found


def _create(owner, data: GenerationInput, keyed: dict) -> GenerationRequest:
    """The new request: a reuse of an identical finished video when there is one, else a queued job."""
    source = None if data.audio is not None else find_reusable(owner, data)
    reused = reuse_generation(owner, data, source, keyed) if source is not None else None
    if reused is not None:
        return reused
    request = GenerationRequest.objects.create(owner=owner, **data.model_fields(), **keyed)
    transaction.on_commit(lambda: enqueue(request))
    return request


def cancel_generation(request: GenerationRequest) -> bool:
    """Cancel a queued or running request; the worker notices at its next progress step."""
    cancelled = GenerationRequest.objects.cancel(request.pk)
    request.refresh_from_db()
    return cancelled


def delete_generation(request: GenerationRequest) -> None:
    """Remove the request and its files (video, poster, uploaded audio, the stream's segments)."""
    video = request.video_or_none
    files = [*(result_files(video) if video else []), *([request.audio] if request.audio else [])]
    if request.status in (Status.QUEUED, Status.RUNNING):
        cancel_generation(request)
    # files first: a bucket that is down (StorageUnavailable, 503) leaves the row, to delete later
    for file in files:
        storage.delete(file.storage, file.name)
    streams.delete(default_storage, request.stream_dir)
    request.delete()


@contextmanager
def sync_wait_slot(owner):
    """Hold one of the few synchronous-wait slots while the block runs, or raise TooManyWaiting."""
    fresh = timezone.now() - timedelta(seconds=settings.SYNC_GENERATE_TIMEOUT + SYNC_WAIT_GRACE_SECONDS)
    with transaction.atomic():
        locks.hold("sync-wait")
        open_waits = SyncWait.objects.filter(started_at__gt=fresh)
        if (open_waits.count() >= settings.SYNC_GENERATE_TOTAL
                or open_waits.filter(owner=owner).count() >= settings.SYNC_GENERATE_PER_USER):
            raise TooManyWaiting(_("Too many videos are being waited for right now; use the asynchronous API "
                                   "(POST /api/v1/generations/) or try again shortly."))
        SyncWait.objects.filter(started_at__lte=fresh).delete()
        slot = SyncWait.objects.create(owner=owner)
    try:
        yield
    finally:
        SyncWait.objects.filter(pk=slot.pk).delete()


def wait_until_finished(request: GenerationRequest, timeout: float, poll: float = 0.2) -> GenerationRequest:
    """Block until the request finishes or `timeout` seconds pass (for the synchronous endpoint)."""
    deadline = time.monotonic() + timeout
    while True:
        request.refresh_from_db()
        if request.is_finished or time.monotonic() >= deadline:
            return request
        time.sleep(poll)

