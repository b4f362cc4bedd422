"""Webhooks: a signed POST to a request's callback_url when it finishes, retried with backoff.

Flow: a request reaches done/failed/cancelled → `notify_finished` freezes the JSON body in a
WebhookDelivery and queues a django-q2 task for attempt 1 (its own task, never the generation job's
time). `deliver` makes one attempt and records it as a WebhookAttempt; on an error, a timeout or a
non-2xx answer it sets `next_attempt_at`, and the workers' watchdog (`enqueue_due`, every few
seconds) queues the next attempt when that time comes. Every attempt is claimed by its number, so a
task queued twice (a lost task re-queued by the poller) still posts once.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from datetime import timedelta

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from generation.shared import netguard
from generation.models import (TIMING_FIELDS, DeliveryState, GenerationRequest, WebhookAttempt, WebhookDelivery,
                               WebhookSecret)

log = logging.getLogger(__name__)

TASK = "generation.worker.tasks.deliver_webhook"
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
CONNECT_TIMEOUT_SECONDS = 5.0  # never more than WEBHOOK_TIMEOUT
LEASE_GRACE_SECONDS = 60  # a queued attempt not taken by then is queued again (its task was lost)
TASK_MARGIN_SECONDS = 5  # the attempt's task may run this much longer than the attempt itself
DUE_BATCH = 50  # deliveries the poller hands out per round
ERROR_MAX_LENGTH = 300


# secrets ------------------------------------------------------------------------------------------

def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def secret_for(user) -> str | None:
    """The user's signing secret, None while they have none (reads only: what GET pages and the API show)."""
    return WebhookSecret.objects.filter(user=user).values_list("secret", flat=True).first()


def ensure_secret(user) -> str:
    """The user's signing secret, made on first need (a request with a callback_url, a delivery to sign)."""
    row, _ = WebhookSecret.objects.get_or_create(user=user, defaults={"secret": new_secret()})
    return row.secret


def rotate_secret(user) -> str:
    """A new signing secret for the user; the old one stops verifying from the next attempt on."""
    row, created = WebhookSecret.objects.get_or_create(user=user, defaults={"secret": new_secret()})
    if not created:
        row.secret = new_secret()
        row.save(update_fields=["secret", "created_at"])
    return row.secret


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """hex HMAC-SHA256(secret, "<timestamp>.<body>"): what X-Avatar-Signature carries after "sha256="."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


# submission ---------------------------------------------------------------------------------------

def validate_callback_url(url: str) -> str:
    """`url` when it is an http(s) URL to a public address (or WEBHOOK_ALLOW_PRIVATE); else ValidationError."""
    try:
        netguard.check_url(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    except netguard.UnsafeURL as exc:
        if exc.code == "unresolvable":
            # A name that does not resolve now reaches nothing now; DNS may be down for a moment, and
            # every delivery resolves and checks again, so it is accepted here and judged when it is used.
            return url
        messages = {
            "scheme": _("The callback URL must start with http:// or https://."),
            "malformed": _("The callback URL must name a host (and no user name or password)."),
            "refused": _("The callback URL leads to a private, loopback or link-local address; use a public one."),
        }
        raise ValidationError(messages[exc.code]) from None
    return url


# finishing ----------------------------------------------------------------------------------------

def payload(request: GenerationRequest) -> dict:
    """What the receiver is told: the outcome, where the video is, how long each stage took."""
    video = request.video_or_none
    with translation.override("en"):  # the API's language; programs should read error_code
        error = request.error
    return {
        "id": request.pk,
        "status": request.status,
        "error": error,
        "error_code": request.error_code,
        "video": settings.SITE_URL + reverse("api-generation-video", args=[request.pk]) if video else None,
        "duration": video.duration if video else None,
        "timings": {name: getattr(request, f"{name}_seconds") for name in TIMING_FIELDS},
    }


def attempt_seconds() -> float:
    """The longest one attempt takes: connecting, then reading (twice the timeout: sending and the answer)."""
    return 2 * settings.WEBHOOK_TIMEOUT + CONNECT_TIMEOUT_SECONDS


def lease() -> timedelta:
    """How long a queued attempt may wait for a worker before the poller queues it again."""
    return timedelta(seconds=attempt_seconds() + LEASE_GRACE_SECONDS)


def on_request_finished(sender, request_id: int, **kwargs) -> None:
    """lifecycle.request_finished's receiver."""
    notify_finished(request_id)


def notify_finished(request_id: int) -> WebhookDelivery | None:
    """Freeze the finished request's webhook and queue its first attempt (after the commit)."""
    request = GenerationRequest.objects.select_related("video").filter(pk=request_id).first()
    if request is None or not request.callback_url or not request.is_finished:
        return None
    if WebhookDelivery.objects.filter(request=request).exists():
        return None  # finished once: one notification
    body = json.dumps(payload(request), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    delivery = WebhookDelivery.objects.create(request=request, url=request.callback_url, body=body,
                                              next_attempt_at=timezone.now() + lease())
    transaction.on_commit(lambda: enqueue_attempt(delivery.pk, 1))
    return delivery


def enqueue_attempt(delivery_id: int, number: int) -> None:
    """Queue attempt `number` of a delivery as a task of its own."""
    from django_q.tasks import async_task

    try:
        async_task(TASK, delivery_id, number, task_name=f"webhook-{delivery_id}-{number}", group="webhook",
                   timeout=int(attempt_seconds() + TASK_MARGIN_SECONDS))
    except Exception:  # the broker is down: the poller queues it once the lease runs out
        log.warning("Could not queue webhook delivery %s attempt %s", delivery_id, number, exc_info=True)


def enqueue_due() -> int:
    """Queue the next attempt of every delivery whose time has come; returns how many (the watchdog calls it)."""
    now = timezone.now()
    queued = 0
    for delivery in WebhookDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)[:DUE_BATCH]:
        if WebhookDelivery.objects.filter(pk=delivery.pk, next_attempt_at=delivery.next_attempt_at).update(
                next_attempt_at=now + lease()):
            enqueue_attempt(delivery.pk, delivery.attempts + 1)
            queued += 1
    return queued


# delivering ---------------------------------------------------------------------------------------

def backoff(number: int) -> timedelta:
    """The wait after failed attempt `number` (1-based): base, 2x base, 4x base ..."""
    return timedelta(seconds=settings.WEBHOOK_BACKOFF_SECONDS * 2 ** (number - 1))


def post(delivery: WebhookDelivery, number: int) -> tuple[int | None, str]:
    """One signed POST of the delivery's body: (status code or None, error for staff)."""
    try:
        target = netguard.check_url(delivery.url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    except netguard.UnsafeURL as exc:  # checked again now: DNS may answer differently than at submission
        return None, f"refused: {exc}"
    body = delivery.body.encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "TalkingAvatar-Webhook/1",
        "X-Avatar-Timestamp": timestamp,
        "X-Avatar-Signature": "sha256=" + sign(ensure_secret(delivery.request.owner), timestamp, body),
        "X-Avatar-Delivery": str(delivery.pk),
        "X-Avatar-Attempt": str(number),
    }
    try:
        code = netguard.post_pinned(target, body, headers, min(CONNECT_TIMEOUT_SECONDS, settings.WEBHOOK_TIMEOUT),
                                    settings.WEBHOOK_TIMEOUT)
    except requests.Timeout:
        return None, "timed out"
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: could not connect or send"
    return code, "" if 200 <= code < 300 else f"HTTP {code}"


def deliver(delivery_id: int, number: int) -> str:
    """Attempt `number` of a delivery (the django-q2 task); a duplicate or stale task does nothing."""
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING, attempts=number - 1).update(
        attempts=number, next_attempt_at=timezone.now() + lease())
    if not claimed:
        return f"webhook {delivery_id} attempt {number}: not due"
    delivery = WebhookDelivery.objects.select_related("request__owner").get(pk=delivery_id)
    started = time.monotonic()
    code, error = post(delivery, number)
    WebhookAttempt.objects.create(delivery=delivery, request=delivery.request, number=number, url=delivery.url,
                                  status_code=code, error=error[:ERROR_MAX_LENGTH],
                                  duration=time.monotonic() - started)
    if not error:
        state, next_at = DeliveryState.DELIVERED, None
    elif number >= settings.WEBHOOK_MAX_ATTEMPTS:
        state, next_at = DeliveryState.FAILED, None
    else:
        state, next_at = DeliveryState.PENDING, timezone.now() + backoff(number)
    WebhookDelivery.objects.filter(pk=delivery_id, attempts=number).update(state=state, next_attempt_at=next_at)
    if error:
        log.info("Webhook %s attempt %s to request #%s failed: %s", delivery_id, number, delivery.request_id, error)
    return f"webhook {delivery_id} attempt {number}: {state}"
