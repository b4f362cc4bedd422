"""Which lip-sync engine the worker loads: LIPSYNC_ENGINE, checkpoints in weights/, broken files."""
from __future__ import annotations

import logging

import pytest

from generation.pipeline.lipsync.wav2lip_model import random_wav2lip, save_as_official
from generation.pipeline.runner import PipelineConfig, build_engines
from generation.pipeline.types import PipelineError


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory) -> bytes:
    """A random-weight checkpoint in the official layout (module. prefix, optimizer state)."""
    path = tmp_path_factory.mktemp("ckpt") / "wav2lip.pth"
    save_as_official(random_wav2lip(seed=3), path)
    return path.read_bytes()


def engines(weights_dir, setting="auto"):
    return build_engines(PipelineConfig(lipsync_engine=setting, weights_dir=weights_dir, torch_threads=2))


def test_auto_without_checkpoint_is_viseme(tmp_path):
    loaded, default = engines(tmp_path)
    assert default == "viseme" and list(loaded) == ["viseme"]


@pytest.mark.parametrize("name", ["wav2lip.pth", "wav2lip_gan.pth"])
def test_auto_with_checkpoint_is_wav2lip(tmp_path, checkpoint_bytes, name):
    (tmp_path / name).write_bytes(checkpoint_bytes)
    loaded, default = engines(tmp_path)
    assert default == "wav2lip" and set(loaded) == {"viseme", "wav2lip"}
    assert loaded["wav2lip"].checkpoint.name == name


def test_viseme_setting_ignores_a_checkpoint(tmp_path, checkpoint_bytes):
    (tmp_path / "wav2lip.pth").write_bytes(checkpoint_bytes)
    loaded, default = engines(tmp_path, "viseme")
    assert default == "viseme" and list(loaded) == ["viseme"]


def test_wav2lip_setting_without_checkpoint_warns_and_uses_viseme(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        loaded, default = engines(tmp_path, "wav2lip")
    assert default == "viseme" and list(loaded) == ["viseme"]
    assert "no checkpoint" in caplog.text


def test_broken_checkpoint_falls_back_to_viseme_with_a_warning(tmp_path, checkpoint_bytes, caplog):
    (tmp_path / "wav2lip_gan.pth").write_bytes(checkpoint_bytes[: len(checkpoint_bytes) // 3])  # cut download
    with caplog.at_level(logging.WARNING):
        loaded, default = engines(tmp_path)
    assert default == "viseme" and list(loaded) == ["viseme"]
    assert "wav2lip_gan.pth" in caplog.text and "falling back to viseme" in caplog.text


def test_unknown_setting_is_refused(tmp_path):
    with pytest.raises(PipelineError, match="auto, viseme or wav2lip"):
        engines(tmp_path, "sadtalker")
