"""Avatar photo checks and face analysis, done once on upload and stored on the avatar."""
from __future__ import annotations

import base64
import io

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

ALLOWED_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp"}  # Pillow's name -> stored as
PREVIEW_MAX_SIDE = 360


def read_photo(uploaded) -> "np.ndarray":
    """Validate an uploaded photo (format, bytes, pixels) and decode it upright as RGB.

    The upload is renamed to its detected format: the client's filename is never stored.
    """
    from PIL import Image, UnidentifiedImageError

    from generation.pipeline.images import load_image

    size = getattr(uploaded, "size", None)
    if size is not None and size > settings.MAX_UPLOAD_BYTES:
        raise ValidationError(_("The photo is %(size).1f MB; the limit is %(limit).0f MB.")
                              % {"size": size / 1e6, "limit": settings.MAX_UPLOAD_BYTES / 1e6})
    uploaded.seek(0)
    data = uploaded.read()
    uploaded.seek(0)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            width, height = probe.size
    except (UnidentifiedImageError, OSError):
        raise ValidationError(_("The file is not an image (allowed: JPEG, PNG, WebP, BMP)."))
    if fmt not in ALLOWED_FORMATS:
        raise ValidationError(_("%(format)s images are not accepted; use JPEG, PNG, WebP or BMP.") % {"format": fmt})
    if width * height > settings.MAX_IMAGE_PIXELS:
        raise ValidationError(
            _("The photo has %(width)s×%(height)s pixels; the limit is %(limit).0f megapixels.")
            % {"width": width, "height": height, "limit": settings.MAX_IMAGE_PIXELS / 1e6}
        )
    try:
        image = load_image(data)
    except Exception:
        raise ValidationError(_("The image is damaged or truncated and cannot be read."))
    uploaded.name = f"photo{ALLOWED_FORMATS[fmt]}"
    return image


def detect_face(image):
    """The largest face on the photo, or a ValidationError saying none was found."""
    from generation.pipeline.faces import analyze_face

    face = analyze_face(image)
    if face is None:
        raise ValidationError(
            _("No face was found on this photo. Use a clear, frontal portrait with the whole face visible.")
        )
    return face


def face_preview_data_uri(avatar) -> str | None:
    """A small PNG of the photo with the detected box and landmarks, for the admin."""
    import cv2

    from generation.pipeline.images import draw_face_preview, load_image

    face = avatar.face()
    if face is None or not avatar.image:
        return None
    try:
        image = draw_face_preview(load_image(avatar.image.path), face)
    except Exception:
        return None
    scale = PREVIEW_MAX_SIDE / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode() if ok else None


def create_demo_avatar():
    """The bundled demo avatar (scikit-image's public-domain astronaut photo, cropped)."""
    import cv2
    from django.core.files.base import ContentFile

    from avatars.models import Avatar
    from generation.pipeline.faces import analyze_face
    from generation.pipeline.images import demo_avatar_image

    image = demo_avatar_image()
    face = analyze_face(image)
    ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    avatar = Avatar(name="Астронавт", is_active=True, is_default=not Avatar.objects.filter(is_default=True).exists())
    avatar.set_face(face)
    avatar.image.save("demo-astronaut.png", ContentFile(png.tobytes()), save=False)
    avatar.save()
    return avatar
