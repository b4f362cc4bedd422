"""Preparation streams: what a long clip costs in memory is what a short one costs (bench/prepare_clip.py
reports the process's peak RSS for a 60 s 1080p clip)."""
import tracemalloc

import pytest

from generation.pipeline.clip import inspect_video, prepare_clip
from generation.pipeline.faces import FaceAnalyzer
from tests import media

SIZE = (640, 360)  # a frame is 0.7 MB: holding a minute of them would be 1 GB
FRAME_BYTES = SIZE[0] * SIZE[1] * 3


def peak_python_memory(seconds: float, analyzer, tmp_path) -> int:
    """Peak bytes allocated through Python (numpy and OpenCV arrays included) while preparing a clip."""
    made = media.moving_face(seconds, size=SIZE, width=0.3, seed=9)
    demuxer = inspect_video(made.data).demuxer
    tracemalloc.start()
    try:
        result = prepare_clip(made.data, demuxer, tmp_path / f"{seconds:g}", analyzer)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.frame_count == round(seconds * 25)
    return peak


@pytest.mark.slow
def test_memory_does_not_grow_with_the_clip(tmp_path):
    analyzer = FaceAnalyzer()
    short = peak_python_memory(8.0, analyzer, tmp_path)
    long = peak_python_memory(60.0, analyzer, tmp_path)
    # 52 s more of frames would be 1300 frames (0.9 GB); per-frame arrays are ~1 KB a frame
    assert long < short + 5 * FRAME_BYTES
    assert long < 40 * FRAME_BYTES
