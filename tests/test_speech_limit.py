"""MAX_SPEECH_SECONDS: a text whose speech would be too long is refused at submission, in the caller's
language; speech that still comes out too long fails with its own code and message."""
import pytest
from django.utils import translation

from generation.shared.errors import user_message
from generation.models import GenerationRequest
from generation.pipeline.types import SPEECH_TOO_LONG

pytestmark = pytest.mark.django_db

DIGITS = "1234567 " * 125  # 1000 characters: made 299 s of video before


def test_digits_that_would_speak_for_minutes_are_refused_at_submission(api, avatar):
    messages = set()
    for language in ("ru", "kk", "en"):
        response = api.post("/api/v1/generations/", {"text": DIGITS.strip(), "language": language}, format="json",
                            HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 400, response.content
        messages.add(" ".join(response.json()["text"]))
    assert len(messages) == 3 and all("180" in m for m in messages)  # in the caller's language
    assert not GenerationRequest.objects.exists()  # no worker time spent on it


def test_the_refusal_is_translated_and_the_page_form_refuses_too(client, user, avatar):
    messages = set()
    for language in ("ru", "kk", "en"):
        with translation.override(language):
            messages.add(user_message(SPEECH_TOO_LONG))
    assert len(messages) == 3 and all("180" in m for m in messages)
    client.force_login(user)
    response = client.post("/", {"text": DIGITS.strip(), "language": "ru"}, HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 400 and "180" in response.content.decode()  # the form again, with the error
    assert not GenerationRequest.objects.exists()


def test_ordinary_long_text_and_a_lower_limit(api, avatar, settings):
    text = "Здравствуйте! Сегодня хорошая погода, и мы идём гулять в парк. " * 14  # ~900 characters, ~70 s
    assert api.post("/api/v1/generations/", {"text": text, "language": "ru"}, format="json").status_code == 202
    settings.MAX_SPEECH_SECONDS = 30
    refused = api.post("/api/v1/generations/", {"text": text, "language": "ru"}, format="json")
    assert refused.status_code == 400 and "30" in " ".join(refused.json()["text"])


def test_the_worker_checks_measured_speech_against_the_same_limit(settings):
    from generation.pipeline.runner import Pipeline
    from generation.worker import pipeline_config

    settings.MAX_SPEECH_SECONDS = 42
    assert pipeline_config().max_speech_seconds == 42
    assert Pipeline(tts=None, engines={}, default_engine="viseme", max_speech_seconds=42).max_speech_seconds == 42
