"""generation.pipeline.ffmpeg: the one `ffmpeg -i` parser, the whitelists and the budgeted runner, on real ffmpeg."""
import subprocess

import pytest

from generation.pipeline import ffmpeg
from generation.pipeline.types import AUDIO_INVALID, AUDIO_UNSUPPORTED, PipelineError

# `ffmpeg -i` at info level on an MP4 of ours, and at debug level (what probe reads) on an upload
INFO_LOG = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':
  Metadata:
    major_brand     : isom
  Duration: 00:01:02.50, start: 0.000000, bitrate: 180 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 1280x720 [SAR 1:1 DAR 16:9], 50 kb/s, 29.97 fps, 29.97 tbr, 30k tbn (default)
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 128 kb/s (default)
"""
DEBUG_LOG = """[in#0 @ 0x55c39232a1c0] Opening 'file:/tmp/media-x/input' for reading
[in#0 @ 0x55c39232a1c0] Format flac probed with size=2048 and score=100
Input #0, flac, from 'file:/tmp/media-x/input':
  Duration: 00:00:01.00, start: 0.000000, bitrate: 13691 kb/s
  Stream #0:0, 1, 1/655350: Audio: flac, 655350 Hz, 7.1, s16
At least one output file must be specified
"""


def run(args, data: bytes = b"") -> bytes:
    cmd = [ffmpeg.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", *args]
    return subprocess.run(cmd, input=data, capture_output=True, check=True).stdout


def test_parse_info_reads_an_info_level_log():
    info = ffmpeg.parse_info(INFO_LOG)
    assert info.demuxer == "mov,mp4,m4a,3gp,3g2,mj2" and info.opened and info.consistent
    assert info.duration == pytest.approx(62.5)
    assert info.video == ffmpeg.VideoStream("h264", "yuv420p", 1280, 720, 29.97)
    assert info.audio == ffmpeg.AudioStream("aac", 44100, 2, "stereo")
    audio_only = ffmpeg.parse_info("Input #0, mp3, from 'a':\n  Duration: 00:00:01.00, start: 0\n"
                                   "  Stream #0:0: Audio: mp3, 22050 Hz, mono, fltp, 64 kb/s\n")
    assert audio_only.video is None and audio_only.audio.codec == "mp3" and audio_only.audio.channels == 1


def test_parse_info_reads_a_debug_level_log():
    info = ffmpeg.parse_info(DEBUG_LOG)
    assert (info.demuxer, info.duration) == ("flac", 1.0)
    assert info.audio == ffmpeg.AudioStream("flac", 655350, 8, "7.1")


def test_parse_info_names_a_refused_demuxer():
    log = ("[in#0 @ 0x1] Format hls probed with size=2048 and score=100\n"
           "[in#0 @ 0x1] Format not on whitelist 'wav,mp3'\n[in#0 @ 0x2] Error opening input: Invalid argument\n")
    info = ffmpeg.parse_info(log)
    assert (info.demuxer, info.opened, info.audio) == ("hls", False, None)
    low = ffmpeg.parse_info("[in#0 @ 0x1] Format tty detected only with low score of 1, misdetection possible!\n")
    assert low.demuxer == "tty"


def test_parse_info_flags_lines_forged_by_metadata():
    # a tag name with line breaks prints lines that look like ffmpeg's own, before the real ones
    forged = DEBUG_LOG.replace("  Duration:", "  Metadata:\n    x\n  Stream #0:0: Audio: flac, 16000 Hz, mono, s16: v\n"
                                              "  Duration:", 1)
    info = ffmpeg.parse_info(forged)
    assert not info.consistent
    assert not ffmpeg.parse_info(DEBUG_LOG + "Input #0, wav, from 'y':\n").consistent
    # an indented metadata line is not a stream line
    assert ffmpeg.parse_info(DEBUG_LOG.replace("  Duration:", "    Stream #0:1: Audio: a, 8000 Hz, mono\n  Duration:")
                             ).consistent


@pytest.mark.parametrize("layout, channels", [
    ("mono", 1), ("stereo", 2), ("5.1(side)", 6), ("7.1", 8), ("7.1(wide-side)", 8), ("5.1.4", 10),
    ("22.2", 24), ("10 channels", 10), ("3 channels (FL+FR+LFE)", 3), ("hexadecagonal", 16),
    ("ambisonic 1", None), ("", None), (None, None),
])
def test_channel_count(layout, channels):
    assert ffmpeg.channel_count(layout) == channels


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
    result = ffmpeg.run_limited(cmd, cpu_seconds=1, timeout=60)
    assert result.out_of_cpu and not result.timed_out and result.returncode != 0
    assert result.cpu_limit == 1 <= result.cpu_used


def test_run_limited_caps_the_output_and_the_wall_clock():
    exe = ffmpeg.ffmpeg_exe()
    endless = [exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=16000",
               "-f", "f32le", "pipe:1"]
    capped = ffmpeg.run_limited(endless, cpu_seconds=30, timeout=60, max_output=1 << 20)
    assert capped.overflowed and not capped.out_of_cpu and (1 << 20) < len(capped.output) < (1 << 20) + (1 << 17)
    slow = [exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "anullsrc",
            "-f", "null", "-"]  # reads in real time: asleep, not busy
    late = ffmpeg.run_limited(slow, cpu_seconds=30, timeout=0.5)
    assert late.timed_out and not late.out_of_cpu
    done = ffmpeg.run_limited([exe, "-hide_banner", "-version"], cpu_seconds=5, timeout=30)
    assert done.returncode == 0 and b"ffmpeg version" in done.output and not done.out_of_cpu


def test_run_limited_reports_a_missing_binary(tmp_path):
    with pytest.raises(PipelineError, match="Cannot start ffmpeg"):
        ffmpeg.run_limited([str(tmp_path / "no-ffmpeg")], cpu_seconds=1, timeout=1)
