"""Wav2Lip lip-sync from the official checkpoints (weights/wav2lip_gan.pth or weights/wav2lip.pth).

Pre-processing is the official inference script's (docs/architecture.md §6): face box padded (top 0, bottom 10,
left 0, right 0) and clamped, crop resized to 96x96 BGR / 255, 6 channels = crop with its lower half
zeroed + crop, mel windows of 16 columns at int(i * 80 / fps). What differs is speed and paste-back:
  * the face input is the same for every frame of a still photo, so the face encoder runs once per
    avatar (`prepare`) and only the audio-dependent part runs per frame (see `StillFaceDecoder`);
  * the generated face is blended into the photo through a feathered lower-face mask instead of
    pasting the whole 96x96 box, so no box edge shows and eyes, brows and forehead stay the photo's.
A clip (video avatar) plays in its loop order (loop.py): each clip frame gets its crop from the clip's tracked,
smoothed box (padded as above; no detector runs per frame, the tracking did that work ahead), its
face terms from the encoder run in batches over the frames a decoder batch needs, kept in a bounded
LRU keyed by clip frame (each pass of the loop comes back to the same frames), and its own
lower-face mask from its landmarks.
Torch is imported here: only the worker process imports this module.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import torch

from ..clip import ClipReader
from ..landmarks import LOWER_JAW, NOSE_BASE_RIGHT_TO_LEFT, NUM_LANDMARKS
from ..mel import MEL_STEP, N_MELS, mel_chunks, melspectrogram
from ..types import (AVATAR_UNREADABLE, CHECKPOINT_INVALID, ENGINE_UNAVAILABLE, FACE_TOO_SMALL, FPS, Audio, Face,
                     PipelineError, frame_count)
from .base import LipSyncEngine
from . import wav2lip_precision
from .frames import LRU, clip_indices
from .wav2lip_model import FACE_SIZE, FaceEncoder, StillFaceDecoder, Wav2Lip

log = logging.getLogger(__name__)

# hyper-parameters
PADS = (0, 10, 0, 0)  # top, bottom, left, right: the official inference defaults
# The generator only has to invent the lower half (its input masks rows 48+); rows above it copy the
# reference face. They never reach the frame (the mask is 0 there), so they are not computed at all.
FIRST_ROW = 48
BATCH_SIZE = 8  # frames per forward: larger batches fall out of the 2-core machine's caches
MASK_MARGIN = 0.06  # lower-face polygon grown by this fraction of the crop width (moving jaw)
FEATHER = 0.10  # width of the mask's fade from its border inwards, fraction of the crop width
# bf16: ~3x faster with AMX, ~2x with avx512_bf16, 13x slower without either; "auto" chooses (wav2lip_precision)
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16}
S3FD_WEIGHTS = "s3fd-619a316812.pth"  # face-alignment's S3FD detector, the one the official code uses
# Clip frames whose face terms (3.3 MB each in fp32) stay cached, for all clips together: the loop
# plays forward, so this keeps a clip's frames over a batch boundary (all of a clip of up to 32
# frames) for ~100 MB; caching a whole minute would take 5 GB.
CLIP_CACHE_FRAMES = 32


def set_torch_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads to `threads`, or to every core this process may run on (docs/architecture.md §10)."""
    count = int(threads) if threads else len(os.sched_getaffinity(0))
    torch.set_num_threads(count)
    return count


class CheckpointError(PipelineError):
    """A Wav2Lip checkpoint that cannot be used; the message names the file and the tensor."""

    code = CHECKPOINT_INVALID


def _read_checkpoint(path: Path) -> object:
    """torch.load without running pickled code (weights_only), or a CheckpointError saying why not."""
    with open(path, "rb") as fh:
        head = fh.read(64).lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<?xml", b"{")):
        raise CheckpointError(f"Wav2Lip checkpoint {path.name!r} is a web page or text, not a PyTorch file "
                              "(download the file itself, not the page that links to it).")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"Wav2Lip checkpoint {path.name!r} cannot be read ({first[:300]}); "
                              "the download may be incomplete.") from exc


def load_checkpoint(path) -> Wav2Lip:
    """An eval-mode `Wav2Lip` from an official checkpoint (`module.` prefix and optimizer state allowed)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Wav2Lip checkpoint {str(path)!r} does not exist.")
    ckpt = _read_checkpoint(path)
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not state:
        raise CheckpointError(f"Wav2Lip checkpoint {path.name!r} holds no state_dict.")
    state = {(k[len("module."):] if isinstance(k, str) and k.startswith("module.") else k): v
             for k, v in state.items()}
    del ckpt  # the optimizer state, often two thirds of the file, goes now
    with torch.device("meta"):  # shapes only: the checkpoint's tensors become the parameters
        model = Wav2Lip()
    expected = model.state_dict()
    for name, ref in expected.items():  # manifest order: the first bad tensor is the one reported
        got = state.get(name)
        if got is None:
            raise CheckpointError(f"Wav2Lip checkpoint {path.name!r} lacks tensor {name!r}: not a Wav2Lip generator?")
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(ref.shape):
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise CheckpointError(f"Wav2Lip checkpoint {path.name!r}: tensor {name!r} has shape {shape}, "
                                  f"expected {tuple(ref.shape)}.")
        if got.is_floating_point():
            if not bool(torch.isfinite(got).all()):
                raise CheckpointError(f"Wav2Lip checkpoint {path.name!r}: tensor {name!r} holds NaN or infinite values.")
            state[name] = got.float()  # a no-op for the official float32 files
    extra = [k for k in state if k not in expected]
    if extra:
        raise CheckpointError(f"Wav2Lip checkpoint {path.name!r} has unexpected tensor {extra[0]!r} "
                              f"({len(extra)} in all): not the Wav2Lip generator?")
    model.load_state_dict(state, strict=True, assign=True)
    return model.eval()


@dataclass
class Wav2LipState:
    """Per-avatar: the photo, the crop box, the cached face terms and the feathered paste mask."""

    image: np.ndarray  # RGB uint8
    box: tuple[int, int, int, int]  # padded crop (x1, y1, x2, y2) in image pixels
    face96: np.ndarray  # (96, 96, 3) BGR float32 in [0, 1]: fills generator rows never computed
    terms: list  # torch tensors from StillFaceDecoder.face_terms
    mask: np.ndarray  # (h, w, 1) float32 over the mask's bounding box
    mask_box: tuple[int, int, int, int]  # that bounding box (x1, y1, x2, y2) inside the crop


@dataclass
class Wav2LipClipState:
    """A video avatar: its prepared clip, and a key naming its frames in the engine's face-terms cache."""

    reader: ClipReader
    key: int

    def close(self) -> None:
        self.reader.close()


@dataclass
class ClipFace:
    """What one clip frame needs besides its pixels: crop box, face terms, paste mask (the photo's fields)."""

    box: tuple[int, int, int, int]
    face96: np.ndarray
    terms: list  # torch tensors, batch 1
    mask: np.ndarray
    mask_box: tuple[int, int, int, int]


def padded_box(box, width: int, height: int, pads=PADS) -> tuple[int, int, int, int]:
    """(x1, y1, x2, y2) of the official crop: box (left, top, right, bottom) grown by pads, clamped."""
    left, top, right, bottom = box
    pad_top, pad_bottom, pad_left, pad_right = pads
    x1, y1 = max(0, int(left) - pad_left), max(0, int(top) - pad_top)
    x2, y2 = min(width, int(right) + pad_right), min(height, int(bottom) + pad_bottom)
    if x2 - x1 < 8 or y2 - y1 < 8:
        raise PipelineError(f"The face box {tuple(box)} is too small for Wav2Lip.", FACE_TOO_SMALL)
    return x1, y1, x2, y2


def face_input(crop_bgr96: np.ndarray) -> np.ndarray:
    """(6, 96, 96) float32: the crop with its lower half zeroed, then the crop, both / 255."""
    face = crop_bgr96.astype(np.float32) / 255.0
    masked = face.copy()
    masked[FACE_SIZE // 2:] = 0
    return np.concatenate([masked, face], axis=2).transpose(2, 0, 1).copy()


def lower_face_mask(landmarks: np.ndarray, box, first_row: int = FIRST_ROW) -> np.ndarray:
    """(h, w) float32 in [0, 1] over the crop: jaw and mouth below the nostrils, fading to 0 at every edge.

    The region is the polygon along the lower jaw (left to right) and back along the nose base
    (right to left). Its fade runs inwards from the border (distance transform + smoothstep), so the
    mask is exactly 0 on the crop's border, above the nostrils and above the generator rows computed.
    """
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    lm = np.asarray(landmarks, dtype=np.float64) - (x1, y1)
    jaw, nose = lm[LOWER_JAW], lm[NOSE_BASE_RIGHT_TO_LEFT]
    centre = np.vstack([jaw, nose]).mean(axis=0)
    jaw = centre + (jaw - centre) * (1.0 + MASK_MARGIN * w / max(1.0, np.linalg.norm(jaw - centre, axis=1).mean()))
    region = np.zeros((h, w), np.uint8)
    cv2.fillPoly(region, [np.round(np.vstack([jaw, nose])).astype(np.int32)], 1)
    # rows whose bilinear resize would read generator rows above first_row, and the upper face
    top = max(int(np.ceil((first_row + 1) * h / FACE_SIZE)), int(np.ceil(nose[:, 1].min())))
    region[:top] = 0
    region[[0, -1]] = 0
    region[:, [0, -1]] = 0
    ramp = cv2.distanceTransform(region, cv2.DIST_L2, 5) / max(1.0, FEATHER * w)
    ramp = np.clip(ramp, 0.0, 1.0)
    return (ramp * ramp * (3.0 - 2.0 * ramp)).astype(np.float32)  # smoothstep: no visible ramp ends


def paste_mask(landmarks: np.ndarray, box) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The lower-face mask cut to where it is non-zero, (h, w, 1), and that box inside the crop."""
    mask = lower_face_mask(landmarks, box)
    ys, xs = np.nonzero(mask > 1e-3)
    if ys.size == 0:
        raise PipelineError("The face is too small or too far off the box for Wav2Lip's mouth region.",
                            FACE_TOO_SMALL)
    mb = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    return mask[mb[1]:mb[3], mb[0]:mb[2], None].copy(), mb


def s3fd_box(image: np.ndarray, weights_dir) -> tuple[int, int, int, int] | None:
    """The official detector's box (face-alignment's S3FD) when its package and weights are there, else None."""
    weights = Path(weights_dir) / S3FD_WEIGHTS if weights_dir else None
    if weights is None or not weights.is_file():
        return None
    try:
        from face_alignment.detection.sfd.sfd_detector import SFDDetector

        detector = SFDDetector(device="cpu", path_to_detector=str(weights))
        boxes = detector.detect_from_image(np.ascontiguousarray(image[..., ::-1]))  # BGR, as cv2 reads
    except Exception as exc:  # optional dependency: the stored dlib box is the fallback
        log.warning("face-alignment S3FD unusable (%s); using the stored face box", exc)
        return None
    if not len(boxes):
        return None
    best = max(boxes, key=lambda b: b[4])
    return tuple(int(round(v)) for v in best[:4])


class Wav2LipEngine(LipSyncEngine):
    """Official Wav2Lip weights, per-avatar cached face encoder, feathered lower-face paste-back."""

    name = "wav2lip"

    def __init__(self, checkpoint, threads: int | None = None, weights_dir=None, batch_size: int = BATCH_SIZE,
                 precision: str = "fp32", cpu_flags=None, tolerance: float = wav2lip_precision.SELF_TEST_TOLERANCE):
        """Load `checkpoint`; `threads` torch threads (0 or None: every core this process may use).

        `precision` fp32 | bf16 | auto (bf16 where the CPU has native bfloat16 and the self-test passes);
        `cpu_flags` stands in for /proc/cpuinfo's flags, `tolerance` for the self-test's limit.
        """
        if precision not in wav2lip_precision.SETTINGS:
            raise PipelineError(f"Wav2Lip precision must be one of {', '.join(wav2lip_precision.SETTINGS)}, "
                                f"not «{precision}».", ENGINE_UNAVAILABLE)
        self.threads = set_torch_threads(threads)
        self.checkpoint = Path(checkpoint)
        self.weights_dir = Path(weights_dir) if weights_dir else self.checkpoint.parent
        self.batch_size = max(1, int(batch_size))
        self._clip_faces = LRU(CLIP_CACHE_FRAMES)  # (state key, clip frame) -> ClipFace
        self._clip_keys = 0
        self._exact_state = None
        self._load("fp32" if precision == "auto" else precision)
        if precision == "auto":
            flags = wav2lip_precision.cpu_flags() if cpu_flags is None else cpu_flags
            started = time.perf_counter()
            choice = wav2lip_precision.choose("auto", flags, self._bf16_error, tolerance)
            if choice.precision != self.precision:  # the self-test left it in bf16: back to the exact weights
                for module, state in zip((self.decoder, self.encoder), self._exact_state):
                    module.load_state_dict(state, assign=True)
                self.precision, self.dtype = choice.precision, PRECISIONS[choice.precision]
            self._exact_state = None  # the set-aside fp32 tensors are in use again, or go now
            log.info("Wav2Lip runs in %s (%s; chosen in %.2f s)", choice.precision, choice.reason,
                     time.perf_counter() - started)
        else:
            choice = wav2lip_precision.choose(precision, None, self._bf16_error)
            log.info("Wav2Lip runs in %s (%s)", choice.precision, choice.reason)
        self.precision_reason = choice.reason

    def _load(self, precision: str) -> None:
        """Read the checkpoint and build encoder and decoder in `precision`."""
        model = load_checkpoint(self.checkpoint)
        decoder = StillFaceDecoder(model, FIRST_ROW).eval()  # folds BatchNorm in place
        self.precision, self.dtype = precision, PRECISIONS[precision]
        # channels-last suits oneDNN's CPU convolutions (~10% here); converted one tensor at a time
        self.decoder = decoder.to(memory_format=torch.channels_last).to(self.dtype)
        self.encoder = FaceEncoder(model).eval().to(memory_format=torch.channels_last).to(self.dtype)

    def _bf16_error(self) -> float:
        """Largest bf16-vs-fp32 output difference on a fixed input; leaves the engine in bf16, fp32 set aside."""
        face6, mels = wav2lip_precision.self_test_inputs(self.batch_size)
        exact = self._decode(self.face_terms(face6), mels)
        # references, not copies: the fp32 tensors outlive the conversion only until the choice is made
        self._exact_state = [self.decoder.state_dict(), self.encoder.state_dict()]
        self.precision, self.dtype = "bf16", torch.bfloat16
        self.decoder.to(self.dtype)
        self.encoder.to(self.dtype)
        fast = self._decode(self.face_terms(face6), mels)
        return float(np.abs(fast - exact).max())

    def warm_up(self) -> None:
        """One batch through the decoder now: oneDNN builds its kernels here, not in the first job."""
        terms = self.face_terms(np.zeros((6, FACE_SIZE, FACE_SIZE), np.float32))
        self._decode(terms, np.zeros((self.batch_size, N_MELS, MEL_STEP), np.float32))

    def face_terms(self, face6: np.ndarray) -> list[torch.Tensor]:
        """The decoder's per-avatar constants for (6, 96, 96) face inputs (or a (B, 6, 96, 96) batch)."""
        faces = torch.from_numpy(np.ascontiguousarray(face6, dtype=np.float32))
        faces = faces[None] if faces.ndim == 3 else faces
        with torch.inference_mode():
            feats = self.encoder(faces.to(self.dtype).contiguous(memory_format=torch.channels_last))
            return [t.contiguous(memory_format=torch.channels_last) for t in self.decoder.face_terms(feats)]

    def prepare(self, image: np.ndarray, face: Face) -> Wav2LipState:
        """Crop, face-encoder features and paste mask of one avatar (the caller caches the result)."""
        image = np.ascontiguousarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise PipelineError(f"Wav2Lip needs an RGB uint8 image, got {image.shape} {image.dtype}.",
                                AVATAR_UNREADABLE)
        h, w = image.shape[:2]
        scale = np.array([w / face.image_size[0], h / face.image_size[1]])
        landmarks = np.asarray(face.landmarks, dtype=np.float64).reshape(NUM_LANDMARKS, 2) * scale
        det = s3fd_box(image, self.weights_dir)
        raw = det if det is not None else tuple(np.round(np.asarray(face.box, float) * np.tile(scale, 2)).astype(int))
        box = padded_box(raw, w, h)
        x1, y1, x2, y2 = box
        crop = cv2.resize(np.ascontiguousarray(image[y1:y2, x1:x2, ::-1]), (FACE_SIZE, FACE_SIZE))
        terms = self.face_terms(face_input(crop))
        mask, mb = paste_mask(landmarks, box)
        return Wav2LipState(image=image, box=box, face96=crop.astype(np.float32) / 255.0, terms=terms,
                            mask=mask, mask_box=mb)

    def prepare_clip(self, reader: ClipReader) -> Wav2LipClipState:
        """Check the clip's boxes suit the crop; per-frame work happens while rendering, cached per frame."""
        if reader.frame_count < 1:
            raise PipelineError("The prepared clip has no frames.", AVATAR_UNREADABLE)
        for k in {0, reader.frame_count // 2, reader.frame_count - 1}:
            paste_mask(reader.landmarks[k], padded_box(reader.face(k).box, reader.width, reader.height))
        self._clip_keys += 1
        return Wav2LipClipState(reader, self._clip_keys)

    def close_state(self, state) -> None:
        """Forget a clip's cached frames and close its frame store."""
        if isinstance(state, Wav2LipClipState):
            self._clip_faces.drop(lambda key: key[0] == state.key)
        super().close_state(state)

    def clip_faces(self, state: Wav2LipClipState, frames: dict[int, np.ndarray]) -> dict[int, ClipFace]:
        """ClipFace of each clip frame given (index -> RGB frame): cached ones reused, the rest encoded as one batch."""
        found = {k: self._clip_faces.get((state.key, k)) for k in frames}
        missing = [k for k, face in found.items() if face is None]
        if missing:
            reader = state.reader
            boxes = [padded_box(reader.face(k).box, reader.width, reader.height) for k in missing]
            crops = [cv2.resize(np.ascontiguousarray(frames[k][y1:y2, x1:x2, ::-1]), (FACE_SIZE, FACE_SIZE))
                     for k, (x1, y1, x2, y2) in zip(missing, boxes)]
            terms = self.face_terms(np.stack([face_input(c) for c in crops]))
            for j, (k, box, crop) in enumerate(zip(missing, boxes, crops)):
                mask, mb = paste_mask(reader.landmarks[k], box)
                found[k] = ClipFace(box, crop.astype(np.float32) / 255.0, [t[j:j + 1] for t in terms], mask, mb)
                self._clip_faces.put((state.key, k), found[k])
        return found

    def generate(self, state: Wav2LipState, mels: np.ndarray) -> np.ndarray:
        """(B, 80, 16) mel windows -> (B, 96 - FIRST_ROW, 96, 3) BGR float32 generator rows."""
        return self._decode(state.terms, mels)

    def _decode(self, terms: list, mels: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            mel = torch.from_numpy(np.ascontiguousarray(mels[:, None], dtype=np.float32))
            out = self.decoder(mel.to(self.dtype).to(memory_format=torch.channels_last), *terms)
        return out.float().permute(0, 2, 3, 1).numpy()

    def paste(self, state: Wav2LipState | ClipFace, rows: np.ndarray, frame: np.ndarray | None = None) -> np.ndarray:
        """One full RGB frame: generator rows resized to the crop and blended through the mask.

        `frame` (a clip frame, changed in place) defaults to a copy of the photo.
        """
        x1, y1, x2, y2 = state.box
        face = state.face96.copy()
        face[FIRST_ROW:] = rows
        big = cv2.resize(face, (x2 - x1, y2 - y1))  # bilinear, as the official paste
        mx1, my1, mx2, my2 = state.mask_box
        gen = big[my1:my2, mx1:mx2, ::-1]  # BGR -> RGB
        frame = state.image.copy() if frame is None else frame
        region = frame[y1 + my1:y1 + my2, x1 + mx1:x1 + mx2]
        blended = region + state.mask * (gen * 255.0 - region)
        region[:] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
        return frame

    def render(self, state, audio: Audio, fps: int = FPS, seed: int = 0, motion=None) -> Iterator[np.ndarray]:
        """Exactly frame_count(len(audio.samples), fps) frames; frame i uses the official mel window i.

        With `motion` the moving photo is rendered like a clip: every frame is cropped where the head
        is and encoded anew, so the mouth is generated on the moved face, not pasted on a still one.
        """
        n_frames = frame_count(len(audio.samples), fps)
        chunks = mel_chunks(melspectrogram(audio.samples), fps, n_frames)
        if motion is not None and not isinstance(state, Wav2LipClipState):
            self._clip_keys += 1
            moving = Wav2LipClipState(motion, self._clip_keys)
            try:
                yield from self._render_clip(moving, chunks, n_frames)
            finally:  # one request's frames: never asked for again
                self._clip_faces.drop(lambda key: key[0] == moving.key)
            return
        if isinstance(state, Wav2LipClipState):
            yield from self._render_clip(state, chunks, n_frames)
            return
        # No producer thread: ffmpeg encodes in its own process while we compute the next batch,
        # and a second thread's malloc arena cost ~50 MB of peak memory for no measurable speed.
        for i in range(0, n_frames, self.batch_size):
            for rows in self.generate(state, chunks[i:i + self.batch_size]):
                yield self.paste(state, rows)

    def _render_clip(self, state: Wav2LipClipState, chunks: np.ndarray, n_frames: int) -> Iterator[np.ndarray]:
        """Clip frames in the clip's loop order, a batch at a time: only that batch's frames are decoded and held."""
        for i in range(0, n_frames, self.batch_size):
            ks = clip_indices(state.reader, i, min(n_frames, i + self.batch_size))
            frames = {k: state.reader.frame(k) for k in dict.fromkeys(ks)}
            faces = self.clip_faces(state, frames)
            terms = [torch.cat([faces[k].terms[level] for k in ks]).contiguous(memory_format=torch.channels_last)
                     for level in range(len(faces[ks[0]].terms))]
            for k, rows in zip(ks, self._decode(terms, chunks[i:i + len(ks)])):
                # a frame shown twice in one batch (a clip of 1-2 frames) must not be pasted twice
                frame = frames.pop(k) if ks.count(k) == 1 else frames[k].copy()
                yield self.paste(faces[k], rows, frame)
