"""Jobs whose worker died are taken over within about a minute: re-run once, then failed with a reason.

Runs in the workers only (a watchdog thread per worker process, from its start): reading a request
never changes it. django-q2's own scheduler counts in whole minutes, too coarse for "a lost job is
back within a minute", hence a thread of our own.
"""
from __future__ import annotations

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connections
from django.db.models import Q
from django.utils import timezone

from avatars.models import Avatar, AvatarStatus
from avatars.queue import queue_preparation
from generation import webhooks
from generation.models import GenerationRequest, Status
from generation.queue import enqueue, waiting_task_ids
from generation.shared import errors, storage
from generation.worker.sweep import sweep_orphans

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2  # a job whose worker died is re-run once, then failed
WATCHDOG_SECONDS = 5  # how often each worker looks for lost jobs
LOST_TASK_CHECK_EVERY = 12  # ... and, every this many rounds, for queued jobs whose task vanished
LOST_TASK_GRACE_SECONDS = 30  # a queued request younger than this may simply not be in the broker yet
STORAGE_CHECK_EVERY = 6  # ... and, every this many rounds, whether the bucket is back for what it failed
STORAGE_RETRY_WINDOW = timedelta(hours=24)  # work that failed on the bucket longer ago than this stays failed
MAX_STORAGE_ATTEMPTS = 6  # runs of one request (each bucket outage costs one) before it stays failed
SWEEP_EVERY = 720  # ... and, every this many rounds (an hour), remove stored files no row references


def recover_lost_jobs() -> int:
    """`running` requests whose heartbeat stopped go back in the queue once, then fail; returns how many."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    lost = GenerationRequest.objects.filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, started_at__lt=stale), status=Status.RUNNING)
    recovered = 0
    for request in lost:
        silent_since = request.heartbeat_at or request.started_at
        if request.attempts < MAX_ATTEMPTS:
            if GenerationRequest.objects.requeue(request.pk, request.attempts):
                log.warning("Request #%s: worker %s silent since %s; queued again", request.pk, request.worker,
                            silent_since)
                enqueue(request)
                recovered += 1
        elif GenerationRequest.objects.fail(
                request.pk, request.attempts, code=errors.WORKER_LOST,
                detail=f"worker {request.worker} silent since {silent_since:%Y-%m-%d %H:%M:%S} on attempt "
                       f"{request.attempts}"):
            log.warning("Request #%s: worker lost on attempt %s; failed", request.pk, request.attempts)
            recovered += 1
    return recovered


def recover_lost_preparations() -> int:
    """Preparations whose worker went silent wait again (once), then fail; returns how many.

    Files a dead run may have stored before dying are referenced by no row: the orphan sweep takes them.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    lost = Avatar.objects.filter(status=AvatarStatus.PREPARING, claimed_at__isnull=False).filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, claimed_at__lt=stale))
    recovered = 0
    for avatar in lost:
        silent_since = avatar.heartbeat_at or avatar.claimed_at
        if avatar.attempts < MAX_ATTEMPTS:
            if Avatar.objects.requeue(avatar.pk, avatar.claimed_at):
                log.warning("Avatar #%s: worker %s silent since %s; waiting again", avatar.pk, avatar.worker,
                            silent_since)
                queue_preparation(avatar)
                recovered += 1
        elif Avatar.objects.fail(avatar.pk, avatar.claimed_at, code=errors.WORKER_LOST,
                                 detail=f"worker {avatar.worker} silent since {silent_since:%Y-%m-%d %H:%M:%S} "
                                        f"on attempt {avatar.attempts}"):
            log.warning("Avatar #%s: worker lost on attempt %s; failed", avatar.pk, avatar.attempts)
            recovered += 1
    return recovered


def requeue_lost_tasks() -> int:
    """Queued requests whose task the broker no longer holds (a dead worker had taken it) go back in."""
    limit = timezone.now() - timedelta(seconds=LOST_TASK_GRACE_SECONDS)
    candidates = list(GenerationRequest.objects.filter(status=Status.QUEUED, created_at__lt=limit).exclude(task_id=""))
    avatars = list(Avatar.objects.filter(status=AvatarStatus.PREPARING, claimed_at__isnull=True,
                                         created_at__lt=limit).exclude(task_id=""))
    if not (candidates or avatars):
        return 0
    waiting = waiting_task_ids()
    if waiting is None:
        return 0
    # a duplicate is harmless: a task is a wake-up, and only one worker can claim a waiting job
    lost = [request for request in candidates if request.task_id not in waiting]
    for request in lost:
        enqueue(request)
    lost_avatars = [avatar for avatar in avatars if avatar.task_id not in waiting]
    for avatar in lost_avatars:
        queue_preparation(avatar)
    return len(lost) + len(lost_avatars)


def retry_storage_failures(now=None) -> int:
    """Requests and avatars that failed because the bucket was unreachable go back in the queue once it answers.

    Their rows, uploads and avatars were kept (nothing is deleted on that failure), so a retry is a
    plain re-run. Nothing happens while the bucket still does not answer.
    """
    since = (now or timezone.now()) - STORAGE_RETRY_WINDOW
    requests = GenerationRequest.objects.filter(status=Status.FAILED, error_code=errors.STORAGE_UNAVAILABLE,
                                                finished_at__gt=since, attempts__lt=MAX_STORAGE_ATTEMPTS)
    avatars = Avatar.objects.filter(status=AvatarStatus.FAILED, error_code=errors.STORAGE_UNAVAILABLE,
                                    created_at__gt=since)
    if not (requests.exists() or avatars.exists()) or not storage.reachable():
        return 0
    retried = 0
    for request in requests:
        if GenerationRequest.objects.requeue(request.pk, request.attempts, seen=Status.FAILED):
            log.warning("Request #%s: the bucket is back; queued again", request.pk)
            enqueue(request)
            retried += 1
    for avatar in avatars:
        if Avatar.objects.requeue(avatar.pk):
            log.warning("Avatar #%s: the bucket is back; preparing again", avatar.pk)
            queue_preparation(avatar)
            retried += 1
    return retried


class Watchdog:
    """A daemon thread in a worker process: recovery at start, then every WATCHDOG_SECONDS."""

    def __init__(self, interval: float = WATCHDOG_SECONDS):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="generation-watchdog", daemon=True)

    def start(self) -> "Watchdog":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def round(self, number: int) -> None:
        """One look for lost work."""
        recover_lost_jobs()
        recover_lost_preparations()
        webhooks.enqueue_due()  # retries whose backoff is over: each a task of its own, never in a job
        if number % LOST_TASK_CHECK_EVERY == 0:
            requeue_lost_tasks()
        if number % STORAGE_CHECK_EVERY == 0:
            retry_storage_failures()
        if number and number % SWEEP_EVERY == 0:
            sweep_orphans()

    def _run(self) -> None:
        number = 0
        while True:
            try:
                self.round(number)
            except Exception:  # a database hiccup must not end the watchdog
                log.warning("Job recovery round failed", exc_info=True)
            finally:
                connections.close_all()  # do not hold a connection between rounds
            number += 1
            if self._stop.wait(self.interval):
                return
