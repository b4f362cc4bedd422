"""The HLS copy of an encode (hls.py through video.encode_mp4), with the real ffmpeg binary."""
import subprocess
import time

import numpy as np
import pytest

from generation.pipeline import hls, video
from generation.pipeline.ffmpeg import ffmpeg_exe
from generation.pipeline.types import FPS, frame_count
from tests.pipeline.test_video import moving_frames, tone
from tests.probing import probe

AUDIO_SECONDS = 4.37  # not whole seconds nor whole frames: the last segment is short
WAIT_SECONDS = 20  # for ffmpeg to publish what it was given, on a loaded machine
WATCH_EVERY = 5  # frames between looks at the playlist while the encode runs


class Watching:
    """Frames for the encoder that look at the stream folder before each one is handed over."""

    def __init__(self, frames, folder, fail_at=None):
        self.frames, self.folder, self.fail_at = iter(frames), folder, fail_at
        self.seen: list[list[str]] = []  # the segment names listed at each look
        self.count = 0

    def __iter__(self):
        return self

    def _wait_for_a_segment(self):
        deadline = time.monotonic() + WAIT_SECONDS
        path = self.folder / hls.PLAYLIST
        while time.monotonic() < deadline:
            if path.exists() and hls.parse_playlist(path.read_text()).segments:
                return
            time.sleep(0.02)

    def __next__(self):
        if self.fail_at is not None and self.count == self.fail_at:
            self._wait_for_a_segment()  # an engine slower than ffmpeg: what came before is published
            raise RuntimeError("the engine broke midway")
        if self.count % WATCH_EVERY == 0 and (self.folder / hls.PLAYLIST).exists():
            listed = hls.parse_playlist((self.folder / hls.PLAYLIST).read_text())
            self.seen.append([name for name, _ in listed.segments])
            assert not listed.ended
            for name, _ in listed.segments:  # listed means whole: temp_file renames them into place
                assert (self.folder / name).stat().st_size > 0
        self.count += 1
        return next(self.frames)


@pytest.fixture(scope="module")
def streamed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hls")
    audio = tone(AUDIO_SECONDS)
    watch = Watching(moving_frames(frame_count(len(audio))), tmp / "stream")
    info = video.encode_mp4(watch, audio, tmp / "talk.mp4", stream_dir=tmp / "stream")
    return info, tmp, audio, watch


def test_segments_appear_in_order_while_encoding(streamed):
    _, _, _, watch = streamed
    grown = [names for names in watch.seen if names]
    assert grown, "no segment was listed before the last frame went in"
    for earlier, later in zip(grown, grown[1:]):
        assert later[:len(earlier)] == earlier  # only ever appended to
    final = hls.parse_playlist((streamed[1] / "stream" / hls.PLAYLIST).read_text())
    assert len(grown[-1]) < len(final.segments)
    assert [name for name, _ in final.segments] == [hls.SEGMENT_PATTERN % i for i in range(len(final.segments))]


def test_playlist_ends_and_adds_up_to_the_audio(streamed):
    info, tmp, audio, _ = streamed
    text = (tmp / "stream" / hls.PLAYLIST).read_text()
    listed = hls.parse_playlist(text)
    assert listed.ended and listed.has_init and "#EXT-X-PLAYLIST-TYPE:EVENT" in text
    assert abs(listed.duration - len(audio) / 16000) <= 2 / FPS
    starts = [0.0, *hls.segment_starts(len(audio) / 16000)]
    assert len(listed.segments) == len(starts)  # one segment per planned keyframe
    assert all(seconds <= hls.MAX_SEGMENT_SECONDS + 1 / FPS for _, seconds in listed.segments)
    assert abs(info.duration - listed.duration) <= 2 / FPS


def test_segments_join_into_a_playable_h264_aac_stream(streamed):
    _, tmp, audio, _ = streamed
    folder = tmp / "stream"
    listed = hls.parse_playlist((folder / hls.PLAYLIST).read_text())
    joined = tmp / "joined.mp4"
    joined.write_bytes((folder / hls.INIT).read_bytes() + b"".join((folder / n).read_bytes() for n, _ in listed.segments))
    probed = probe(joined, count_frames=True)
    assert probed["video_codec"] == "h264" and probed["audio_codec"] == "aac"
    assert probed["frames"] == frame_count(len(audio))


def test_every_segment_starts_with_a_keyframe(streamed):
    _, tmp, _, _ = streamed
    folder = tmp / "stream"
    for name, _ in hls.parse_playlist((folder / hls.PLAYLIST).read_text()).segments[:3]:
        piece = tmp / f"k-{name}.mp4"
        piece.write_bytes((folder / hls.INIT).read_bytes() + (folder / name).read_bytes())
        out = subprocess.run([ffmpeg_exe(), "-v", "info", "-i", str(piece), "-map", "0:v:0", "-frames:v", "1",
                              "-vf", "showinfo", "-f", "null", "-"], capture_output=True, text=True)
        assert "iskey:1" in out.stderr, name


def test_mp4_is_as_before(streamed):
    info, tmp, audio, _ = streamed
    probed = probe(tmp / "talk.mp4", count_frames=True)
    assert probed["frames"] == frame_count(len(audio)) and probed["audio_codec"] == "aac"
    head = (tmp / "talk.mp4").read_bytes()[:4096]
    assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat"))


def test_a_run_that_fails_midway_ends_its_playlist(tmp_path):
    audio = tone(4.0)
    folder = tmp_path / "stream"
    watch = Watching(moving_frames(frame_count(len(audio))), folder, fail_at=70)
    with pytest.raises(RuntimeError):
        video.encode_mp4(watch, audio, tmp_path / "talk.mp4", stream_dir=folder)
    assert not (tmp_path / "talk.mp4").exists()
    before = hls.parse_playlist((folder / hls.PLAYLIST).read_text())
    assert not before.ended and before.segments  # 70 frames: at least one whole second was published
    hls.end_playlist(folder)
    after = hls.parse_playlist((folder / hls.PLAYLIST).read_text())
    assert after.ended and after.segments == before.segments


def test_end_playlist_without_any_segment(tmp_path):
    hls.end_playlist(tmp_path)
    listed = hls.parse_playlist((tmp_path / hls.PLAYLIST).read_text())
    assert listed.ended and listed.segments == []


def test_tee_refuses_paths_it_would_misread(tmp_path):
    from generation.pipeline.types import PipelineError

    with pytest.raises(PipelineError):
        hls.tee_output(str(tmp_path / "a.mp4"), str(tmp_path / "we|ird"))


def test_parse_ignores_tags_and_blank_lines():
    text = "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n\n#EXTINF:1.000000,\nseg00000.m4s\n#EXTINF:0.36,\nseg00001.m4s\n"
    listed = hls.parse_playlist(text)
    assert listed.segments == [("seg00000.m4s", 1.0), ("seg00001.m4s", 0.36)] and not listed.ended
    assert np.isclose(listed.duration, 1.36)
