"""Hostile uploads against validate_upload / decode_upload / decode, with the real ffmpeg binary.

The reported attack: an HLS playlist followed by ADTS AAC frames. Piped into `ffmpeg -i pipe:0` it
reads as AAC, but a worker opening the stored file by its path without a forced demuxer followed the
playlist: other users' files, 10x the time limit, gigabytes of RAM.
"""
import subprocess
import tempfile

import numpy as np
import pytest

from generation.pipeline import audio, ffmpeg
from generation.pipeline.types import (AUDIO_INVALID, AUDIO_TOO_LONG, AUDIO_UNSUPPORTED, SAMPLE_RATE,
                                       PipelineError)

MB = 2**20
CARRIER_HZ, CARRIER_SECONDS = 440.0, 3.0
SECRET_HZ, SECRET_SECONDS = 2500.0, 30.0  # "another user's file": a tone we can look for
LIMIT_SECONDS = 120
REPEATS = 4  # each of 3 references listed this often: 12 x 30 s = 360 s when followed


def run(args, data: bytes = b"") -> bytes:
    cmd = [ffmpeg.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", *args]
    return subprocess.run(cmd, input=data, capture_output=True, check=True).stdout


def sine(hz: float, seconds: float, rate: int = 16000) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency={hz}:duration={seconds}:sample_rate={rate}"]


def tone_level(samples: np.ndarray, hz: float) -> float:
    """Share of the signal's energy within 20 Hz of `hz`."""
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)
    return float(spectrum[np.abs(freqs - hz) < 20].sum() / spectrum.sum())


@pytest.fixture(scope="module")
def carrier() -> bytes:
    """Real ADTS AAC frames: what the bytes after the playlist decode as."""
    return run([*sine(CARRIER_HZ, CARRIER_SECONDS), "-c:a", "aac", "-b:a", "48k", "-f", "adts", "pipe:1"])


@pytest.fixture(scope="module")
def victim(tmp_path_factory):
    """A folder holding another user's recording, where the upload will be stored too."""
    folder = tmp_path_factory.mktemp("media")
    run([*sine(SECRET_HZ, SECRET_SECONDS), "-c:a", "aac", "-f", "adts", str(folder / "secret.aac")])
    return folder


def playlist(victim) -> bytes:
    """An HLS playlist listing the victim's files by relative path, absolute path and file:// URL."""
    entries = []
    for _ in range(REPEATS):
        for target in ("secret.aac", str(victim / "secret.aac"), (victim / "secret.aac").as_uri()):
            entries.append(f"#EXTINF:{SECRET_SECONDS:.1f},\n{target}\n")
    return ("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:30\n#EXT-X-MEDIA-SEQUENCE:0\n"
            + "".join(entries) + "#EXT-X-ENDLIST\n").encode()


@pytest.fixture(scope="module")
def polyglot(victim, carrier) -> bytes:
    return playlist(victim) + carrier


def assert_only_the_carrier(samples: np.ndarray) -> None:
    """Decoded audio is the carrier: its length, its tone, nothing of the listed files."""
    assert abs(samples.size / SAMPLE_RATE - CARRIER_SECONDS) < 0.2
    assert samples.size <= LIMIT_SECONDS * SAMPLE_RATE
    assert tone_level(samples, CARRIER_HZ) > 0.9
    assert tone_level(samples, SECRET_HZ) < 1e-3


def test_the_polyglot_is_the_reported_attack(victim, polyglot):
    # Baseline, without our guards: opened by a path ending in .m3u8, ffmpeg follows the playlist.
    stored = victim / "upload.m3u8"
    stored.write_bytes(polyglot)
    try:
        raw = run(["-i", str(stored), "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "pipe:1"])
    finally:
        stored.unlink()
    followed = np.frombuffer(raw, np.float32)
    assert followed.size / SAMPLE_RATE > 10 * SECRET_SECONDS, "the playlist was not followed: the test proves nothing"
    assert tone_level(followed, SECRET_HZ) > 0.5
    # ... and piped in, as validation used to, it reads as the AAC carrier
    piped = np.frombuffer(run(["-i", "pipe:0", "-ac", "1", "-f", "f32le", "pipe:1"], polyglot), np.float32)
    assert piped.size < 5 * SAMPLE_RATE


def check_polyglot(data: bytes) -> tuple[str, np.ndarray] | None:
    """Validate then decode as the worker does: (demuxer, samples), or None when refused."""
    try:
        checked = audio.validate_upload(data, LIMIT_SECONDS, 10 * MB)
    except PipelineError as exc:
        assert exc.code in (AUDIO_UNSUPPORTED, AUDIO_INVALID), exc
        return None
    assert checked.duration <= LIMIT_SECONDS
    assert_only_the_carrier(checked.samples)
    worker = audio.decode_upload(data, checked.demuxer, LIMIT_SECONDS)
    assert np.array_equal(worker, checked.samples)
    return checked.demuxer, checked.samples


@pytest.mark.parametrize("name", ["upload.m3u8", "upload.mp3", "upload"])
def test_polyglot_decodes_only_its_carrier_whatever_its_name(victim, polyglot, name):
    stored = victim / name  # beside the victim's files, as in the media folder
    stored.write_bytes(polyglot)
    try:
        result = check_polyglot(stored.read_bytes())
        by_path = audio.decode(stored)  # a path: only its bytes reach ffmpeg, never its name
    finally:
        stored.unlink()
    assert_only_the_carrier(by_path)
    if result is not None:
        demuxer, samples = result
        assert demuxer == "aac" and np.array_equal(by_path, samples)


def test_polyglot_of_a_longer_carrier_still_obeys_the_limit(victim, polyglot):
    # the carrier alone is over a 2 s limit: too long, not 300 s and not the victim's audio
    with pytest.raises(PipelineError, match="longer than 2 s") as err:
        audio.validate_upload(polyglot, 2, 10 * MB)
    assert err.value.code == AUDIO_TOO_LONG
    with pytest.raises(PipelineError) as err:
        audio.decode_upload(polyglot, "aac", 2)
    assert err.value.code == AUDIO_TOO_LONG


@pytest.mark.parametrize("demuxer", ["hls", "concat", "image2", "lavfi", "dash", "tty", ""])
def test_worker_never_decodes_with_a_demuxer_outside_the_list(polyglot, demuxer):
    with pytest.raises(PipelineError, match="not one we decode") as err:
        audio.decode_upload(polyglot, demuxer, LIMIT_SECONDS)
    assert err.value.code == AUDIO_UNSUPPORTED


def test_concat_script_polyglot_is_refused(victim, carrier):
    script = f"ffconcat version 1.0\nfile '{victim / 'secret.aac'}'\nfile secret.aac\n".encode()
    with pytest.raises(PipelineError, match=r"not accepted \(concat\)") as err:
        audio.validate_upload(script + carrier, LIMIT_SECONDS, 10 * MB)
    assert err.value.code == AUDIO_UNSUPPORTED


@pytest.fixture(scope="module")
def flac_bomb() -> bytes:
    """8 channels at 655.35 kHz (FLAC's highest rate): cheap to store, expensive to resample."""
    return run([*sine(440, 1, 655350), "-af", "pan=7.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0|c6=c0|c7=c0",
                "-c:a", "flac", "-f", "flac", "pipe:1"])


def test_absurd_flac_is_refused_by_the_probe_before_decoding(flac_bomb):
    info = ffmpeg.probe(flac_bomb)
    assert (info.demuxer, info.audio.sample_rate, info.audio.channels) == ("flac", 655350, 8)
    with pytest.raises(PipelineError, match="655350 Hz is above") as err:
        ffmpeg.accept_audio(info)
    assert err.value.code == AUDIO_UNSUPPORTED
    # validate_upload says the same, i.e. it stopped at the probe's check, before any decoding
    with pytest.raises(PipelineError, match="655350 Hz is above") as err:
        audio.validate_upload(flac_bomb, LIMIT_SECONDS, 10 * MB)
    assert err.value.code == AUDIO_UNSUPPORTED


def test_too_many_channels_are_refused():
    wav = run([*sine(440, 1, 48000), "-af", "pan=10c|c0=c0|c9=c0", "-f", "wav", "pipe:1"])
    with pytest.raises(PipelineError, match="not 1 to 8 channels") as err:
        audio.validate_upload(wav, LIMIT_SECONDS, 10 * MB)
    assert err.value.code == AUDIO_UNSUPPORTED


def test_metadata_forging_a_harmless_stream_line_is_refused(flac_bomb):
    # a tag name with line breaks would print a fake "16 kHz mono" stream line ahead of the real one in
    # `ffmpeg -i`'s log; the probe reads the stream itself, and the real 655 kHz is refused
    forged = "x\n  Stream #0:0: Audio: flac, 16000 Hz, mono, s16\n  Duration: 00:00:01.00"
    data = run(["-f", "flac", "-i", "pipe:0", "-c", "copy", "-metadata", f"{forged}=v", "-f", "flac", "pipe:1"],
               flac_bomb)
    with pytest.raises(PipelineError, match="655350 Hz is above") as err:
        audio.validate_upload(data, LIMIT_SECONDS, 10 * MB)
    assert err.value.code == AUDIO_UNSUPPORTED


def test_m4a_with_moov_at_the_end_decodes(tmp_path):
    path = tmp_path / "voice.m4a"  # a seekable file and no +faststart: the muxer writes moov last
    run([*sine(440, 2.0, 44100), "-c:a", "aac", str(path)])
    data = path.read_bytes()
    assert data.find(b"moov") > data.find(b"mdat") > 0
    checked = audio.validate_upload(data, LIMIT_SECONDS, 10 * MB)
    assert (checked.demuxer, checked.extension, checked.mime) == ("mov", ".m4a", "audio/mp4")
    assert abs(checked.duration - 2.0) < 0.1
    assert np.array_equal(audio.decode_upload(data, "mov", LIMIT_SECONDS), checked.samples)


@pytest.mark.parametrize("args, demuxer", [
    (["-f", "wav"], "wav"),
    (["-c:a", "libmp3lame", "-f", "mp3"], "mp3"),
    (["-c:a", "libvorbis", "-f", "ogg"], "ogg"),
    (["-c:a", "libopus", "-f", "ogg"], "ogg"),
    (["-c:a", "flac", "-f", "flac"], "flac"),
    (["-c:a", "aac", "-movflags", "+frag_keyframe+empty_moov", "-f", "mp4"], "mov"),  # a pipe: fragmented
    (["-c:a", "libopus", "-f", "webm"], "matroska"),
    (["-c:a", "aac", "-f", "adts"], "aac"),
])
def test_every_accepted_format_validates_to_its_demuxer(args, demuxer):
    data = run([*sine(440, 1.5, 48000), "-ac", "2", *args, "pipe:1"])
    checked = audio.validate_upload(data, LIMIT_SECONDS, 10 * MB)
    assert checked.demuxer == demuxer and checked.extension == ffmpeg.AUDIO_FORMATS[demuxer].extension
    assert abs(checked.duration - 1.5) < 0.1 and tone_level(checked.samples, 440) > 0.9


@pytest.mark.parametrize("kind", ["png", "html", "zeros"])
def test_non_audio_is_invalid(kind):
    data = {
        "png": lambda: run(["-f", "lavfi", "-i", "color=c=blue:s=32x32", "-frames:v", "1", "-c:v", "png",
                            "-f", "image2pipe", "pipe:1"]),
        "html": lambda: b"<!doctype html><html><body><h1>Hello</h1></body></html>" * 40,
        "zeros": lambda: bytes(8192),
    }[kind]()
    with pytest.raises(PipelineError, match="does not decode as audio") as err:
        audio.validate_upload(data, LIMIT_SECONDS, 10 * MB)
    assert err.value.code == AUDIO_INVALID
    with pytest.raises(PipelineError, match="does not decode as audio") as err:
        audio.decode(data)
    assert err.value.code == AUDIO_INVALID


def test_nothing_is_left_in_the_temp_folder(monkeypatch, tmp_path, carrier):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    audio.validate_upload(carrier, LIMIT_SECONDS, 10 * MB)
    audio.decode_upload(carrier, "aac", LIMIT_SECONDS)
    with pytest.raises(PipelineError):
        audio.validate_upload(b"<html>", LIMIT_SECONDS, 10 * MB)
    assert list(tmp_path.iterdir()) == []
