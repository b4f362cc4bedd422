"""The lip-sync engine contract: per-avatar `prepare` (photo) or `prepare_clip` (video) once, then `render`."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Iterator

import numpy as np

from ..types import FPS, Audio, Face


class LipSyncEngine(ABC):
    """Turns an avatar (a still photo or a prepared clip) plus 16 kHz audio into full RGB frames, one per 1/fps s."""

    name: str = ""

    @abstractmethod
    def prepare(self, image: np.ndarray, face: Face) -> Any:
        """Per-avatar work on an RGB uint8 (H, W, 3) image; the caller caches the result."""

    @abstractmethod
    def prepare_clip(self, reader) -> Any:
        """Per-avatar work on a prepared clip (a clip.ClipReader, which the state keeps open and owns).

        The caller caches the result and calls `close_state` on it when it is dropped.
        """

    @abstractmethod
    def render(self, state: Any, audio: Audio, fps: int = FPS, seed: int = 0,
               motion=None) -> Iterator[np.ndarray]:
        """Yield exactly `types.frame_count(len(audio.samples), fps)` RGB uint8 frames of the avatar's size.

        For a clip, output frame i is prepared frame clip.ClipReader.order(n)[i] with the mouth drawn for the audio.
        `motion` (a photo's motion_warp.MotionSource, one frame per output frame) moves the head: the
        mouth is drawn on the moved face and the blinks are the motion plan's.
        """

    def close_state(self, state: Any) -> None:
        """Release what a state holds open (a clip's frame store); a photo's state holds nothing."""
        close = getattr(state, "close", None)
        if close is not None:
            close()
