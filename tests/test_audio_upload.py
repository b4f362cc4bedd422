"""A user's own recording instead of text: decoded and checked before anything is queued."""
import subprocess

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from generation.models import GenerationRequest
from generation.pipeline import audio as audio_stage
from generation.pipeline.tts.espeak import EspeakBackend

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def speech_mp3() -> bytes:
    """Real espeak speech encoded to MP3 by the ffmpeg binary."""
    speech = EspeakBackend().synthesize("Hello, this is my own voice.", "en")
    wav = audio_stage.wav_bytes(audio_stage.resample(speech.samples, speech.sample_rate), 16000)
    return subprocess.run([audio_stage.ffmpeg_exe(), "-loglevel", "error", "-f", "wav", "-i", "-", "-f", "mp3", "-"],
                          input=wav, capture_output=True, check=True).stdout


def post(api, data):
    return api.post("/api/v1/generations/", data, format="multipart")


def test_mp3_upload_is_accepted_without_text(api, avatar, speech_mp3):
    response = post(api, {"language": "en", "audio": SimpleUploadedFile("me.mp3", speech_mp3, "audio/mpeg")})
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["has_audio"] is True and body["status"] == "queued"
    request = GenerationRequest.objects.get(pk=body["id"])
    assert request.audio.name.endswith(".mp3") and request.audio.size == len(speech_mp3)


def test_non_audio_file_is_a_400_and_nothing_is_stored(api, avatar):
    response = post(api, {"language": "en", "audio": SimpleUploadedFile("x.mp3", b"<html>nope</html>" * 50)})
    assert response.status_code == 400
    assert "does not decode as audio" in " ".join(response.json()["audio"])
    assert not GenerationRequest.objects.exists()


def test_too_long_recording_is_refused(api, avatar, speech_mp3, settings):
    settings.MAX_AUDIO_SECONDS = 1
    response = post(api, {"language": "en", "audio": SimpleUploadedFile("me.mp3", speech_mp3)})
    assert response.status_code == 400 and "limit of 1 s" in " ".join(response.json()["audio"])


def test_delete_removes_uploaded_audio(api, avatar, speech_mp3):
    body = post(api, {"language": "en", "audio": SimpleUploadedFile("me.mp3", speech_mp3)}).json()
    path = GenerationRequest.objects.get(pk=body["id"]).audio.path
    assert api.delete(f"/api/v1/generations/{body['id']}/").status_code == 204
    import os

    assert not os.path.exists(path)
