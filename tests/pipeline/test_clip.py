"""Video avatars end to end on real ffmpeg and real dlib: inspection, preparation, notes, reading back."""
import subprocess
import threading
import time

import numpy as np
import pytest

from generation.pipeline import clip, ffmpeg
from generation.pipeline.clip import ClipNote, ClipReader, inspect_video, pingpong, prepare_clip
from generation.pipeline.faces import FaceAnalyzer
from generation.pipeline.types import (CLIP_NO_FACE, CLIP_NO_USABLE_STRETCH, VIDEO_FRAME_RATE, VIDEO_INVALID,
                                       VIDEO_TOO_LARGE, VIDEO_TOO_LONG, VIDEO_UNSUPPORTED, Face, PipelineError)
from tests import media


@pytest.fixture(scope="module")
def analyzer():
    return FaceAnalyzer()


@pytest.fixture(scope="module")
def moving():
    return media.moving_face(4.0)


@pytest.fixture(scope="module")
def prepared(moving, analyzer, tmp_path_factory):
    out = tmp_path_factory.mktemp("moving")
    seen = []
    result = prepare_clip(moving.data, inspect_video(moving.data).demuxer, out, analyzer, progress=seen.append)
    return result, seen, out


def prepare(data, analyzer, tmp_path, **options):
    return prepare_clip(data, inspect_video(data).demuxer, tmp_path, analyzer, **options)


def kept_notes(result) -> list:
    """The notes on what was left out and noticed: not where the clip loops (test_loop.py has those: these
    clips' sways never come back) nor the mouth bank's coverage (every clip has one; test_mouth_bank.py)."""
    assert sum(n.code.startswith("bank_") for n in result.notes) == 1
    return [n for n in result.notes if n.code != "loop_turns" and not n.code.startswith("bank_")]


def source_frames(data: bytes, demuxer: str = "mov") -> list:
    """The clip decoded the way preparation decodes it, for comparison."""
    with ffmpeg.private_file(data) as path:
        return list(ffmpeg.read_frames(path, demuxer, (demuxer,), fps=25, max_side=1280, max_seconds=60,
                                       cpu_seconds=30, timeout=60))


def tiny(codec: str, container: str, seconds: float = 1.0, size=(160, 120), **kw) -> bytes:
    """A faceless clip, quick to make: for inspection only."""
    frames = (media.background(*size, seed=i // 5) for i in range(round(seconds * 25)))
    return media.encode(frames, size, codec, container, **kw)


def run(args) -> bytes:
    return subprocess.run([ffmpeg.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", *args], capture_output=True,
                          check=True).stdout


# ---- inspection (the web process: probe only) ----

@pytest.mark.parametrize("codec, container, demuxer, extension, mime", [
    ("h264", "mp4", "mov", ".mp4", "video/mp4"),
    ("h264", "mov", "mov", ".mp4", "video/mp4"),
    ("hevc", "mp4", "mov", ".mp4", "video/mp4"),
    ("vp9", "webm", "matroska", ".webm", "video/webm"),
    ("vp8", "webm", "matroska", ".webm", "video/webm"),
    ("h264", "matroska", "matroska", ".mkv", "video/x-matroska"),
    ("mpeg4", "matroska", "matroska", ".mkv", "video/x-matroska"),
])
def test_inspect_accepts_the_containers_and_codecs(codec, container, demuxer, extension, mime):
    check = inspect_video(tiny(codec, container))
    assert (check.demuxer, check.extension, check.mime, check.codec) == (demuxer, extension, mime, codec)
    assert (check.width, check.height, check.fps) == (160, 120, 25.0)
    assert check.duration == pytest.approx(1.0, abs=0.05)
    assert clip.VIDEO_FORMATS[check.demuxer].demuxer == demuxer


def test_inspect_reads_the_length_a_browser_recording_does_not_state():
    live = run(["-f", "lavfi", "-i", "testsrc=size=160x120:rate=30:duration=3", "-c:v", "libvpx", "-deadline",
                "realtime", "-f", "webm", "pipe:1"])  # written to a pipe: no duration in its header
    check = inspect_video(live)
    assert (check.extension, check.codec) == (".webm", "vp8") and check.duration == pytest.approx(3.0, abs=0.1)


@pytest.fixture(scope="module")
def two_minutes() -> bytes:
    return media.long_clip(120, size=(128, 72)).data


def test_inspect_refuses_long_clips_saying_the_limit(two_minutes):
    with pytest.raises(PipelineError) as err:
        inspect_video(two_minutes)
    assert err.value.code == VIDEO_TOO_LONG and err.value.params == {"seconds": 120.0, "limit": 60}
    with pytest.raises(PipelineError) as err:
        inspect_video(tiny("h264", "mp4", seconds=2.0), max_seconds=1.5)
    assert err.value.params == {"seconds": 2.0, "limit": 1.5}
    assert inspect_video(tiny("h264", "mp4", seconds=2.0), max_seconds=2).duration == pytest.approx(2.0)


@pytest.mark.parametrize("size", [(1936, 1088), (1088, 1936)])
def test_inspect_refuses_large_pictures_saying_the_limit(size):
    data = run(["-f", "lavfi", "-i", f"color=c=gray:s={size[0]}x{size[1]}:d=0.08", "-c:v", "libx264",
                "-preset", "ultrafast", "-f", "mp4", "-movflags", "frag_keyframe+empty_moov", "pipe:1"])
    with pytest.raises(PipelineError) as err:
        inspect_video(data)
    assert err.value.code == VIDEO_TOO_LARGE
    assert err.value.params == {"width": size[0], "height": size[1], "limit": 1920}
    assert inspect_video(data, max_side=2000).width == size[0]


def hostile_uploads() -> dict:
    mp4 = tiny("h264", "mp4")
    return {
        "a picture renamed .mp4": (media.not_a_video(), VIDEO_INVALID),
        "a JPEG": (run(["-f", "lavfi", "-i", "color=c=red:s=16x16", "-frames:v", "1", "-c:v", "mjpeg",
                        "-f", "image2pipe", "pipe:1"]), VIDEO_INVALID),
        "text": (b"<html><body>not a video</body></html>\n" * 50, VIDEO_INVALID),
        "nothing": (b"", VIDEO_INVALID),
        "half an MP4": (mp4[:len(mp4) // 2], VIDEO_INVALID),  # its index is at the end
        "sound only, in MP4": (run(["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", "-f", "mp4",
                                    "-movflags", "frag_keyframe+empty_moov", "pipe:1"]), VIDEO_INVALID),
        "an MP3": (run(["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "libmp3lame", "-f", "mp3", "pipe:1"]),
                   VIDEO_UNSUPPORTED),
        # lists of other files: never opened as such (what the bytes are then read as varies)
        "an HLS playlist": (b"#EXTM3U\n#EXT-X-TARGETDURATION:30\n#EXTINF:30.0,\nother.mp4\n#EXT-X-ENDLIST\n" + mp4,
                            None),
        "a concat list": (b"ffconcat version 1.0\nfile other.mp4\nfile /etc/passwd\n" + mp4, None),
        "a GIF": (run(["-f", "lavfi", "-i", "testsrc=size=32x32:rate=10:duration=1", "-f", "gif", "pipe:1"]),
                  VIDEO_UNSUPPORTED),
        "MPEG-TS": (tiny("h264", "mpegts"), VIDEO_UNSUPPORTED),
        # image sequences dressed as video: refused by codec
        "JPEGs in a MOV": (tiny("mjpeg", "mov"), VIDEO_UNSUPPORTED),
        "PNGs in Matroska": (run(["-f", "lavfi", "-i", "testsrc=size=32x32:rate=10:duration=1", "-c:v", "png",
                                  "-f", "matroska", "pipe:1"]), VIDEO_UNSUPPORTED),
    }


def test_inspect_refuses_hostile_uploads():
    for name, (data, code) in hostile_uploads().items():
        with pytest.raises(PipelineError) as err:
            inspect_video(data)
        assert err.value.code in ((code,) if code else (VIDEO_INVALID, VIDEO_UNSUPPORTED)), name
    with pytest.raises(PipelineError) as err:
        inspect_video(tiny("mjpeg", "mov"))
    assert err.value.params == {"codec": "mjpeg"}


# ---- preparation (the worker) ----

def test_prepare_keeps_the_whole_clip_of_one_steady_face(prepared, moving):
    result, seen, out = prepared
    assert (result.frame_count, result.width, result.height, result.fps) == (100, 640, 360, 25)
    assert (result.start, result.end, result.duration) == (0.0, 4.0, 4.0)
    assert [n.code for n in result.notes] == ["loop_turns", "bank_open"]  # nothing dropped; her sway never comes back, her smile never closes
    assert sorted(p.name for p in out.iterdir()) == sorted([result.data_path.name, result.frames_path.name])
    assert seen[0] == 0 and seen[-1] == 100 and seen == sorted(set(seen))  # whole percents, forward only


def test_reader_gives_the_arrays_and_any_frame_in_any_order(prepared, moving):
    result, _, _ = prepared
    reader = ClipReader(result.data_path, result.frames_path)
    assert (reader.width, reader.height, reader.fps, reader.frame_count) == (640, 360, 25, 100)
    assert reader.landmarks.shape == (100, 68, 2) and reader.landmarks.dtype == np.float32
    assert reader.boxes.shape == (100, 4) and reader.mouth_open.shape == (100,)
    assert np.isfinite(reader.landmarks).all() and np.isfinite(reader.mouth_open).all()
    source = source_frames(moving.data)
    for i in (57, 3, 99, 0, 58, 57):
        frame = reader.frame(i)
        assert frame.shape == (360, 640, 3) and frame.dtype == np.uint8
        assert np.abs(frame.astype(int) - source[i]).mean() < 2.0  # JPEG's error, and only that
    face = reader.face(10)
    assert isinstance(face, Face) and face.image_size == (640, 360)
    left, top, right, bottom = face.box
    assert 0 <= left < right <= 640 and 0 <= top < bottom <= 360
    truth = moving.truth[10]
    assert left < truth[:, 0].mean() < right and top < truth[:, 1].mean() < bottom
    with pytest.raises(IndexError):
        reader.frame(100)


@pytest.mark.parametrize("codec, container, demuxer", [("vp9", "webm", "matroska"), ("mpeg4", "matroska", "matroska"),
                                                        ("h264", "mov", "mov")])
def test_prepare_reads_every_container(codec, container, demuxer, analyzer, tmp_path):
    made = media.moving_face(2.4, codec=codec, container=container, seed=2)
    result = prepare(made.data, analyzer, tmp_path)
    assert (result.frame_count, kept_notes(result)) == (60, [])
    reader = ClipReader(result.data_path, result.frames_path)
    error = np.linalg.norm(reader.landmarks - made.truth, axis=2).mean()
    assert error < 0.03 * np.mean(reader.boxes[:, 2] - reader.boxes[:, 0])


def test_a_cut_keeps_the_longer_shot(analyzer, tmp_path):
    made = media.with_cut(3.0, 1.6)
    result = prepare(made.data, analyzer, tmp_path)
    assert (result.start, result.end, result.frame_count) == (0.0, 3.0, 75)
    assert kept_notes(result) == [ClipNote("dropped_cut", 3.0, 4.6)]
    reader = ClipReader(result.data_path, result.frames_path)
    assert np.abs(reader.frame(74).astype(int) - source_frames(made.data)[74]).mean() < 2.0


def test_a_face_missing_for_a_while_keeps_the_longer_part(analyzer, tmp_path):
    made = media.with_gap(before=1.0, gap=0.6, after=3.0)
    result = prepare(made.data, analyzer, tmp_path)
    assert (result.start, result.end, result.frame_count) == (1.6, 4.6, 75)
    assert kept_notes(result) == [ClipNote("dropped_no_face", 0.0, 1.6)]
    reader = ClipReader(result.data_path, result.frames_path)
    assert np.abs(reader.frame(0).astype(int) - source_frames(made.data)[40]).mean() < 2.0  # 1.6 s in
    assert np.linalg.norm(reader.landmarks - made.truth[40:], axis=2).mean() < 3.0


def test_a_second_larger_face_is_left_out(analyzer, tmp_path):
    result = prepare(media.second_face(alone=3.0, together=2.0).data, analyzer, tmp_path)
    assert (result.start, result.end) == (0.0, 3.0)
    assert kept_notes(result) == [ClipNote("dropped_second_face", 3.0, 5.0)]


def test_a_clip_without_a_face_fails_and_leaves_nothing(analyzer, tmp_path):
    with pytest.raises(PipelineError) as err:
        prepare(media.faceless(3.0).data, analyzer, tmp_path)
    assert err.value.code == CLIP_NO_FACE
    assert list(tmp_path.iterdir()) == []


def test_no_stretch_long_enough_says_why_and_where(analyzer, tmp_path):
    with pytest.raises(PipelineError) as err:
        prepare(media.with_cut(1.5, 1.2).data, analyzer, tmp_path)
    assert err.value.code == CLIP_NO_USABLE_STRETCH
    assert err.value.params == {"reason": "cut", "at": 1.52, "longest": 1.52, "minimum": 2.0}
    with pytest.raises(PipelineError) as err:
        prepare(media.moving_face(1.2).data, analyzer, tmp_path)
    assert err.value.params == {"reason": "short", "at": 0.0, "longest": 1.2, "minimum": 2.0}


def test_a_talking_clip_is_praised_not_warned_and_keeps_its_mouth_curve(analyzer, tmp_path, prepared):
    made = media.talking()
    result = prepare(made.data, analyzer, tmp_path)
    codes = [note.code for note in result.notes]
    assert "talking" not in codes and "bank_good" in codes  # natural speech feeds the mouth bank
    moving_mouth = ClipReader(result.data_path, result.frames_path).mouth_open
    still = ClipReader(prepared[0].data_path, prepared[0].frames_path).mouth_open
    assert np.ptp(moving_mouth) > 0.15 and np.ptp(still) < 0.06


def test_prepare_checks_the_bytes_again(analyzer, tmp_path, moving):
    with pytest.raises(PipelineError) as err:
        prepare_clip(moving.data, "mp3", tmp_path, analyzer)
    assert err.value.code == VIDEO_UNSUPPORTED
    with pytest.raises(PipelineError) as err:
        prepare_clip(media.not_a_video(), "mov", tmp_path, analyzer)
    assert err.value.code == VIDEO_INVALID
    with pytest.raises(PipelineError) as err:
        prepare_clip(moving.data, "mov", tmp_path, analyzer, max_seconds=2)
    assert err.value.code == VIDEO_TOO_LONG
    assert list(tmp_path.iterdir()) == []


def cut_short(data: bytes, keep: float) -> bytes:
    """The MP4 remuxed with its index first (as phones and editors write it), then only `keep` of it."""
    with ffmpeg.private_file(data) as path:
        target = path.with_name("indexed.mp4")
        run(["-f", "mov", "-i", f"file:{path}", "-c", "copy", "-movflags", "+faststart", f"file:{target}"])
        whole = target.read_bytes()
    return whole[:int(len(whole) * keep)]


def hostile_to_prepare() -> dict:
    """Uploads that must be refused by the worker too, before any decoding or where decoding fails."""
    picture = ["-f", "lavfi", "-i", "testsrc=size=32x32:rate=10:duration=1"]
    empty_moov = ["-movflags", "frag_keyframe+empty_moov", "pipe:1"]
    faststart = cut_short(tiny("h264", "mp4", seconds=3.0), 1.0)
    return {
        "a picture renamed .mp4": (media.not_a_video(), VIDEO_INVALID, None),
        # 8K declared (and real: a decoder would allocate for it): refused from the header
        "8K": (run(["-f", "lavfi", "-i", "color=c=gray:s=7680x4320:d=0.04", "-c:v", "libx264", "-preset",
                    "ultrafast", "-f", "mp4", *empty_moov]), VIDEO_TOO_LARGE, {"width": 7680, "height": 4320,
                                                                                 "limit": 1920}),
        # 10 000 frames/s declared (and real): every one would be decoded; refused from the header
        "10 000 fps": (run(["-f", "lavfi", "-i", "color=c=gray:s=64x36:r=10000:d=0.5", "-c:v", "libx264", "-preset",
                            "ultrafast", "-f", "mp4", *empty_moov]), VIDEO_FRAME_RATE, {"fps": 10000, "limit": 60}),
        "JPEGs in an MP4": (run([*picture, "-c:v", "mjpeg", "-f", "mp4", *empty_moov]), VIDEO_UNSUPPORTED,
                            {"codec": "mjpeg"}),
        "PNGs in an MP4": (run([*picture, "-c:v", "png", "-f", "mp4", *empty_moov]), VIDEO_UNSUPPORTED,
                           {"codec": "png"}),
        "PNGs in a MOV": (run([*picture, "-c:v", "png", "-f", "mov", *empty_moov]), VIDEO_UNSUPPORTED,
                          {"codec": "png"}),
        # the index is whole (inspection accepts it), the frames stop: never a shorter avatar in silence
        "an MP4 cut short": (faststart[:int(len(faststart) * 0.6)], VIDEO_INVALID, None),
        "an MP4 with only its index": (faststart[:1500], VIDEO_INVALID, None),
        # what a decoder makes of noise varies (errors, or grey concealment with no face in it)
        "an MP4 whose frames are noise": (faststart[:len(faststart) // 3] + bytes(range(256)) * 300,
                                          (VIDEO_INVALID, CLIP_NO_FACE), None),
    }


def test_prepare_refuses_hostile_uploads_quickly(analyzer, tmp_path, two_minutes):
    cases = {**hostile_to_prepare(), "two minutes": (two_minutes, VIDEO_TOO_LONG, {"seconds": 120.0, "limit": 60})}
    for name, (data, code, params) in cases.items():
        out = tmp_path / name.replace(" ", "_")
        started = time.monotonic()
        with pytest.raises(PipelineError) as err:
            prepare_clip(data, "mov", out, analyzer)
        assert time.monotonic() - started < 10, name  # refused, not decoded for long (budgets are the backstop)
        assert err.value.code in (code if isinstance(code, tuple) else (code,)), (name, err.value)
        assert params is None or err.value.params == params, name
        assert not out.exists() or list(out.iterdir()) == [], name


def test_a_file_cut_short_is_accepted_by_inspection_and_refused_by_preparation(analyzer, tmp_path, moving):
    data = cut_short(moving.data, 0.7)
    assert inspect_video(data).duration == pytest.approx(4.0)  # the index says 4 s: only decoding can tell
    with pytest.raises(PipelineError) as err:
        prepare(data, analyzer, tmp_path)
    assert err.value.code == VIDEO_INVALID and "cut short" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_a_tracker_failure_stops_the_decoding_and_leaves_nothing(analyzer, tmp_path, moving, monkeypatch):
    calls = []

    def failing(image, box):
        calls.append(box)
        if len(calls) > 30:
            raise PipelineError("Landmark model returned 0 points, expected 68.", "pipeline_failed")
        return FaceAnalyzer.landmarks(analyzer, image, box)

    monkeypatch.setattr(analyzer, "landmarks", failing)
    threads = threading.active_count()
    started = time.monotonic()
    with pytest.raises(PipelineError) as err:
        prepare(moving.data, analyzer, tmp_path)
    assert err.value.code == "pipeline_failed" and time.monotonic() - started < 30
    assert list(tmp_path.iterdir()) == [] and threading.active_count() == threads


def test_pingpong_goes_forward_then_back_without_a_jump():
    assert [pingpong(i, 4) for i in range(10)] == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3]
    assert [pingpong(i, 2) for i in range(5)] == [0, 1, 0, 1, 0]
    assert {pingpong(i, 1) for i in range(5)} == {0}
    steps = np.diff([pingpong(i, 37) for i in range(500)])
    assert set(np.abs(steps)) == {1}


def test_a_frame_rate_the_header_does_not_state_is_counted_from_the_packets():
    from dataclasses import replace

    from generation.pipeline.video_check import check_info

    data = run(["-f", "lavfi", "-i", "color=c=gray:s=64x36:r=1000:d=2", "-c:v", "libx264", "-preset", "ultrafast",
                "-f", "mp4", "pipe:1"][:-1] + ["-movflags", "frag_keyframe+empty_moov", "pipe:1"])
    with ffmpeg.private_file(data) as path:
        info = ffmpeg.probe_path(path, ("mov",), expect=ffmpeg.VIDEO)
        assert info.video.fps == 1000
        silent = replace(info, video=replace(info.video, fps=None))  # as a header that says nothing would
        with pytest.raises(PipelineError) as err:
            check_info(silent, path, 60, 1920)
    assert err.value.code == VIDEO_FRAME_RATE and err.value.params["limit"] == 60
    assert 900 <= err.value.params["fps"] <= 1100  # 2000 packets in about 2 s
