"""validate_upload: a user's own audio file, checked and decoded, or a readable error."""
import subprocess

import numpy as np
import pytest

from generation.pipeline.audio import UploadedAudio, decode_upload, validate_upload, wav_bytes
from generation.pipeline.ffmpeg import ffmpeg_exe
from generation.pipeline.tts.espeak import EspeakBackend
from generation.pipeline.types import (AUDIO_INVALID, AUDIO_SILENT, AUDIO_TOO_LONG, AUDIO_UNSUPPORTED, SAMPLE_RATE,
                                       PipelineError)

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
    uploads = {"mp3": mp3(speech.samples, speech.sample_rate), "wav": wav_bytes(speech.samples, speech.sample_rate)}
    for demuxer, data in uploads.items():
        out = validate_upload(data, max_seconds=60, max_bytes=10 * MB)
        assert isinstance(out, UploadedAudio) and out.demuxer == demuxer
        assert (out.extension, out.mime) == {"mp3": (".mp3", "audio/mpeg"), "wav": (".wav", "audio/wav")}[demuxer]
        samples = out.samples
        assert samples.dtype == np.float32 and abs(samples.size / SAMPLE_RATE - duration) < 0.1
        assert out.duration == pytest.approx(samples.size / SAMPLE_RATE)
        assert float(np.abs(samples).max()) > 0.1
        # the worker's decode of the same bytes with the detected demuxer gives the same samples
        assert np.array_equal(decode_upload(data, out.demuxer, max_seconds=60), samples)


def test_too_long_is_rejected_without_decoding_it_all(speech):
    # 10 minutes of low-bitrate audio in a small file: the limit applies to seconds, not bytes
    long = np.tile(speech.samples, int(600 * speech.sample_rate / len(speech.samples)) + 1)
    data = mp3(long[::2], speech.sample_rate // 2, "8k")
    assert len(data) < 1 * MB
    with pytest.raises(PipelineError, match="longer than 30 s") as err:
        validate_upload(data, max_seconds=30, max_bytes=10 * MB)
    assert err.value.code == AUDIO_TOO_LONG
    with pytest.raises(PipelineError, match="longer than 30 s") as err:
        decode_upload(data, "mp3", max_seconds=30)
    assert err.value.code == AUDIO_TOO_LONG


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"<html>not audio</html>", "does not decode as audio"),
    (b"ID3" + bytes(500), "does not decode as audio"),
])
def test_bad_files(data, message):
    with pytest.raises(PipelineError, match=message) as err:
        validate_upload(data, max_seconds=30, max_bytes=10 * MB)
    assert err.value.code == AUDIO_INVALID


def test_size_and_silence_limits(speech):
    data = wav_bytes(speech.samples, speech.sample_rate)
    with pytest.raises(PipelineError, match="larger than 1 MB") as err:
        validate_upload(data + bytes(MB), max_seconds=30, max_bytes=MB)
    assert err.value.code == AUDIO_UNSUPPORTED
    with pytest.raises(PipelineError, match="silent") as err:
        validate_upload(wav_bytes(np.zeros(SAMPLE_RATE, np.float32)), max_seconds=30, max_bytes=MB)
    assert err.value.code == AUDIO_SILENT
