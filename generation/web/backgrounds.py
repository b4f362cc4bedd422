"""Background pictures a user uploads to put behind their avatar: checked like avatar photos, private to them."""
from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from generation.shared import storage
from generation.models import Background
from avatars.web.services import PHOTO_FORMATS_BY_PILLOW, check_photo
from generation.uploads import read_upload

MAX_PER_USER = 20  # pictures kept per user; a 21st upload is refused until one is deleted


class TooManyBackgrounds(Exception):
    """The user already keeps MAX_PER_USER background pictures."""


def check_background(uploaded) -> tuple[int, int]:
    """(width, height) of an acceptable picture (the avatar photo checks); renames the upload to its format."""
    from django.core.exceptions import ValidationError

    if uploaded is None:
        raise ValidationError(_("Choose a picture to upload."))
    data = read_upload(uploaded, settings.MAX_UPLOAD_BYTES)
    extension, width, height = check_photo(
        data, _("The file is not a picture; upload %(formats)s.") % {"formats": ", ".join(PHOTO_FORMATS_BY_PILLOW)})
    uploaded.name = f"background{extension}"
    return width, height


def add_background(owner, uploaded) -> Background:
    """A new private background from a checked upload (ValidationError when it is not one we accept)."""
    width, height = check_background(uploaded)
    with transaction.atomic():
        if Background.objects.filter(owner=owner).count() >= MAX_PER_USER:
            raise TooManyBackgrounds(_("You already keep %(limit)s background pictures; delete one first.")
                                     % {"limit": MAX_PER_USER})
        return Background.objects.create(owner=owner, file=uploaded, width=width, height=height)


def delete_background(background: Background) -> None:
    """Remove the picture and its row; queued requests using it fall back to the blurred photo (with a note)."""
    storage.delete(background.file.storage, background.file.name)
    background.delete()


def owned(user):
    """The user's own background pictures, newest first (nobody else's, staff included)."""
    return Background.objects.filter(owner=user)
