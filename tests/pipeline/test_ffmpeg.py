"""generation.pipeline.ffmpeg and ffmpeg_run: the structured probe (avprobe.py), the whitelists and the budgeted runner, on real ffmpeg."""
import subprocess

import numpy as np
import pytest

from generation.pipeline import ffmpeg, ffmpeg_run
from generation.pipeline.types import (AUDIO_INVALID, AUDIO_UNSUPPORTED, VIDEO_INVALID, VIDEO_TOO_LONG,
                                       VIDEO_UNSUPPORTED, PipelineError)

def run(args, data: bytes = b"") -> bytes:
    cmd = [ffmpeg.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", *args]
    return subprocess.run(cmd, input=data, capture_output=True, check=True).stdout


def test_probe_reads_streams_as_structures(tmp_path):
    path = tmp_path / "x.flac"
    run(["-f", "lavfi", "-i", "sine=frequency=440:duration=1:sample_rate=48000", "-ac", "8", "-y", str(path)])
    info = ffmpeg.probe_path(path)
    assert (info.demuxer, info.opened, info.video) == ("flac", True, None)
    assert info.duration == pytest.approx(1.0, abs=0.01)
    assert info.audio == ffmpeg.AudioStream("flac", 48000, 8, "7.1")
    mp3 = tmp_path / "x.mp3"
    run(["-f", "lavfi", "-i", "sine=duration=1:sample_rate=22050", "-y", str(mp3)])
    assert ffmpeg.probe_path(mp3).audio.codec == "mp3"  # the codec's name, not its decoder's ("mp3float")


def test_probe_is_not_fooled_by_metadata_that_imitates_ffmpegs_log(tmp_path):
    # `ffmpeg -i` prints tags, and a tag may hold line breaks: this one reads like a second video stream
    path = tmp_path / "x.mkv"
    forged = "x\n  Stream #0:1: Video: h264, yuv420p, 9999x9999, 1000 fps\n  Duration: 01:00:00.00"
    run(["-f", "lavfi", "-i", "sine=duration=1:sample_rate=16000", "-metadata", f"title={forged}",
         "-c:a", "flac", "-y", str(path)])
    info = ffmpeg.probe_path(path)
    assert info.video is None and info.duration == pytest.approx(1.0, abs=0.05)


def test_probe_skips_cover_art(tmp_path):
    png, mp3, both = tmp_path / "c.png", tmp_path / "a.mp3", tmp_path / "both.mp3"
    run(["-f", "lavfi", "-i", "color=c=red:s=16x16", "-frames:v", "1", "-y", str(png)])
    run(["-f", "lavfi", "-i", "sine=duration=1", "-y", str(mp3)])
    run(["-i", str(mp3), "-i", str(png), "-map", "0", "-map", "1", "-c", "copy", "-disposition:v", "attached_pic",
         "-y", str(both)])
    info = ffmpeg.probe_path(both)
    assert info.audio.codec == "mp3" and info.video is None


def test_audio_formats_table():
    table = {name: (f.extension, f.mime) for name, f in ffmpeg.AUDIO_FORMATS.items()}
    assert table == {"wav": (".wav", "audio/wav"), "mp3": (".mp3", "audio/mpeg"), "ogg": (".ogg", "audio/ogg"),
                     "flac": (".flac", "audio/flac"), "mov": (".m4a", "audio/mp4"),
                     "matroska": (".webm", "audio/webm"), "aac": (".aac", "audio/aac")}
    assert ffmpeg.audio_format("mov,mp4,m4a,3gp,3g2,mj2") is ffmpeg.AUDIO_FORMATS["mov"]
    assert ffmpeg.audio_format("matroska,webm") is ffmpeg.AUDIO_FORMATS["matroska"]
    for refused in ("hls", "concat", "image2", "dash", "tty", "lavfi", "", None):
        assert ffmpeg.audio_format(refused) is None


def test_decode_command_forces_the_demuxer_and_the_limits():
    cmd = ffmpeg.decode_command("ffmpeg", "/tmp/x/input", "mov", 16000, 120)
    i = cmd.index("-i")
    assert cmd[i + 1] == "file:/tmp/x/input"
    before = cmd[:i]
    assert before[before.index("-f") + 1] == "mov"
    assert before[before.index("-protocol_whitelist") + 1] == "file"
    assert before[before.index("-format_whitelist") + 1].split(",") == list(ffmpeg.AUDIO_DEMUXERS)
    assert before[before.index("-enable_drefs") + 1] == "0"  # mov may not open the files it references
    after = cmd[i:]
    assert float(after[after.index("-t") + 1]) == 120 + ffmpeg.TIME_MARGIN_SECONDS
    assert after[after.index("-threads") + 1] == "1" and before[before.index("-threads") + 1] == "1"
    assert "-enable_drefs" not in ffmpeg.decode_command("ffmpeg", "p", "mp3", 16000, None)
    assert "-t" not in ffmpeg.decode_command("ffmpeg", "p", "mp3", 16000, None)


@pytest.fixture(scope="module")
def adts() -> bytes:
    return run(["-f", "lavfi", "-i", "sine=frequency=440:duration=2:sample_rate=16000", "-c:a", "aac",
                "-f", "adts", "pipe:1"])


def ffmpeg_detects_dash_xml_after_adts_as_aac(path) -> bool:
    """Whether the probe opens `path` as plain AAC (a library that does not probe this XML as DASH)."""
    try:
        return ffmpeg.probe_path(path).demuxer == "aac"
    except PipelineError:
        return False


@pytest.mark.parametrize("name, head, demuxer", [
    # the extension alone picks these; the whitelist must refuse them
    ("list.m3u8", b"#EXTM3U\n#EXT-X-TARGETDURATION:30\n#EXTINF:30.0,\nother.aac\n#EXT-X-ENDLIST\n", "hls"),
    ("clip.jpg", b"\x00" * 64, "image2"),
    ("art.ans", b"\x1b[0mhello\x1b[1m", "tty"),
    # the content alone picks these, whatever the name
    ("input", b"ffconcat version 1.0\nfile other.aac\n", "concat"),
    ("input", b'<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" '
              b'profiles="urn:mpeg:dash:profile:isoff-on-demand:2011"><Period/></MPD>\n', "dash"),
])
def test_format_whitelist_refuses_other_demuxers(tmp_path, adts, name, head, demuxer):
    path = tmp_path / name
    path.write_bytes(head + adts)
    if demuxer == "dash" and ffmpeg_detects_dash_xml_after_adts_as_aac(path):
        return  # PyAV's FFmpeg 8 reads this as the ADTS behind (the ffmpeg 9 binary says DASH): never opened as DASH
    with pytest.raises(PipelineError, match=rf"not accepted \({demuxer}\)") as err:
        ffmpeg.probe_path(path)
    assert err.value.code == AUDIO_UNSUPPORTED
    # the same bytes under the neutral name: either refused the same way or read as the ADTS behind
    try:
        info = ffmpeg.probe(path.read_bytes())
    except PipelineError as exc:
        assert exc.code == AUDIO_UNSUPPORTED
    else:
        assert info.demuxer == "aac" and info.duration < 2.2


def test_probe_names_what_it_reads(tmp_path):
    path = tmp_path / "clip.mkv"  # a file, not a pipe: the muxer goes back to write the duration
    run(["-f", "lavfi", "-i", "testsrc=size=96x64:rate=25:duration=1", "-f", "lavfi",
         "-i", "sine=frequency=440:duration=1:sample_rate=22050", "-c:v", "libx264", "-c:a", "aac", "-ac", "2",
         str(path)])
    info = ffmpeg.probe(path.read_bytes())
    assert ffmpeg.audio_format(info.demuxer).demuxer == "matroska"
    assert (info.video.codec, info.video.width, info.video.height, info.video.fps) == ("h264", 96, 64, 25)
    assert (info.audio.codec, info.audio.sample_rate, info.audio.channels) == ("aac", 22050, 2)
    assert info.duration == pytest.approx(1.0, abs=0.1)
    assert ffmpeg.accept_audio(info).extension == ".webm"


def test_probe_refuses_what_is_not_audio():
    png = run(["-f", "lavfi", "-i", "color=c=red:s=16x16", "-frames:v", "1", "-c:v", "png", "-f", "image2pipe",
               "pipe:1"])
    for data in (b"", b"<html><body>502 Bad Gateway</body></html>" * 20, png, bytes(4096)):
        with pytest.raises(PipelineError, match="empty|does not decode as audio") as err:
            ffmpeg.probe(data)
        assert err.value.code == AUDIO_INVALID


def test_private_file_is_neutral_private_and_removed():
    with ffmpeg.private_file(b"abc") as path:
        assert path.name == "input" and path.suffix == ""
        assert path.read_bytes() == b"abc"
        assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert not path.exists() and not path.parent.exists()


def test_run_limited_stops_at_the_cpu_budget():
    # a sine at 655 kHz resampled to 16 kHz forever: pure CPU
    cmd = [ffmpeg.ffmpeg_exe(), "-hide_banner", "-nostdin", "-f", "lavfi",
           "-i", "sine=frequency=440:sample_rate=655350", "-ac", "8", "-ar", "16000", "-f", "null", "-"]
    result = ffmpeg_run.run_limited(cmd, cpu_seconds=1, timeout=60)
    assert result.out_of_cpu and not result.timed_out and result.returncode != 0
    assert result.cpu_limit == 1 <= result.cpu_used


def test_run_limited_caps_the_output_and_the_wall_clock():
    exe = ffmpeg.ffmpeg_exe()
    endless = [exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=16000",
               "-f", "f32le", "pipe:1"]
    capped = ffmpeg_run.run_limited(endless, cpu_seconds=30, timeout=60, max_output=1 << 20)
    assert capped.overflowed and not capped.out_of_cpu and (1 << 20) < len(capped.output) < (1 << 20) + (1 << 17)
    slow = [exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "anullsrc",
            "-f", "null", "-"]  # reads in real time: asleep, not busy
    late = ffmpeg_run.run_limited(slow, cpu_seconds=30, timeout=0.5)
    assert late.timed_out and not late.out_of_cpu
    done = ffmpeg_run.run_limited([exe, "-hide_banner", "-version"], cpu_seconds=5, timeout=30)
    assert done.returncode == 0 and b"ffmpeg version" in done.output and not done.out_of_cpu


def test_run_limited_reports_a_missing_binary(tmp_path):
    with pytest.raises(PipelineError, match="Cannot start ffmpeg"):
        ffmpeg_run.run_limited([str(tmp_path / "no-ffmpeg")], cpu_seconds=1, timeout=1)


# ---- video: refusal codes, streamed frames ----

VIDEO_DEMUXERS = ("mov", "matroska")


def test_probe_refuses_with_the_codes_of_what_is_expected():
    png = run(["-f", "lavfi", "-i", "color=c=red:s=16x16", "-frames:v", "1", "-c:v", "png", "-f", "image2pipe",
               "pipe:1"])
    for data, code, words in ((png, VIDEO_INVALID, "decode as video: it is a picture"),
                              (b"ffconcat version 1.0\nfile other.mp4\n", VIDEO_UNSUPPORTED, r"not accepted \(concat\)"),
                              (b"", VIDEO_INVALID, "empty")):
        with pytest.raises(PipelineError, match=words) as err:
            ffmpeg.probe(data, VIDEO_DEMUXERS, expect=ffmpeg.VIDEO)
        assert err.value.code == code


def test_video_decode_command_forces_the_demuxer_and_the_limits():
    cmd = ffmpeg.video_decode_command("ffmpeg", "/tmp/x/input", "mov", VIDEO_DEMUXERS, fps=25, max_side=1280,
                                      max_seconds=60)
    i = cmd.index("-i")
    before, after = cmd[:i], cmd[i:]
    assert cmd[i + 1] == "file:/tmp/x/input" and before[before.index("-f") + 1] == "mov"
    assert before[before.index("-protocol_whitelist") + 1] == "file"
    assert before[before.index("-format_whitelist") + 1] == "mov,matroska"
    assert before[before.index("-enable_drefs") + 1] == "0"
    assert after[after.index("-map") + 1] == "0:V:0"  # the video, never cover art
    assert float(after[after.index("-t") + 1]) == 60 + ffmpeg.TIME_MARGIN_SECONDS
    assert "fps=25" in after[after.index("-vf") + 1] and after[after.index("-c:v") + 1] == "ppm"


def frames_of(path, demuxer="mov", **limits) -> list:
    options = {"fps": 25, "max_side": 1280, "max_seconds": 60, "cpu_seconds": 30, "timeout": 60, **limits}
    return list(ffmpeg.read_frames(path, demuxer, VIDEO_DEMUXERS, **options))


@pytest.mark.parametrize("source, args, demuxer, count, shape", [
    # 30 fps in, 25 out; 1080p scaled to 1280 wide
    ("testsrc2=size=1920x1080:rate=30:duration=0.4", [], "mov", 10, (720, 1280, 3)),
    # a small clip is never enlarged; odd sizes are made even
    ("testsrc2=size=161x121:rate=25:duration=0.4", [], "mov", 10, (120, 160, 3)),
    # non-square pixels (SAR 2:1) come out square: twice as wide
    ("testsrc2=size=160x120:rate=25:duration=0.4,setsar=2", [], "matroska", 10, (120, 320, 3)),
])
def test_read_frames_gives_even_square_pixel_frames_within_the_size(tmp_path, source, args, demuxer, count, shape):
    path = tmp_path / "clip"
    run(["-f", "lavfi", "-i", source, "-c:v", "libx264", "-pix_fmt", "yuv420p", *args, "-f", demuxer, str(path)])
    frames = frames_of(path, demuxer)
    assert len(frames) == count and {f.shape for f in frames} == {shape} and frames[0].dtype == np.uint8
    assert frames[0].flags.writeable and frames[0].flags.c_contiguous


def test_read_frames_applies_a_phones_rotation(tmp_path):
    plain, rotated = tmp_path / "plain.mp4", tmp_path / "rotated.mp4"
    run(["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=0.2", "-c:v", "libx264", str(plain)])
    run(["-display_rotation", "90", "-i", str(plain), "-c", "copy", str(rotated)])
    upright = frames_of(rotated)
    assert upright[0].shape == (320, 180, 3)
    # the picture itself turned by a quarter (the direction is the display matrix's business)
    original = frames_of(plain)[0].astype(int)
    turned = min(np.abs(np.rot90(original, k).astype(int) - upright[0]).mean() for k in (1, 3))
    assert turned < 3


def test_read_frames_stops_a_video_longer_than_the_limit(tmp_path):
    path = tmp_path / "long.mkv"
    run(["-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=4", "-c:v", "libx264", str(path)])
    assert len(frames_of(path, "matroska", max_seconds=4)) == 100
    seen = []
    with pytest.raises(PipelineError) as err:
        for frame in ffmpeg.read_frames(path, "matroska", VIDEO_DEMUXERS, fps=25, max_side=1280, max_seconds=2,
                                        cpu_seconds=30, timeout=60):
            seen.append(frame)
    assert err.value.code == VIDEO_TOO_LONG and err.value.params["limit"] == 2
    assert len(seen) == 2 * 25 + 3  # the tolerance, then refused, never the whole file


def test_read_frames_refuses_a_demuxer_not_allowed_and_what_does_not_decode(tmp_path):
    path = tmp_path / "input"
    path.write_bytes(b"\x1a\x45\xdf\xa3" + bytes(5000))  # an EBML magic and nothing behind it
    with pytest.raises(PipelineError) as err:
        frames_of(path, "matroska")
    assert err.value.code == VIDEO_INVALID
    with pytest.raises(PipelineError) as err:
        frames_of(path, "hls")
    assert err.value.code == VIDEO_UNSUPPORTED


def test_packets_end_reads_the_length_a_live_recording_does_not_state(tmp_path):
    path = tmp_path / "live.webm"
    path.write_bytes(run(["-f", "lavfi", "-i", "testsrc=size=64x48:rate=30:duration=3", "-c:v", "libvpx",
                          "-deadline", "realtime", "-f", "webm", "pipe:1"]))  # a pipe: no duration in the header
    assert ffmpeg.probe_path(path, VIDEO_DEMUXERS, expect=ffmpeg.VIDEO).duration is None
    assert ffmpeg.packets_end(path, "matroska", VIDEO_DEMUXERS) == pytest.approx(3.0, abs=0.1)


# ---- the probe's child: a fork under budgets ----

def test_probe_child_stops_at_its_budgets(monkeypatch):
    from generation.pipeline import avprobe, probe_run

    def spin():
        while True:
            pass

    def hoard():
        return {"bytes": len(bytearray(2 << 30))}  # past the 1 GiB it may add

    monkeypatch.setitem(avprobe.READERS, "spin", spin)
    monkeypatch.setitem(avprobe.READERS, "nap", lambda: __import__("time").sleep(30))
    monkeypatch.setitem(avprobe.READERS, "hoard", hoard)
    monkeypatch.setitem(avprobe.READERS, "fine", lambda: {"ok": True})
    spun = probe_run.run_probe("spin", cpu_seconds=1, timeout=30, memory_bytes=1 << 30)
    assert spun.out_of_cpu and not spun.timed_out and spun.answer is None
    napped = probe_run.run_probe("nap", cpu_seconds=5, timeout=0.5, memory_bytes=1 << 30)
    assert napped.timed_out and napped.answer is None
    hoarded = probe_run.run_probe("hoard", cpu_seconds=5, timeout=30, memory_bytes=1 << 30)
    assert hoarded.answer is None and hoarded.exitcode == 1 and not hoarded.out_of_cpu
    assert probe_run.run_probe("fine", cpu_seconds=5, timeout=30, memory_bytes=1 << 30).answer == {"ok": True}
