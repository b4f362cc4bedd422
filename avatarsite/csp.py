"""A Content-Security-Policy on every page: scripts, styles and media from this site only.

Django 5.2 has no CSP of its own. The pages keep to it: no inline scripts, styles or event handlers
(everything lives in static/), so nothing needs 'unsafe-inline'. Responses that set a policy of their
own keep it (downloads carry a sandboxing one). With a bucket, videos, posters and previews are
redirects to signed links there: its origin joins img-src and media-src (CSP_EXTRA_MEDIA_ORIGINS adds
more, e.g. a CDN in front of it). A request's live stream plays through hls.js: media-src allows
blob: (its Media Source) and connect-src the same origins (it fetches the segments itself).
"""
from urllib.parse import urlsplit

from django.conf import settings

HEADER = "Content-Security-Policy"


def bucket_origins() -> list[str]:
    """Where signed links to the bucket point: the endpoint's origin (path-style) or AWS's S3 hosts."""
    if not settings.S3_BUCKET:
        return []
    if settings.S3_ENDPOINT_URL:
        parts = urlsplit(settings.S3_ENDPOINT_URL)
        return [f"{parts.scheme}://{parts.netloc}"]
    return ["https://*.amazonaws.com"]  # virtual-hosted or regional: <bucket>.s3.<region>.amazonaws.com


def policy() -> str:
    """The header's value, from the settings."""
    media = " ".join(["'self'", *bucket_origins(), *settings.CSP_EXTRA_MEDIA_ORIGINS])
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": f"{media} data:",  # data: the empty favicon in base.html
        # blob: the Media Source object hls.js plays a stream through (its worker is off: no worker-src)
        "media-src": f"{media} blob:",
        # hls.js fetches a stream's playlist and segments; with a bucket they are signed links there
        "connect-src": " ".join(["'self'", *bucket_origins(), *settings.CSP_EXTRA_MEDIA_ORIGINS]),
        "font-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class ContentSecurityPolicyMiddleware:
    """Adds the site's CSP to every response that has none of its own."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.value = policy()

    def __call__(self, request):
        response = self.get_response(request)
        if HEADER not in response:
            response[HEADER] = self.value
        return response
