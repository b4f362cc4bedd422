"""Preparations are claimed once, taken over when their worker dies (once, then failed), and capped per user."""
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from avatars.worker import preparation
from avatars.models import Avatar, AvatarStatus
from generation.shared import errors
from generation.worker import recovery
from tests import broker

pytestmark = pytest.mark.django_db


def claimed(user, attempts, silent_for, name="clip"):
    now = timezone.now()
    return Avatar.objects.create(name=name, owner=user, source=ContentFile(b"x", name="x.mp4"), kind="video",
                                 attempts=attempts, claimed_at=now - timedelta(seconds=600),
                                 heartbeat_at=now - timedelta(seconds=silent_for), worker="gone:1")


def test_a_preparation_is_claimed_by_one_worker_only(user, demo_png):
    avatar = Avatar.objects.create(name="p", owner=user, source=ContentFile(demo_png, name="p.png"))
    first = preparation.claim(avatar.pk)
    assert first is not None and first.attempts == 1 and first.worker and first.heartbeat_at
    assert preparation.claim(avatar.pk) is None  # a second worker (a duplicate wake-up) gets nothing
    assert preparation.prepare_avatar(avatar.pk) == f"avatar #{avatar.pk}: nothing to prepare"
    assert preparation.run_claimed(first) == f"avatar #{avatar.pk}: ready"


def test_a_dead_workers_preparation_waits_again_once_then_fails(user, settings):
    settings.JOB_STALE_SECONDS = 30
    alive = claimed(user, 1, silent_for=5, name="alive")
    lost = claimed(user, 1, silent_for=40, name="lost")
    lost_twice = claimed(user, 2, silent_for=40, name="twice")
    assert recovery.recover_lost_preparations() == 2
    alive.refresh_from_db(); lost.refresh_from_db(); lost_twice.refresh_from_db()
    assert alive.claimed_at is not None and alive.status == AvatarStatus.PREPARING
    assert (lost.status, lost.claimed_at) == (AvatarStatus.PREPARING, None)
    assert broker.task_ids() == {lost.task_id}  # a wake-up for it
    assert (lost_twice.status, lost_twice.error_code) == (AvatarStatus.FAILED, errors.WORKER_LOST)
    assert recovery.recover_lost_preparations() == 0
    assert preparation.claim(lost.pk).attempts == 2  # the next worker takes it over


def test_a_run_that_was_taken_over_cannot_record_its_outcome(user, demo_png, settings):
    avatar = Avatar.objects.create(name="p", owner=user, source=ContentFile(demo_png, name="p.png"))
    old = preparation.claim(avatar.pk)
    Avatar.objects.filter(pk=avatar.pk).update(claimed_at=None)  # recovery handed it on...
    new = preparation.claim(avatar.pk)  # ...and another worker took it
    assert preparation.run_claimed(old) == f"avatar #{avatar.pk}: stopped"
    assert Avatar.objects.get(pk=avatar.pk).status == AvatarStatus.PREPARING
    assert preparation.run_claimed(new) == f"avatar #{avatar.pk}: ready"


def add(client, data, name="Me"):
    return client.post("/api/v1/avatars/", {"name": name, "file": SimpleUploadedFile("a.png", data)},
                       format="multipart")


def test_at_most_two_preparing_per_user_and_uploads_are_rate_limited(api, other_api, client, user, demo_png,
                                                                      settings, monkeypatch):
    assert settings.MAX_PREPARING_PER_USER == 2
    assert [add(api, demo_png).status_code for _ in range(3)] == [202, 202, 429]
    refused = add(api, demo_png, name="third")
    assert refused.json()["detail"] == "You already have 2 avatars being prepared; wait until one is ready."
    assert add(other_api, demo_png).status_code == 202  # another user's cap is their own
    mine = Avatar.objects.filter(owner=user).first()
    preparation.prepare_avatar(mine.pk)
    assert add(api, demo_png).status_code == 202  # one became ready: room for one more

    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES,
                                                               "avatar_uploads": "6/hour"})
    settings.MAX_PREPARING_PER_USER = 100
    assert add(api, demo_png).status_code == 202  # the sixth upload this hour
    throttled = add(api, demo_png)
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    # the page shares the budget, and keeps nothing of the refused upload
    client.force_login(user)
    page = client.post("/avatars/", {"name": "Page", "file": SimpleUploadedFile("a.png", demo_png)},
                       HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 429 and "Too many avatars added" in page.content.decode()
    assert not Avatar.objects.filter(name="Page").exists()


def test_the_page_says_when_two_are_being_prepared(client, user, demo_png):
    client.force_login(user)
    for name in ("one", "two"):
        Avatar.objects.create(name=name, owner=user, source=ContentFile(demo_png, name="p.png"))
    page = client.post("/avatars/", {"name": "three", "file": SimpleUploadedFile("a.png", demo_png)},
                       HTTP_ACCEPT_LANGUAGE="ru")
    assert page.status_code == 429
    assert "Одновременно готовится не больше 2 ваших аватаров" in page.content.decode()
    assert not Avatar.objects.filter(name="three").exists()
