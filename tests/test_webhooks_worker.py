"""End to end: a real django-q2 worker renders a video, then its webhook reaches a real receiver on the third try."""
import json

import pytest

from generation.models import DeliveryState, GenerationRequest, Status, WebhookAttempt, WebhookDelivery
from tests.receiver import Receiver, verify
from tests.worker import Cluster, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]

JOB_TIMEOUT = 240  # the first job loads the models on a 2-core machine
RETRY_TIMEOUT = 40  # two retries, each handed out by a watchdog round (every 5 s)


@pytest.fixture
def cluster(media_root, tmp_path, settings):
    settings.SITE_URL = "http://avatar.test:3000"
    running = Cluster(media_root, tmp_path / "qcluster.log", WEBHOOK_ALLOW_PRIVATE=1, WEBHOOK_BACKOFF_SECONDS=0.5,
                      WEBHOOK_TIMEOUT=3, SITE_URL=settings.SITE_URL).start()
    yield running
    running.stop()


def test_finished_video_is_announced_and_retried_until_accepted(api, avatar, settings, cluster):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with Receiver([500, 502, 200]) as receiver:
        response = api.post("/api/v1/generations/", {"text": "Да.", "language": "ru", "callback_url": receiver.url()},
                            format="json")
        assert response.status_code == 202, response.content
        pk = response.json()["id"]
        request = wait_for(lambda: GenerationRequest.objects.filter(pk=pk, status__in=["done", "failed"]).first(),
                           JOB_TIMEOUT, message="the job")
        # Either outcome is announced; on a branch where rendering works this is DONE (see the video check below).
        assert request.is_finished, cluster.output()
        hits = receiver.wait_for_hits(3, RETRY_TIMEOUT)
        delivery = wait_for(lambda: WebhookDelivery.objects.filter(request_id=pk, state=DeliveryState.DELIVERED)
                            .first(), 10, message="delivered")
    assert len(hits) == 3 and delivery.attempts == 3
    secret = api.get("/api/v1/me/").json()["webhook_secret"]
    assert all(verify(hit, secret) for hit in hits)
    body = json.loads(hits[-1]["body"])
    assert body["id"] == pk and body["status"] == request.status and body["error_code"] == request.error_code
    if request.status == Status.DONE:
        assert body["error"] == "" and body["timings"]["total"] == pytest.approx(request.total_seconds)
        assert body["video"] == f"http://avatar.test:3000/api/v1/generations/{pk}/video"
        assert body["duration"] == pytest.approx(request.video.duration)
    else:
        assert body["error"] and body["video"] is None and body["duration"] is None
    codes = list(WebhookAttempt.objects.filter(request_id=pk).order_by("number").values_list("status_code", flat=True))
    assert codes == [500, 502, 200]
    assert "webhook" in cluster.output()  # each attempt ran as a django-q2 task of its own
