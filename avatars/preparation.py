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

from avatars.models import Avatar, AvatarStatus, Kind
from generation import errors

log = logging.getLogger(__name__)

PREVIEW_MAX_SIDE = 480  # the admin and the avatar lists show it small
PROGRESS_STEP = 5
# what preparation writes; nothing else of the row, which staff may be editing meanwhile
PREPARED_FIELDS = ["status", "progress", "prepared_at", "error_code", "error_params", "error_detail", "face_box",
                   "face_landmarks", "width", "height", "duration", "frame_count", "notes", "preview", "clip_data",
                   "clip_frames", "updated_at"]


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


def progress_writer(avatar: Avatar):
    """A callback that stores preparation progress (in steps, not for every frame)."""
    last = {"percent": -PROGRESS_STEP}

    def progress(percent: int) -> None:
        percent = max(0, min(99, int(percent)))
        if percent - last["percent"] >= PROGRESS_STEP:
            last["percent"] = percent
            Avatar.objects.filter(pk=avatar.pk, status=AvatarStatus.PREPARING).update(progress=percent)

    return progress


def prepare_photo(avatar: Avatar, data: bytes) -> None:
    """Find the largest face of the photo and store it with a preview."""
    from generation.pipeline.faces import default_analyzer
    from generation.pipeline.images import load_image
    from generation.pipeline.types import FACE_NOT_FOUND, PipelineError

    image = load_image(data)
    face = default_analyzer().analyze(image)
    if face is None:
        raise PipelineError(f"no face on avatar #{avatar.pk}'s photo", FACE_NOT_FOUND)
    avatar.set_face(face)
    avatar.preview.save(f"{avatar.pk}-preview.png", ContentFile(preview_png(image, face)), save=False)


def prepare_video(avatar: Avatar, data: bytes) -> None:
    """Track the face through the clip; store the frames, the per-frame arrays and a preview."""
    from generation.pipeline.clip import ClipReader, inspect_video, prepare_clip
    from generation.pipeline.faces import default_analyzer

    check = inspect_video(data, max_seconds=settings.MAX_VIDEO_SECONDS, max_side=settings.MAX_VIDEO_SIDE)
    with tempfile.TemporaryDirectory(prefix="avatar-") as tmp:
        clip = prepare_clip(data, check.demuxer, Path(tmp), default_analyzer(), progress=progress_writer(avatar))
        reader = ClipReader(clip.data_path, clip.frames_path)
        preview = preview_png(reader.frame(0), reader.face(0))
        with open(clip.data_path, "rb") as fh:
            avatar.clip_data.save(f"{avatar.pk}-clip.npz", File(fh), save=False)
        with open(clip.frames_path, "rb") as fh:
            avatar.clip_frames.save(f"{avatar.pk}-clip.frames", File(fh), save=False)
    avatar.preview.save(f"{avatar.pk}-preview.png", ContentFile(preview), save=False)
    avatar.width, avatar.height = clip.width, clip.height
    avatar.duration, avatar.frame_count = clip.duration, clip.frame_count
    avatar.notes = [{"code": n.code, "start": round(n.start, 2), "end": round(n.end, 2),
                     **({"share": n.share} if n.share is not None else {})} for n in clip.notes]


def prepare_avatar(avatar_id: int) -> str:
    """Prepare one avatar (a django-q2 task); the outcome is on the avatar: ready, or failed with a reason."""
    from generation.pipeline.types import PipelineError

    avatar = Avatar.objects.filter(pk=avatar_id, status=AvatarStatus.PREPARING).first()
    if avatar is None:
        return f"avatar #{avatar_id}: nothing to prepare"
    try:
        data = _read_source(avatar)
        (prepare_video if avatar.kind == Kind.VIDEO else prepare_photo)(avatar, data)
    except Exception as exc:
        code, detail = errors.classify(exc)
        params = exc.params if isinstance(exc, PipelineError) else {}
        log.warning("Avatar #%s failed to prepare (%s): %s", avatar.pk, code, detail)
        for file in avatar.prepared_files():
            try:
                file.storage.delete(file.name)
            except Exception:  # the bucket is down: an orphan object, not an avatar stuck in `preparing`
                log.warning("Could not remove %s of avatar #%s", file.name, avatar.pk, exc_info=True)
        Avatar.objects.filter(pk=avatar.pk).update(status=AvatarStatus.FAILED, error_code=code, error_params=params,
                                                   error_detail=detail[:4000], preview="", clip_data="",
                                                   clip_frames="")
        return f"avatar #{avatar_id}: failed ({code})"
    avatar.mark_prepared()
    avatar.save(update_fields=PREPARED_FIELDS)
    return f"avatar #{avatar_id}: ready"

