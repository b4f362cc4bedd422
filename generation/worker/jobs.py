"""The worker's side of a request: claim it, run the pipeline with a heartbeat, record the outcome."""
from __future__ import annotations

import hashlib
import logging
import tempfile
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from generation.shared import errors, storage, streams
from generation.models import PIPELINE_TIMINGS, GenerationRequest, Status
from generation import worker
from generation.workerkit import Cancelled, Heartbeat, identity
from avatars.models import AvatarStatus, Kind

# generation.pipeline stages are imported inside the functions that run them: importing this module
# (scheduler, tasks, commands, the web's signal wiring) loads no cv2, torch or model until work runs.

log = logging.getLogger(__name__)

POSTER_QUALITY = 85


def claim_next() -> GenerationRequest | None:
    """Take the oldest queued request for this worker, atomically; None when there is none.

    Each queued task is a turn for one request, not a fixed one: whichever worker gets a task runs
    the oldest waiting request, so several workers with prefetched tasks still serve in order.
    """
    with transaction.atomic():
        candidates = GenerationRequest.objects.filter(status=Status.QUEUED).order_by("created_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        for request in candidates[:8]:
            claimed = claim(request.pk)
            if claimed is not None:
                return claimed
    return None


def claim(request_id: int) -> GenerationRequest | None:
    """Take this queued request for this worker (compare-and-set: one worker wins); None if it is not queued."""
    if GenerationRequest.objects.claim(request_id, worker=identity(), stream_dir=streams.new_folder(request_id)):
        return GenerationRequest.objects.select_related("avatar").get(pk=request_id)
    return None


def still_ours(request: GenerationRequest) -> bool:
    """One heartbeat of this run; False once it was cancelled, deleted or taken over (a takeover bumps `attempts`)."""
    return GenerationRequest.objects.heartbeat(request.pk, request.attempts)


def progress_writer(request: GenerationRequest):
    """A progress callback that writes stage/progress and notices a cancel or takeover between writes."""
    last = {"stage": None, "percent": -1}

    def progress(stage: str, percent: int) -> None:
        if stage == last["stage"] and percent == last["percent"]:
            return
        last.update(stage=stage, percent=percent)
        if not GenerationRequest.objects.heartbeat(request.pk, request.attempts, stage=stage, progress=percent):
            raise Cancelled()

    return progress


def uploaded_speech(request: GenerationRequest):
    """The request's own recording, decoded from exactly the bytes validation accepted."""
    from generation.pipeline import audio as audio_stage
    from generation.pipeline.types import AUDIO_INVALID, SAMPLE_RATE, PipelineError, Speech

    with storage.guard("reading the recording"), request.audio.open("rb") as fh:
        data = fh.read(settings.MAX_AUDIO_BYTES + 1)
    if hashlib.sha256(data).hexdigest() != request.audio_sha256 or not request.audio_format:
        raise PipelineError(f"Uploaded audio {request.audio.name} changed since it was validated.", AUDIO_INVALID)
    samples = audio_stage.decode_upload(data, request.audio_format, settings.MAX_AUDIO_SECONDS)
    return Speech(samples, SAMPLE_RATE)


def _local(field, version: str) -> str:
    """A local path of an avatar's stored file (see generation.shared.storage.local_copy); gone = unreadable avatar."""
    from generation.pipeline.types import AVATAR_UNREADABLE, PipelineError

    try:
        return str(storage.local_copy(field, version))
    except FileNotFoundError:
        raise PipelineError(f"{field.name} is not in the storage.", AVATAR_UNREADABLE)


def avatar_inputs(avatar, motion: str = "") -> dict:
    """What the pipeline needs of an avatar: a photo, its face and head motion, or a prepared clip's files."""
    from generation.pipeline.types import AVATAR_UNREADABLE, PipelineError

    if avatar is None or avatar.status != AvatarStatus.READY:
        raise PipelineError("The avatar is gone or not prepared.", AVATAR_UNREADABLE)
    key = (avatar.pk, avatar.prepared_at.isoformat() if avatar.prepared_at else avatar.updated_at.isoformat())
    # local paths: MEDIA_ROOT's own, or this worker's cached copies of the bucket's objects
    version = key[1]
    if avatar.kind == Kind.VIDEO:
        return {"clip": (_local(avatar.clip_data, version), _local(avatar.clip_frames, version)), "avatar_key": key}
    return {"image_path": _local(avatar.source, version), "face": avatar.face(), "avatar_key": key,
            "motion": motion or avatar.motion}


def stream_scratch(out_path: Path) -> Path:
    """Where a run's HLS stream is written beside its MP4, for streams.Publisher to store."""
    return out_path.parent / "stream"


def request_format(request: GenerationRequest, notes: list):
    """The pipeline's framing.Format for the request; a deleted background picture falls back to blur (noted)."""
    from generation.pipeline import framing
    from generation.pipeline.images import load_image
    from generation.pipeline.types import PipelineError

    if request.frame == framing.ORIGINAL:
        return None
    background, picture = request.background, None
    if background == framing.IMAGE:
        chosen = request.background_image
        try:
            if chosen is None:
                raise FileNotFoundError("the background picture was deleted")
            picture = load_image(storage.local_copy(chosen.file, f"{chosen.pk}-{chosen.created_at.isoformat()}"))
        except (FileNotFoundError, PipelineError) as exc:
            log.warning("Request #%s: background picture unusable (%s); blurring the photo", request.pk, exc)
            notes.append({"code": "background_gone", "params": {}})
            background = framing.BLUR
    return framing.Format(request.frame, request.resolution, background, picture)


def render(request: GenerationRequest, out_path: Path):
    """Run this worker's pipeline for `request` into `out_path`, its HLS stream into stream_scratch(out_path);
    its notes (framing's and ours) are on the result."""
    notes: list = []
    result = worker.get_pipeline().run(
        request.text,
        request.language,
        out_path,
        **avatar_inputs(request.avatar, request.motion),
        voice=request.voice or None,
        engine=request.engine or None,
        seed=request.pk,
        speech=uploaded_speech(request) if request.audio else None,
        progress=progress_writer(request),
        subtitles=request.subtitles,
        framing=request_format(request, notes),
        stream_dir=stream_scratch(out_path),
        rate=request.rate,
    )
    result.notes = notes + list(getattr(result, "notes", None) or [])
    return result


def make_poster(video_path: Path) -> Path:
    """A JPEG of the video's first frame beside it (mouth closed, eyes open: blinks come later)."""
    from PIL import Image

    from generation.pipeline.video import extract_frame

    poster = video_path.with_name(video_path.name + ".jpg")
    Image.fromarray(extract_frame(video_path, 0.0)).save(poster, "JPEG", quality=POSTER_QUALITY)
    return poster


def caption_files(result) -> dict:
    """The run's captions as the Video's WebVTT and SRT fields."""
    from generation.pipeline.captions import to_srt, to_webvtt

    cues = getattr(result, "captions", None) or []
    return {"captions_vtt": to_webvtt(cues), "captions_srt": to_srt(cues)}


def record_done(request: GenerationRequest, result, relative: Path, poster: str, queue_seconds: float) -> bool:
    """Mark the run done with its timings and Video row; False if it was cancelled or taken over meanwhile.

    The engine and voice recorded are the ones the pipeline reports it used (Result), never what the
    request asked for or the web side guessed: a reuse matches on what really rendered it."""
    info = result.video
    return GenerationRequest.objects.finish(
        request.pk, request.attempts, owner_id=request.owner_id,
        video={"file": str(relative), "poster": poster, "duration": info.duration, "fps": info.fps,
               "width": info.width, "height": info.height, "size": info.size, **caption_files(result)},
        voice=result.voice or request.voice, engine=result.engine, queue_seconds=queue_seconds,
        notes=list(getattr(result, "notes", None) or []),
        **{f"{name}_seconds": getattr(result.timings, name) for name in PIPELINE_TIMINGS},
    )


def mark_failed(request: GenerationRequest, code: str, detail: str, queue_seconds=None) -> bool:
    """Fail this run with a code users are told and a detail for staff; False if it was no longer ours."""
    return GenerationRequest.objects.fail(request.pk, request.attempts, code=code, detail=detail,
                                          queue_seconds=queue_seconds)


def finish(request: GenerationRequest, result, stored: list, queue_seconds: float) -> str:
    """Record a rendered run: "done", "cancelled" (no longer ours) or "failed" when recording it raised.

    A failure to record (the database, a bad result) fails the run with its classified code at once,
    rather than leaving it `running` for the watchdog to render again."""
    try:
        return "done" if record_done(request, result, Path(stored[0]), stored[1], queue_seconds) else "cancelled"
    except Exception as exc:
        code, detail = errors.classify(exc)
        log.warning("Request #%s rendered but its result could not be recorded (%s): %s", request.pk, code, detail)
        try:
            failed = mark_failed(request, code, f"recording the finished video failed: {detail}", queue_seconds)
        except Exception:  # the database is gone altogether: the watchdog takes the run over
            log.warning("Request #%s: could not mark it failed either", request.pk, exc_info=True)
            return "failed"
        return "failed" if failed else "cancelled"


def store_results(video_path: Path, poster_path: Path, name: str) -> tuple[str, str]:
    """Save the finished MP4 and its poster through the storage (MEDIA_ROOT or the bucket): their stored names."""
    stored = storage.save_file(name, video_path)
    try:
        return stored, storage.save_file(stored + ".jpg", poster_path)
    except Exception:
        discard([stored])  # the video alone is no result
        raise


def discard(names) -> None:
    """Remove stored results of a run that did not finish (cancelled, failed, taken over)."""
    for name in names:
        try:
            storage.delete(default_storage, name)
        except Exception:  # the bucket is down: an orphan object, logged, not a failed job on top
            log.warning("Could not remove %s after an unfinished run", name, exc_info=True)


def process_generation(request_id: int | None = None) -> str:
    """Run the oldest waiting request through this worker's pipeline (the worker's tasks go through
    generation.worker.scheduler, which picks whose turn it is)."""
    request = claim_next()
    if request is None:
        return "nothing to do"
    return run_claimed(request)


def run_claimed(request: GenerationRequest) -> str:
    """Render a request this worker claimed, store the results and record the outcome.

    The pipeline writes into a scratch directory of this worker; the results then go to the storage,
    so web and worker machines need no disk in common.
    """
    queue_seconds = (request.started_at - request.created_at).total_seconds()
    name = f"videos/{timezone.now():%Y/%m}/gen-{request.pk}-{uuid.uuid4().hex[:8]}.mp4"
    stored = []
    with tempfile.TemporaryDirectory(prefix=f"gen-{request.pk}-") as scratch:
        absolute = Path(scratch) / Path(name).name
        try:
            with Heartbeat(request, settings.HEARTBEAT_SECONDS, beat=lambda: still_ours(request)):
                with streams.Publisher(stream_scratch(absolute), request.stream_dir):
                    result = render(request, absolute)
                poster = make_poster(absolute)
                stored = list(store_results(absolute, poster, name))
        except Cancelled:
            outcome = "cancelled"
        except Exception as exc:
            code, detail = errors.classify(exc)
            log.warning("Request #%s failed (%s): %s", request.pk, code, detail)
            mark_failed(request, code, detail, queue_seconds)
            outcome = "failed"
        else:
            outcome = finish(request, result, stored, queue_seconds)
    if outcome != "done":
        discard(stored)
    return f"#{request.pk} {outcome}"
