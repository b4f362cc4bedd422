"""Share links: the owner hands out a token; anybody with it may watch that one finished video.

The token (secrets.token_urlsafe) is shown once and stored as its SHA-256; a link dies when revoked,
when it expires, when the video is deleted (the row goes with the request) or removed by retention.
"""
import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.http import Http404
from django.utils import timezone

from generation.models import GenerationRequest, ShareLink, Status

TOKEN_BYTES = 24  # 192 random bits: 32 URL-safe characters
MIN_EXPIRES_SECONDS = 60


class NotShareable(Exception):
    """Only a finished video that is still stored can be shared."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def max_expires_seconds() -> int:
    return settings.SHARE_LINK_MAX_DAYS * 86400


def default_expires_seconds() -> int:
    return settings.SHARE_LINK_DAYS * 86400


def is_shareable(generation: GenerationRequest) -> bool:
    return generation.status == Status.DONE and not generation.is_expired and generation.video_or_none is not None


def make_link(generation: GenerationRequest, expires_in: int | None = None) -> tuple[str, ShareLink]:
    """A new token for the request (replacing any earlier link) and its row; NotShareable when there is no video."""
    if not is_shareable(generation):
        raise NotShareable()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires_at = timezone.now() + timedelta(seconds=expires_in or default_expires_seconds())
    link, _created = ShareLink.objects.update_or_create(
        request=generation, defaults={"token_sha256": _digest(token), "expires_at": expires_at,
                                      "created_at": timezone.now()})
    return token, link


def revoke(generation: GenerationRequest) -> bool:
    """Remove the request's link; False when it had none."""
    deleted, _rows = ShareLink.objects.filter(request=generation).delete()
    return deleted > 0


def active_link(generation: GenerationRequest) -> ShareLink | None:
    """The request's link while it still works, else None."""
    return ShareLink.objects.filter(request=generation, expires_at__gt=timezone.now()).first()


def shared_generation(token: str) -> GenerationRequest:
    """The request a live token opens, or 404 (unknown, revoked, expired, deleted or removed by retention)."""
    link = (ShareLink.objects.select_related("request", "request__video")
            .filter(token_sha256=_digest(token), expires_at__gt=timezone.now()).first())
    if link is None or not is_shareable(link.request):
        raise Http404("No such shared video.")
    return link.request
