"""Writes on avatars for users and staff: check an upload, create (preparation is queued), delete.

The web process only checks what a file is and how big (headers, never decoding a whole video);
finding and tracking the face runs in the worker (avatars.worker.preparation).
"""
from __future__ import annotations

import io
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from avatars.messages import PHOTO_FORMATS, VIDEO_FORMATS, error_message
from avatars.models import Avatar, AvatarStatus, Kind
from avatars.queue import queue_preparation
from generation.shared import locks, storage
from generation.models import GenerationRequest
from generation.uploads import read_upload

# generation.pipeline modules are imported inside the functions that use them: the web process
# loads numpy, Pillow or espeak only for a request that needs them (docs/architecture.md §1).

log = logging.getLogger(__name__)

PHOTO_FORMATS_BY_PILLOW = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp"}  # Pillow's name -> stored as
class AvatarInUse(Exception):
    """The avatar is used by videos still queued or being made."""


class TooManyAvatars(ValidationError):
    """The user has MAX_OWN_AVATARS already (the API answers 409, the page shows the message)."""


class TooManyPreparing(Exception):
    """The user already has MAX_PREPARING_PER_USER avatars waiting for or in preparation."""


def check_photo(data: bytes, not_a_picture: str | None = None) -> tuple[str, int, int]:
    """(extension, width, height) of an acceptable photo (size checked from the header before decoding);
    `not_a_picture` is what a file that is no image at all is told (default: the avatar upload's sentence)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt, (width, height) = probe.format, probe.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise ValidationError(not_a_picture or _("The file is neither a photo (%(photos)s) nor a video (%(videos)s).")
                              % {"photos": PHOTO_FORMATS, "videos": VIDEO_FORMATS})
    if fmt not in PHOTO_FORMATS_BY_PILLOW:
        raise ValidationError(_("%(format)s images are not accepted; use JPEG, PNG, WebP or BMP.") % {"format": fmt})
    if width * height > settings.MAX_IMAGE_PIXELS:
        raise ValidationError(
            _("The photo has %(width)s×%(height)s pixels; the limit is %(limit).0f megapixels.")
            % {"width": width, "height": height, "limit": settings.MAX_IMAGE_PIXELS / 1e6})
    from generation.pipeline.images import verify_image  # Pillow only: decoded, now that the size is safe
    from generation.pipeline.types import PipelineError

    try:
        verify_image(data)
    except PipelineError:
        raise ValidationError(_("The image is damaged or truncated and cannot be read."))
    return PHOTO_FORMATS_BY_PILLOW[fmt], width, height


def looks_like_video(data: bytes) -> bool:
    """The first bytes of an MP4/MOV (ftyp, moov, mdat, free, wide) or a Matroska/WebM (EBML) file."""
    return data[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip") or data.startswith(b"\x1a\x45\xdf\xa3")


def check_upload(uploaded) -> str:
    """What an uploaded avatar file is ("photo" or "video"), within the limits; renames it to its format."""
    uploaded.seek(0)
    head = uploaded.read(16)
    if looks_like_video(head):
        from generation.pipeline.video_check import inspect_video
        from generation.pipeline.types import PipelineError

        data = read_upload(uploaded, settings.MAX_VIDEO_BYTES)
        try:
            check = inspect_video(data, max_seconds=settings.MAX_VIDEO_SECONDS, max_side=settings.MAX_VIDEO_SIDE)
        except PipelineError as exc:
            raise ValidationError(error_message(exc.code, exc.params))
        uploaded.name = f"video{check.extension}"
        return Kind.VIDEO
    extension, _width, _height = check_photo(read_upload(uploaded, settings.MAX_UPLOAD_BYTES))
    uploaded.name = f"photo{extension}"
    return Kind.PHOTO


def add_own_avatar(user, name: str, uploaded) -> Avatar:
    """Create the user's avatar (preparation queued), within their allowance; ValidationError otherwise."""
    return create_avatar(name=name.strip(), uploaded=uploaded, owner=user)


def create_avatar(*, name: str, uploaded, owner=None, **fields) -> Avatar:
    """A new avatar from a checked upload, its preparation queued once the row is committed.

    A user's own avatar counts against MAX_OWN_AVATARS and MAX_PREPARING_PER_USER, both counted under
    a per-user lock (generation.shared.locks) so simultaneous uploads cannot slip past them.
    """
    kind = check_upload(uploaded)
    with transaction.atomic():
        if owner is not None:
            locks.hold(f"avatar-cap-{owner.pk}")
            if own_count(owner) >= settings.MAX_OWN_AVATARS:
                raise TooManyAvatars(_("You have %(limit)s avatars already; delete one first.")
                                     % {"limit": settings.MAX_OWN_AVATARS})
            limit = settings.MAX_PREPARING_PER_USER
            if Avatar.objects.filter(owner=owner, status=AvatarStatus.PREPARING).count() >= limit:
                raise TooManyPreparing(_("You already have %(limit)s avatars being prepared; wait until one is "
                                         "ready.") % {"limit": limit})
        avatar = Avatar.objects.create(name=name, kind=kind, owner=owner, source=uploaded, **fields)
        transaction.on_commit(lambda: queue_preparation(avatar))
    return avatar


def restart_preparation(avatar: Avatar, kind: str) -> None:
    """The source changed (admin): forget the old analysis and prepare again."""
    for file in avatar.prepared_files():
        file.storage.delete(file.name)
    Avatar.objects.restart(avatar.pk, kind=kind)
    transaction.on_commit(lambda: queue_preparation(avatar))


def in_use(avatar: Avatar) -> int:
    """How many videos using the avatar are queued or being made."""
    return GenerationRequest.objects.unfinished().filter(avatar=avatar).count()


def delete_avatar(avatar: Avatar) -> None:
    """Remove an avatar and its files; refused while videos using it are queued or being made.

    Finished videos keep playing: their rows lose the link to the avatar, not their files.
    """
    with transaction.atomic():
        busy = in_use(avatar)
        if busy:
            raise AvatarInUse(_("This avatar is used by %(count)s video(s) still being made; cancel them or wait "
                                "until they finish, then delete it.") % {"count": busy})
        # files first: a bucket that is down (StorageUnavailable, 503) leaves the avatar whole, to delete later
        for file in [avatar.source, *avatar.prepared_files()]:
            if file:
                storage.delete(file.storage, file.name)
        avatar.delete()


def own_count(user) -> int:
    # a failed one holds no prepared face and can be deleted at any time: it does not take a place
    return Avatar.objects.filter(owner=user).exclude(status=AvatarStatus.FAILED).count()


NAME_MAX_LENGTH = 100


def rename_avatar(avatar: Avatar, name: str) -> Avatar:
    """A new name for the user's own avatar: trimmed, not blank, at most NAME_MAX_LENGTH characters."""
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Give the avatar a name."))
    if len(name) > NAME_MAX_LENGTH or "\x00" in name:
        raise ValidationError(_("The name may have at most %(limit)s characters.") % {"limit": NAME_MAX_LENGTH})
    Avatar.objects.filter(pk=avatar.pk).update(name=name)  # only the name: a worker may be writing the rest
    avatar.name = name
    return avatar
