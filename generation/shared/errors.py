"""Why a request failed: a stable code stored on the request, a translated message shown for it.

The pipeline raises `PipelineError`s carrying codes (generation.pipeline.types); the worker adds its
own few. What a user or API client reads is only the message chosen here, in their language; the
exception's text, which may name files, hosts or classes, goes to the log and to staff.
"""
import errno
import logging

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from generation.pipeline import types as pipeline
from generation.shared.storage import is_unavailable

log = logging.getLogger(__name__)

# The worker's own codes, beside the pipeline's.
DISK_FULL = "disk_full"
WORKER_LOST = "worker_lost"
CANCELLED = "cancelled"
INTERNAL = "internal"
STORAGE_UNAVAILABLE = "storage_unavailable"  # the bucket could not be reached: retried once it is back

MESSAGES = {
    pipeline.TEXT_EMPTY: _("There is nothing to say: the text is empty."),
    pipeline.TTS_FAILED: _("Speech could not be synthesized for this text; please change it or try again."),
    pipeline.SPEECH_TOO_LONG: _("The speech for this text is longer than the limit of %(seconds)s s; please "
                                "shorten the text."),
    pipeline.TTS_UNREACHABLE: _("The speech service is not available right now; please try again later."),
    pipeline.TTS_BAD_ANSWER: _("The speech service returned no usable audio; please try again later."),
    pipeline.AUDIO_INVALID: _("The recording does not decode as audio; upload WAV, MP3, OGG, FLAC, M4A, WebM or AAC."),
    pipeline.AUDIO_UNSUPPORTED: _("This kind of audio file is not accepted; upload WAV, MP3, OGG, FLAC, M4A, WebM "
                                  "or AAC."),
    pipeline.AUDIO_TOO_LONG: _("The recording is longer than the limit of %(limit)s s."),
    pipeline.AUDIO_SILENT: _("The recording is silent."),
    pipeline.AVATAR_UNREADABLE: _("The avatar's picture cannot be read; choose another avatar."),
    pipeline.FACE_NOT_FOUND: _("No face was found on the avatar."),
    pipeline.FACE_TOO_SMALL: _("The face on the avatar is too small for lip sync."),
    pipeline.ENGINE_UNAVAILABLE: _("The chosen lip-sync engine is not available on this server."),
    pipeline.CHECKPOINT_INVALID: _("The lip-sync model on this server is damaged; please tell the administrator."),
    pipeline.ENCODE_FAILED: _("The video could not be encoded; please try again."),
    pipeline.PIPELINE_FAILED: _("The video could not be made; please try again."),
    DISK_FULL: _("The server ran out of disk space while making the video; please try again later."),
    WORKER_LOST: _("The worker making this video stopped twice (a crash or a restart); please try again."),
    CANCELLED: _("Cancelled by the user."),
    STORAGE_UNAVAILABLE: _("The file storage could not be reached; this is tried again automatically once it is "
                           "back."),
    INTERNAL: _("Something went wrong on the server while making the video; please try again later."),
}


# The messages above that name a limit: code -> (placeholder, the setting that holds its value).
MESSAGE_LIMITS = {
    pipeline.SPEECH_TOO_LONG: ("seconds", "MAX_SPEECH_SECONDS"),
    pipeline.AUDIO_TOO_LONG: ("limit", "MAX_AUDIO_SECONDS"),
}


def user_message(code: str) -> str:
    """The message shown for `code`, in the active language (unknown codes get the generic one)."""
    message = str(MESSAGES.get(code, MESSAGES[INTERNAL]))
    if code in MESSAGE_LIMITS:
        placeholder, setting = MESSAGE_LIMITS[code]
        return message % {placeholder: getattr(settings, setting)}
    return message


def classify(exc: BaseException) -> tuple[str, str]:
    """(code, detail) of an exception from a job; the unexpected ones are logged with their traceback."""
    if isinstance(exc, pipeline.PipelineError):
        return exc.code, str(exc)
    if is_unavailable(exc):
        return STORAGE_UNAVAILABLE, f"{type(exc).__name__}: {exc}"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return DISK_FULL, str(exc)
    log.exception("Generation failed unexpectedly")
    return INTERNAL, f"{type(exc).__name__}: {exc}"


# What the worker noticed about a finished video (GenerationRequest.notes: {"code", "params"}).
NOTES = {
    "upscaled": _("The photo is %(height)s px tall; it was enlarged %(scale)s× to fill %(resolution)sp, so the video "
                  "shows no more detail than the photo has."),
    "background_gone": _("The chosen background picture was deleted before the video was made; the blurred photo "
                         "was used instead."),
}


def note_message(note) -> str:
    """One note as a sentence in the active language; an unknown or malformed one is left out."""
    try:
        return str(NOTES[note["code"]]) % note.get("params", {})
    except (KeyError, TypeError, ValueError):
        return ""
