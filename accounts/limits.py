"""Rate limits for the account pages (sign-up, password reset), in the cache every web process shares.

Counted per client address (avatarsite.clientip) and, for resets, per e-mail address too, so nobody
can flood one mailbox from many addresses. ACCOUNT_RATE is one budget for each.
"""
import hashlib

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from avatarsite.clientip import client_ip


class AccountThrottle(SimpleRateThrottle):
    """One scope ("signup", "reset", "reset-email") and one identity per instance."""

    def __init__(self, scope: str, ident: str):
        self.scope, self.ident = scope, ident
        super().__init__()

    def get_rate(self) -> str:
        return settings.ACCOUNT_RATE

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": f"account-{self.scope}", "ident": self.ident}


def wait_seconds(request, scope: str, ident: str | None = None) -> int | None:
    """Counts one attempt; the seconds to wait when over ACCOUNT_RATE, else None."""
    ident = ident if ident is not None else client_ip(request)
    throttle = AccountThrottle(scope, hashlib.sha256(ident.encode()).hexdigest()[:32])
    if throttle.allow_request(request, None):
        return None
    return max(1, int(throttle.wait() or 1))
