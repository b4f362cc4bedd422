"""Request bodies are bounded before anything reads them (413 past the limit), on every route.

Django reads a body only up to its Content-Length (its LimitedStream never yields more, and a body
without one is not read at all), so refusing an oversized Content-Length here, before CSRF checks or
form parsing touch the body, means nothing past the limit is ever buffered or spooled to disk.
File uploads get a larger allowance on the few routes that take them, and only for a logged-in
user or a valid API token: an anonymous client with a CSRF cookie gets the small limit everywhere.
"""
import re

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

MULTIPART_OVERHEAD = 64 * 1024  # form fields and part headers beside the file itself

# (path pattern, setting that bounds the file) for the routes that accept uploads
UPLOAD_ROUTES = (
    (re.compile(r"^/$"), "MAX_AUDIO_BYTES"),
    (re.compile(r"^/api/v1/generations/$"), "MAX_AUDIO_BYTES"),
    (re.compile(r"^/api/generate$"), "MAX_AUDIO_BYTES"),
    (re.compile(r"^/admin/avatars/avatar/(add|\d+/change)/$"), "MAX_AVATAR_BYTES"),
    (re.compile(r"^/api/v1/avatars/$"), "MAX_AVATAR_BYTES"),
    (re.compile(r"^/avatars/$"), "MAX_AVATAR_BYTES"),
)


def has_valid_token(request) -> bool:
    """True when the request carries an API token that exists (its age is checked later, by DRF)."""
    from rest_framework.authtoken.models import Token

    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "token" and 0 < len(key) <= 64 and Token.objects.filter(key=key.strip()).exists()


def upload_limit(setting: str) -> int:
    """The largest file a route takes; an avatar is a photo or a video, whichever limit is larger."""
    if setting == "MAX_AVATAR_BYTES":
        return max(settings.MAX_UPLOAD_BYTES, settings.MAX_VIDEO_BYTES)
    return getattr(settings, setting)


def body_limit(request) -> int:
    """The most bytes this request's body may have."""
    if request.content_type == "multipart/form-data":
        for pattern, setting in UPLOAD_ROUTES:
            if pattern.match(request.path_info):
                if request.user.is_authenticated or has_valid_token(request):
                    return upload_limit(setting) + MULTIPART_OVERHEAD
                break
    return settings.MAX_BODY_BYTES


def too_large(request, limit: int):
    message = _("The request is too large: the limit here is %(limit)s.") % {"limit": human_size(limit)}
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": message}, status=413)
    return render(request, "413.html", {"message": message}, status=413)


def human_size(size: int) -> str:
    """1048576 -> "1 MB", 21037056 -> "20.1 MB"."""
    megabytes = size / 2**20
    return f"{megabytes:.0f} MB" if megabytes >= 10 or megabytes == int(megabytes) else f"{megabytes:.1f} MB"


class RequestBodyLimitMiddleware:
    """After AuthenticationMiddleware (to tell users from strangers), before anything reads the body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django treats a malformed length as no body
        if length > settings.MAX_BODY_BYTES:  # cheap check first: most requests stop here
            limit = body_limit(request)
            if length > limit:
                request.upload_handlers = []  # belt and braces: nothing may consume it
                return too_large(request, limit)
        return self.get_response(request)
