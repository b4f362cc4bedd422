"""Idempotency-Key on POST /api/v1/generations/: a retried POST gets the original request, not a second job.

A key belongs to one user and one body for IDEMPOTENCY_WINDOW; after that it may name a new request
(the old request keeps its row but gives the key up). The body is compared by a hash of its
canonical form (the parsed fields, sorted, and the uploaded recording's bytes), so the same request
sent as JSON or as a form, with keys in any order, is the same request.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from generation.models import IDEMPOTENCY_KEY_MAX_LENGTH, GenerationRequest

IDEMPOTENCY_WINDOW = timedelta(hours=24)
HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"  # "true" on an answer that is the original request again
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")


class KeyMismatch(Exception):
    """The key was used, within the window, for a request with a different body."""

    def __init__(self):
        super().__init__(_("This Idempotency-Key was already used for a different request; send a new key "
                           "for a new request."))


def key_errors(key: str) -> str | None:
    """Why `key` cannot be an idempotency key, or None."""
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not _VISIBLE_ASCII.fullmatch(key):
        return _("Idempotency-Key must be 1 to %(limit)s visible ASCII characters.") % {
            "limit": IDEMPOTENCY_KEY_MAX_LENGTH}
    return None


def body_sha256(fields: dict) -> str:
    """sha256 of the canonical request: the parsed fields sorted by name, a file by its bytes' sha256."""
    canonical = {}
    for name, value in fields.items():
        if hasattr(value, "read"):
            value.seek(0)
            digest = hashlib.sha256()
            for chunk in iter(lambda: value.read(1 << 16), b""):
                digest.update(chunk)
            value.seek(0)
            value = {"sha256": digest.hexdigest()}
        canonical[name] = value
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def original(owner, key: str) -> GenerationRequest | None:
    """The owner's request made with `key` within the window, or None (reads only)."""
    since = timezone.now() - IDEMPOTENCY_WINDOW
    return GenerationRequest.objects.owned_by(owner).filter(idempotency_key=key, created_at__gt=since).first()


def replay(owner, key: str, body: str) -> GenerationRequest | None:
    """The original request for this key and body, None when the key is unused; KeyMismatch on another body."""
    found = original(owner, key)
    if found is not None and found.body_sha256 != body:
        raise KeyMismatch()
    return found


def release_expired(owner, key: str) -> None:
    """Requests older than the window give their key up, so it may name a new request."""
    since = timezone.now() - IDEMPOTENCY_WINDOW
    GenerationRequest.objects.owned_by(owner).filter(idempotency_key=key, created_at__lte=since).update(
        idempotency_key="")
