"""The generation API: validation, ownership, history, deletion (no worker needed)."""
import pytest
from django.core.files.base import ContentFile

from generation.models import GenerationRequest, Status, Video
from tests import broker

pytestmark = pytest.mark.django_db


def create(api, **data):
    return api.post("/api/v1/generations/", {"text": "Привет!", "language": "ru", **data}, format="json")


def test_create_returns_202_with_location_and_queues(api, avatar, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = create(api)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["avatar"] == avatar.pk
    assert response["Location"].endswith(f"/api/v1/generations/{body['id']}/")
    assert set(body["timings"]) == {"tts", "audio", "face", "lipsync", "encode", "total", "queue"}
    assert body["video"] is None
    task_id = GenerationRequest.objects.get(pk=body["id"]).task_id
    assert broker.task_ids() == {task_id}  # handed to the queue once the row was committed


@pytest.mark.parametrize(
    "data, field, words",
    [
        ({"text": ""}, "text", "Enter the text"),
        ({"text": "   \n\t "}, "text", "Enter the text"),
        ({"text": "a" * 1001}, "text", "limit is 1000"),
        ({"language": "de"}, "language", "ru, kk, en"),
        ({"voice": "no-such-voice"}, "voice", "Unknown voice"),
        ({"engine": "magic"}, "engine", "viseme"),
        ({"motion": "wild"}, "motion", "wild"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, avatar, data, field, words):
    response = create(api, **data)
    assert response.status_code == 400
    assert words in " ".join(response.json()[field])
    assert not GenerationRequest.objects.exists()


def test_an_unknown_language_is_refused_in_the_callers_language(api, avatar):
    said = {"kk": "Белгісіз тіл «de»", "en": "Unknown language «de»; choose one of: ru, kk, en."}
    for ui, words in said.items():
        created = api.post("/api/v1/generations/", {"text": "x", "language": "de"}, format="json",
                           HTTP_ACCEPT_LANGUAGE=ui)
        listed = api.get("/api/v1/voices/?language=de", HTTP_ACCEPT_LANGUAGE=ui)
        for response in (created, listed):
            assert response.status_code == 400 and words in response.json()["language"][0], (ui, response.json())


@pytest.mark.parametrize("asked, avatar_setting, stored", [
    ("", "subtle", "subtle"), ("", "none", "none"), ("lively", "none", "lively"), ("none", "lively", "none")])
def test_motion_is_the_requests_choice_else_the_avatars(api, avatar, asked, avatar_setting, stored):
    avatar.motion = avatar_setting
    avatar.save()
    response = create(api, motion=asked)
    assert response.status_code == 202, response.content
    assert response.json()["motion"] == stored == GenerationRequest.objects.get().motion


def test_inactive_avatar_is_refused(api, avatar):
    avatar.is_active = False
    avatar.save()
    response = create(api, avatar=avatar.pk)
    assert response.status_code == 404 and "avatar" in response.json() and response.json()["detail"]


def test_missing_avatar_is_a_404_and_one_not_ready_a_409(api, avatar):
    missing = create(api, avatar=999999)
    assert missing.status_code == 404 and "does not exist" in missing.json()["avatar"][0]
    avatar.status = "preparing"
    avatar.save()
    busy = create(api, avatar=avatar.pk)
    assert busy.status_code == 409 and "still being prepared" in busy.json()["detail"]
    both = create(api, avatar=999999, text="")  # other fields wrong too: a plain 400 naming them all
    assert both.status_code == 400 and {"avatar", "text"} <= set(both.json())
    assert not GenerationRequest.objects.exists()


def test_json_values_must_have_their_types(api, avatar):
    for data in ({"text": 5}, {"avatar": str(avatar.pk)}, {"voice": True}, {"avatar": 1.5}):
        response = create(api, **data)
        assert response.status_code == 400 and set(data) <= set(response.json()), (data, response.content)


def test_malformed_json_is_a_400(api, avatar):
    response = api.generic("POST", "/api/v1/generations/", '{"text": "hi", ', content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_max_text_length_comes_from_settings(api, avatar, settings):
    settings.MAX_TEXT_LENGTH = 5
    assert create(api, text="123456").status_code == 400
    assert create(api, text="12345").status_code == 202


def test_anonymous_gets_401(client, avatar):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/generations/").status_code in (401, 403)
    assert APIClient().post("/api/generate", {"text": "x", "language": "ru"}, format="json").status_code in (401, 403)


def test_token_endpoint(user):
    from rest_framework.test import APIClient

    client = APIClient()
    ok = client.post("/api/v1/auth/token/", {"username": "alice", "password": "alice-password-1"}, format="json")
    assert ok.status_code == 200 and len(ok.json()["token"]) == 40
    bad = client.post("/api/v1/auth/token/", {"username": "alice", "password": "nope"}, format="json")
    assert bad.status_code == 401 and "detail" in bad.json()
    client.credentials(HTTP_AUTHORIZATION=f"Token {ok.json()['token']}")
    assert client.get("/api/v1/avatars/").status_code == 200


def test_avatars_lists_active_only(api, avatar):
    from avatars.models import Avatar

    Avatar.objects.create(name="Hidden", source=avatar.source.name, status="ready", is_active=False)
    names = [a["name"] for a in api.get("/api/v1/avatars/").json()]
    assert names == ["Astronaut"]  # the built-in demo avatar, named in the caller's language (English here)


def test_history_is_own_newest_first_and_paginated(api, other_api, avatar):
    ids = [create(api, text=f"text {i}").json()["id"] for i in range(3)]
    create(other_api, text="not yours")
    body = api.get("/api/v1/generations/").json()
    assert body["count"] == 3
    assert [r["id"] for r in body["results"]] == ids[::-1]


def finished(user, avatar, media_root, text="готово"):
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text=text, language="ru", status=Status.DONE)
    video = Video(request=request, duration=1.0, fps=25, width=4, height=4, size=10)
    video.file.save("clip.mp4", ContentFile(b"0123456789"), save=True)
    return request, video


def test_other_users_request_is_404_everywhere(api, other_api, user, avatar, media_root):
    request, _ = finished(user, avatar, media_root)
    for method, url in [
        ("get", f"/api/v1/generations/{request.pk}/"),
        ("get", f"/api/v1/generations/{request.pk}/video"),
        ("delete", f"/api/v1/generations/{request.pk}/"),
        ("post", f"/api/v1/generations/{request.pk}/cancel/"),
    ]:
        response = getattr(other_api, method)(url)
        assert response.status_code == 404, (method, url, response.status_code)
        assert "готово" not in response.content.decode()
    assert GenerationRequest.objects.filter(pk=request.pk).exists()


def test_video_download_supports_range(api, user, avatar, media_root):
    request, _ = finished(user, avatar, media_root)
    full = api.get(f"/api/v1/generations/{request.pk}/video")
    assert full.status_code == 200 and full["Content-Type"] == "video/mp4"
    assert b"".join(full.streaming_content) == b"0123456789"
    part = api.get(f"/api/v1/generations/{request.pk}/video", HTTP_RANGE="bytes=2-5")
    assert part.status_code == 206 and part["Content-Range"] == "bytes 2-5/10"
    assert b"".join(part.streaming_content) == b"2345"
    tail = api.get(f"/api/v1/generations/{request.pk}/video", HTTP_RANGE="bytes=-3")
    assert b"".join(tail.streaming_content) == b"789"
    assert api.get(f"/api/v1/generations/{request.pk}/video", HTTP_RANGE="bytes=50-").status_code == 416


def test_detail_shows_video_and_delete_removes_file(api, user, avatar, media_root):
    request, video = finished(user, avatar, media_root)
    body = api.get(f"/api/v1/generations/{request.pk}/").json()
    assert body["video"]["url"].endswith(f"/api/v1/generations/{request.pk}/video")
    assert body["video"]["size"] == 10
    path = video.file.path
    assert api.delete(f"/api/v1/generations/{request.pk}/").status_code == 204
    assert not GenerationRequest.objects.filter(pk=request.pk).exists()
    import os

    assert not os.path.exists(path)


def test_cancel_queued_request(api, avatar):
    pk = create(api).json()["id"]
    response = api.post(f"/api/v1/generations/{pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert api.post(f"/api/v1/generations/{pk}/cancel/").status_code == 409


def test_openapi_schema_and_docs(api):
    schema = api.get("/api/v1/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/v1/generations/" in text and "/api/generate" in text
    assert api.get("/api/v1/docs/").status_code == 200


def test_too_many_active_is_429_with_message(api, avatar, settings):
    settings.MAX_ACTIVE_PER_USER = 2
    assert create(api).status_code == 202 and create(api).status_code == 202
    response = create(api)
    assert response.status_code == 429 and "2 videos in progress" in response.json()["detail"]
    assert GenerationRequest.objects.count() == 2


def test_creation_is_throttled_per_user(api, other_api, avatar, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"generations": "2/min", "login": "30/min"})
    codes = [create(api).status_code for _ in range(3)]
    assert codes == [202, 202, 429]
    assert api.get("/api/v1/generations/").status_code == 200  # reads are not throttled
    assert create(other_api).status_code == 202  # per user


def test_voices_per_language_and_chosen_voice_is_stored(api, avatar):
    kk = api.get("/api/v1/voices/?language=kk").json()
    assert kk and all(v["language"] == "kk" for v in kk)
    everything = api.get("/api/v1/voices/").json()
    assert {v["language"] for v in everything} == {"ru", "kk", "en"}
    assert api.get("/api/v1/voices/?language=de").status_code == 400
    voice = kk[-1]["id"]
    body = create(api, language="kk", voice=voice).json()
    assert GenerationRequest.objects.get(pk=body["id"]).voice == voice
    # A voice of another language is refused.
    assert create(api, language="ru", voice=voice).status_code == 400


@pytest.mark.parametrize("page", ["", "last", "abc", "0", "-1", "1.5", "٣"])
def test_history_page_must_be_a_page_number(api, avatar, page):
    create(api)
    response = api.get(f"/api/v1/generations/?page={page}")
    assert response.status_code == 404 and "Invalid page" in response.json()["detail"]
    assert api.get("/api/v1/generations/?page=1").json()["count"] == 1
