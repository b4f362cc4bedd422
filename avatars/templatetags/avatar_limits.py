"""`{% avatar_limits as limits %}`: the video limits that apply (settings), for the pages' help texts."""
from django import template
from django.conf import settings

from generation.pipeline import limits as video_limits

register = template.Library()


@register.simple_tag
def avatar_limits() -> dict:
    """seconds, side (px on the long side) and fps of a video avatar, as the upload check applies them."""
    return {"seconds": settings.MAX_VIDEO_SECONDS, "side": settings.MAX_VIDEO_SIDE, "fps": video_limits.MAX_SOURCE_FPS}
