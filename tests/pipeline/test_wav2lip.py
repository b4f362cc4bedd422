"""Wav2Lip engine on random weights of the official shape: loading, exact fast path, frames."""
from __future__ import annotations

import copy
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from generation.pipeline.audio import prepare
from generation.pipeline.faces import FaceAnalyzer
from generation.pipeline.images import demo_avatar_image
from generation.pipeline.lipsync import find_wav2lip_checkpoint
from generation.pipeline.lipsync import wav2lip as W
from generation.pipeline.lipsync.wav2lip_model import StillFaceDecoder, Wav2Lip, random_wav2lip, save_as_official
from generation.pipeline.tts.espeak import EspeakBackend
from generation.pipeline.types import Audio, frame_count

MANIFEST = Path(__file__).resolve().parents[1] / "data" / "wav2lip" / "wav2lip_state_dict_manifest.json"
VISEME_GOLDEN = Path(__file__).resolve().parent / "data" / "viseme_golden.npz"  # holds the demo's landmarks
# sha256 of lower_face_mask for those landmarks and DEMO_BOX, made before the landmark groups moved
DEMO_BOX = (110, 120, 260, 290)
DEMO_MASK_SHA256 = "f4b3aa91c3f469e92f5abd5c2f05bc9f3fafc6237b15dae893e1b7d0492e7a9f"


@pytest.fixture(scope="module")
def model() -> Wav2Lip:
    return random_wav2lip(seed=0)


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory, model) -> Path:
    """A weights/ folder holding an official-format checkpoint: module. prefix, optimizer state."""
    folder = tmp_path_factory.mktemp("weights")
    save_as_official(model, folder / "wav2lip_gan.pth")
    return folder


@pytest.fixture(scope="module")
def engine(weights_dir) -> W.Wav2LipEngine:
    return W.Wav2LipEngine(weights_dir / "wav2lip_gan.pth", threads=2)


@pytest.fixture(scope="module")
def demo(engine):
    image = demo_avatar_image()
    face = FaceAnalyzer().analyze(image)
    return image, face, engine.prepare(image, face)


@pytest.fixture(scope="module")
def speech() -> Audio:
    return prepare(EspeakBackend().synthesize("Hello, how are you?", "en"))


def test_state_dict_matches_official_manifest():
    manifest = json.loads(MANIFEST.read_text())
    with torch.device("meta"):
        state = Wav2Lip().state_dict()
    assert manifest["n_tensors"] == len(state) == 352
    assert list(state) == list(manifest["tensors"])
    assert {k: list(v.shape) for k, v in state.items()} == manifest["tensors"]
    assert sum(v.numel() for v in state.values()) == 36_320_837


def test_official_checkpoint_loads_strictly(weights_dir, model):
    loaded = W.load_checkpoint(weights_dir / "wav2lip_gan.pth")
    assert not loaded.training
    got, want = loaded.state_dict(), model.state_dict()
    assert list(got) == list(want)
    assert all(torch.equal(got[k], want[k]) for k in want)


@pytest.mark.parametrize("layout", ["plain_state_dict", "wrapped_no_prefix"])
def test_checkpoint_without_prefix_or_wrapper(tmp_path, model, layout):
    state = model.state_dict()
    path = tmp_path / "wav2lip.pth"
    torch.save(state if layout == "plain_state_dict" else {"state_dict": state}, path)
    loaded = W.load_checkpoint(path).state_dict()
    name = "output_block.1.weight"
    assert torch.equal(loaded[name], state[name])


def test_find_checkpoint_prefers_gan(tmp_path):
    assert find_wav2lip_checkpoint(tmp_path) is None
    (tmp_path / "wav2lip.pth").write_bytes(b"x")
    assert find_wav2lip_checkpoint(tmp_path).name == "wav2lip.pth"
    (tmp_path / "wav2lip_gan.pth").write_bytes(b"x")
    assert find_wav2lip_checkpoint(tmp_path).name == "wav2lip_gan.pth"


def test_lower_face_mask_unchanged():
    with np.load(VISEME_GOLDEN) as data:
        landmarks = data["demo_landmarks"].astype(np.float64)
    image = demo_avatar_image()
    box = W.padded_box(DEMO_BOX, image.shape[1], image.shape[0])
    mask = W.lower_face_mask(landmarks, box)
    assert mask.shape == (box[3] - box[1], box[2] - box[0]) and mask.dtype == np.float32
    assert hashlib.sha256(mask.tobytes()).hexdigest() == DEMO_MASK_SHA256


def test_torch_threads_given_or_every_core_allowed(engine):
    assert engine.threads == 2  # the engine applies its `threads` (the worker passes TORCH_THREADS)
    before = torch.get_num_threads()
    try:
        assert W.set_torch_threads(1) == torch.get_num_threads() == 1
        assert W.set_torch_threads(0) == torch.get_num_threads() == len(os.sched_getaffinity(0))
    finally:
        torch.set_num_threads(before)


def _small_state(model, n: int) -> dict:
    """The first n tensors of the official state dict (enough to reach the tested error)."""
    return {"module." + k: v for k, v in list(model.state_dict().items())[:n]}


def test_bad_checkpoints_name_file_and_tensor(tmp_path, model):
    cases = {}
    cases["page.pth"] = b"<!DOCTYPE html><html><body>Sign in to download</body></html>"
    cases["truncated.pth"] = None
    for name, payload in cases.items():
        path = tmp_path / name
        if payload is None:
            torch.save({"state_dict": _small_state(model, 20)}, path)
            path.write_bytes(path.read_bytes()[:3000])
        else:
            path.write_bytes(payload)
        with pytest.raises(W.CheckpointError, match=name):
            W.load_checkpoint(path)

    state = _small_state(model, 10)
    bad = "face_encoder_blocks.1.0.conv_block.0.weight"
    state["module." + bad] = torch.zeros(32, 16, 5, 5)
    torch.save({"state_dict": state}, tmp_path / "shape.pth")
    with pytest.raises(W.CheckpointError, match=rf"shape\.pth.*{bad}.*\(32, 16, 5, 5\).*\(32, 16, 3, 3\)"):
        W.load_checkpoint(tmp_path / "shape.pth")

    torch.save({"state_dict": _small_state(model, 5)}, tmp_path / "short.pth")
    missing = list(model.state_dict())[5]
    with pytest.raises(W.CheckpointError, match=rf"short\.pth.*lacks tensor '{missing}'"):
        W.load_checkpoint(tmp_path / "short.pth")

    state = _small_state(model, 3)
    state["module.face_encoder_blocks.0.0.conv_block.0.bias"] = torch.full((16,), float("nan"))
    torch.save({"state_dict": state}, tmp_path / "nan.pth")
    with pytest.raises(W.CheckpointError, match=r"nan\.pth.*face_encoder_blocks\.0\.0\.conv_block\.0\.bias.*NaN"):
        W.load_checkpoint(tmp_path / "nan.pth")

    torch.save({"optimizer": {}}, tmp_path / "empty.pth")
    with pytest.raises(W.CheckpointError, match="empty.pth"):
        W.load_checkpoint(tmp_path / "empty.pth")
    with pytest.raises(W.CheckpointError, match="missing.pth"):
        W.load_checkpoint(tmp_path / "missing.pth")
    assert issubclass(W.CheckpointError, W.PipelineError)


@pytest.mark.parametrize("first_row", [0, 40, 57])
def test_cached_face_path_equals_full_forward(model, first_row):
    torch.manual_seed(1)
    mel = torch.randn(5, 1, 80, 16) * 2
    face = torch.rand(1, 6, 96, 96)
    face[:, :3, 48:] = 0
    with torch.inference_mode():
        want = model(mel, face.expand(5, -1, -1, -1))
        fast_model = copy.deepcopy(model)  # the decoder folds BatchNorm into its model in place
        decoder = StillFaceDecoder(fast_model, first_row)
        got = decoder(mel, *decoder.face_terms(fast_model.encode_face(face)))
    assert got.shape == (5, 3, 96 - first_row, 96)
    # the comparison means something: different audio gives visibly different faces
    assert (want[0] - want[1]).abs().max() > 1e-3
    assert (got - want[:, :, first_row:]).abs().max() < 1e-5


def test_face_input_is_official_six_channels():
    crop = np.zeros((96, 96, 3), np.uint8)
    crop[..., 0] = 255  # blue, in BGR
    crop[10, 20] = (1, 2, 3)
    x = W.face_input(crop)
    assert x.shape == (6, 96, 96) and x.dtype == np.float32
    assert np.all(x[:3, 48:] == 0) and np.all(x[3:, 48:, :] == x[3:, 48:, :])
    np.testing.assert_allclose(x[:3, :48], x[3:, :48])
    np.testing.assert_allclose(x[3:, 10, 20], np.array([1, 2, 3]) / 255.0)
    assert x[3, 60, 60] == 1.0 and x[5, 60, 60] == 0.0


def test_padded_box_official_pads_clamped():
    assert W.padded_box((10, 20, 110, 130), 400, 300) == (10, 20, 110, 140)
    assert W.padded_box((0, 0, 100, 295), 400, 300) == (0, 0, 100, 300)
    with pytest.raises(W.PipelineError):
        W.padded_box((10, 10, 12, 12), 400, 300)


def test_prepare_crops_bgr_from_stored_box(engine, demo):
    image, face, state = demo
    x1, y1, x2, y2 = state.box
    assert (x1, y1, x2) == face.box[:3] and y2 == min(image.shape[0], face.box[3] + 10)
    # face96 holds the crop in BGR order: its mean blue equals the image crop's mean blue
    crop = image[y1:y2, x1:x2].astype(np.float32) / 255.0
    assert abs(state.face96[..., 0].mean() - crop[..., 2].mean()) < 0.01
    assert state.mask.max() <= 1.0 and state.mask.min() >= 0.0


def test_render_frames(engine, demo, speech):
    image, face, state = demo
    frames = list(engine.render(state, speech, fps=25))
    assert len(frames) == frame_count(len(speech.samples), 25)
    assert all(f.shape == image.shape and f.dtype == np.uint8 for f in frames)
    x1, y1, x2, y2 = state.box
    outside = np.ones(image.shape[:2], bool)
    outside[y1:y2, x1:x2] = False
    nose = int(face.landmarks[30, 1])  # eyes, brows and the nose bridge stay the photo's
    for f in frames[::7]:
        assert np.array_equal(f[outside], image[outside])
        assert np.array_equal(f[:nose], image[:nose])
        # feathered: the crop box's own border is untouched, so no box edge can show
        assert np.array_equal(f[y2 - 1, x1:x2], image[y2 - 1, x1:x2])
        assert np.array_equal(f[y1:y2, x1], image[y1:y2, x1]) and np.array_equal(f[y1:y2, x2 - 1], image[y1:y2, x2 - 1])
    mouth = (slice(int(face.landmarks[51, 1]), int(face.landmarks[57, 1]) + 1),
             slice(int(face.landmarks[48, 0]), int(face.landmarks[54, 0]) + 1))
    assert np.abs(frames[len(frames) // 2][mouth].astype(int) - image[mouth]).mean() > 2  # generated mouth
    # frame i is the generator's output for the official mel window i, pasted
    chunks = W.mel_chunks(W.melspectrogram(speech.samples), 25, len(frames))
    # (within one level: oneDNN may pick another kernel for a batch of 1 than for a full batch, after
    # other tests changed torch's thread count, and float sums then round differently)
    alone = engine.paste(state, engine.generate(state, chunks[3:4])[0])
    assert np.abs(frames[3].astype(int) - alone).max() <= 1


def test_render_stops_cleanly_when_abandoned(engine, demo):
    audio = Audio(np.zeros(16000 * 3, np.float32))
    frames = engine.render(demo[2], audio)
    first = [next(frames) for _ in range(2)]
    frames.close()  # an abandoned job (cancel, client gone) stops the generator cleanly
    assert len(first) == 2
    tiny = list(engine.render(demo[2], Audio(np.zeros(100, np.float32))))
    assert len(tiny) == 1


def test_bf16_precision_stays_close_to_fp32(weights_dir, demo, speech):
    image, face, exact = demo
    fast = W.Wav2LipEngine(weights_dir / "wav2lip_gan.pth", threads=2, precision="bf16")
    state = fast.prepare(image, face)
    chunks = W.mel_chunks(W.melspectrogram(speech.samples), 25, 8)
    want = W.Wav2LipEngine(weights_dir / "wav2lip_gan.pth", threads=2).generate(exact, chunks)
    got = fast.generate(state, chunks)
    assert got.dtype == np.float32 and got.shape == want.shape
    assert 0 < np.abs(got - want).max() < 0.02  # really bfloat16, and within a few levels of 255
    with pytest.raises(W.PipelineError, match="fp32, bf16"):
        W.Wav2LipEngine(weights_dir / "wav2lip_gan.pth", precision="fp16")
