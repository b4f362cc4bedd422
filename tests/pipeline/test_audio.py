"""The audio stage on real espeak speech and real ffmpeg."""
import subprocess
import wave

import numpy as np
import pytest

from generation.pipeline import audio
from generation.pipeline.tts import get_backend
from generation.pipeline.types import SAMPLE_RATE, Phoneme, PipelineError, Speech


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def ffmpeg(args, data: bytes = b"") -> bytes:
    cmd = [audio.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", *args]
    return subprocess.run(cmd, input=data, capture_output=True, check=True).stdout


@pytest.fixture(scope="module")
def speech() -> Speech:
    return get_backend("espeak").synthesize("Привет! Я говорящий аватар.", "ru")


@pytest.fixture(scope="module")
def speech_wav(speech) -> bytes:
    return audio.wav_bytes(speech.samples, speech.sample_rate)


def test_decode_mp3_round_trip(speech, speech_wav):
    mp3 = ffmpeg(["-i", "pipe:0", "-f", "mp3", "-b:a", "64k", "pipe:1"], speech_wav)
    assert mp3[:3] == b"ID3" or mp3[0] == 0xFF
    decoded = audio.decode(mp3)
    expected = len(speech.samples) / speech.sample_rate
    assert decoded.dtype == np.float32 and decoded.ndim == 1
    assert abs(len(decoded) / SAMPLE_RATE - expected) < 0.1  # MP3 adds a frame of padding at most
    reference = audio.resample(speech.samples, speech.sample_rate)
    assert rms(decoded) == pytest.approx(rms(reference), rel=0.15)


def test_decode_path_and_other_formats(tmp_path, speech_wav):
    stereo = ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:duration=2:sample_rate=44100",
                     "-ac", "2", "-c:a", "libvorbis", "-f", "ogg", "pipe:1"])
    path = tmp_path / "tone.ogg"
    path.write_bytes(stereo)
    for decoded in (audio.decode(path), audio.decode(str(path)), audio.decode(stereo)):
        assert abs(len(decoded) / SAMPLE_RATE - 2.0) < 0.05
        spectrum = np.abs(np.fft.rfft(decoded))
        assert abs(np.argmax(spectrum) * SAMPLE_RATE / len(decoded) - 440) < 2
    assert len(audio.decode(speech_wav, sample_rate=22050)) == pytest.approx(len(speech_wav) // 2, abs=100)


@pytest.mark.parametrize("data", [b"garbage" * 100, b"\x00" * 4096, b"<html>502 Bad Gateway</html>"])
def test_decode_garbage_raises(data):
    with pytest.raises(PipelineError, match="does not decode as audio"):
        audio.decode(data)


def test_decode_missing_or_empty(tmp_path):
    with pytest.raises(PipelineError, match="empty"):
        audio.decode(b"")
    with pytest.raises(PipelineError, match="does not exist"):
        audio.decode(tmp_path / "missing.wav")
    image = ffmpeg(["-f", "lavfi", "-i", "color=c=red:s=16x16", "-frames:v", "1", "-f", "image2",
                    "-c:v", "png", "pipe:1"])
    with pytest.raises(PipelineError, match="does not decode as audio"):
        audio.decode(image)  # a picture decodes, but holds no audio stream


def test_resample_keeps_pitch_and_length():
    t = np.arange(22050 * 2) / 22050
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    out = audio.resample(tone, 22050, 16000)
    assert out.dtype == np.float32 and len(out) == 32000
    assert abs(np.argmax(np.abs(np.fft.rfft(out))) * 16000 / len(out) - 1000) < 1
    assert audio.resample(tone, 16000, 16000) is not None and len(audio.resample(tone, 16000)) == len(tone)


def test_prepare_trims_silence_and_shifts_phonemes(speech):
    sr = speech.sample_rate
    lead, tail = 2.0, 1.5
    noise = np.random.default_rng(0).normal(0, 1e-4, int(sr * (lead + tail) + len(speech.samples)))
    padded = noise.astype(np.float32)
    padded[int(lead * sr): int(lead * sr) + len(speech.samples)] += speech.samples
    moved = [Phoneme(p.start + lead, p.end + lead, p.symbol) for p in speech.phonemes]
    plain = audio.prepare(speech)
    result = audio.prepare(Speech(padded, sr, moved))

    assert result.samples.dtype == np.float32 and result.samples.ndim == 1
    # the speech itself plus the fixed lead-in and tail, whatever silence the source had
    start, end = audio.speech_bounds(audio.resample(speech.samples, sr))
    span = (end - start) / SAMPLE_RATE
    assert abs(result.duration - span - audio.LEAD_IN_SECONDS - audio.TAIL_SECONDS) < 0.03
    assert lead - audio.LEAD_IN_SECONDS - 0.05 < result.offset < lead - audio.LEAD_IN_SECONDS + 0.05
    bounds = audio.speech_bounds(result.samples)
    assert 0.28 * SAMPLE_RATE <= bounds[0] <= 0.32 * SAMPLE_RATE
    assert 0.28 * SAMPLE_RATE <= len(result.samples) - bounds[1] <= 0.32 * SAMPLE_RATE
    # phonemes moved with the cut: same symbols, same spacing relative to the sound
    assert [p.symbol for p in result.phonemes] == [p.symbol for p in plain.phonemes]
    first_sound = next(p for p in result.phonemes if p.symbol not in ("_:", "_"))
    assert first_sound.start == pytest.approx(moved[0].start - result.offset, abs=1e-6)
    for p in result.phonemes:
        assert 0 <= p.start < p.end <= result.duration + 1e-9


def test_prepare_clamps_and_drops_phonemes_outside():
    sr = SAMPLE_RATE
    tone = np.zeros(sr * 4, np.float32)
    tone[sr * 2: sr * 3] = 0.3 * np.sin(2 * np.pi * 200 * np.arange(sr) / sr)
    phonemes = [Phoneme(0.1, 0.5, "_"), Phoneme(1.5, 2.5, "a"), Phoneme(2.5, 3.5, "m"), Phoneme(3.6, 3.9, "_")]
    result = audio.prepare(Speech(tone, sr, phonemes))
    assert result.offset == pytest.approx(2.0 - audio.LEAD_IN_SECONDS, abs=0.011)
    assert [p.symbol for p in result.phonemes] == ["a", "m"]
    assert result.phonemes[0].start == 0.0
    assert result.phonemes[1].end == pytest.approx(result.duration)
    assert audio.prepare(Speech(tone, sr, None)).phonemes is None


def test_prepare_loudness_and_clipping(speech):
    quiet = audio.prepare(Speech(speech.samples * 0.05, speech.sample_rate, speech.phonemes))
    loud = audio.prepare(Speech(speech.samples * 20, speech.sample_rate, speech.phonemes))  # clipped in
    for result in (quiet, loud):
        assert np.abs(result.samples).max() <= audio.PEAK_CEILING + 1e-6
        voiced = audio.frame_rms(result.samples, 160)
        voiced = voiced[voiced > voiced.max() / 100]
        level_db = 20 * np.log10(np.sqrt(np.mean(voiced**2)))
        assert -26 < level_db < -12, level_db


def test_prepare_accepts_int16_stereo(speech):
    pcm = (speech.samples * 32767).astype(np.int16)
    stereo = np.stack([pcm, pcm], axis=1)
    result = audio.prepare(Speech(stereo, speech.sample_rate, None))
    reference = audio.prepare(Speech(speech.samples, speech.sample_rate, None))
    assert len(result.samples) == len(reference.samples)
    assert np.abs(result.samples - reference.samples).max() < 1e-3


@pytest.mark.parametrize("samples, message", [
    (np.zeros(0, np.float32), "no audio"),
    (np.zeros(22050, np.float32), "silent"),
    (np.random.default_rng(1).normal(0, 1e-5, 22050).astype(np.float32), "silent"),
    (np.full(22050, np.nan, np.float32), "silent"),
])
def test_prepare_rejects_empty_and_silent(samples, message):
    with pytest.raises(PipelineError, match=message):
        audio.prepare(Speech(samples, 22050, []))


def test_write_wav_round_trip(tmp_path, speech):
    path = tmp_path / "out.wav"
    samples = audio.resample(speech.samples, speech.sample_rate)
    audio.write_wav(path, samples)
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SAMPLE_RATE)
        assert w.getnframes() == len(samples)
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    assert np.abs(pcm / 32767 - np.clip(samples, -1, 1)).max() < 1e-4
    assert np.abs(audio.decode(path) - np.clip(samples, -1, 1)).max() < 1e-3  # ffmpeg reads what we wrote (a resampled peak may overshoot 1.0: it is clipped)
