"""Pace and pauses on real espeak-ng: `rate` scales the speech, «...»/«—»/paragraphs pause longer,
every result starts with a silent lead-in and ends with a tail (TTS and recordings alike)."""
import dataclasses
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from generation.pipeline import audio, captions
from generation.pipeline.audio import speech_bounds, wav_bytes
from generation.pipeline.tts.espeak import EspeakBackend
from generation.pipeline.tts.remote import RemoteBackend
from generation.pipeline.tts.text import synthesize_text
from generation.pipeline.types import SAMPLE_RATE, PipelineError, Speech
from tests.pauses import longest_pause

TEXTS = {
    "ru": "Мама мыла раму, папа читал газету, а дети играли во дворе до самого вечера.",
    "kk": "Бүгін ауа райы жақсы, біз балалармен бірге саябаққа барамыз.",
    "en": "The quick brown fox jumps over the lazy dog, and then it runs far away.",
}


@pytest.fixture(scope="module")
def tts():
    return EspeakBackend()


def speech_seconds(speech) -> float:
    """Seconds from the first sound to the last."""
    start, end = speech_bounds(audio.to_mono_float(speech.samples), int(speech.sample_rate))
    return (end - start) / speech.sample_rate


@pytest.mark.parametrize("language", ["ru", "kk", "en"])
def test_rate_scales_the_speech_in_proportion(tts, language):
    normal = speech_seconds(synthesize_text(tts, TEXTS[language], language))
    fast = speech_seconds(synthesize_text(tts, TEXTS[language], language, rate=2.0))
    slow = speech_seconds(synthesize_text(tts, TEXTS[language], language, rate=0.5))
    assert abs(fast / normal - 0.5) <= 0.5 * 0.15, (fast, normal)
    assert abs(slow / normal - 2.0) <= 2.0 * 0.15, (slow, normal)


def test_rate_outside_the_range_is_refused(tts):
    for rate in (0.4, 2.5, float("nan")):
        with pytest.raises(PipelineError, match="rate"):
            synthesize_text(tts, "Привет.", "ru", rate=rate)


def test_ellipsis_dash_and_paragraph_pause_longer_than_a_full_stop(tts):
    stop = longest_pause(synthesize_text(tts, "Мама мыла раму. Папа читал газету.", "ru"))
    ellipsis = longest_pause(synthesize_text(tts, "Мама мыла раму... Папа читал газету.", "ru"))
    unicode_ellipsis = longest_pause(synthesize_text(tts, "Мама мыла раму… папа читал газету.", "ru"))
    dash = longest_pause(synthesize_text(tts, "Мама мыла раму — папа читал газету.", "ru"))
    comma = longest_pause(synthesize_text(tts, "Мама мыла раму, папа читал газету.", "ru"))
    paragraph = longest_pause(synthesize_text(tts, "Мама мыла раму.\n\nПапа читал газету.", "ru"))
    assert ellipsis > stop + 0.25 and unicode_ellipsis > stop + 0.25, (ellipsis, unicode_ellipsis, stop)
    assert dash > comma + 0.15 and dash > stop, (dash, comma, stop)
    assert paragraph > ellipsis > dash, (paragraph, ellipsis, dash)


def test_pauses_shrink_with_the_pace(tts):
    text = "Мама мыла раму... Папа читал газету."
    assert longest_pause(synthesize_text(tts, text, "ru", rate=2.0)) < 0.6 * longest_pause(
        synthesize_text(tts, text, "ru"))


def assert_lead_in_and_tail(result):
    head = round(0.25 * SAMPLE_RATE)
    assert np.abs(result.samples[:head]).max() < 1e-4  # the first 0.25 s are silent
    assert np.abs(result.samples[-head:]).max() < 1e-4  # ... and the last 0.25 s
    start, end = speech_bounds(result.samples)
    assert 0.25 * SAMPLE_RATE <= start <= 0.35 * SAMPLE_RATE
    assert 0.25 * SAMPLE_RATE <= result.samples.size - end <= 0.35 * SAMPLE_RATE


def test_tts_speech_gets_a_lead_in_and_a_tail_and_its_timings_move_with_it(tts):
    text = "Привет! Я говорящий аватар."
    result = audio.prepare(synthesize_text(tts, text, "ru"))
    assert_lead_in_and_tail(result)
    # lip-sync sees a pause over the lead-in and the tail: the mouth stays closed there
    assert result.phonemes[0].symbol == "_" and result.phonemes[0].end >= 0.25
    assert result.phonemes[-1].symbol.startswith("_") and result.phonemes[-1].end == pytest.approx(result.duration)
    sounding = [p for p in result.phonemes if not p.symbol.startswith("_")]
    assert sounding[0].start >= 0.25 and sounding[-1].end <= result.duration - 0.25
    assert result.words[0].start >= 0.25 and result.words[0].text == "Привет!"
    cues = captions.cues_for(text, result)
    assert cues[0].start >= 0.25 and cues[-1].end <= result.duration + 1e-6
    # without word timings (Piper, remote, a recording) the cues are laid over the sound: same lead-in
    untimed = captions.cues_for(text, dataclasses.replace(result, words=None, phonemes=None))
    assert untimed[0].start >= 0.25 and untimed[-1].end <= result.duration + 1e-6


def test_an_uploaded_recording_gets_the_same_lead_in_and_tail():
    sr = 44100
    t = np.arange(sr) / sr
    tone = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)  # sound from its very first sample
    noisy_edges = np.concatenate([tone, np.zeros(sr // 100, np.float32), tone])
    result = audio.prepare(Speech(noisy_edges, sr))
    assert_lead_in_and_tail(result)
    assert result.offset < 0  # silence was added, none of the recording cut
    assert result.duration == pytest.approx(noisy_edges.size / sr + audio.LEAD_IN_SECONDS + audio.TAIL_SECONDS, abs=0.02)


class _Tts(BaseHTTPRequestHandler):
    bodies: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        body = wav_bytes(0.3 * np.sin(2 * np.pi * 200 * np.arange(SAMPLE_RATE // 2) / SAMPLE_RATE))
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def remote_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Tts)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/tts"
    server.shutdown()


def test_remote_without_a_rate_field_refuses_a_pace_and_asks_nothing(remote_url):
    _Tts.bodies.clear()
    tts = RemoteBackend(remote_url, retries=0)
    assert not tts.supports_rate
    with pytest.raises(PipelineError, match="rate"):
        synthesize_text(tts, "Привет.", "ru", rate=1.5)
    assert _Tts.bodies == []
    synthesize_text(tts, "Привет.", "ru")
    assert _Tts.bodies == [{"text": "Привет.", "lang": "ru"}]  # the reference contract: no rate sent


def test_remote_with_a_rate_field_sends_the_pace(remote_url):
    _Tts.bodies.clear()
    tts = RemoteBackend(remote_url, retries=0, rate_field="speed")
    synthesize_text(tts, "Привет.", "ru", rate=1.5)
    assert _Tts.bodies == [{"text": "Привет.", "lang": "ru", "speed": 1.5}]


def test_the_video_itself_starts_and_ends_silent_with_a_closed_mouth(tmp_path):
    """Through the whole pipeline: the MP4's own audio has the lead-in and tail, its mouth starts closed."""
    from generation.pipeline import runner
    from generation.pipeline.lipsync.viseme import VisemeEngine
    from generation.pipeline.tts.registry import build_registry
    from generation.pipeline.video import extract_frame
    from tests.pipeline.test_clip_render import CLOSED_GAP, dlib_gap
    from tests.pipeline.test_motion import photo

    pipeline = runner.Pipeline(tts=build_registry("espeak"), engines={"viseme": VisemeEngine()},
                               default_engine="viseme")
    image, face = photo("astronaut")
    out = tmp_path / "paced.mp4"
    result = pipeline.run("Мама мыла раму.", "ru", out, image=image, face=face, rate=1.5)
    sound = audio.decode(out)  # the encoded AAC, decoded again
    head = round(0.25 * SAMPLE_RATE)
    assert np.abs(sound[:head]).max() < 0.01 and np.abs(sound[-head:]).max() < 0.01
    start, _ = speech_bounds(sound)
    assert start >= 0.25 * SAMPLE_RATE
    assert result.captions[0].start >= 0.25
    assert dlib_gap(pipeline.analyzer(), extract_frame(out, 0.0)) < CLOSED_GAP  # the first frame: mouth shut
