"""Names for people: voices without model tiers, the engine by what it is, a recording without a voice or a
speech-synthesis time, the demo avatar and the admin's models in the interface language."""
import pytest
from django.core.files.base import ContentFile
from django.utils import translation

from avatars.models import Avatar, AvatarStatus
from generation.models import GenerationRequest, Status, Video

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("interface, expected", [("en", "Joe (English, US)"), ("ru", "Joe (Английский, США)"),
                                                 ("kk", "Joe (Ағылшынша, АҚШ)")])
def test_piper_voices_lose_their_model_tier(interface, expected):
    from generation.shared.voices import display_name

    with translation.override(interface):
        assert display_name("Joe (English, United States, medium)") == expected
        assert "medium" not in display_name("Alan (English, United Kingdom, x_low)")


@pytest.fixture
def avatar_row(db):
    return Avatar.objects.create(name="Астронавт", source="avatars/a.png", status=AvatarStatus.READY, is_default=True)


def finished(user, avatar, **fields):
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, language="ru", status=Status.DONE,
                                               engine="viseme", tts_seconds=0.0, audio_seconds=0.123,
                                               face_seconds=0.2, lipsync_seconds=1.5, encode_seconds=0.3,
                                               total_seconds=2.267261746, queue_seconds=0.01, **fields)
    video = Video(request=request, duration=2.0, fps=25, width=4, height=4, size=10)
    video.file.save("clip.mp4", ContentFile(b"0123456789"), save=True)
    return request


def detail(client, user, request, language):
    client.force_login(user)
    client.cookies["django_language"] = language
    return client.get(f"/generations/{request.pk}/").content.decode()


def test_the_detail_page_names_the_voice_and_engine_for_people(client, user, avatar_row):
    request = finished(user, avatar_row, text="Привет", voice="ru+f3")
    page = detail(client, user, request, "en")
    assert "Russian, female" in page and "built-in lip-sync" in page
    assert "ru+f3" not in page and "viseme" not in page
    assert detail(client, user, request, "ru").count("встроенная синхронизация губ") == 1


def test_timings_come_in_pipeline_order(client, user, avatar_row):
    page = detail(client, user, finished(user, avatar_row, text="Привет", voice="ru"), "en")
    keys = [part.split('"', 1)[0] for part in page.split('data-t="')[1:]]
    assert keys == ["queue", "tts", "audio", "face", "lipsync", "encode", "total"]
    assert "Speech synthesis" in page and "2.27 s" in page


def test_a_recording_shows_no_voice_and_no_speech_synthesis(client, user, avatar_row):
    request = finished(user, avatar_row, text="", voice="en-us", audio_format="wav")
    request.audio.save("rec.wav", ContentFile(b"RIFF0000WAVE"), save=True)
    page = detail(client, user, request, "en")
    assert "English (US), male" not in page and "en-us" not in page
    assert 'data-t="tts"' not in page and "Speech synthesis" not in page and 'data-t="lipsync"' in page


@pytest.mark.parametrize("interface, name", [("ru", "Астронавт"), ("kk", "Ғарышкер"), ("en", "Astronaut")])
def test_the_demo_avatar_is_named_in_the_interface_language(client, api, user, avatar_row, interface, name):
    client.force_login(user)
    client.cookies["django_language"] = interface
    assert f"<span>{name}</span>" in client.get("/").content.decode()
    assert [a["name"] for a in api.get("/api/v1/avatars/", HTTP_ACCEPT_LANGUAGE=interface).json()] == [name]


def test_a_users_own_avatar_keeps_the_name_they_typed(api, user):
    Avatar.objects.create(name="Астронавт", owner=user, source="avatars/b.png", status=AvatarStatus.READY)
    assert [a["name"] for a in api.get("/api/v1/avatars/", HTTP_ACCEPT_LANGUAGE="en").json()] == ["Астронавт"]


def test_the_generate_page_has_no_dangling_dot(client, user, avatar_row):
    Avatar.objects.create(name="Mine", owner=user, source="avatars/c.png", status=AvatarStatus.READY)
    client.force_login(user)
    client.cookies["django_language"] = "en"
    page = client.get("/").content.decode()
    assert '<span class="kind">yours</span>' in page and "> · yours" not in page


def test_the_admin_speaks_russian(client, user, avatar_row, django_user_model):
    staff = django_user_model.objects.create_superuser("root", password="root-password-1")
    client.force_login(staff)
    client.cookies["django_language"] = "ru"
    index = client.get("/admin/").content.decode()
    assert "Аватары" in index and "Видео" in index and "Запросы видео" in index
    assert "Generation" not in index and "Generation requests" not in index
    listing = client.get("/admin/generation/video/").content.decode()
    assert "Удалить выбранные видео" in listing or "Выберите видео" in listing
    request = finished(user, avatar_row, text="Привет", voice="ru")
    change = client.get(f"/admin/generation/generationrequest/{request.pk}/change/").content.decode()
    for label in ("Синтез речи", "Анализ лица", "Кодирование видео", "Владелец", "Движение головы"):
        assert label in change, label
    assert "Tts seconds" not in change and "2,27" in change


@pytest.mark.parametrize("interface", ["ru", "kk", "en"])
def test_the_token_page_explains_the_signature_itself(client, user, interface):
    client.force_login(user)
    client.cookies["django_language"] = interface
    page = client.get("/account/token/").content.decode()
    assert "README" not in page and "X-Avatar-Timestamp" in page and "sha256=" in page
