"""The client's address, trusting X-Forwarded-For only as far as TRUSTED_PROXIES proxies wrote it.

One definition for every throttle and lockout: with 0 trusted proxies (the default) it is the socket's
address and the header is ignored, so a client cannot pick a new identity per request by writing one.
"""
import ipaddress

from django.conf import settings


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def client_ip(request) -> str:
    """The address the outermost trusted proxy saw, or REMOTE_ADDR when no proxy is trusted."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not forwarded:
        return remote
    # Each proxy appends the address it received from; the N-th from the right was written by the
    # outermost of our N proxies, so everything left of it came from the client and proves nothing.
    candidate = forwarded[-min(proxies, len(forwarded))]
    return candidate if _valid(candidate) else remote
