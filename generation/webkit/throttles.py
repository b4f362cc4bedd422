"""Rate limits on creating videos and avatars and on the token endpoint, shared by pages and API.

Counters live in the cache every web process shares (settings.CACHES); clients are told apart by
user, or by the address `avatarsite.clientip` trusts.
"""
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from avatarsite.clientip import client_ip


class ClientAddressMixin:
    def get_ident(self, request):
        return client_ip(request)


class LoginThrottle(ClientAddressMixin, AnonRateThrottle):
    scope = "login"


class GenerationThrottle(ClientAddressMixin, UserRateThrottle):
    """Creation only: reading status and history is never throttled."""

    scope = "generations"


class AvatarUploadThrottle(ClientAddressMixin, UserRateThrottle):
    """Adding an own avatar (AVATAR_UPLOAD_RATE): each upload may cost a preparation in the worker."""

    scope = "avatar_uploads"


def page_throttled(request, throttle_class=GenerationThrottle) -> int | None:
    """Seconds the page form must wait before creating another video (or avatar: the API's budget), or None."""
    throttle = throttle_class()
    if throttle.allow_request(request, None):
        return None
    return max(1, int(throttle.wait() or 1))
