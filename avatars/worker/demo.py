"""The bundled demo avatar: scikit-image's public-domain astronaut photo, cropped, prepared at once."""
from django.core.files.base import ContentFile

from avatars.worker import preparation
from avatars.models import Avatar, Kind

# generation.pipeline stages are imported inside the functions that run them: importing this module
# (scheduler, tasks, commands, the web's signal wiring) loads no cv2, torch or model until work runs.


def create_demo_avatar() -> Avatar:
    """Create and prepare it in this process (`make run` and the tests have the whole stack installed)."""
    import cv2

    from generation.pipeline.images import demo_avatar_image

    ok, png = cv2.imencode(".png", cv2.cvtColor(demo_avatar_image(), cv2.COLOR_RGB2BGR))
    avatar = Avatar(name="Астронавт", kind=Kind.PHOTO, is_active=True,
                    is_default=not Avatar.objects.filter(is_default=True).exists())
    avatar.source.save("demo-astronaut.png", ContentFile(png.tobytes()), save=False)
    avatar.save()
    preparation.prepare_avatar(avatar.pk)
    avatar.refresh_from_db()
    return avatar
