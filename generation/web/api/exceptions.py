"""JSON errors everywhere in the API, Django ValidationErrors and our service refusals included."""
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler
from generation.web.services import QuotaExceeded, TooManyActive, TooManyWaiting
from generation.web.downloads import NoCaptions
from generation.web.selectors import ResultExpired

SYNC_RETRY_AFTER_SECONDS = 10


class TooManyActiveError(exceptions.APIException):
    status_code = 429
    default_code = "too_many_active"


class AvatarNotFound(exceptions.APIException):
    """The body names an avatar that does not exist (or is another user's, or inactive)."""

    status_code = 404
    default_code = "avatar_not_found"


class BackgroundNotFound(exceptions.APIException):
    """The body names a background picture that does not exist or is another user's."""

    status_code = 404
    default_code = "background_not_found"


class AvatarNotReady(exceptions.APIException):
    """The avatar exists but is still being prepared, or failed; or no avatar is ready at all."""

    status_code = 409
    default_code = "avatar_not_ready"


class TooManyAvatarsError(exceptions.APIException):
    status_code = 409
    default_code = "too_many_avatars"


class TooManyPreparingError(exceptions.APIException):
    """MAX_PREPARING_PER_USER of the user's avatars are waiting for or in preparation."""

    status_code = 429
    default_code = "too_many_preparing"


class IdempotencyKeyMismatch(exceptions.APIException):
    status_code = 422
    default_code = "idempotency_key_mismatch"


class TooManyWaitingError(exceptions.Throttled):
    default_code = "too_many_waiting"


class GoneError(exceptions.APIException):
    status_code = 410
    default_code = "expired"


class QuotaExceededError(exceptions.Throttled):
    default_code = "quota_exceeded"


def not_found_message() -> str:
    """The one 404 sentence: no model names, nothing about why (another user's object looks the same)."""
    return _("Not found: there is nothing at this address, or it is not yours.")


def malformed_body_message() -> str:
    """A body that does not parse: the parser's own words (Python's exception text) stay in the server."""
    return _("The request body could not be read: send valid JSON (UTF-8) or form data.")


def exception_handler(exc, context):
    if isinstance(exc, ResultExpired):
        exc = GoneError(str(exc))
    elif isinstance(exc, QuotaExceeded):
        exc = QuotaExceededError(wait=exc.retry_after, detail=str(exc))
    elif isinstance(exc, TooManyActive):
        exc = TooManyActiveError(str(exc))
    elif isinstance(exc, TooManyWaiting):
        exc = TooManyWaitingError(wait=min(SYNC_RETRY_AFTER_SECONDS, settings.SYNC_GENERATE_TIMEOUT), detail=str(exc))
    elif isinstance(exc, NoCaptions):  # the one 404 with a reason: the video is the caller's, it has no words
        exc = exceptions.NotFound(str(exc))
    elif isinstance(exc, Http404):  # get_object_or_404 names the model: "No GenerationRequest matches …"
        exc = exceptions.NotFound(not_found_message())
    elif isinstance(exc, exceptions.ParseError):
        exc = exceptions.ParseError(malformed_body_message())
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": " ".join(exc.messages)}
        )
    return drf_exception_handler(exc, context)
