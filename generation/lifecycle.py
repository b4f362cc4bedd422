"""A generation request's lifecycle in one place: its states, the allowed transitions, and the one
conditional UPDATE each transition is (docs/architecture.md §3).

    queued ──claim──▶ running ──finish──▶ done ──expire──▶ done (expired_at set)
      ▲                  │  ├──fail────▶ failed ──requeue (storage outage)──▶ queued
      └──requeue (lost)──┘  └──cancel──▶ cancelled ◀──cancel── queued

Every method is a compare-and-set on the status (and, for a run, on `attempts`, which a takeover
bumps), returns whether it applied, and schedules what follows a finish in the same transaction by
two signals, received by webhooks.py and quotas.py: `request_finished` (the webhook, its first attempt
queued on commit) and `video_made` (the owner's daily seconds). Callers (jobs, recovery, services,
retention) only call these; none writes `status` itself.
"""
from __future__ import annotations

from django.apps import apps
from django.db import models, transaction
from django.dispatch import Signal
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from generation.shared import errors

ERROR_DETAIL_MAX_LENGTH = 4000


class Status(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Stage(models.TextChoices):
    QUEUED = "queued", _("In the queue…")
    TTS = "tts", _("Synthesizing speech…")
    AUDIO = "audio", _("Processing audio…")
    FACE = "face", _("Finding the face…")
    LIPSYNC = "lipsync", _("Syncing the lips…")
    ENCODE = "encode", _("Assembling the video…")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Error")


# method -> (the statuses it may start from, the status it leaves). The one table: the methods below
# filter on it, and tests/test_lifecycle_transitions.py tries every pair it does not list.
TRANSITIONS = {
    "claim": ({Status.QUEUED}, Status.RUNNING),
    "heartbeat": ({Status.RUNNING}, Status.RUNNING),
    "requeue": ({Status.RUNNING, Status.FAILED}, Status.QUEUED),  # a lost run; a failure on the bucket
    "finish": ({Status.RUNNING}, Status.DONE),
    "fail": ({Status.RUNNING}, Status.FAILED),
    "cancel": ({Status.QUEUED, Status.RUNNING}, Status.CANCELLED),
    "expire": ({Status.DONE}, Status.DONE),
}
FINISHED = (Status.DONE, Status.FAILED, Status.CANCELLED)


def sources(method: str) -> list[str]:
    """The statuses `method` may start from."""
    return sorted(TRANSITIONS[method][0])


def target(method: str) -> str:
    """The status `method` leaves the request in."""
    return TRANSITIONS[method][1]


# What follows a state change, told to whoever listens (webhooks.py, quotas.py; connected in apps.py):
# the receivers read these models, so calling them from here would make models and their readers a cycle.
# Sent inside the changing transaction, so a receiver that fails undoes the change.
request_finished = Signal()  # request_id: done, failed or cancelled
video_made = Signal()  # owner_id, seconds: a finished video counts toward its owner's daily quota


def announce_finished(request_id: int) -> None:
    """What follows every finish: the request's webhook, frozen now, its first attempt queued on commit."""
    request_finished.send(sender=GenerationRequestQuerySet, request_id=request_id)


class GenerationRequestQuerySet(models.QuerySet):
    def owned_by(self, user):
        return self.filter(owner=user)

    def unfinished(self):
        return self.filter(status__in=[Status.QUEUED, Status.RUNNING])

    # transitions -------------------------------------------------------------------------------------

    def _from(self, method: str, pk: int, **also):
        return self.filter(pk=pk, status__in=sources(method), **also)

    def run(self, pk: int, attempts: int):
        """The row while it is still this run (running, `attempts` unchanged by a takeover)."""
        return self._from("heartbeat", pk, attempts=attempts)

    def claim(self, pk: int, *, worker: str, stream_dir: str) -> bool:
        """queued → running for this worker, a new attempt (one worker wins)."""
        now = timezone.now()
        return bool(self._from("claim", pk).update(
            status=target("claim"), stage=Stage.TTS, progress=0, started_at=now, heartbeat_at=now, worker=worker,
            attempts=F("attempts") + 1, stream_dir=stream_dir))

    def heartbeat(self, pk: int, attempts: int, *, stage: str | None = None, progress: int | None = None) -> bool:
        """A sign of life of this run (with its stage and progress when given); False once it is no longer ours."""
        fields = {"heartbeat_at": timezone.now()}
        if stage is not None:
            fields.update(stage=stage, progress=progress or 0)
        return bool(self.run(pk, attempts).update(**fields))

    def requeue(self, pk: int, attempts: int, *, seen: str = Status.RUNNING) -> bool:
        """Back in the queue, as the caller saw it (`seen`, still attempt `attempts`): a run whose worker went
        silent, or a request that failed because the bucket was unreachable. Both forget the same things."""
        rows = self._from("requeue", pk, status=seen, attempts=attempts)
        if seen == Status.FAILED:
            rows = rows.filter(error_code=errors.STORAGE_UNAVAILABLE)  # no other failure is retried
        return bool(rows.update(
            status=target("requeue"), stage=Stage.QUEUED, progress=0, heartbeat_at=None, error_code="",
            error_detail="", finished_at=None))

    def finish(self, pk: int, attempts: int, *, video: dict, owner_id: int, **fields) -> bool:
        """running → done with the run's results (engine and voice as the pipeline reports them, timings,
        notes) and its Video row; the owner's seconds are counted and the webhook scheduled."""
        with transaction.atomic():
            updated = self.run(pk, attempts).update(
                status=target("finish"), stage=Stage.DONE, progress=100, finished_at=timezone.now(), **fields)
            if updated:
                apps.get_model("generation", "Video").objects.create(request_id=pk, **video)
                video_made.send(sender=GenerationRequestQuerySet, owner_id=owner_id, seconds=video["duration"])
                announce_finished(pk)
        return bool(updated)

    def fail(self, pk: int, attempts: int, *, code: str, detail: str, queue_seconds: float | None = None) -> bool:
        """running → failed with a code users are told and a detail for staff; the webhook scheduled."""
        fields = {"status": target("fail"), "stage": Stage.FAILED, "error_code": code,
                  "error_detail": detail[:ERROR_DETAIL_MAX_LENGTH], "finished_at": timezone.now()}
        if queue_seconds is not None:
            fields["queue_seconds"] = queue_seconds
        with transaction.atomic():
            updated = self.run(pk, attempts).update(**fields)
            if updated:
                announce_finished(pk)
        return bool(updated)

    def cancel(self, pk: int) -> bool:
        """queued or running → cancelled (a running worker notices at its next step); the webhook scheduled."""
        with transaction.atomic():
            updated = self._from("cancel", pk).update(status=target("cancel"), error_code=errors.CANCELLED,
                                                      finished_at=timezone.now())
            if updated:
                announce_finished(pk)
        return bool(updated)

    def expire(self, pk: int, now=None) -> bool:
        """A done request loses its Video row (retention removed the files first) and is marked expired."""
        with transaction.atomic():
            updated = self._from("expire", pk, expired_at__isnull=True).update(expired_at=now or timezone.now())
            if updated:
                apps.get_model("generation", "Video").objects.filter(request_id=pk).delete()
        return bool(updated)

    def create_finished(self, *, video: dict, **fields):
        """A request born done (a reuse of an identical video) with its Video row; its webhook scheduled."""
        with transaction.atomic():
            request = self.create(status=Status.DONE, stage=Stage.DONE, progress=100, **fields)
            apps.get_model("generation", "Video").objects.create(request=request, **video)
            announce_finished(request.pk)
        return request
