"""Idempotency-Key on POST /api/v1/generations/: a retried POST is the same job, never a second one."""
import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections

from generation.web import idempotency
from generation.models import GenerationRequest

BODY = {"text": "Привет!", "language": "ru"}


def post(api, key, body=BODY, **kwargs):
    return api.post("/api/v1/generations/", body, format="json", HTTP_IDEMPOTENCY_KEY=key, **kwargs)


@pytest.mark.django_db
def test_same_key_twice_is_one_job(api, avatar):
    first = post(api, "order-42")
    assert first.status_code == 202 and "Idempotent-Replayed" not in first
    again = post(api, "order-42", {"language": "ru", "text": "Привет!"})  # same request, keys in another order
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] and again["Location"] == first["Location"]
    assert GenerationRequest.objects.count() == 1
    assert post(api, "order-43").json()["id"] != first.json()["id"]  # another key: another job


@pytest.mark.django_db
def test_same_key_with_another_body_is_a_422(api, avatar):
    assert post(api, "k1").status_code == 202
    response = post(api, "k1", {**BODY, "text": "Пока!"})
    assert response.status_code == 422
    assert "different request" in response.json()["detail"]
    assert GenerationRequest.objects.count() == 1


@pytest.mark.django_db
def test_keys_belong_to_their_user(api, other_api, avatar):
    mine = post(api, "shared-key").json()["id"]
    theirs = post(other_api, "shared-key")
    assert theirs.status_code == 202 and theirs.json()["id"] != mine


@pytest.mark.django_db
def test_a_key_older_than_a_day_names_a_new_job(api, avatar):
    first = post(api, "daily").json()["id"]
    GenerationRequest.objects.filter(pk=first).update(created_at=GenerationRequest.objects.get(pk=first).created_at
                                                      - timedelta(hours=24, minutes=1))
    second = post(api, "daily", {**BODY, "text": "Другой текст"})
    assert second.status_code == 202 and second.json()["id"] != first
    assert GenerationRequest.objects.get(pk=first).idempotency_key == ""
    assert post(api, "daily", {**BODY, "text": "Другой текст"}).json()["id"] == second.json()["id"]


@pytest.mark.django_db
def test_a_replay_does_not_need_the_avatar_any_more(api, avatar):
    first = post(api, "gone").json()["id"]
    avatar.is_active = False
    avatar.save()
    again = post(api, "gone")
    assert again.status_code == 200 and again.json()["id"] == first


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "кириллица"])
def test_bad_keys_are_a_400(api, avatar, key):
    response = api.post("/api/v1/generations/", BODY, format="json", HTTP_IDEMPOTENCY_KEY=key.encode().decode("latin-1"))
    assert response.status_code == 400 and "Idempotency-Key" in response.json()
    assert not GenerationRequest.objects.exists()


@pytest.mark.django_db
def test_the_longest_key_is_accepted(api, avatar):
    assert post(api, "k" * 255).status_code == 202


def test_uploaded_audio_bytes_are_part_of_the_body():
    one = {"text": "", "audio": SimpleUploadedFile("a.wav", b"RIFF-one")}
    same = {"audio": SimpleUploadedFile("other-name.wav", b"RIFF-one"), "text": ""}
    other = {"text": "", "audio": SimpleUploadedFile("a.wav", b"RIFF-two")}
    assert idempotency.body_sha256(one) == idempotency.body_sha256(same) != idempotency.body_sha256(other)


@pytest.mark.django_db(transaction=True)
def test_simultaneous_posts_with_one_key_make_one_job(user, avatar):
    from tests.conftest import _api

    barrier = threading.Barrier(4)
    answers = []

    def send():
        try:
            barrier.wait()
            answers.append(post(_api(user), "race"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 202], [a.content for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert GenerationRequest.objects.count() == 1
