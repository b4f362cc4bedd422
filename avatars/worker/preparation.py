"""The worker's side of an avatar: find the face of a photo, or track it through a video, once.

What it finds is stored next to the avatar (a photo's face in the row; a video's per-frame arrays and
frames in files), with a preview of the first frame showing the face box and landmarks.
"""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile

from avatars.models import Avatar, Kind
from generation.shared import errors
from generation.workerkit import Cancelled, Heartbeat, identity

# generation.pipeline stages are imported inside the functions that run them: importing this module
# (scheduler, tasks, commands, the web's signal wiring) loads no cv2, torch or model until work runs.

log = logging.getLogger(__name__)

PREVIEW_MAX_SIDE = 480  # the admin and the avatar lists show it small
PROGRESS_STEP = 5
# what preparation finds; Avatar.objects.ready writes these (and the status), nothing else of the row,
# which staff may be editing meanwhile
PREPARED_FIELDS = ["face_box", "face_landmarks", "width", "height", "duration", "frame_count", "notes", "preview",
                   "thumbnail", "clip_data", "clip_frames"]
THUMBNAIL_MAX_SIDE = 360  # the pickers show 120×140: enough for a 3x screen
THUMBNAIL_QUALITY = 85


def _read_source(avatar: Avatar) -> bytes:
    with avatar.source.open("rb") as fh:
        return fh.read(max(settings.MAX_UPLOAD_BYTES, settings.MAX_VIDEO_BYTES) + 1)


def preview_png(image, face) -> bytes:
    """The picture with its face box and landmarks drawn, scaled down, as PNG."""
    import cv2

    from generation.pipeline.images import draw_face_preview

    shown = draw_face_preview(image, face)
    scale = PREVIEW_MAX_SIDE / max(shown.shape[:2])
    if scale < 1:
        shown = cv2.resize(shown, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, png = cv2.imencode(".png", cv2.cvtColor(shown, cv2.COLOR_RGB2BGR))
    return png.tobytes()


def thumbnail_jpeg(image) -> bytes:
    """The picture as it is (no face box, no landmarks), scaled down, as JPEG: what the avatar pickers show."""
    import cv2

    scale = THUMBNAIL_MAX_SIDE / max(image.shape[:2])
    shown = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(shown, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, THUMBNAIL_QUALITY])
    return jpeg.tobytes()


def claim(avatar_id: int) -> Avatar | None:
    """Take this waiting preparation for this worker (compare-and-set: one worker wins); None if not waiting."""
    if Avatar.objects.claim(avatar_id, worker=identity()):
        return Avatar.objects.get(pk=avatar_id)
    return None


def this_run(avatar: Avatar):
    """The avatar's row while this run still owns it: gone once deleted, restarted or taken over."""
    return Avatar.objects.run(avatar.pk, avatar.claimed_at)


def progress_writer(avatar: Avatar, beat: Heartbeat | None = None):
    """A callback that stores preparation progress (in steps, not for every frame) and stops a run that lost
    its avatar (deleted, restarted or taken over), at a step or as soon as the heartbeat noticed."""
    last = {"percent": -PROGRESS_STEP}

    def progress(percent: int) -> None:
        if beat is not None and beat.lost.is_set():
            beat.lost.clear()
            if not this_run(avatar).exists():  # confirmed on this run's own connection
                raise Cancelled()
        percent = max(0, min(99, int(percent)))
        if percent - last["percent"] >= PROGRESS_STEP:
            last["percent"] = percent
            if not Avatar.objects.heartbeat(avatar.pk, avatar.claimed_at, progress=percent):
                raise Cancelled()

    return progress


def prepare_photo(avatar: Avatar, data: bytes, progress=None) -> None:
    """Find the largest face of the photo and store it with a preview."""
    from generation.pipeline.faces import as_rgb_uint8, default_analyzer, horizontal_place
    from generation.pipeline.images import load_image
    from generation.pipeline.types import FACE_NOT_FOUND, PipelineError

    image = as_rgb_uint8(load_image(data))
    analyzer = default_analyzer()
    boxes = analyzer.detect(image) if min(image.shape[:2]) >= 2 else []
    face = analyzer.largest_face(image, boxes)
    if face is None:
        raise PipelineError(f"no face on avatar #{avatar.pk}'s photo", FACE_NOT_FOUND)
    avatar.set_face(face)
    if len(boxes) > 1:  # the user should know which one will speak
        avatar.notes = [{"code": "photo_faces", "count": len(boxes),
                         "place": horizontal_place(face.box, image.shape[1])}]
    avatar.preview.save(f"{avatar.pk}-preview.png", ContentFile(preview_png(image, face)), save=False)
    avatar.thumbnail.save(f"{avatar.pk}-thumbnail.jpg", ContentFile(thumbnail_jpeg(image)), save=False)


def prepare_video(avatar: Avatar, data: bytes, progress=None) -> None:
    """Track the face through the clip; store the frames, the per-frame arrays and a preview."""
    from generation.pipeline.clip import ClipReader, inspect_video, prepare_clip
    from generation.pipeline.faces import default_analyzer

    check = inspect_video(data, max_seconds=settings.MAX_VIDEO_SECONDS, max_side=settings.MAX_VIDEO_SIDE)
    with tempfile.TemporaryDirectory(prefix="avatar-") as tmp:
        clip = prepare_clip(data, check.demuxer, Path(tmp), default_analyzer(), progress=progress)
        reader = ClipReader(clip.data_path, clip.frames_path)
        preview = preview_png(reader.frame(0), reader.face(0))
        thumbnail = thumbnail_jpeg(reader.frame(0))
        with open(clip.data_path, "rb") as fh:
            avatar.clip_data.save(f"{avatar.pk}-clip.npz", File(fh), save=False)
        with open(clip.frames_path, "rb") as fh:
            avatar.clip_frames.save(f"{avatar.pk}-clip.frames", File(fh), save=False)
    avatar.preview.save(f"{avatar.pk}-preview.png", ContentFile(preview), save=False)
    avatar.thumbnail.save(f"{avatar.pk}-thumbnail.jpg", ContentFile(thumbnail), save=False)
    avatar.width, avatar.height = clip.width, clip.height
    avatar.duration, avatar.frame_count = clip.duration, clip.frame_count
    avatar.notes = [{"code": n.code, "start": round(n.start, 2), "end": round(n.end, 2),
                     **({"share": n.share} if n.share is not None else {})} for n in clip.notes]


def remove_files(avatar: Avatar, names) -> None:
    """Remove stored files of a run that did not finish (a bucket that is down leaves them to the sweep)."""
    for name in names:
        try:
            avatar.source.storage.delete(name)
        except Exception:  # the bucket is down: an orphan object for generation.worker.sweep, not a stuck avatar
            log.warning("Could not remove %s of avatar #%s", name, avatar.pk, exc_info=True)


def prepare_avatar(avatar_id: int) -> str:
    """Prepare this avatar now, if it waits (the demo avatar, tests); workers go through generation.worker.scheduler."""
    avatar = claim(avatar_id)
    if avatar is None:
        return f"avatar #{avatar_id}: nothing to prepare"
    return run_claimed(avatar)


def run_claimed(avatar: Avatar) -> str:
    """Prepare an avatar this worker claimed; the outcome is on the avatar: ready, or failed with a reason.

    Deleting (or replacing) the avatar meanwhile stops the run, and every file it stored is removed.
    """
    from generation.pipeline.types import PipelineError

    avatar_id = avatar.pk
    before = {f.name for f in avatar.prepared_files()}

    def made() -> list[str]:
        return [f.name for f in avatar.prepared_files() if f.name not in before]

    try:
        with Heartbeat(avatar, settings.HEARTBEAT_SECONDS,
                       beat=lambda: Avatar.objects.heartbeat(avatar.pk, avatar.claimed_at)) as beat:
            data = _read_source(avatar)
            prepare = prepare_video if avatar.kind == Kind.VIDEO else prepare_photo
            prepare(avatar, data, progress=progress_writer(avatar, beat))
    except Cancelled:
        remove_files(avatar, made())
        log.info("Avatar #%s was deleted or replaced while being prepared; stopped", avatar_id)
        return f"avatar #{avatar_id}: stopped"
    except Exception as exc:
        code, detail = errors.classify(exc)
        params = exc.params if isinstance(exc, PipelineError) else {}
        log.warning("Avatar #%s failed to prepare (%s): %s", avatar_id, code, detail)
        remove_files(avatar, made())
        Avatar.objects.fail(avatar.pk, avatar.claimed_at, code=code, detail=detail, params=params)
        return f"avatar #{avatar_id}: failed ({code})"
    avatar.mark_prepared()
    if not Avatar.objects.mark_ready(avatar.pk, avatar.claimed_at, **{name: getattr(avatar, name) for name in PREPARED_FIELDS}):
        remove_files(avatar, made())  # deleted or replaced after the last progress step
        log.info("Avatar #%s was deleted or replaced as its preparation finished; its files removed", avatar_id)
        return f"avatar #{avatar_id}: stopped"
    return f"avatar #{avatar_id}: ready"
