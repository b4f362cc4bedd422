"""A worker killed mid-job loses nothing: the next cluster re-runs the request to the end."""
import pytest

from generation.models import GenerationRequest, Status
from tests.worker import Cluster, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]

TIMEOUT = 20  # the job timeout the clusters run with; the broker re-delivers after TIMEOUT + 10 s
LONG_TEXT = ("Это длинный текст для проверки того, что задача не теряется, когда рабочий процесс убит. " * 11)[:990]


def test_kill_9_mid_lipsync_then_new_cluster_finishes_it(api, avatar, media_root, tmp_path, settings):
    settings.GENERATION_TIMEOUT = TIMEOUT
    env = {"GENERATION_TIMEOUT": TIMEOUT, "Q_RETRY": TIMEOUT + 10}
    first = Cluster(media_root, tmp_path / "first.log", **env).start()
    try:
        response = api.post("/api/v1/generations/", {"text": LONG_TEXT, "language": "ru"}, format="json")
        pk = response.json()["id"]
        wait_for(lambda: GenerationRequest.objects.filter(pk=pk, stage__in=["lipsync", "encode"]).exists(),
                 120, interval=0.02, message="the job to reach lip-sync")
    finally:
        first.kill()
    request = GenerationRequest.objects.get(pk=pk)
    assert request.status == Status.RUNNING and request.attempts == 1  # really killed mid-job

    second = Cluster(media_root, tmp_path / "second.log", **env).start()
    try:
        request = wait_for(lambda: GenerationRequest.objects.filter(pk=pk).exclude(status=Status.RUNNING)
                           .exclude(status=Status.QUEUED).first(), 120, message="the re-run")
        assert request.status == Status.DONE, (request.error, second.output())
        assert request.attempts == 2 and request.video.duration > 30
    finally:
        second.stop()
