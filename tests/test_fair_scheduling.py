"""One worker, two users: bob's backlog (videos and clip preparations) does not hold alice's request
behind it; she is served as soon as the job running when she asked is over."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from avatars.models import Avatar
from generation.models import GenerationRequest, Status
from tests import media
from tests.worker import finished, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]

JOB_TIMEOUT = 240  # the first job loads the models on a 2-core CI machine


def test_alice_is_served_next_whatever_bob_queued(api, other_api, avatar, cluster):
    clip = media.moving_face(1.6, size=(320, 180), width=0.45, seed=3).data
    bob = [other_api.post("/api/v1/generations/", {"text": f"Bob's video number {i}, a little longer than hers.",
                                                   "language": "en"}, format="json") for i in range(4)]
    assert [r.status_code for r in bob] == [202] * 4
    uploads = [other_api.post("/api/v1/avatars/", {"name": f"clip {i}", "file": SimpleUploadedFile("c.mp4", clip)},
                              format="multipart") for i in range(3)]
    assert [r.status_code for r in uploads] == [202, 202, 429]  # two preparing at once, at most
    first = bob[0].json()["id"]
    wait_for(lambda: GenerationRequest.objects.filter(pk=first).exclude(status=Status.QUEUED).exists(), JOB_TIMEOUT,
             message="bob's first job to start")

    mine = api.post("/api/v1/generations/", {"text": "Hi.", "language": "en"}, format="json")
    assert mine.status_code == 202
    alice = wait_for(lambda: finished(mine.json()["id"]), JOB_TIMEOUT, message="alice's job")
    assert alice.status == Status.DONE, (alice.error_detail, cluster.output())

    bobs_later = GenerationRequest.objects.filter(pk__in=[r.json()["id"] for r in bob[1:]])
    started = [r.started_at for r in bobs_later if r.started_at]
    claimed = [a.claimed_at for a in Avatar.objects.filter(owner__username="bob") if a.claimed_at]
    assert all(alice.started_at < t for t in started + claimed), (alice.started_at, started, claimed)
    assert GenerationRequest.objects.get(pk=first).started_at < alice.started_at
