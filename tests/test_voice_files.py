"""The web's list of Piper voice files: scanned once, rescanned when WEIGHTS_DIR/piper changes (no restart)."""
import os
import time

import pytest

from generation.shared import voices


@pytest.fixture
def weights(settings, tmp_path):
    settings.WEIGHTS_DIR = tmp_path / "weights"
    voices._backend.cache_clear()
    yield settings.WEIGHTS_DIR
    voices._backend.cache_clear()


def age(*paths, seconds: float = 10) -> None:
    """Move the paths' mtimes `seconds` into the past, as if they had been written a while ago."""
    for path in paths:
        then = time.time() - seconds
        os.utime(path, (then, then))


def land(path, data: bytes = b"model") -> None:
    """Put a file in place as fetch_models does: written beside it, then renamed in."""
    part = path.with_name(path.name + ".part")
    part.write_bytes(data)
    os.replace(part, path)


def test_the_scan_is_kept_until_a_watched_folder_changes(weights):
    nested = weights / "piper" / "en" / "medium"
    nested.mkdir(parents=True)
    land(weights / "piper" / "ru_RU-a-medium.onnx")
    age(weights, weights / "piper", weights / "piper" / "en", nested)
    first = voices._voice_files()
    assert first == (("ru_RU-a-medium.onnx", 5),)
    assert voices._voice_files() is first  # not scanned again: the folders' mtimes did not move

    land(nested / "en_US-b-medium.onnx", b"longer model")  # a voice at any depth
    second = voices._voice_files()
    assert second == (("en/medium/en_US-b-medium.onnx", 12), ("ru_RU-a-medium.onnx", 5))
    age(weights / "piper", weights / "piper" / "en", nested)
    assert voices._voice_files() == second  # after a change within the tick it looks once more, then keeps it
    kept = voices._voice_files()
    assert voices._voice_files() is kept

    (weights / "piper" / "ru_RU-a-medium.onnx").unlink()
    assert voices._voice_files() == (("en/medium/en_US-b-medium.onnx", 12),)


def test_a_piper_folder_made_after_the_first_look_is_seen(weights):
    assert voices._voice_files() == ()  # neither WEIGHTS_DIR nor piper/ exists yet
    (weights / "piper").mkdir(parents=True)
    land(weights / "piper" / "kk_KZ-c-high.onnx")
    assert voices._voice_files() == (("kk_KZ-c-high.onnx", 5),)


def test_another_weights_dir_is_scanned_afresh(weights, settings, tmp_path):
    (weights / "piper").mkdir(parents=True)
    land(weights / "piper" / "ru_RU-a-medium.onnx")
    assert voices._voice_files() == (("ru_RU-a-medium.onnx", 5),)
    settings.WEIGHTS_DIR = tmp_path / "other"
    assert voices._voice_files() == ()
