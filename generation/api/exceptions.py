"""JSON errors everywhere in the API, Django ValidationErrors included."""
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    from generation.services import TooManyActive

    if isinstance(exc, TooManyActive):
        exc = TooManyActiveError(str(exc))
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    return drf_exception_handler(exc, context)


class TooManyActiveError(exceptions.APIException):
    status_code = 429
    default_code = "too_many_active"
