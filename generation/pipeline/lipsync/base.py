"""The lip-sync engine contract: per-avatar `prepare` once, then `render` frames per request."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Iterator

import numpy as np

from ..types import FPS, Audio, Face


class LipSyncEngine(ABC):
    """Turns one still photo plus 16 kHz audio into full RGB frames, one per 1/fps seconds."""

    name: str = ""

    @abstractmethod
    def prepare(self, image: np.ndarray, face: Face) -> Any:
        """Per-avatar work on an RGB uint8 (H, W, 3) image; the caller caches the result."""

    @abstractmethod
    def render(self, state: Any, audio: Audio, fps: int = FPS, seed: int = 0) -> Iterator[np.ndarray]:
        """Yield exactly `types.frame_count(len(audio.samples), fps)` RGB uint8 frames of the image's size."""
