"""Whose job a worker runs next: per-user round robin over generations and avatar preparations.

Every django-q2 task, a generation's or a preparation's, is a wake-up and not a fixed job: the
worker that gets one runs the next job by turns. The user served least recently goes first (one who
was never served before anyone who was), and of that user's waiting work the oldest, whichever kind
it is. So one user's backlog (five long videos, clips that take minutes to track) costs another user
at most the job that is running when they submit. Shared avatars (owner empty, added by staff)
take their turn as one more user. Claims are compare-and-set, so several workers never run a job twice.
SCHEDULING=fifo runs the oldest job whoever it belongs to (the old order, kept for bench/fairness.py).
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone as dt_timezone

from django.conf import settings
from django.db.models import Max, Min

from avatars.models import Avatar, AvatarStatus
from generation.models import GenerationRequest, Status
from avatars.worker import preparation
from generation.worker import jobs

log = logging.getLogger(__name__)

GENERATION, PREPARATION = "generation", "preparation"
CLAIM_TRIES = 8  # another worker may win a claim; then the next pick
NEVER = datetime.min.replace(tzinfo=dt_timezone.utc)
SHARED = None  # the owner of shared avatars, as a user of its own


def waiting_generations():
    return GenerationRequest.objects.filter(status=Status.QUEUED)


def waiting_preparations():
    return Avatar.objects.filter(status=AvatarStatus.PREPARING, claimed_at__isnull=True)


def _per_owner(queryset, field: str, aggregate) -> dict:
    """{owner_id: aggregate(field)} over `queryset` (one grouped query)."""
    rows = queryset.order_by().values_list("owner_id").annotate(value=aggregate(field))
    return {owner: value for owner, value in rows}


def _merge(first: dict, second: dict, pick) -> dict:
    return {key: pick(v for v in (first.get(key), second.get(key)) if v is not None) for key in {*first, *second}}


def waiting_owners() -> dict:
    """{owner_id: created_at of their oldest waiting job} over both kinds."""
    return _merge(_per_owner(waiting_generations(), "created_at", Min),
                  _per_owner(waiting_preparations(), "created_at", Min), min)


def last_served(owners) -> dict:
    """{owner_id: when a worker last took a job of theirs} (owners never served are absent)."""
    ids = [owner for owner in owners if owner is not SHARED]
    generations = _per_owner(GenerationRequest.objects.filter(owner_id__in=ids, started_at__isnull=False),
                             "started_at", Max)
    avatars = Avatar.objects.filter(owner_id__in=ids, claimed_at__isnull=False)
    if SHARED in owners:
        avatars = avatars | Avatar.objects.filter(owner__isnull=True, claimed_at__isnull=False)
    return _merge(generations, _per_owner(avatars, "claimed_at", Max), max)


def next_owner(waiting: dict, served: dict):
    """The owner whose turn it is: least recently served, then the one waiting longest."""
    return min(waiting, key=lambda owner: (served.get(owner) or NEVER, waiting[owner]))


def oldest_of(generations, preparations) -> tuple[str, int] | None:
    """(kind, pk) of the oldest job among the two querysets."""
    jobs = [(created, pk, kind) for kind, queryset in ((GENERATION, generations), (PREPARATION, preparations))
            for pk, created in queryset.order_by("created_at", "pk").values_list("pk", "created_at")[:1]]
    if not jobs:
        return None
    _created, pk, kind = min(jobs)
    return kind, pk


def next_job() -> tuple[str, int] | None:
    """(kind, pk) of the job to run next, or None when nothing waits."""
    if settings.SCHEDULING == "fifo":
        return oldest_of(waiting_generations(), waiting_preparations())
    waiting = waiting_owners()
    if not waiting:
        return None
    owner = next_owner(waiting, last_served(waiting))
    preparations = waiting_preparations()
    preparations = preparations.filter(owner__isnull=True) if owner is SHARED else preparations.filter(owner_id=owner)
    return oldest_of(waiting_generations().filter(owner_id=owner), preparations)


def claim(kind: str, pk: int):
    """The claimed row (a GenerationRequest or an Avatar), or None when another worker took it first."""
    return jobs.claim(pk) if kind == GENERATION else preparation.claim(pk)


def run_next() -> str:
    """Claim the job whose turn it is and run it (what every worker task does); a report for the task's result."""
    for _ in range(CLAIM_TRIES):
        job = next_job()
        if job is None:
            return "nothing to do"
        claimed = claim(*job)
        if claimed is not None:
            return jobs.run_claimed(claimed) if job[0] == GENERATION else preparation.run_claimed(claimed)
    return "nothing claimed: other workers were faster"
