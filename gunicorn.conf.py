"""gunicorn's configuration for the web tier: `gunicorn -c gunicorn.conf.py avatarsite.wsgi`.

Threads, not bare processes: an open `POST /api/generate` holds one thread for up to
SYNC_GENERATE_TIMEOUT seconds, and pages must still answer meanwhile. The timeout sits above that
wait, so gunicorn never kills a worker in the middle of one (that answered 500 text/html after 30 s).
Everything can be overridden with WEB_* variables or gunicorn's own command-line flags.
"""
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


SYNC_GENERATE_TIMEOUT = _int("SYNC_GENERATE_TIMEOUT", 120)  # the same variable Django's settings read
TIMEOUT_MARGIN_SECONDS = 30  # a wait that ran out still writes its 504 before gunicorn gives up on the worker

bind = os.environ.get("WEB_BIND", "127.0.0.1:3000")
workers = _int("WEB_WORKERS", 2)
worker_class = "gthread"
threads = _int("WEB_THREADS", 8)  # keep SYNC_GENERATE_TOTAL well below workers x threads
timeout = max(_int("WEB_TIMEOUT", 0), SYNC_GENERATE_TIMEOUT + TIMEOUT_MARGIN_SECONDS)
graceful_timeout = _int("WEB_GRACEFUL_TIMEOUT", 30)
keepalive = 5
# Recycle workers now and then (a leak stays bounded); the jitter keeps them from restarting together.
max_requests = _int("WEB_MAX_REQUESTS", 2000)
max_requests_jitter = _int("WEB_MAX_REQUESTS_JITTER", 200)

# gunicorn believes X-Forwarded-Proto (and two similar headers) from forwarded_allow_ips, 127.0.0.1 by
# default, whatever Django thinks: a client on the same host could then pass plain http off as https.
# Django alone decides, believing the header only with TRUSTED_PROXIES > 0 (avatarsite/settings.py).
secure_scheme_headers = {}
forwarded_allow_ips = os.environ.get("WEB_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

accesslog = os.environ.get("WEB_ACCESS_LOG", "-") or None  # "": none
errorlog = "-"
