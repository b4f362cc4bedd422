"""Checks on a generation's input, shared by the page form and the API so both say the same thing."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from avatars.models import Avatar, AvatarStatus, Motion
from generation import webhooks
from generation.shared import voices
from generation.shared.errors import user_message
from generation.uploads import read_upload
from generation.models import CALLBACK_URL_MAX_LENGTH, LANGUAGES, Background, Frame, Resolution, Subtitles
from generation.pipeline.types import (BACKGROUND_BLUR, BACKGROUND_COLOUR_PATTERN, BACKGROUND_IMAGE, DEFAULT_RESOLUTION,
                                       ENGINES, FRAME_ORIGINAL, VISEME, WAV2LIP)

# generation.pipeline modules are imported inside the functions that use them: the web process
# loads numpy, Pillow or espeak only for a request that needs them (docs/architecture.md §1).

MAX_ID = 2 ** 63  # primary keys are 64-bit signed at most
AVATAR_MISSING = "avatar_missing"  # ValidationError codes of the avatar field
AVATAR_NOT_READY = "avatar_not_ready"
BACKGROUND_MISSING = "background_missing"  # ... and of background_image


@dataclass
class GenerationInput:
    """A validated request: everything `services.create_generation` needs."""

    text: str
    language: str
    avatar: Avatar
    voice: str = ""
    engine: str = ""
    motion: str = ""  # resolved: the request's choice, else the avatar's default
    subtitles: str = Subtitles.NONE  # "burn": captions drawn into the frames too
    audio: object | None = None  # the uploaded file, renamed to its detected format
    audio_format: str = ""  # the demuxer validation detected: the worker forces it when decoding
    audio_sha256: str = ""  # of the validated bytes: the worker decodes exactly these
    callback_url: str = ""  # checked to lead to a public address (webhooks.validate_callback_url)
    frame: str = FRAME_ORIGINAL  # resolved like motion; original: resolution and background are the defaults
    resolution: int = DEFAULT_RESOLUTION
    background: str = BACKGROUND_BLUR  # blur | #rrggbb | image
    background_image: Background | None = None  # the owner's own, for "image"
    rate: float = 1.0  # speaking pace (MIN_RATE-MAX_RATE)

    def model_fields(self) -> dict:
        """Keyword arguments for GenerationRequest."""
        fields = {"text": self.text, "language": self.language, "avatar": self.avatar, "voice": self.voice,
                  "engine": self.engine, "motion": self.motion, "subtitles": self.subtitles,
                  "callback_url": self.callback_url, "frame": self.frame, "resolution": self.resolution,
                  "background": self.background, "background_image": self.background_image,
                  "rate": self.rate}
        if self.audio is not None:
            fields.update(audio=self.audio, audio_format=self.audio_format, audio_sha256=self.audio_sha256)
        return fields


def validate_audio(uploaded) -> tuple[str, str]:
    """Check an uploaded recording decodes as audio within the limits: (demuxer, sha256 of its bytes).

    The upload is renamed to its detected format (the client's filename is never used).
    """
    from generation.pipeline import audio as audio_stage
    from generation.pipeline.types import PipelineError

    data = read_upload(uploaded, settings.MAX_AUDIO_BYTES)
    try:
        checked = audio_stage.validate_upload(data, settings.MAX_AUDIO_SECONDS, settings.MAX_AUDIO_BYTES)
    except PipelineError as exc:
        raise ValidationError(user_message(exc.code))
    uploaded.name = f"recording{checked.extension}"
    return checked.demuxer, hashlib.sha256(data).hexdigest()


def language_error(language) -> str:
    """What a request naming a language we do not speak is told (pages, API fields and the voice list)."""
    return _("Unknown language «%(language)s»; choose one of: %(allowed)s.") % {
        "language": language, "allowed": ", ".join(LANGUAGES)}


def text_errors(text, required: bool) -> str | None:
    """Why `text` cannot be spoken, or None."""
    if not isinstance(text, str) or not text:
        return _("Enter the text the avatar should say.") if required else None
    if len(text) > settings.MAX_TEXT_LENGTH:
        return _("The text is %(length)s characters long; the limit is %(limit)s.") % {
            "length": len(text), "limit": settings.MAX_TEXT_LENGTH}
    return None


def nothing_to_say_error(text: str, language: str) -> str | None:
    """Why `text` gives the voice nothing to say (only punctuation, symbols or spaces), or None."""
    from generation.pipeline.tts.text import has_words

    if has_words(text, language):
        return None
    return _("There is nothing to say in this text: it has only punctuation, symbols or spaces. Write at least "
             "one word or number.")


def speech_length_error(text: str, language: str) -> str | None:
    """Why `text` would make too long a speech in `language` (its estimate is over MAX_SPEECH_SECONDS), or None."""
    from generation.pipeline.tts.estimate import estimate_seconds

    limit = settings.MAX_SPEECH_SECONDS
    if not limit or not text:
        return None
    seconds = estimate_seconds(text, language)
    if seconds <= limit:
        return None
    return _("This text would take about %(seconds)s s to say; the limit is %(limit)s s. Shorten it, or write "
             "numbers in words sparingly (each digit is read as a word).") % {"seconds": round(seconds), "limit": limit}


def avatar_errors(value, user) -> tuple[Avatar | None, str | None]:
    """The avatar a request names (the user's default when it names none), and why it cannot be used (or None)."""
    if value in (None, ""):
        avatar = Avatar.default(user)
        return avatar, None if avatar else _("No avatar is ready yet; add one or ask staff to.")
    try:
        avatar = Avatar.objects.visible_to(user).active().get(pk=value.pk if isinstance(value, Avatar) else int(value))
    except (Avatar.DoesNotExist, TypeError, ValueError, OverflowError):
        return None, _("Avatar «%(avatar)s» does not exist or is not active.") % {"avatar": value}
    if avatar.status == AvatarStatus.PREPARING:
        return avatar, _("Avatar «%(name)s» is still being prepared (%(progress)s%%); try again when it is ready.") % {
            "name": avatar.name, "progress": avatar.progress}
    if avatar.status == AvatarStatus.FAILED:
        return avatar, _("Avatar «%(name)s» could not be prepared: %(reason)s") % {"name": avatar.name,
                                                                                 "reason": avatar.error}
    return avatar, None


def callback_errors(url) -> str | None:
    """Why `url` cannot be a webhook's address, or None (empty: no webhook)."""
    if not url:
        return None
    if not isinstance(url, str) or len(url) > CALLBACK_URL_MAX_LENGTH:
        return _("The callback URL may be at most %(limit)s characters long.") % {"limit": CALLBACK_URL_MAX_LENGTH}
    try:
        webhooks.validate_callback_url(url)
    except ValidationError as exc:
        return exc.messages[0]
    return None


def format_errors(user, avatar: Avatar | None, frame, resolution, background, background_image):
    """The request's (frame, resolution, background, Background or None) resolved against the avatar's defaults,
    and {field: message} for what is wrong."""
    errors = {}
    frame = frame or (avatar.frame if avatar else FRAME_ORIGINAL)
    if frame not in Frame.values:
        errors["frame"] = _("Unknown frame «%(frame)s»; choose one of: %(allowed)s.") % {
            "frame": frame, "allowed": ", ".join(Frame.values)}
    if resolution in (None, ""):
        resolution = avatar.resolution if avatar else DEFAULT_RESOLUTION
    try:
        resolution = int(resolution)
    except (TypeError, ValueError, OverflowError):
        pass
    if resolution not in Resolution.values:
        errors["resolution"] = _("Unknown resolution «%(resolution)s»; choose one of: %(allowed)s.") % {
            "resolution": resolution, "allowed": ", ".join(map(str, Resolution.values))}
    picture = None
    if background_image not in (None, ""):
        picture = Background.objects.filter(owner=user, pk=_as_id(background_image)).first()
        if picture is None:  # another user's picture is as unknown as one that never was (404, like an avatar)
            errors["background_image"] = ValidationError(
                _("Unknown background «%(background)s».") % {"background": background_image}, code=BACKGROUND_MISSING)
        background = BACKGROUND_IMAGE  # a picture named is the background, whatever `background` says
    background = background or (avatar.background if avatar else BACKGROUND_BLUR)
    if background == BACKGROUND_IMAGE and picture is None and "background_image" not in errors:
        errors["background_image"] = _("Choose one of your background pictures for an image background.")
    elif not (background in (BACKGROUND_BLUR, BACKGROUND_IMAGE) or re.match(BACKGROUND_COLOUR_PATTERN, background)):
        errors["background"] = _("Unknown background «%(background)s»; use blur, a colour as #rrggbb, or one of "
                                 "your background pictures.") % {"background": background}
    if frame == FRAME_ORIGINAL and not errors:  # the avatar's own size: nothing else applies
        resolution, background, picture = DEFAULT_RESOLUTION, BACKGROUND_BLUR, None
    return (frame, resolution, background.lower() if isinstance(background, str) else background, picture), errors


def _as_id(value):
    """A primary key from an int or its digits; anything else matches nothing."""
    if isinstance(value, bool):
        return -1
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return -1
    return number if 0 < number < MAX_ID else -1  # beyond a 64-bit key the database itself would refuse it


def rate_errors(rate, language, voice: str, audio) -> tuple[float, str | None]:
    """The pace asked for (1.0 when none) and why it cannot be used, or None."""
    from generation.pipeline.tts.base import MAX_RATE, MIN_RATE

    if rate in (None, ""):
        return 1.0, None
    try:
        value = float(rate)
    except (TypeError, ValueError, OverflowError):
        value = float("nan")
    if isinstance(rate, bool) or not MIN_RATE <= value <= MAX_RATE:  # NaN fails the comparison too
        return 1.0, _("The pace must be a number from %(min)s to %(max)s (1.0: the voice's own).") % {
            "min": MIN_RATE, "max": MAX_RATE}
    if value == 1.0:
        return value, None
    if audio is not None:
        return value, _("The pace applies to synthesized speech; your own recording is played as it is.")
    if language in LANGUAGES and not voices.supports_rate(language, voice):
        return value, _("This voice cannot be spoken faster or slower; choose another voice or the pace 1.0.")
    return value, None


def validate_input(*, user, text, language, avatar=None, voice="", engine="", motion="", subtitles="",
                   audio=None, callback_url="", frame="", resolution=None, background="",
                   background_image=None, rate=None) -> GenerationInput:
    """Check a generation's input; raises ValidationError({field: message}) naming what is wrong."""
    errors = {}
    text = text.strip() if isinstance(text, str) else ""
    message = text_errors(text, required=audio is None)
    if message:
        errors["text"] = message
    audio_format = audio_sha256 = ""
    if audio is not None:
        try:
            audio_format, audio_sha256 = validate_audio(audio)
        except ValidationError as exc:
            errors["audio"] = exc.messages[0]
    if language not in LANGUAGES:
        errors["language"] = language_error(language)
    elif "text" not in errors and audio is None:
        message = nothing_to_say_error(text, language) or speech_length_error(text, language)
        if message:
            errors["text"] = message
    avatar_obj, message = avatar_errors(avatar, user)
    if message:
        # the code tells the API a missing avatar (404) from one that is not ready (409)
        errors["avatar"] = ValidationError(message, code=AVATAR_MISSING if avatar_obj is None and avatar not in (
            None, "") else AVATAR_NOT_READY)
    voice = voice or ""
    if voice and language in LANGUAGES and voice not in voices.voice_ids(language):
        errors["voice"] = _("Unknown voice «%(voice)s» for %(language)s; available: %(available)s.") % {
            "voice": voice, "language": language, "available": ", ".join(voices.voice_ids(language))}
    engine = engine or ""
    if engine and engine not in available_engines():
        errors["engine"] = _("Unknown or unavailable engine «%(engine)s»; available: %(available)s.") % {
            "engine": engine, "available": ", ".join(available_engines())}
    motion = motion or ""
    if motion and motion not in Motion.values:
        errors["motion"] = _("Unknown motion «%(motion)s»; choose one of: %(allowed)s.") % {
            "motion": motion, "allowed": ", ".join(Motion.values)}
    subtitles = subtitles or Subtitles.NONE
    if subtitles not in Subtitles.values:
        errors["subtitles"] = _("Unknown subtitles «%(subtitles)s»; choose one of: %(allowed)s.") % {
            "subtitles": subtitles, "allowed": ", ".join(Subtitles.values)}
    message = callback_errors(callback_url or "")
    if message:
        errors["callback_url"] = message
    chosen, format_problems = format_errors(user, avatar_obj, frame, resolution, background, background_image)
    errors.update(format_problems)
    rate, message = rate_errors(rate, language, voice if "voice" not in errors else "", audio)
    if message:
        errors["rate"] = message
    if errors:
        raise ValidationError(errors)
    frame, resolution, background, picture = chosen
    return GenerationInput(text=text, language=language, avatar=avatar_obj, voice=voice, engine=engine,
                           motion=motion or avatar_obj.motion, subtitles=subtitles, audio=audio,
                           audio_format=audio_format, audio_sha256=audio_sha256, callback_url=callback_url or "",
                           frame=frame, resolution=resolution, background=background, background_image=picture,
                           rate=rate)


def available_engines() -> list[str]:
    """viseme always; wav2lip when an official checkpoint lies in WEIGHTS_DIR."""
    from generation.pipeline.lipsync import find_wav2lip_checkpoint

    names = [VISEME]
    if find_wav2lip_checkpoint(settings.WEIGHTS_DIR):
        names.append(WAV2LIP)
    return names


def default_engine() -> str:
    """The engine a request naming none gets (LIPSYNC_ENGINE, with auto resolved)."""
    if settings.LIPSYNC_ENGINE in ENGINES:
        return settings.LIPSYNC_ENGINE if settings.LIPSYNC_ENGINE in available_engines() else VISEME
    return available_engines()[-1]
