"""Refused or explained at submission, not failed later: text with nothing to say, a recording's captions and
burned subtitles without words, and failed avatars that no longer take a place under the cap."""
import pytest
from django.core.files.base import ContentFile
from django.utils import translation

from avatars.models import Avatar, AvatarStatus
from generation.models import GenerationRequest, Status, Video
from generation.pipeline.captions import to_srt, to_webvtt

pytestmark = pytest.mark.django_db

NOTHING_TO_SAY = "There is nothing to say in this text"


@pytest.fixture
def ready_avatar(db):
    """A ready shared avatar row: validation looks at its status only (no face analysis needed here)."""
    return Avatar.objects.create(name="Ready", source="avatars/ready.png", status=AvatarStatus.READY, is_default=True)


@pytest.mark.parametrize("text", ["!!! ???", " … — ", "«»", "?!\n\n..."])
def test_text_with_nothing_to_say_is_a_400_at_submission(api, ready_avatar, text):
    response = api.post("/api/v1/generations/", {"text": text, "language": "ru"}, format="json",
                        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    assert response.json()["text"][0].startswith(NOTHING_TO_SAY)
    assert not GenerationRequest.objects.exists()


def test_a_word_or_a_number_is_enough(api, ready_avatar):
    for text in ("42!", "Да?", "Иә."):
        assert api.post("/api/v1/generations/", {"text": text, "language": "kk"}, format="json").status_code == 202


def test_the_page_says_it_in_the_interface_language(client, user, ready_avatar):
    client.force_login(user)
    client.cookies["django_language"] = "ru"
    page = client.post("/", {"text": "!!! ???", "language": "ru", "avatar": ready_avatar.pk})
    assert page.status_code == 400
    assert "В этом тексте нечего произнести" in page.content.decode()


def test_the_schema_asks_for_a_letter_or_digit(api):
    import re

    schema = api.get("/api/v1/schema/?format=json").json()
    pattern = schema["components"]["schemas"]["GenerationTextRu"]["properties"]["text"]["pattern"]
    assert re.search(pattern, "Привет") and not re.search(pattern, "!!! ???")


def recording_without_text(user, avatar, subtitles="none"):
    """A finished request made from an uploaded recording with no text: the worker's captions have no cue."""
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text="", language="en", status=Status.DONE,
                                               subtitles=subtitles, audio_format="wav")
    request.audio.save("rec.wav", ContentFile(b"RIFF0000WAVE"), save=True)
    video = Video(request=request, duration=2.0, fps=25, width=4, height=4, size=10,
                  captions_vtt=to_webvtt([]), captions_srt=to_srt([]))
    video.file.save("clip.mp4", ContentFile(b"0123456789"), save=True)
    return request


def test_a_recording_without_text_offers_no_captions(api, client, user, ready_avatar):
    request = recording_without_text(user, ready_avatar)
    body = api.get(f"/api/v1/generations/{request.pk}/").json()
    assert body["video"]["captions"] is None
    for fmt in ("vtt", "srt"):
        response = api.get(f"/api/v1/generations/{request.pk}/captions.{fmt}", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
        assert "made from a recording sent without its text" in response.json()["detail"]
    client.force_login(user)
    page = client.get(f"/generations/{request.pk}/").content.decode()
    assert "captions.vtt" not in page and "WebVTT" not in page and "<track" not in page
    assert client.get(f"/generations/{request.pk}/captions.srt").status_code == 404


def test_burn_with_nothing_to_burn_says_so(api, client, user, ready_avatar):
    request = recording_without_text(user, ready_avatar, subtitles="burn")
    with translation.override("en"):
        notes = api.get(f"/api/v1/generations/{request.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()["notes"]
    assert notes and notes[0].startswith("No subtitles were drawn into this video")
    client.force_login(user)
    client.cookies["django_language"] = "kk"
    assert "Бұл бейнеге субтитр салынбады" in client.get(f"/generations/{request.pk}/").content.decode()
    request.subtitles = "none"
    request.save()
    assert api.get(f"/api/v1/generations/{request.pk}/").json()["notes"] == []


def test_failed_avatars_do_not_count_toward_the_cap(api, user, settings):
    from avatars.web.services import own_count

    settings.MAX_OWN_AVATARS = 2
    for status in (AvatarStatus.FAILED, AvatarStatus.FAILED, AvatarStatus.READY):
        Avatar.objects.create(name=status, owner=user, source="avatars/x.png", status=status)
    assert own_count(user) == 1
    Avatar.objects.create(name="second", owner=user, source="avatars/y.png", status=AvatarStatus.PREPARING)
    assert own_count(user) == 2


def test_a_failed_avatar_leaves_room_for_a_new_upload(api, user, settings, demo_png):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MAX_OWN_AVATARS = 1
    Avatar.objects.create(name="blurry", owner=user, source="avatars/x.png", status=AvatarStatus.FAILED)
    response = api.post("/api/v1/avatars/", {"name": "Me", "file": SimpleUploadedFile("me.png", demo_png)},
                        format="multipart")
    assert response.status_code == 202, response.content
    again = api.post("/api/v1/avatars/", {"name": "Me too", "file": SimpleUploadedFile("me.png", demo_png)},
                     format="multipart")
    assert again.status_code == 409
