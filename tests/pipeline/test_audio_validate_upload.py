"""validate_upload: a user's own audio file, checked and decoded, or a readable error."""
import subprocess

import numpy as np
import pytest

from generation.pipeline.audio import ffmpeg_exe, validate_upload, wav_bytes
from generation.pipeline.tts.espeak import EspeakBackend
from generation.pipeline.types import SAMPLE_RATE, PipelineError

MB = 2**20


@pytest.fixture(scope="module")
def speech():
    return EspeakBackend().synthesize("Это мой собственный голос.", "ru")


def mp3(samples, rate, bitrate="64k") -> bytes:
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "wav", "-i", "pipe:0",
           "-c:a", "libmp3lame", "-b:a", bitrate, "-f", "mp3", "pipe:1"]
    return subprocess.run(cmd, input=wav_bytes(samples, rate), capture_output=True, check=True).stdout


def test_mp3_and_wav_decode_to_16k(speech):
    duration = len(speech.samples) / speech.sample_rate
    for data in (mp3(speech.samples, speech.sample_rate), wav_bytes(speech.samples, speech.sample_rate)):
        out = validate_upload(data, max_seconds=60, max_bytes=10 * MB)
        assert out.dtype == np.float32 and abs(out.size / SAMPLE_RATE - duration) < 0.1
        assert float(np.abs(out).max()) > 0.1


def test_too_long_is_rejected_without_decoding_it_all(speech):
    # 10 minutes of low-bitrate audio in a small file: the limit applies to seconds, not bytes
    long = np.tile(speech.samples, int(600 * speech.sample_rate / len(speech.samples)) + 1)
    data = mp3(long[::2], speech.sample_rate // 2, "8k")
    assert len(data) < 1 * MB
    with pytest.raises(PipelineError, match="longer than 30 s"):
        validate_upload(data, max_seconds=30, max_bytes=10 * MB)


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"<html>not audio</html>", "does not decode as audio"),
    (b"ID3" + bytes(500), "does not decode as audio"),
])
def test_bad_files(data, message):
    with pytest.raises(PipelineError, match=message):
        validate_upload(data, max_seconds=30, max_bytes=10 * MB)


def test_size_and_silence_limits(speech):
    data = wav_bytes(speech.samples, speech.sample_rate)
    with pytest.raises(PipelineError, match="larger than 1 MB"):
        validate_upload(data + bytes(MB), max_seconds=30, max_bytes=MB)
    with pytest.raises(PipelineError, match="silent"):
        validate_upload(wav_bytes(np.zeros(SAMPLE_RATE, np.float32)), max_seconds=30, max_bytes=MB)
