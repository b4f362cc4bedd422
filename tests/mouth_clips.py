"""Clips for the mouth bank: a real face that talks, one whose mouth stays closed, cuts and a second face, CG.

The talking face is the demo avatar's photo (a real face) speaking espeak speech through the photo
engine (tests/media.talking's way), then moved along a smooth path over a backdrop as a sprite, so
its mouth opens and closes as speech does while the head moves. The closed clip is the same photo
moving with its mouth at rest; the cut clip is the talker, a cut, then another face with a second,
larger face beside it; the CG-like one is the talker smoothed into flat, saturated colours (a
rendered character).

Their speech is made by a fresh process (fresh_speech): espeak-ng carries its wave generator's
state from one synthesis to the next, so speech made in this process would depend on what was said
before, and so would every clip, bank and figure made from it (a bench run of one language read
different figures from a run of all three).
"""
from __future__ import annotations

import functools
import pickle
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from tests import media

SIZE = (640, 360)
DARK = 70  # luma of a mouth's dark inside (lips and skin are lighter)
BLOB_SHARE = 0.004  # ... in a blob of at least this share of the lower face
TEXTS = {
    "en": "Hello, my name is Eileen. Maybe we can meet by the pond, I bring a map and some bread.",
    "ru": "Привет, меня зовут Эйлин. Мы можем встретиться у моста, я принесу папку и бумагу.",
    "kk": "Сәлем, менің атым Эйлин. Біз бүгін мектепте кездесеміз, мен кітап әкелемін.",
}


ROOT = Path(__file__).resolve().parents[1]
_SPEAK = ("import pickle, sys; from generation.pipeline.tts.espeak import EspeakBackend; "
          "sys.stdout.buffer.write(pickle.dumps(EspeakBackend().synthesize(sys.argv[1], sys.argv[2])))")


def fresh_speech(text: str, language: str):
    """espeak's Speech of `text` as a new process makes it: the same every time, whatever was said before."""
    done = subprocess.run([sys.executable, "-c", _SPEAK, text, language], cwd=ROOT, capture_output=True,
                          check=True, timeout=120)
    return pickle.loads(done.stdout)


@functools.lru_cache(maxsize=None)
def talking_frames(language: str = "en") -> tuple[np.ndarray, ...]:
    """The demo avatar's head speaking TEXTS[language], one RGB frame per 1/25 s."""
    from generation.pipeline.audio import prepare
    from generation.pipeline.lipsync.viseme import VisemeEngine

    sprite = media.astronaut()
    engine = VisemeEngine()
    state = engine.prepare(sprite.rgb, media._analyzer().analyze(sprite.rgb))
    audio = prepare(fresh_speech(TEXTS[language], language))
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
    """A frame made to look rendered: skin smoothed flat (no pores), colours in few levels, more saturated."""
    flat = cv2.bilateralFilter(cv2.bilateralFilter(frame, 9, 40, 9), 9, 40, 9)
    flat = ((flat.astype(np.int32) // 12) * 12 + 6).astype(np.uint8)
    hsv = cv2.cvtColor(flat, cv2.COLOR_RGB2HSV)
    hsv[..., 1] = np.clip(hsv[..., 1].astype(np.int32) * 13 // 10, 0, 255).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


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


# ---- measuring mouths ----

def dark_blobs(frame: np.ndarray, lm: np.ndarray) -> int:
    """Dark regions in the lower face (below the nose, inside the jaw): more than one is two mouths."""
    mw = float(np.linalg.norm(lm[54] - lm[48]))
    top = (lm[33] + lm[51]) / 2  # half way from the nose to the lip: no nostril counts
    poly = np.vstack([lm[3:14], top + (lm[35] - lm[33]), top, top + (lm[31] - lm[33])])
    mask = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
    luma = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    dark = ((luma < DARK) & (mask > 0)).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    big = stats[1:][stats[1:, cv2.CC_STAT_AREA] >= BLOB_SHARE * mask.sum()]
    # one mouth split by its teeth (dark corners left and right) is still one; a second opening
    # under (or over) it is a dark blob in the same columns with skin rows in between
    x0, w = big[:, cv2.CC_STAT_LEFT], big[:, cv2.CC_STAT_WIDTH]
    y0, h = big[:, cv2.CC_STAT_TOP], big[:, cv2.CC_STAT_HEIGHT]
    for a in range(len(big)):
        for b in range(len(big)):
            columns = min(x0[a] + w[a], x0[b] + w[b]) - max(x0[a], x0[b])
            if a != b and columns > 0 and y0[b] >= y0[a] + h[a] + 1:
                return 2
    return min(len(big), 1)


# ---- a real face filmed by a hand-held camera ----

REAL_PHOTO = "obama.jpg"  # tests/data/faces: a real frontal portrait (its own toothy smile)
REAL_SIZE = (1280, 720)
REAL_FACE_SHARE = 1.05  # the portrait's height over the frame's: a face ~0.25 of the frame's width
REAL_TEXT = ("Hello everyone, thank you for coming today. We have a lot of work in front of us, and I am "
             "proud of what we built together. Maybe by the spring we can open the new bridge.")
DRIFT_PX, JITTER_PX, DRIFT_ZOOM, DRIFT_ROLL = 14.0, 0.8, 0.02, 0.6  # the camera: slow drift, shake, zoom, roll
NOISE_SIGMA = 2.5  # sensor noise, grey levels


def real_photo() -> np.ndarray:
    """The real portrait (RGB)."""
    from pathlib import Path

    bgr = cv2.imread(str(Path(__file__).parent / "data" / "faces" / REAL_PHOTO), cv2.IMREAD_COLOR)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@functools.lru_cache(maxsize=None)
def real_talking_heads(seconds: float = 10.0, seed: int = 1) -> tuple[np.ndarray, ...]:
    """The portrait speaking REAL_TEXT through the photo engine with its own head motion ("subtle")."""
    from generation.pipeline.audio import prepare
    from generation.pipeline.lipsync.viseme import VisemeEngine
    from generation.pipeline.runner import moving_photo
    from generation.pipeline.types import SAMPLE_RATE, Audio

    photo = real_photo()
    face = media._analyzer().analyze(photo)
    engine = VisemeEngine()
    state = engine.prepare(photo, face)
    spoken = prepare(fresh_speech(REAL_TEXT, "en"))
    n = int(seconds * SAMPLE_RATE)  # speech, then a pause, as someone filmed talking
    audio = Audio(np.concatenate([spoken.samples, np.zeros(max(0, n - len(spoken.samples)), np.float32)])[:n],
                  phonemes=spoken.phonemes)
    return tuple(engine.render(state, audio, media.FPS, motion=moving_photo(photo, face, audio, "subtle", seed,
                                                                             media.FPS)))


def filmed(heads, size=REAL_SIZE, seed: int = 4) -> np.ndarray:
    """Each head frame as a hand-held camera films it: over a blurred backdrop of itself, drifting,
    shaking a little, zooming and rolling slowly, with sensor noise; (n, h, w, 3)."""
    rng = np.random.default_rng(seed)
    w, h = size
    ph, pw = heads[0].shape[:2]
    scale = REAL_FACE_SHARE * h / ph
    shake = np.cumsum(rng.normal(0, JITTER_PX, (len(heads), 2)), axis=0)
    shake -= np.linspace(0, 1, len(heads))[:, None] * shake[-1]  # a random walk that comes back
    f = rng.uniform(0.05, 0.2, 4)
    feather = cv2.GaussianBlur(np.pad(np.ones((ph - 40, pw - 40), np.float32), 20), (0, 0), 8)[..., None]
    edge = max(8, pw // 10)  # the room beside the sitter (curtains, window), out of focus: no second face
    room = np.hstack([cv2.resize(heads[0][:, :edge], (w // 2, h)), cv2.resize(heads[0][:, -edge:], (w - w // 2, h))])
    room = cv2.GaussianBlur(room, (0, 0), 12).astype(np.float32)
    out = []
    for k, head in enumerate(heads):
        t = k / media.FPS
        backdrop = room
        zoom = scale * (1 + DRIFT_ZOOM * np.sin(2 * np.pi * f[2] * t))
        m = cv2.getRotationMatrix2D((pw / 2, ph / 2), DRIFT_ROLL * np.sin(2 * np.pi * f[3] * t), zoom)
        m[:, 2] += (w / 2 - pw / 2 + DRIFT_PX * np.sin(2 * np.pi * f[0] * t) + shake[k, 0],
                    h * 0.55 - ph / 2 + 0.6 * DRIFT_PX * np.sin(2 * np.pi * f[1] * t) + shake[k, 1])
        layer = cv2.warpAffine(head, m, size, flags=cv2.INTER_LINEAR).astype(np.float32)
        alpha = cv2.warpAffine(feather, m, size, flags=cv2.INTER_LINEAR)[..., None]
        frame = backdrop * (1 - alpha) + layer * alpha
        frame += rng.normal(0, NOISE_SIGMA, frame.shape).astype(np.float32)
        out.append(np.clip(frame + 0.5, 0, 255).astype(np.uint8))
    return np.array(out)


def real_talking(seconds: float = 10.0, size=REAL_SIZE) -> media.Clip:
    """A real face talking naturally, filmed hand-held at 720p (H.264)."""
    return encoded(filmed(real_talking_heads(seconds), size))
