"""`rate` on the API and the page: stored, range-checked, refused at submission where the voice cannot change pace."""
import pytest

from generation.shared import voices
from generation.models import GenerationRequest

pytestmark = pytest.mark.django_db


def create(api, **data):
    return api.post("/api/v1/generations/", {"text": "Привет!", "language": "ru", **data}, format="json")


def test_rate_is_stored_and_shown(api, avatar):
    response = create(api, rate=1.5)
    assert response.status_code == 202, response.content
    assert response.json()["rate"] == 1.5
    assert GenerationRequest.objects.get().rate == 1.5
    assert create(api, text="Ещё раз.").json()["rate"] == 1.0  # the default


@pytest.mark.parametrize("rate", [0.4, 2.01, "fast", True, "1.5", None])
def test_a_bad_rate_is_a_400_naming_the_field(api, avatar, rate):
    response = create(api, rate=rate)
    assert response.status_code == 400, response.content
    assert "rate" in response.json()
    assert not GenerationRequest.objects.exists()


def test_the_range_message_is_translated(api, avatar):
    said = {"ru": "от 0.5 до 2.0", "kk": "0.5-тен 2.0-ге дейінгі", "en": "from 0.5 to 2.0"}
    for ui, words in said.items():
        response = api.post("/api/v1/generations/", {"text": "x", "language": "ru", "rate": 3},
                            format="json", HTTP_ACCEPT_LANGUAGE=ui)
        assert response.status_code == 400 and words in response.json()["rate"][0], (ui, response.json())


@pytest.fixture
def remote_primary(settings):
    """The remote service is the primary TTS (its voices are the defaults); espeak is still offered beside it."""
    settings.TTS_BACKEND = "remote"
    settings.TTS_REMOTE_URL = "http://127.0.0.1:9/tts"  # never called: refusal happens at submission
    voices._backend.cache_clear()
    yield
    voices._backend.cache_clear()


def test_a_remote_voice_without_a_rate_field_refuses_a_pace_at_submission(api, avatar, remote_primary):
    assert voices.voice_ids("ru")[0] == "remote-ru"
    for body in ({"rate": 1.5}, {"rate": 0.75, "voice": "remote-ru"}):
        response = create(api, **body)
        assert response.status_code == 400, response.content
        assert "cannot be spoken faster or slower" in response.json()["rate"][0]
    sync = api.post("/api/generate", {"text": "Привет!", "language": "ru", "rate": 1.5}, format="json")
    assert sync.status_code == 400 and "rate" in sync.json()
    assert not GenerationRequest.objects.exists()
    assert create(api, rate=1.0).status_code == 202  # the voice's own pace is fine
    assert create(api, text="Другой текст.", rate=1.5, voice="ru").status_code == 202  # espeak can


def test_the_remote_service_gets_the_pace_once_it_has_a_field(api, avatar, remote_primary, settings):
    settings.TTS_REMOTE_RATE_FIELD = "speed"
    voices._backend.cache_clear()
    assert create(api, rate=1.5).status_code == 202


def test_the_page_form_takes_the_pace(client, user, avatar):
    client.force_login(user)
    page = client.get("/")
    assert b'id="id_rate"' in page.content
    bad = client.post("/", {"text": "Привет!", "language": "ru", "rate": "9"})
    assert bad.status_code == 400 and "0.5".encode() in bad.content
    good = client.post("/", {"text": "Привет!", "language": "ru", "rate": "0.75"})
    assert good.status_code == 302
    assert GenerationRequest.objects.get().rate == 0.75


def test_a_recording_keeps_its_own_pace(api, avatar, media_root):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from generation.pipeline.audio import wav_bytes
    from generation.pipeline.tts.espeak import EspeakBackend

    speech = EspeakBackend().synthesize("Hello there.", "en")
    recording = wav_bytes(speech.samples, speech.sample_rate)
    refused = api.post("/api/v1/generations/", {"language": "en", "rate": "1.5",
                                                "audio": SimpleUploadedFile("me.wav", recording)}, format="multipart")
    assert refused.status_code == 400 and "recording" in refused.json()["rate"][0]
    taken = api.post("/api/v1/generations/", {"language": "en", "rate": "1.0",
                                              "audio": SimpleUploadedFile("me.wav", recording)}, format="multipart")
    assert taken.status_code == 202, taken.content
