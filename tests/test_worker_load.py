"""Load: 20 submissions at once to one worker: all done, none lost, served in submission order."""
import pytest

from generation.models import GenerationRequest, Status
from tests.worker import Cluster, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]

SUBMISSIONS = 20


def test_twenty_at_once_all_done_in_order(api, avatar, media_root, tmp_path, settings):
    settings.MAX_ACTIVE_PER_USER = SUBMISSIONS
    cluster = Cluster(media_root, tmp_path / "qcluster.log").start()
    try:
        # One burst, faster than the worker drains it (a single client keeps the order well defined).
        codes = [api.post("/api/v1/generations/", {"text": f"Request number {i}.", "language": "en"},
                          format="json").status_code for i in range(SUBMISSIONS)]
        assert codes == [202] * SUBMISSIONS
        assert GenerationRequest.objects.filter(status=Status.QUEUED).count() > SUBMISSIONS // 2
        wait_for(lambda: not GenerationRequest.objects.unfinished().exists(), 300, interval=0.5,
                 message="all 20 jobs")
    finally:
        cluster.stop()
    requests = list(GenerationRequest.objects.order_by("pk"))
    assert len(requests) == SUBMISSIONS
    assert [r.status for r in requests] == [Status.DONE] * SUBMISSIONS, [r.error_detail for r in requests]
    assert all(r.attempts == 1 and r.video.size > 0 for r in requests)
    started = [r.started_at for r in requests]
    assert started == sorted(started)  # one worker serves them first come, first served
