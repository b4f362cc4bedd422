"""Writes: create, process, cancel and delete generation requests."""
from __future__ import annotations

import errno
import logging
import os
import time
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from avatars.models import Avatar
from generation import voices
from generation.models import GenerationRequest, Language, Stage, Status, Video

log = logging.getLogger(__name__)

STALE_GRACE_SECONDS = 30  # a running job older than its timeout plus this was lost with its worker
MAX_ATTEMPTS = 2  # a job whose worker died is re-run once, then failed


class Cancelled(Exception):
    pass


class TooManyActive(Exception):
    """The user already has the allowed number of videos queued or running."""


def validate_audio(uploaded) -> float:
    """Check an uploaded recording decodes as audio within the limits; returns its duration in seconds."""
    from generation.pipeline import audio as audio_stage
    from generation.pipeline.types import SAMPLE_RATE, PipelineError

    if uploaded.size > settings.MAX_AUDIO_BYTES:
        raise ValidationError(_("The audio file is %(size).1f MB; the limit is %(limit).0f MB.")
                              % {"size": uploaded.size / 1e6, "limit": settings.MAX_AUDIO_BYTES / 1e6})
    uploaded.seek(0)
    data = uploaded.read()
    uploaded.seek(0)
    try:
        # Decodes at most just past the limit: a tiny low-bitrate file can hold hours of audio.
        samples = audio_stage.validate_upload(data, settings.MAX_AUDIO_SECONDS, settings.MAX_AUDIO_BYTES)
    except PipelineError as exc:
        if "longer than" in str(exc):
            raise ValidationError(_("The recording is longer than the limit of %(limit)s s.")
                                  % {"limit": settings.MAX_AUDIO_SECONDS})
        if "silent" in str(exc) or "empty" in str(exc):
            raise ValidationError(_("The recording is empty."))
        raise ValidationError(_("The file does not decode as audio; upload WAV, MP3, OGG or M4A."))
    return len(samples) / SAMPLE_RATE


def validate_input(*, text, language, avatar=None, voice="", engine="", audio=None) -> dict:
    """Check a generation's input; raises ValidationError({field: message}) naming what is wrong."""
    errors = {}
    text = (text or "").strip() if isinstance(text, str) else text
    if audio is not None:
        try:
            validate_audio(audio)
        except ValidationError as exc:
            errors["audio"] = exc.messages[0]
        text = text if isinstance(text, str) else ""
        if len(text) > settings.MAX_TEXT_LENGTH:
            errors["text"] = _("The text is %(length)s characters long; the limit is %(limit)s.") % {
                "length": len(text), "limit": settings.MAX_TEXT_LENGTH}
    elif not isinstance(text, str) or not text:
        errors["text"] = _("Enter the text the avatar should say.")
    elif len(text) > settings.MAX_TEXT_LENGTH:
        errors["text"] = _("The text is %(length)s characters long; the limit is %(limit)s.") % {
            "length": len(text), "limit": settings.MAX_TEXT_LENGTH}
    allowed = [choice.value for choice in Language]
    if language not in allowed:
        errors["language"] = _("Unknown language «%(language)s»; choose one of: %(allowed)s.") % {
            "language": language, "allowed": ", ".join(allowed)}
    avatar_obj = None
    if avatar in (None, ""):
        avatar_obj = Avatar.default()
        if avatar_obj is None:
            errors["avatar"] = _("No active avatar exists yet; ask staff to add one.")
    else:
        avatar_obj = avatar if isinstance(avatar, Avatar) else _active_avatar(avatar)
        if avatar_obj is None or not avatar_obj.is_active:
            errors["avatar"] = _("Avatar «%(avatar)s» does not exist or is not active.") % {"avatar": avatar}
    voice = voice or ""
    if voice and language in allowed and voice not in voices.voice_ids(language):
        errors["voice"] = _("Unknown voice «%(voice)s» for %(language)s; available: %(available)s.") % {
            "voice": voice, "language": language, "available": ", ".join(voices.voice_ids(language))}
    engine = engine or ""
    if engine and engine not in available_engines():
        errors["engine"] = _("Unknown or unavailable engine «%(engine)s»; available: %(available)s.") % {
            "engine": engine, "available": ", ".join(available_engines())}
    if errors:
        raise ValidationError(errors)
    data = {"text": text, "language": language, "avatar": avatar_obj, "voice": voice, "engine": engine}
    if audio is not None:
        data["audio"] = audio
    return data


def _active_avatar(value):
    try:
        return Avatar.objects.active().get(pk=int(value))
    except (Avatar.DoesNotExist, TypeError, ValueError):
        return None


def available_engines() -> list[str]:
    """viseme always; wav2lip when an official checkpoint lies in WEIGHTS_DIR."""
    from generation.pipeline.lipsync import find_wav2lip_checkpoint

    names = ["viseme"]
    if find_wav2lip_checkpoint(settings.WEIGHTS_DIR):
        names.append("wav2lip")
    return names


def default_engine() -> str:
    """The engine a request naming none gets (LIPSYNC_ENGINE, with auto resolved)."""
    if settings.LIPSYNC_ENGINE in ("viseme", "wav2lip"):
        return settings.LIPSYNC_ENGINE if settings.LIPSYNC_ENGINE in available_engines() else "viseme"
    return available_engines()[-1]


def find_reusable(owner, data: dict) -> GenerationRequest | None:
    """The owner's finished request with the very same input, made after the avatar last changed."""
    voices_for_language = voices.voice_ids(data["language"])
    voice = data["voice"] or (voices_for_language[0] if voices_for_language else "")
    return (
        GenerationRequest.objects.owned_by(owner)
        .filter(status=Status.DONE, avatar=data["avatar"], text=data["text"], language=data["language"],
                voice=voice, engine=data["engine"] or default_engine(), video__isnull=False,
                created_at__gt=data["avatar"].updated_at)
        .select_related("video").order_by("-created_at").first()
    )


def reuse_generation(owner, data: dict, source: GenerationRequest) -> GenerationRequest:
    """A new, already finished request sharing `source`'s video file through a hard link (no re-render)."""
    storage = source.video.file.storage
    relative = str(Path(source.video.file.name).with_name(f"reuse-{uuid.uuid4().hex[:12]}.mp4"))
    try:
        os.link(storage.path(source.video.file.name), storage.path(relative))
    except OSError:
        return None
    now = timezone.now()
    with transaction.atomic():
        request = GenerationRequest.objects.create(
            owner=owner, **{**data, "voice": source.voice, "engine": source.engine}, status=Status.DONE,
            stage=Stage.DONE, progress=100, reused_from=source, started_at=now, finished_at=now,
            **{f"{name}_seconds": 0.0 for name in ("tts", "audio", "face", "lipsync", "encode", "total", "queue")},
        )
        v = source.video
        Video.objects.create(request=request, file=relative, duration=v.duration, fps=v.fps, width=v.width,
                             height=v.height, size=v.size)
    return request


def create_generation(*, owner, text, language, avatar=None, voice="", engine="", audio=None) -> GenerationRequest:
    """Validate, then reuse an identical finished video or queue a new job once the row is committed."""
    data = validate_input(text=text, language=language, avatar=avatar, voice=voice, engine=engine, audio=audio)
    source = None if audio is not None else find_reusable(owner, data)
    if source is not None:
        reused = reuse_generation(owner, data, source)
        if reused is not None:
            return reused
    limit = settings.MAX_ACTIVE_PER_USER
    if GenerationRequest.objects.owned_by(owner).unfinished().count() >= limit:
        raise TooManyActive(_("You already have %(limit)s videos in progress; wait for one to finish.") % {"limit": limit})
    with transaction.atomic():
        request = GenerationRequest.objects.create(owner=owner, **data)
        transaction.on_commit(lambda: enqueue(request))
    return request


def enqueue(request: GenerationRequest) -> None:
    from django_q.tasks import async_task

    task_id = async_task(
        "generation.tasks.run_generation", request.pk, task_name=f"generation-{request.pk}", group="generation"
    )
    GenerationRequest.objects.filter(pk=request.pk).update(task_id=task_id or "")
    request.task_id = task_id or ""


def claim_next() -> int | None:
    """Take the oldest claimable request for this worker, atomically; None when there is none.

    Each queued task is a turn for one request, not a fixed one: whichever worker gets a task runs
    the oldest waiting request, so several workers with prefetched tasks still serve in order.
    """
    from generation import worker

    now = timezone.now()
    # A broker re-delivers a task only after its retry period, longer than the job timeout, so a
    # request still `running` from before then was lost with its worker: take it over.
    lost = Q(status=Status.RUNNING, started_at__lt=now - timedelta(seconds=settings.GENERATION_TIMEOUT))
    with transaction.atomic():
        candidates = GenerationRequest.objects.filter(Q(status=Status.QUEUED) | lost).order_by("created_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        for request in candidates[:MAX_ATTEMPTS * 4]:
            mine = GenerationRequest.objects.filter(pk=request.pk, status=request.status, attempts=request.attempts)
            if request.attempts >= MAX_ATTEMPTS:
                mine.update(status=Status.FAILED, stage=Stage.FAILED, finished_at=now,
                            error="The worker stopped while making this video, twice; please try again later.")
                continue
            if mine.update(status=Status.RUNNING, stage=Stage.TTS, progress=0, started_at=timezone.now(),
                           worker=worker.identity(), attempts=F("attempts") + 1):
                return request.pk
    return None


def _progress_writer(request_id: int):
    """A progress callback that writes stage/progress and notices a cancel between writes."""
    last = {"stage": None, "percent": -1}

    def progress(stage: str, percent: int) -> None:
        if stage == last["stage"] and percent == last["percent"]:
            return
        last.update(stage=stage, percent=percent)
        updated = GenerationRequest.objects.filter(pk=request_id, status=Status.RUNNING).update(
            stage=stage, progress=percent
        )
        if not updated:
            raise Cancelled()

    return progress


def process_generation(request_id: int | None = None) -> str:
    """Run the oldest waiting request (normally `request_id`'s turn) through this worker's pipeline."""
    from generation import worker

    request_id = claim_next()
    if request_id is None:
        return "nothing to do"
    request = GenerationRequest.objects.select_related("avatar").get(pk=request_id)
    queue_seconds = (request.started_at - request.created_at).total_seconds()
    relative = Path("videos") / timezone.now().strftime("%Y/%m") / f"gen-{request.pk}-{uuid.uuid4().hex[:8]}.mp4"
    absolute = Path(settings.MEDIA_ROOT) / relative
    try:
        pipeline = worker.get_pipeline()
        avatar = request.avatar
        speech = None
        if request.audio:
            from generation.pipeline.audio import decode
            from generation.pipeline.types import SAMPLE_RATE, Speech

            speech = Speech(decode(request.audio.path), SAMPLE_RATE)
        result = pipeline.run(
            request.text,
            request.language,
            absolute,
            image_path=avatar.image.path,
            face=avatar.face(),
            avatar_key=(avatar.pk, avatar.updated_at.isoformat()),
            voice=request.voice or None,
            engine=request.engine or None,
            seed=request.pk,
            speech=speech,
            progress=_progress_writer(request.pk),
        )
    except Cancelled:
        absolute.unlink(missing_ok=True)
        return f"#{request_id} cancelled"
    except Exception as exc:
        absolute.unlink(missing_ok=True)
        mark_failed(request.pk, readable_error(exc), queue_seconds=queue_seconds)
        return f"#{request_id} failed"
    with transaction.atomic():
        updated = GenerationRequest.objects.filter(pk=request.pk, status=Status.RUNNING).update(
            status=Status.DONE,
            stage=Stage.DONE,
            progress=100,
            finished_at=timezone.now(),
            voice=result.voice or request.voice,
            engine=result.engine,
            queue_seconds=queue_seconds,
            **{f"{name}_seconds": getattr(result.timings, name) for name in ("tts", "audio", "face", "lipsync", "encode", "total")},
        )
        if updated:
            info = result.video
            Video.objects.create(
                request_id=request.pk, file=str(relative), duration=info.duration, fps=info.fps,
                width=info.width, height=info.height, size=info.size,
            )
    if not updated:  # cancelled or deleted at the last moment
        absolute.unlink(missing_ok=True)
        return f"#{request_id} cancelled"
    return f"#{request_id} done"


def readable_error(exc: Exception) -> str:
    from generation.pipeline.types import PipelineError

    if isinstance(exc, PipelineError):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "The server ran out of disk space while writing the video; please try again later."
    log.exception("Generation failed unexpectedly")
    return f"Internal error while making the video ({type(exc).__name__}: {exc})."


def mark_failed(request_id: int, message: str, *, queue_seconds=None) -> None:
    fields = {"status": Status.FAILED, "stage": Stage.FAILED, "error": message, "finished_at": timezone.now()}
    if queue_seconds is not None:
        fields["queue_seconds"] = queue_seconds
    GenerationRequest.objects.filter(pk=request_id).exclude(status__in=[Status.DONE, Status.CANCELLED]).update(**fields)


def reap_stale_requests() -> int:
    """Requests left `running` by a worker that died are re-queued once, then failed: never left hanging."""
    limit = timezone.now() - timedelta(seconds=settings.GENERATION_TIMEOUT + STALE_GRACE_SECONDS)
    reaped = 0
    for request in GenerationRequest.objects.filter(status=Status.RUNNING, started_at__lt=limit):
        same_run = GenerationRequest.objects.filter(pk=request.pk, status=Status.RUNNING, started_at=request.started_at)
        if request.attempts < MAX_ATTEMPTS:
            if same_run.update(status=Status.QUEUED, stage=Stage.QUEUED, progress=0):
                enqueue(request)
                reaped += 1
        elif same_run.update(status=Status.FAILED, stage=Stage.FAILED, finished_at=timezone.now(),
                             error="The worker stopped while making this video, twice; please try again later."):
            reaped += 1
    reaped += _requeue_lost_tasks()
    if reaped:
        log.warning("Recovered %d generation requests whose worker died", reaped)
    return reaped


def _requeue_lost_tasks() -> int:
    """Queued requests whose task the broker no longer holds (a dead worker had taken it) go back in."""
    from generation.queue import waiting_task_ids

    limit = timezone.now() - timedelta(seconds=STALE_GRACE_SECONDS)
    candidates = list(GenerationRequest.objects.filter(status=Status.QUEUED, created_at__lt=limit).exclude(task_id=""))
    if not candidates:
        return 0
    waiting = waiting_task_ids()
    if waiting is None:
        return 0
    lost = [request for request in candidates if request.task_id not in waiting]
    for request in lost:  # a duplicate is harmless: only one worker can claim a queued request
        enqueue(request)
    return len(lost)


def cancel_generation(request: GenerationRequest) -> bool:
    """Cancel a queued or running request; the worker notices at its next progress step."""
    updated = GenerationRequest.objects.filter(pk=request.pk, status__in=[Status.QUEUED, Status.RUNNING]).update(
        status=Status.CANCELLED, error="Cancelled by the user.", finished_at=timezone.now()
    )
    request.refresh_from_db()
    return bool(updated)


def delete_generation(request: GenerationRequest) -> None:
    """Remove the request and its files (video, uploaded audio)."""
    video = request.video_or_none
    files = [f for f in (video.file if video else None, request.audio) if f]
    with transaction.atomic():
        if request.status in (Status.QUEUED, Status.RUNNING):
            cancel_generation(request)
        request.delete()
    for file in files:
        file.storage.delete(file.name)
    if video:  # the poster frame views.poster cached next to the video
        video.file.storage.delete(f"{video.file.name}.jpg")


def wait_until_finished(request: GenerationRequest, timeout: float, poll: float = 0.2) -> GenerationRequest:
    """Block until the request finishes or `timeout` seconds pass (for the synchronous endpoint)."""
    deadline = time.monotonic() + timeout
    while True:
        request.refresh_from_db()
        if request.is_finished or time.monotonic() >= deadline:
            return request
        time.sleep(poll)
