"""The output formats a request (or an avatar's default) may choose, as Django choices.

A module of its own because both `avatars.models` (the defaults) and `generation.models` (the request)
use them, and `generation.models` imports `avatars.models`: here neither cycle can form.
"""
from django.db import models
from django.utils.translation import gettext_lazy as _

from generation.pipeline.types import FRAME_ORIGINAL, FRAMES, RESOLUTIONS


class Frame(models.TextChoices):
    ORIGINAL = FRAME_ORIGINAL, _("The avatar's own size")
    LANDSCAPE = "16:9", _("Landscape 16:9")
    PORTRAIT = "9:16", _("Portrait 9:16")
    SQUARE = "1:1", _("Square 1:1")


assert tuple(Frame.values) == FRAMES, "Frame choices and pipeline.types.FRAMES disagree"


class Resolution(models.IntegerChoices):
    HD = 720, "720p"
    FULL_HD = 1080, "1080p"


assert tuple(Resolution.values) == RESOLUTIONS, "Resolution choices and pipeline.types.RESOLUTIONS disagree"
