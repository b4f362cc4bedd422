"""Clips for the mouth bank: a real face that talks, one whose mouth stays closed, cuts and a second face, CG.

The talking face is the demo avatar's photo (a real face) speaking espeak speech through the photo
engine (tests/media.talking's way), then moved along a smooth path over a backdrop as a sprite, so
its mouth opens and closes as speech does while the head moves. The closed clip is the same photo
moving with its mouth at rest; the cut clip is the talker, a cut, then another face with a second,
larger face beside it; the CG-like one is the talker posterised into flat colours with dark
outlines (a rendered character).
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

from tests import media

SIZE = (640, 360)
TEXTS = {
    "en": "Hello, my name is Eileen. Maybe we can meet by the pond, I bring a map and some bread.",
    "ru": "Привет, меня зовут Эйлин. Мы можем встретиться у моста, я принесу папку и бумагу.",
    "kk": "Сәлем, менің атым Эйлин. Біз бүгін мектепте кездесеміз, мен кітап әкелемін.",
}


@functools.lru_cache(maxsize=None)
def talking_frames(language: str = "en") -> tuple[np.ndarray, ...]:
    """The demo avatar's head speaking TEXTS[language], one RGB frame per 1/25 s."""
    from generation.pipeline.audio import prepare
    from generation.pipeline.lipsync.viseme import VisemeEngine
    from generation.pipeline.tts.espeak import EspeakBackend

    sprite = media.astronaut()
    engine = VisemeEngine()
    state = engine.prepare(sprite.rgb, media._analyzer().analyze(sprite.rgb))
    audio = prepare(EspeakBackend().synthesize(TEXTS[language], language))
    return tuple(engine.render(state, audio, media.FPS))


def moving(frames, size=SIZE, seed: int = 2, width: float = 0.34, style=None) -> np.ndarray:
    """Each head frame composited at its place on a smoothly moving path; (n, h, w, 3)."""
    sprite = media.astronaut()
    actor = media.Actor(sprite, width=width, seed=seed, sway=0.04, roll=4.0, zoom=0.05)
    base = media.background(*size, seed).astype(np.float32)
    out = []
    for k, head in enumerate(frames):
        m = actor.matrix(k / media.FPS, *size)
        layer = cv2.warpAffine(head, m, size, flags=cv2.INTER_LINEAR).astype(np.float32)
        alpha = cv2.warpAffine(sprite.alpha, m, size, flags=cv2.INTER_LINEAR)[..., None]
        frame = np.clip(base * (1 - alpha) + layer * alpha + 0.5, 0, 255).astype(np.uint8)
        out.append(style(frame) if style else frame)
    return np.array(out)


def cg(frame: np.ndarray) -> np.ndarray:
    """A frame made to look rendered: smoothed flat colours in few levels, dark edges."""
    flat = cv2.bilateralFilter(frame, 7, 60, 7)
    flat = (flat // 24) * 24 + 12
    edges = cv2.Canny(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), 60, 140)
    flat[cv2.dilate(edges, np.ones((2, 2), np.uint8)) > 0] = (30, 24, 28)
    return flat


def encoded(frames) -> media.Clip:
    """Frames through the real ffmpeg (H.264 in MP4)."""
    size = (frames[0].shape[1], frames[0].shape[0])
    data = media.encode(iter(frames), size)
    return media.Clip(data, size, media.FPS, np.full((len(frames), 68, 2), np.nan, np.float32), len(frames))


def talking(language: str = "en", size=SIZE) -> media.Clip:
    """The real face speaking, moving."""
    return encoded(moving(talking_frames(language), size))


@functools.lru_cache(maxsize=None)
def closed_head() -> np.ndarray:
    """The demo avatar's head with its lips closed (the photo smiles with parted lips)."""
    from generation.pipeline.lipsync.viseme import VisemeEngine

    sprite = media.astronaut()
    engine = VisemeEngine()
    return engine.draw(engine.prepare(sprite.rgb, media._analyzer().analyze(sprite.rgb)), np.zeros(3))


def closed(seconds: float = 3.0, size=SIZE) -> media.Clip:
    """The real face moving with its mouth closed throughout."""
    return encoded(moving([closed_head()] * round(seconds * media.FPS), size))


def cut_and_second_face(language: str = "en", size=SIZE) -> media.Clip:
    """The talker, then a cut to another shot where a second, larger face stands beside a small one."""
    first = moving(talking_frames(language), size)
    rest = [frame for frame, _ in media.render([media.Scene(1.2, [media.Actor(media.lfw(5), (0.3, 0.5), 0.2, seed=4),
                                                                     media.Actor(media.lfw(8), (0.7, 0.48), 0.34, seed=5)],
                                                             background=6)], size)]
    return encoded(np.concatenate([first, np.array(rest)]))


def cg_talking(language: str = "en", size=SIZE) -> media.Clip:
    """The talker in flat, outlined colours."""
    return encoded(moving(talking_frames(language), size, style=cg))
