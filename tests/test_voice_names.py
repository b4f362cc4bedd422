"""Voice names in the interface language: the API and the page's selector."""
import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("interface, first, female", [
    ("ru", "Русский, мужской", "Русский, женский"),
    ("kk", "Орысша, ер дауысы", "Орысша, әйел дауысы"),
    ("en", "Russian, male", "Russian, female"),
])
def test_api_names_voices_in_the_callers_language(api, interface, first, female):
    names = [v["name"] for v in api.get("/api/v1/voices/?language=ru", HTTP_ACCEPT_LANGUAGE=interface).json()]
    assert names[:2] == [first, female]


def test_api_without_a_language_speaks_english(api):
    body = api.get("/api/v1/voices/?language=en").json()
    assert body[0]["name"] == "English (US), male" and body[0]["id"] == "en-us"


def test_every_espeak_voice_is_translated(api):
    for interface in ("ru", "kk"):
        for voice in api.get("/api/v1/voices/", HTTP_ACCEPT_LANGUAGE=interface).json():
            if voice["backend"] == "piper":  # "Joe (English, United States, medium)": language and country only
                assert "English" not in voice["name"] and "United States" not in voice["name"], voice
                continue
            assert not any(word in voice["name"] for word in ("male", "Russian", "Kazakh", "English", "low")), voice


def test_generate_page_selector_uses_the_interface_language(client, user, avatar):
    client.force_login(user)
    client.cookies["django_language"] = "kk"
    names = {lang: [v["name"] for v in found] for lang, found in client.get("/").context["voices"].items()}
    assert "Қазақша, әйел дауысы" in names["kk"] and "Ағылшынша (АҚШ), ер дауысы" in names["en"]


def test_remote_names_keep_their_id():
    from django.utils import translation

    from generation.shared.voices import display_name

    with translation.override("ru"):
        assert display_name("Remote service (ru-alena)") == "Удалённый сервис (ru-alena)"
        assert display_name("Some piper voice") == "Some piper voice"
