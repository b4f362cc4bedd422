"""Captions over HTTP: owner-only WebVTT/SRT endpoints, the player's track, download links, `subtitles` on requests."""
import io
import re

import pytest
import webvtt
from django.core.files.base import ContentFile

from generation.worker import jobs
from generation.models import GenerationRequest, Status, Video
from generation.pipeline import audio as audio_stage
from generation.pipeline.captions import cues_for
from generation.pipeline.tts.espeak import EspeakBackend
from generation.pipeline.tts.text import synthesize_text
from generation.pipeline.runner import Result

pytestmark = pytest.mark.django_db

TEXT = "Сәлеметсіз бе! Мен 2024 жылы сөйлейтін аватармын."


@pytest.fixture(scope="module")
def caption_fields():
    """The Video fields the worker writes, from real espeak speech of TEXT."""
    audio = audio_stage.prepare(synthesize_text(EspeakBackend(), TEXT, "kk"))
    return jobs.caption_files(Result(video=None, timings=None, engine="viseme", voice="kk", audio_duration=audio.duration,
                                     captions=cues_for(TEXT, audio)))


def finished(user, avatar, fields, subtitles="none"):
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text=TEXT, language="kk", status=Status.DONE,
                                               subtitles=subtitles)
    video = Video(request=request, duration=3.0, fps=25, width=4, height=4, size=10, **fields)
    video.file.save("clip.mp4", ContentFile(b"0123456789"), save=True)
    return request


@pytest.fixture
def done(user, avatar, caption_fields):
    return finished(user, avatar, caption_fields)


def vtt_url(pk):
    return f"/api/v1/generations/{pk}/captions.vtt"


def srt_url(pk):
    return f"/api/v1/generations/{pk}/captions.srt"


def test_owner_gets_webvtt_that_parses_with_the_users_words(api, done):
    response = api.get(vtt_url(done.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/vtt; charset=utf-8"
    assert response["Content-Disposition"].startswith("inline") and response["X-Content-Type-Options"] == "nosniff"
    parsed = webvtt.from_string(response.content.decode("utf-8"))
    assert " ".join(c.text.replace("\n", " ") for c in parsed) == TEXT  # "2024" as typed, Kazakh letters intact
    download = api.get(vtt_url(done.pk) + "?download=1")
    assert download["Content-Disposition"] == f'attachment; filename="avatar-{done.pk}.kk.vtt"'


def test_owner_gets_srt_as_an_attachment(api, done):
    response = api.get(srt_url(done.pk))
    assert response.status_code == 200 and response["Content-Type"] == "application/x-subrip"
    assert response["Content-Disposition"] == f'attachment; filename="avatar-{done.pk}.kk.srt"'
    text = response.content.decode("utf-8")
    assert re.match(r"1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\nСәлеметсіз бе!\n", text)
    assert len(webvtt.from_buffer(io.StringIO(text), format="srt")) == 2


def test_another_user_gets_404_json_and_anonymous_is_refused(api, other_api, client, done):
    for url in (vtt_url(done.pk), srt_url(done.pk)):
        for accept in ("*/*", "text/vtt", "application/x-subrip"):
            response = other_api.get(url, HTTP_ACCEPT=accept)
            assert response.status_code == 404, (url, accept)
            assert response["Content-Type"].startswith("application/json") and "detail" in response.json()
            assert "Сәлеметсіз" not in response.content.decode()
        assert client.get(url).status_code in (401, 403)
    assert api.get(vtt_url(done.pk), HTTP_ACCEPT="text/vtt").status_code == 200  # a player's Accept is fine


def test_unfinished_and_pre_captions_videos_are_404(api, user, avatar):
    queued = GenerationRequest.objects.create(owner=user, avatar=avatar, text="ещё нет", language="ru")
    old = finished(user, avatar, {})  # made before captions existed
    for pk in (queued.pk, old.pk, 999999):
        assert api.get(vtt_url(pk)).status_code == 404
        assert api.get(srt_url(pk)).status_code == 404
    assert api.get(f"/api/v1/generations/{old.pk}/").json()["video"]["captions"] is None


def test_the_api_video_object_links_the_captions(api, done):
    body = api.get(f"/api/v1/generations/{done.pk}/").json()
    assert body["subtitles"] == "none"
    captions = body["video"]["captions"]
    assert captions["language"] == "kk"
    assert captions["vtt"].endswith(vtt_url(done.pk)) and captions["srt"].endswith(srt_url(done.pk))
    assert api.get(captions["vtt"]).status_code == 200


def test_detail_page_has_a_default_track_that_works_with_the_session(client, user, other_user, done):
    client.force_login(user)
    html = client.get(f"/generations/{done.pk}/").content.decode()
    track = re.search(r'<track kind="subtitles" srclang="kk" label="[^"]+" src="([^"]+)" default>', html)
    assert track, html
    response = client.get(track.group(1))
    assert response.status_code == 200 and response["Content-Type"] == "text/vtt; charset=utf-8"
    assert webvtt.from_string(response.content.decode())[0].text == "Сәлеметсіз бе!"
    assert f'/generations/{done.pk}/captions.srt' in html and f'/generations/{done.pk}/captions.vtt?download=1' in html
    history = client.get("/history/").content.decode()
    assert f'/generations/{done.pk}/captions.srt' in history and 'kind="subtitles"' in history
    assert client.get(vtt_url(done.pk)).status_code == 200  # generate.js's track uses the API's URL, by session too
    client.force_login(other_user)
    assert client.get(track.group(1)).status_code == 404
    assert client.get(vtt_url(done.pk)).status_code == 404
    assert client.get(f"/generations/{done.pk}/captions.srt").status_code == 404


def test_burned_video_track_is_not_on_by_default(client, user, avatar, caption_fields):
    request = finished(user, avatar, caption_fields, subtitles="burn")
    client.force_login(user)
    html = client.get(f"/generations/{request.pk}/").content.decode()
    assert 'kind="subtitles"' in html and re.search(r"<track [^>]*default", html) is None


@pytest.mark.parametrize("value, status, stored", [(None, 202, "none"), ("none", 202, "none"), ("burn", 202, "burn"),
                                                   ("sideways", 400, None), (7, 400, None)])
def test_create_takes_subtitles(api, avatar, value, status, stored):
    data = {"text": "Привет!", "language": "ru"}
    if value is not None:
        data["subtitles"] = value
    response = api.post("/api/v1/generations/", data, format="json")
    assert response.status_code == status, response.json()
    if stored:
        assert response.json()["subtitles"] == stored == GenerationRequest.objects.get().subtitles
    else:
        assert "subtitles" in response.json()


def test_page_form_takes_subtitles(client, user, avatar):
    client.force_login(user)
    assert 'name="subtitles"' in client.get("/").content.decode()
    response = client.post("/", {"text": "Привет!", "language": "ru", "avatar": avatar.pk, "subtitles": "burn"})
    assert response.status_code == 302 and GenerationRequest.objects.get().subtitles == "burn"
    bad = client.post("/", {"text": "Привет!", "language": "ru", "avatar": avatar.pk, "subtitles": "x"})
    assert bad.status_code == 400


def test_a_burned_request_never_reuses_a_plain_video(api, user, avatar, done):
    done.voice, done.engine, done.motion = "kk", "viseme", avatar.motion
    done.save()
    again = api.post("/api/v1/generations/", {"text": TEXT, "language": "kk", "voice": "kk", "engine": "viseme"},
                     format="json").json()
    assert again["reused"] is True and again["video"]["captions"] is not None  # the same: reused, captions too
    assert api.get(vtt_url(again["id"])).content == api.get(vtt_url(done.pk)).content
    burn = api.post("/api/v1/generations/", {"text": TEXT, "language": "kk", "voice": "kk", "engine": "viseme",
                                             "subtitles": "burn"}, format="json").json()
    assert burn["reused"] is False and burn["status"] == "queued"


def test_schema_documents_the_captions_endpoints(api):
    schema = api.get("/api/v1/schema/?format=json").json()
    for fmt, mime in (("vtt", "text/vtt"), ("srt", "application/x-subrip")):
        operation = schema["paths"][f"/api/v1/generations/{{id}}/captions.{fmt}"]["get"]
        assert list(operation["responses"]["200"]["content"]) == [mime]
        assert "application/json" in operation["responses"]["404"]["content"]
    for body in ("GenerationTextEn", "GenerationFormKk", "GenerationUploadRu"):  # one create body per language and media
        field = schema["components"]["schemas"][body]["properties"]["subtitles"]
        refs = [part["$ref"] for part in field.get("allOf", [field]) if "$ref" in part]
        enum = [v for ref in refs for v in schema["components"]["schemas"][ref.split("/")[-1]]["enum"]]
        assert set(enum or field.get("enum", [])) == {"none", "burn"}, (body, field)
    assert "captions" in schema["components"]["schemas"]["Video"]["properties"]


@pytest.mark.parametrize("language, label, option", [("ru", "Субтитры", "Вшитые в изображение"),
                                                     ("kk", "Субтитрлер", "Суретке енгізілген"),
                                                     ("en", "Subtitles", "Burned into the picture")])
def test_subtitle_words_are_translated(client, user, done, settings, language, label, option):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    assert label in client.get(f"/generations/{done.pk}/").content.decode()
    page = client.get("/").content.decode()
    assert label in page and option in page
    refused = client.post("/", {"text": "Привет!", "language": "ru", "subtitles": "x"})
    assert refused.status_code == 400 and refused.context["form"].errors["subtitles"]


def test_admin_shows_the_subtitles_choice_and_the_captions(client, done, django_user_model):
    staff = django_user_model.objects.create_superuser("root", password="root-password-1")
    client.force_login(staff)
    page = client.get(f"/admin/generation/generationrequest/{done.pk}/change/")
    # a made request is history: its subtitles choice is shown, not offered for editing
    assert page.status_code == 200 and "field-subtitles" in page.content.decode()
    assert 'name="subtitles"' not in page.content.decode()
    video = client.get(f"/admin/generation/video/{done.video.pk}/change/")
    assert video.status_code == 200 and "Сәлеметсіз бе!" in video.content.decode()
