"""Face box + 68 iBUG landmarks from an RGB image (dlib HOG detector + 68-point shape predictor)."""
from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path

import numpy as np

from .landmarks import NUM_LANDMARKS
from .types import AVATAR_UNREADABLE, PIPELINE_FAILED, Face, PipelineError

MODELS_PACKAGE = "face_recognition_models"  # only its data files are used, never its __init__
LANDMARKS_MODEL = "shape_predictor_68_face_landmarks.dat"
MAX_DETECT_SIDE = 1024  # HOG time grows with pixels; bigger photos are detected on a downscaled copy
UPSAMPLE_MAX_SIDE = 800  # retry with dlib's 2x upsampling only below this (small faces in small images)


def models_dir() -> Path:
    """Folder of the face-recognition-models data files, found without importing the package."""
    spec = importlib.util.find_spec(MODELS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise PipelineError(f"The '{MODELS_PACKAGE}' package is not installed (pip install face-recognition-models).",
                            PIPELINE_FAILED)
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "models"
        if candidate.is_dir():
            return candidate
    raise PipelineError(f"No models/ folder in the '{MODELS_PACKAGE}' package.", PIPELINE_FAILED)


def landmarks_model_path() -> Path:
    """Path of dlib's 68-point shape predictor file."""
    path = models_dir() / LANDMARKS_MODEL
    if not path.is_file():
        raise PipelineError(f"Face landmark model missing: {path}", PIPELINE_FAILED)
    return path


def as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Coerce grey, RGBA or float images into the contiguous RGB uint8 dlib wants."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    if image.ndim != 3 or image.shape[2] != 3:
        raise PipelineError(f"Expected an RGB image, got an array of shape {image.shape}.", AVATAR_UNREADABLE)
    if image.dtype != np.uint8:
        if np.issubdtype(image.dtype, np.floating) and image.size and image.max() <= 1.0:
            image = image * 255.0
        image = np.clip(image, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image)


def clamp_box(left: float, top: float, right: float, bottom: float, width: int, height: int) -> tuple[int, int, int, int]:
    """Round a box and clamp it into the image; right/bottom are exclusive (slice bounds)."""
    left = int(min(max(round(left), 0), width - 1))
    top = int(min(max(round(top), 0), height - 1))
    right = int(min(max(round(right), left + 1), width))
    bottom = int(min(max(round(bottom), top + 1), height))
    return left, top, right, bottom


class FaceAnalyzer:
    """dlib HOG face detector + 68-point shape predictor, loaded once per process."""

    name = "dlib"

    def __init__(self, landmarks_path: str | os.PathLike | None = None):
        import dlib  # heavy native module: imported only where faces are analysed

        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(landmarks_path or landmarks_model_path()))
        self._lock = threading.Lock()  # dlib objects are not documented as thread-safe

    def detect(self, image: np.ndarray) -> list[tuple[float, float, float, float]]:
        """All face boxes (left, top, right, bottom) in `image` coordinates, floats, unclamped."""
        h, w = image.shape[:2]
        scale = min(1.0, MAX_DETECT_SIDE / max(h, w))
        small = image
        if scale < 1.0:
            import cv2

            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        with self._lock:
            rects = self._detector(small, 0)
            if len(rects) == 0 and max(small.shape[:2]) <= UPSAMPLE_MAX_SIDE:
                rects = self._detector(small, 1)
        # dlib's right/bottom are inclusive; +1 makes them slice bounds
        return [
            (r.left() / scale, r.top() / scale, (r.right() + 1) / scale, (r.bottom() + 1) / scale)
            for r in rects
        ]

    def landmarks(self, image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        """68 (x, y) points in iBUG order for the face inside `box`, on the full-resolution image."""
        left, top, right, bottom = (int(round(v)) for v in box)
        rect = self._dlib.rectangle(left, top, max(left, right - 1), max(top, bottom - 1))
        with self._lock:
            shape = self._predictor(image, rect)
        points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
        if points.shape != (NUM_LANDMARKS, 2):
            raise PipelineError(f"Landmark model returned {len(points)} points, expected {NUM_LANDMARKS}.",
                                PIPELINE_FAILED)
        return points

    def analyze(self, image: np.ndarray) -> Face | None:
        """The largest face of an RGB image, or None when there is none."""
        image = as_rgb_uint8(image)
        h, w = image.shape[:2]
        if h < 2 or w < 2:
            return None
        return self.largest_face(image, self.detect(image))

    def largest_face(self, image: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> Face | None:
        """The Face of the largest of `boxes` (found by `detect` on this RGB uint8 image), or None."""
        if not boxes:
            return None
        h, w = image.shape[:2]
        best = max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
        points = self.landmarks(image, best)
        return Face(box=clamp_box(*best, w, h), landmarks=points, image_size=(w, h))


_default: FaceAnalyzer | None = None
_default_lock = threading.Lock()


def horizontal_place(box, width: int) -> str:
    """Where a face box sits across the picture: "left", "middle" or "right" (by thirds of the width)."""
    centre = (box[0] + box[2]) / 2 / max(1, width)
    return "left" if centre < 1 / 3 else "right" if centre > 2 / 3 else "middle"


def default_analyzer() -> FaceAnalyzer:
    """The process-wide analyser, built on first use (after any fork, never before)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = FaceAnalyzer()
    return _default


def analyze_face(image: np.ndarray) -> Face | None:
    """The largest face of an RGB image with the process-wide analyser, or None."""
    return default_analyzer().analyze(image)
