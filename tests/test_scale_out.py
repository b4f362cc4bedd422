"""Scale-out: several qclusters on PostgreSQL + Redis share one queue and never do a job twice.

Runs when the suite itself runs on PostgreSQL with REDIS_URL set (`.ci/run`'s second pass);
skipped, saying why, on the embedded SQLite default.
"""
import os
import time

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import connection

from generation.models import GenerationRequest, Status
from tests.conftest import _api
from tests.worker import Cluster, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]


@pytest.fixture(autouse=True)
def needs_postgres_and_redis():
    if connection.vendor != "postgresql" or not django_settings.REDIS_URL:
        pytest.skip("scale-out tests need DATABASE_URL=postgres://… and REDIS_URL (the CI's second pass sets both)")


def clusters(media_root, tmp_path, count, **env):
    return [Cluster(media_root, tmp_path / f"cluster{i}.log", **env).start() for i in range(count)]


def test_two_clusters_share_twelve_jobs_without_doing_any_twice(user, avatar, media_root, tmp_path, settings):
    settings.MAX_ACTIVE_PER_USER = 12
    second_user = get_user_model().objects.create_user("carol", password="carol-password-1")
    running = clusters(media_root, tmp_path, 2)
    try:
        for i in range(6):
            for client in (_api(user), _api(second_user)):
                response = client.post("/api/v1/generations/", {"text": f"Job {i} of many, spoken aloud.",
                                                                "language": "en"}, format="json")
                assert response.status_code == 202
        wait_for(lambda: not GenerationRequest.objects.unfinished().exists(), 300, interval=0.5, message="12 jobs")
    finally:
        for cluster in running:
            cluster.stop()
    requests = list(GenerationRequest.objects.order_by("pk"))
    assert [r.status for r in requests] == [Status.DONE] * 12, [r.error_detail for r in requests]
    assert all(r.attempts == 1 for r in requests)  # each pipeline run happened exactly once
    pids = {r.worker for r in requests}
    assert len(pids) == 2, pids  # both machines' workers took some
    for owner in (user, second_user):
        mine = [r for r in requests if r.owner_id == owner.pk]
        # FIFO within a user (two workers may claim neighbours within the same few milliseconds)
        assert all((b.started_at - a.started_at).total_seconds() > -0.2 for a, b in zip(mine, mine[1:]))


def test_kill_9_one_of_two_clusters_mid_job_loses_nothing(user, avatar, media_root, tmp_path, settings):
    settings.MAX_ACTIVE_PER_USER = 6
    running = clusters(media_root, tmp_path, 2)  # default job timeout (600 s): recovery is the heartbeat's
    api = _api(user)
    try:
        text = ("Длинный текст, чтобы задача шла достаточно долго и её можно было прервать посередине. " * 11)[:990]
        ids = [api.post("/api/v1/generations/", {"text": f"{i}. {text}", "language": "ru"}, format="json").json()["id"]
               for i in range(4)]
        victim = wait_for(lambda: GenerationRequest.objects.filter(pk__in=ids, stage__in=["lipsync", "encode"]).first(),
                          120, interval=0.02, message="a job in lip-sync")
        worker_pid = int(victim.worker.rsplit(":", 1)[1])
        doomed = next(c for c in running if os.getpgid(worker_pid) == c.process.pid)
        doomed.kill()
        killed_at = time.monotonic()
        wait_for(lambda: GenerationRequest.objects.filter(pk=victim.pk, status=Status.DONE).exists(), 90,
                 interval=0.5, message="the killed job done again within 90 s")
        recovered_in = time.monotonic() - killed_at
        wait_for(lambda: not GenerationRequest.objects.filter(pk__in=ids).exclude(
            status__in=[Status.DONE, Status.FAILED]).exists(), 240, interval=1, message="every job to end")
    finally:
        for cluster in running:
            if cluster.process.poll() is None:
                cluster.stop()
    for request in GenerationRequest.objects.filter(pk__in=ids):
        assert request.status == Status.DONE or (request.status == Status.FAILED and request.error_code)
    victim.refresh_from_db()
    assert victim.attempts == 2 and victim.status == Status.DONE
    print(f"\nkill -9 of one of two clusters to done: {recovered_in:.1f} s")
