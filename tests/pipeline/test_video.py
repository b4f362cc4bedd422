"""MP4 encoding, probing and frame grabs with the real ffmpeg binary of imageio-ffmpeg."""
import subprocess

import numpy as np
import pytest

from generation.pipeline import video
from generation.pipeline.ffmpeg import ffmpeg_exe
from generation.pipeline.types import ENCODE_FAILED, FPS, SAMPLE_RATE, PipelineError, frame_count
from tests.probing import probe

TONE_HZ = 440.0
AUDIO_SECONDS = 2.03  # not a whole number of frames: 50.75 -> 51


def tone(seconds: float, hz: float = TONE_HZ) -> np.ndarray:
    t = np.arange(int(round(seconds * SAMPLE_RATE))) / SAMPLE_RATE
    return (0.4 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def moving_frames(n: int, width: int = 160, height: int = 120):
    """Frames with a bright bar sweeping across a gradient, so each frame differs."""
    base = np.zeros((height, width, 3), np.uint8)
    base[..., 0] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
    base[..., 2] = np.linspace(0, 255, height, dtype=np.uint8)[:, None]
    for i in range(n):
        frame = base.copy()
        x = (i * 3) % (width - 8)
        frame[:, x:x + 8] = 255
        yield frame


def solid(colour, n: int, width: int = 64, height: int = 48):
    frame = np.empty((height, width, 3), np.uint8)
    frame[:] = colour
    for _ in range(n):
        yield frame


def decode_audio(path) -> np.ndarray:
    """Decode a file's audio to 16 kHz mono float32 with the same ffmpeg."""
    cmd = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1",
           "-ar", str(SAMPLE_RATE), "pipe:1"]
    return np.frombuffer(subprocess.run(cmd, capture_output=True, check=True).stdout, np.float32)


@pytest.fixture(scope="module")
def encoded(tmp_path_factory):
    audio = tone(AUDIO_SECONDS)
    out = tmp_path_factory.mktemp("enc") / "talk.mp4"
    info = video.encode_mp4(moving_frames(frame_count(len(audio))), audio, out)
    return info, out, audio


@pytest.fixture(scope="module")
def probed(encoded):
    return probe(encoded[1], count_frames=True)


def test_encode_streams_and_format(encoded, probed):
    info, out, _ = encoded
    assert probed["video_codec"] == "h264" and probed["audio_codec"] == "aac"
    assert probed["pix_fmt"] == "yuv420p"
    assert probed["fps"] == FPS
    assert (probed["width"], probed["height"]) == (160, 120) == (info.width, info.height)
    assert probed["audio_sample_rate"] == video.AUDIO_RATE and probed["audio_channels"] == 1
    assert info.size == out.stat().st_size > 1000 and info.fps == FPS and info.path == str(out)


def test_duration_matches_audio_within_one_frame(encoded, probed):
    info, _, audio = encoded
    audio_seconds = len(audio) / SAMPLE_RATE
    assert probed["frames"] == frame_count(len(audio)) == 51
    assert abs(probed["frames"] / FPS - audio_seconds) <= 1 / FPS
    assert abs(probed["duration"] - audio_seconds) <= 1 / FPS
    assert abs(probed["audio_duration"] - audio_seconds) <= 1 / FPS
    assert abs(info.duration - audio_seconds) <= 1 / FPS


def test_audio_is_the_tone(encoded):
    _, out, audio = encoded
    decoded = decode_audio(out)
    assert abs(len(decoded) - len(audio)) < SAMPLE_RATE / FPS
    spectrum = np.abs(np.fft.rfft(decoded[:SAMPLE_RATE]))
    peak_hz = int(np.argmax(spectrum))  # a 1 s window: bin k is k Hz
    assert abs(peak_hz - TONE_HZ) <= 2
    assert 0.2 < np.sqrt(np.mean(decoded ** 2)) / np.sqrt(np.mean(audio ** 2)) < 1.5


def test_faststart_puts_moov_before_mdat(encoded):
    data = encoded[1].read_bytes()
    moov, mdat = data.find(b"moov"), data.find(b"mdat")
    assert 0 < moov < mdat


def test_no_temporary_files_left_and_file_readable(encoded):
    assert [p.name for p in encoded[1].parent.iterdir()] == ["talk.mp4"]
    assert encoded[1].stat().st_mode & 0o777 == video.FILE_MODE


def test_frames_are_in_order(encoded):
    _, out, _ = encoded
    frames = list(moving_frames(frame_count(len(encoded[2]))))
    for index in (0, 20, 50):
        got = video.extract_frame(out, index / FPS).astype(int)
        errors = [np.abs(got - f).mean() for f in frames]
        assert int(np.argmin(errors)) == index


def test_short_frame_source_is_padded_and_long_one_cut(tmp_path):
    audio = tone(1.0)
    short = video.encode_mp4(moving_frames(5), audio, tmp_path / "short.mp4")
    assert probe(short.path, count_frames=True)["frames"] == 25

    pulled = []

    def endless():
        for frame in moving_frames(10_000):
            pulled.append(1)
            yield frame

    video.encode_mp4(endless(), audio, tmp_path / "long.mp4")
    assert probe(tmp_path / "long.mp4", count_frames=True)["frames"] == 25
    assert len(pulled) == 25


def test_odd_size_frames_become_even(tmp_path):
    info = video.encode_mp4(solid((10, 200, 30), 20, width=101, height=75), tone(0.8), tmp_path / "odd.mp4")
    assert (info.width, info.height) == (100, 74)
    probed = probe(info.path)
    assert (probed["width"], probed["height"]) == (100, 74) and probed["pix_fmt"] == "yuv420p"
    assert video.extract_frame(info.path, 0.2).shape == (74, 100, 3)


def test_extract_frame_colours_and_seek(tmp_path):
    red, blue = (220, 30, 40), (30, 60, 210)
    frames = list(solid(red, 25)) + list(solid(blue, 25))
    path = tmp_path / "colours.mp4"
    video.encode_mp4(iter(frames), tone(2.0), path)
    first = video.extract_frame(path, 0.5)
    second = video.extract_frame(path, 1.5)
    assert first.shape == (48, 64, 3) and first.dtype == np.uint8
    assert np.abs(first.reshape(-1, 3).mean(0) - red).max() < 6
    assert np.abs(second.reshape(-1, 3).mean(0) - blue).max() < 6
    with pytest.raises(PipelineError):
        video.extract_frame(path, 60.0)


def test_existing_file_is_replaced(tmp_path):
    path = tmp_path / "again.mp4"
    path.write_bytes(b"old contents")
    video.encode_mp4(solid((0, 0, 0), 10), tone(0.4), path)
    assert path.read_bytes()[4:8] == b"ftyp"
    nested = tmp_path / "a" / "b" / "new.mp4"
    video.encode_mp4(solid((0, 0, 0), 10), tone(0.4), nested)
    assert nested.is_file()


def test_missing_ffmpeg_raises_pipeline_error(tmp_path):
    out = tmp_path / "x.mp4"
    with pytest.raises(PipelineError, match="Cannot start ffmpeg") as err:
        video.encode_mp4(solid((0, 0, 0), 5), tone(0.2), out, ffmpeg=str(tmp_path / "no-ffmpeg"))
    assert err.value.code == ENCODE_FAILED
    assert list(tmp_path.iterdir()) == []


def test_ffmpeg_failure_quotes_its_stderr(tmp_path):
    out = tmp_path / "x.mp4"
    with pytest.raises(PipelineError, match="ffmpeg failed") as err:
        video.encode_mp4(moving_frames(500), tone(8.0), out, preset="no-such-preset")
    assert "preset" in str(err.value).lower() and err.value.code == ENCODE_FAILED
    assert list(tmp_path.iterdir()) == []


def test_frame_source_error_propagates_and_leaves_nothing(tmp_path):
    def broken():
        yield from moving_frames(3)
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError, match="renderer crashed"):
        video.encode_mp4(broken(), tone(1.0), tmp_path / "x.mp4")
    assert list(tmp_path.iterdir()) == []


def test_bad_inputs_are_pipeline_errors(tmp_path):
    with pytest.raises(PipelineError, match="audio is empty"):
        video.encode_mp4(solid((0, 0, 0), 5), np.zeros(0, np.float32), tmp_path / "a.mp4")
    with pytest.raises(PipelineError, match="no video frames"):
        video.encode_mp4(iter([]), tone(0.2), tmp_path / "b.mp4")

    def mixed():
        yield np.zeros((48, 64, 3), np.uint8)
        yield np.zeros((50, 64, 3), np.uint8)

    with pytest.raises(PipelineError, match="shape"):
        video.encode_mp4(mixed(), tone(0.4), tmp_path / "c.mp4")
    assert list(tmp_path.iterdir()) == []


def test_probe_reads_our_mp4_through_the_shared_parser(encoded, probed):
    assert probed["format"] == "mov,mp4,m4a,3gp,3g2,mj2"
    assert probed["duration"] == pytest.approx(encoded[0].duration, abs=1 / FPS)


def test_probe_rejects_non_media(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00not a video at all" * 100)
    with pytest.raises(PipelineError):
        probe(junk)
    with pytest.raises(PipelineError):
        probe(tmp_path / "missing.mp4")


def test_chatty_ffmpeg_does_not_deadlock(tmp_path, monkeypatch):
    # x264's debug log for 100 frames is > 64 KiB, more than a pipe holds: it must not block
    monkeypatch.setattr(video, "LOGLEVEL", "debug")
    info = video.encode_mp4(moving_frames(100), tone(4.0), tmp_path / "chatty.mp4")
    assert probe(info.path, count_frames=True)["frames"] == 100
