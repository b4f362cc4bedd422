"""POST /api/generate holds a web worker while it waits: waits are capped per user and in all (429 beyond)."""
import threading
import time
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from rest_framework.authtoken.models import Token

from generation.models import GenerationRequest, SyncWait

pytestmark = pytest.mark.django_db

BODY = {"text": "Привет!", "language": "ru"}


def sync(api):
    return api.post("/api/generate", BODY, format="json")


def test_a_second_wait_of_the_same_user_is_429_without_queueing(api, user, avatar, settings):
    settings.SYNC_GENERATE_PER_USER = 1
    SyncWait.objects.create(owner=user)  # a wait open in another web process
    response = sync(api)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "asynchronous API" in response.json()["detail"]
    assert not GenerationRequest.objects.exists()  # refused before anything was queued or waited for


def test_the_total_cap_counts_everybody(api, user, other_user, avatar, settings):
    settings.SYNC_GENERATE_PER_USER = 1
    settings.SYNC_GENERATE_TOTAL = 2
    SyncWait.objects.create(owner=other_user)
    SyncWait.objects.create(owner=other_user)
    assert sync(api).status_code == 429


def test_waits_left_by_a_killed_web_process_expire(api, user, avatar, settings):
    settings.SYNC_GENERATE_TIMEOUT = 0.5  # no worker runs here: the wait ends in a 504
    old = SyncWait.objects.create(owner=user)
    SyncWait.objects.filter(pk=old.pk).update(started_at=timezone.now() - timedelta(minutes=5))
    response = sync(api)
    assert response.status_code == 504 and response.json()["id"]
    assert not SyncWait.objects.exists()  # the stale row was swept, ours released


@pytest.mark.django_db(transaction=True)
def test_concurrent_waits_of_one_user_on_a_live_server(live_server, user, avatar, settings):
    settings.SYNC_GENERATE_TIMEOUT = 3
    settings.SYNC_GENERATE_PER_USER = 1
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    url = live_server.url + "/api/generate"
    first = {}
    waiting = threading.Thread(target=lambda: first.update(r=requests.post(url, json=BODY, headers=headers, timeout=30)))
    waiting.start()
    try:
        deadline = timezone.now() + timedelta(seconds=10)
        while not SyncWait.objects.exists() and timezone.now() < deadline:
            threading.Event().wait(0.05)
        asked = time.monotonic()
        second = requests.post(url, json=BODY, headers=headers, timeout=30)
        refused_in = time.monotonic() - asked
        assert second.status_code == 429 and second.headers["Retry-After"]
        assert refused_in < 1.0, refused_in  # refused at once, not after a wait of its own
        print(f"\na second synchronous wait of the same user: 429 in {refused_in * 1000:.0f} ms")
        assert waiting.is_alive()  # answered while the first was still waiting
    finally:
        waiting.join()
    assert first["r"].status_code == 504  # no worker here; the point is that it held its slot
    assert GenerationRequest.objects.count() == 1
