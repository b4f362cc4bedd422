"""Uploaded files: read within a size limit, and stored under names the server makes, never the client's.

A client's filename can carry `.html`, path tricks or another user's name; validation decides the
format and sets an extension from it, and these `upload_to` functions keep only such an extension.
"""
import uuid
from pathlib import PurePosixPath

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

AUDIO_EXTENSIONS = {".wav", ".mp3", ".ogg", ".flac", ".m4a", ".webm", ".aac"}
BACKGROUND_EXTENSIONS = {".jpg", ".png", ".webp", ".bmp"}
AVATAR_EXTENSIONS = {".jpg", ".png", ".webp", ".bmp", ".mp4", ".mov", ".webm", ".mkv"}
UNKNOWN_EXTENSION = ".bin"


def read_upload(uploaded, limit: int) -> bytes:
    """All bytes of an uploaded file (a photo, video or recording), refusing before reading when it is over `limit`."""
    size = uploaded.size
    if size is None or size <= limit:
        uploaded.seek(0)
        data = uploaded.read(limit + 1)
        uploaded.seek(0)
        size = len(data)  # a stream that does not know its size is held to the limit while reading
    if size > limit:
        raise ValidationError(_("The file is %(size).1f MB; the limit is %(limit).0f MB.")
                              % {"size": size / 1e6, "limit": limit / 1e6})
    return data


def generated_name(folder: str, filename: str, allowed: set[str]) -> str:
    """`folder/<uuid><ext>`, the extension kept only when it is one of `allowed`."""
    suffix = PurePosixPath(filename or "").suffix.lower()
    return f"{folder}/{uuid.uuid4().hex}{suffix if suffix in allowed else UNKNOWN_EXTENSION}"


def audio_upload_to(instance, filename: str) -> str:
    """An uploaded recording: uploads/audio/YYYY/MM/<uuid>.<detected format>."""
    return generated_name(timezone.now().strftime("uploads/audio/%Y/%m"), filename, AUDIO_EXTENSIONS)


def avatar_upload_to(instance, filename: str) -> str:
    """An avatar's photo or video: avatars/<uuid>.<detected format>."""
    return generated_name("avatars", filename, AVATAR_EXTENSIONS)


def background_upload_to(instance, filename: str) -> str:
    """A user's background picture: uploads/backgrounds/<uuid>.<detected format>."""
    return generated_name("uploads/backgrounds", filename, BACKGROUND_EXTENSIONS)
