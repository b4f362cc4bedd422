"""Preparation streams: what a long clip costs in memory is what a short one costs (bench/prepare_clip.py
reports the process's peak RSS for a 60 s 1080p clip)."""
import tracemalloc

import numpy as np
import pytest

from generation.pipeline.clip import inspect_video, prepare_clip
from generation.pipeline.faces import FaceAnalyzer
from tests import media

SIZE = (640, 360)  # a frame is 0.7 MB: holding a minute of them would be 1 GB
FRAME_BYTES = SIZE[0] * SIZE[1] * 3


def peak_python_memory(seconds: float, analyzer, tmp_path) -> tuple[int, int]:
    """Peak bytes allocated through Python (numpy and OpenCV arrays included) while preparing a clip,
    and the bytes of its mouth bank's crops (which grow with the clip by design, a few kB a frame)."""
    made = media.moving_face(seconds, size=SIZE, width=0.3, seed=9)
    demuxer = inspect_video(made.data).demuxer
    tracemalloc.start()
    try:
        result = prepare_clip(made.data, demuxer, tmp_path / f"{seconds:g}", analyzer)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.frame_count == round(seconds * 25)
    with np.load(result.data_path) as arrays:
        return peak, int(arrays["bank_jpeg"].nbytes)


@pytest.mark.slow
def test_memory_does_not_grow_with_the_clip(tmp_path):
    analyzer = FaceAnalyzer()
    short, _ = peak_python_memory(8.0, analyzer, tmp_path)
    long, bank = peak_python_memory(60.0, analyzer, tmp_path)
    # 52 s more of frames would be 1300 frames (0.9 GB); per-frame arrays are ~1 KB a frame, and the
    # mouth bank's crops a small share of a frame (held, and compressed on their way to the .npz)
    assert bank < 1500 * FRAME_BYTES / 50
    assert long < short + 5 * FRAME_BYTES + 3 * bank  # numpy copies an array once to compress it
    assert long < 40 * FRAME_BYTES + 3 * bank
