"""Captions from real espeak speech: cue times against the sound, the user's text as typed, WebVTT/SRT files."""
import io
import re
from dataclasses import replace

import numpy as np
import pytest
import webvtt

from generation.pipeline import audio as audio_stage
from generation.pipeline import captions
from generation.pipeline.tts.espeak import EspeakBackend
from generation.pipeline.tts.text import synthesize_text
from generation.pipeline.types import SAMPLE_RATE

ONSET_TOLERANCE = 0.3  # seconds between a cue's start and the sound of its first word


@pytest.fixture(scope="module")
def tts():
    return EspeakBackend()


def spoken(tts, text, language):
    return audio_stage.prepare(synthesize_text(tts, text, language))


def seconds(stamp: str) -> float:
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s.replace(",", "."))


def onsets_after_pauses(samples, min_pause=0.2, frame=0.01):
    """Times where sound starts after at least `min_pause` of silence (and at the very start), by energy alone."""
    n = round(frame * SAMPLE_RATE)
    rms = np.sqrt(np.mean(np.resize(samples, (len(samples) // n, n)) ** 2, axis=1))
    loud = rms > rms.max() * 10 ** (-30 / 20)
    found, quiet = [], min_pause / frame
    for i, on in enumerate(loud):
        if on and quiet >= min_pause / frame:
            found.append(i * frame)
        quiet = 0 if on else quiet + 1
    return found


@pytest.mark.parametrize("language, text", [
    ("ru", "Привет. Сегодня мы проверим субтитры. Третье предложение звучит после паузы."),
    ("kk", "Сәлеметсіз бе. Мен сөйлейтін аватармын. Қазақ тілінде сөйлеймін."),
])
@pytest.mark.parametrize("timings", ["word events", "pauses only"])
def test_each_sentences_cue_starts_at_its_sound(tts, language, text, timings):
    audio = spoken(tts, text, language)
    assert audio.words, "espeak reports its words"
    if timings == "pauses only":  # what remote/piper TTS and recordings get
        audio = replace(audio, words=None)
    parsed = webvtt.from_string(captions.to_webvtt(captions.cues_for(text, audio)))
    onsets = onsets_after_pauses(audio.samples)
    sentences = [s.strip() for s in re.split(r"(?<=\.)\s", text)]
    assert len(onsets) == len(sentences), onsets  # the 0.3 s pauses between sentences
    for sentence, onset in zip(sentences, onsets):
        cue = next(c for c in parsed if c.text.replace("\n", " ").startswith(sentence.split()[0]))
        assert abs(seconds(cue.start) - onset) <= ONSET_TOLERANCE, (sentence, cue.start, onset)
    assert seconds(parsed[-1].end) <= audio.duration + 1e-3
    starts = [seconds(c.start) for c in parsed]
    assert starts == sorted(starts) and all(seconds(c.end) > seconds(c.start) for c in parsed)


def test_numbers_and_abbreviations_stay_as_typed(tts):
    text = "В 2024 году мне было 25 лет, т.е. я молод."
    audio = spoken(tts, text, "ru")
    assert "четвёртом" in [w.text for w in audio.words]  # espeak was given the words ...
    shown = " ".join(c.text.replace("\n", " ") for c in webvtt.from_string(captions.to_webvtt(captions.cues_for(text, audio))))
    assert shown == text  # ... the captions show the user's digits and abbreviation
    assert "четв" not in shown and "двадцать" not in shown


def test_cues_are_two_lines_of_at_most_42_characters_split_at_words(tts):
    text = ("Это очень длинный текст для субтитров: в нём много слов, запятых и предложений. "
            "Каждая реплика должна занимать не больше двух строк, и ни одно слово не режется пополам, "
            "даже такое длинное, как достопримечательность или человеконенавистничество. Конец.")
    audio = spoken(tts, text, "ru")
    parsed = webvtt.from_string(captions.to_webvtt(captions.cues_for(text, audio)))
    words = text.split()
    assert len(parsed) >= 4
    for cue in parsed:
        assert 1 <= len(cue.lines) <= 2 and all(0 < len(line) <= 42 for line in cue.lines), cue.lines
        for line in cue.lines:
            assert all(token in words for token in line.split()), line  # whole words only
    assert " ".join(" ".join(c.lines) for c in parsed).split() == words  # every word, once, in order


def test_overlong_token_is_cut_into_line_sized_pieces():
    url = "https://example.com/" + "a" * 100
    words = captions.text_words(f"Смотри {url} сейчас")
    assert all(len(w) <= captions.MAX_LINE_CHARS for w, _ in words)
    assert "".join(w for w, _ in words[1:-1]) == url


def test_srt_has_the_same_cues_numbered_with_commas(tts):
    text = "Hello there. This is a talking avatar with subtitles. Goodbye!"
    cues = captions.cues_for(text, spoken(tts, text, "en"))
    srt = captions.to_srt(cues)
    blocks = srt.strip("\n").split("\n\n")
    assert len(blocks) == len(cues)
    for i, (block, cue) in enumerate(zip(blocks, cues), 1):
        lines = block.split("\n")
        assert lines[0] == str(i)
        assert re.fullmatch(r"\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}", lines[1])
        assert lines[2:] == list(cue.lines)
    parsed = webvtt.from_buffer(io.StringIO(srt), format="srt")  # a real SRT reader agrees
    assert [(seconds(c.start), seconds(c.end)) for c in parsed] == [(c.start, c.end) for c in cues]


def test_markup_and_arrows_in_the_text_cannot_break_the_files():
    cues = [captions.Cue(0.5, 1.5, ("a <b>bold</b> & -->", "ok"))]
    vtt = captions.to_webvtt(cues)
    assert "<b>" not in vtt and "-->" not in vtt.split("\n", 3)[3]
    parsed = webvtt.from_string(vtt)
    assert len(parsed) == 1 and parsed[0].raw_text.startswith("a &lt;b&gt;bold&lt;/b&gt; &amp;")
    srt = captions.to_srt(cues)
    assert srt.count("-->") == 1 and "<b>bold</b>" in srt  # SRT keeps the text as typed


def test_no_text_gives_an_empty_but_valid_file():
    audio = audio_stage.Audio(np.zeros(SAMPLE_RATE, np.float32))
    assert captions.cues_for("", audio) == []
    assert len(webvtt.from_string(captions.to_webvtt([]))) == 0 and captions.to_srt([]) == ""


@pytest.fixture
def remote_tts(tts):
    """A speech service on 127.0.0.1 that answers {text, lang} with a WAV of espeak saying it (no word events)."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Speaker(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            asked = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            speech = tts.synthesize(asked["text"], asked["lang"])
            data = audio_stage.wav_bytes(speech.samples, speech.sample_rate)
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Speaker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tts"
    server.shutdown()
    server.server_close()


def test_remote_tts_captions_come_from_the_pauses(remote_tts):
    from generation.pipeline.tts.remote import RemoteBackend

    text = "Да. Это гораздо более длинное второе предложение про субтитры. Нет."
    audio = audio_stage.prepare(synthesize_text(RemoteBackend(remote_tts, backoff=0.01), text, "ru"))
    assert audio.words is None  # a WAV carries no word timings
    parsed = webvtt.from_string(captions.to_webvtt(captions.cues_for(text, audio)))
    assert parsed[0].text == "Да." and parsed[-1].text == "Нет." and len(parsed) >= 3
    onsets = onsets_after_pauses(audio.samples)
    assert len(onsets) == 3
    assert abs(seconds(parsed[0].start) - onsets[0]) <= ONSET_TOLERANCE
    assert abs(seconds(parsed[1].start) - onsets[1]) <= ONSET_TOLERANCE  # not at 2/68 of the way, where "Да." ends by length
    assert abs(seconds(parsed[-1].start) - onsets[2]) <= ONSET_TOLERANCE


def test_more_sentences_than_pauses_still_gives_ordered_cues():
    rate, tone = SAMPLE_RATE, lambda s: 0.3 * np.sin(np.arange(int(s * SAMPLE_RATE)) * 0.05).astype(np.float32)
    silence = lambda s: np.zeros(int(s * rate), np.float32)
    samples = np.concatenate([tone(1.0), silence(0.4), tone(0.5), silence(0.4), tone(2.0)])
    audio = audio_stage.Audio(samples)
    cues = captions.cues_for("Один. Два. Три. Четыре. Пять и шесть.", audio)
    assert [c.text for c in cues] == ["Один.", "Два.", "Три.", "Четыре.", "Пять и шесть."]
    assert all(b.start >= a.start for a, b in zip(cues, cues[1:])) and all(c.end > c.start for c in cues)
    assert cues[0].start < 0.05 and cues[-1].end <= audio.duration + 1e-3
    assert abs(cues[1].start - 1.4) < 0.05 or abs(cues[2].start - 1.4) < 0.05  # a sentence starts after the first pause
