"""Test media made on the spot: video clips of real faces moving along known paths, in real containers.

Faces: the demo avatar (scikit-image's astronaut) and faces from scikit-image's bundled LFW subset
(25x25 greyscale; dlib finds ~95 of the first 100 after an 8x bicubic upscale). Each face is a sprite
with a feathered edge, composited onto a generated background by a similarity transform per frame
(smooth translation, small roll and scale change) with optional blinks, so where its landmarks
should be is known on every frame (`truth`). Clips are encoded by the real ffmpeg binary.
"""
from __future__ import annotations

import functools
import os
import subprocess
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import cv2
import numpy as np

from generation.pipeline.ffmpeg import ffmpeg_exe

FPS = 25
LFW_UPSCALE = 8
LFW_BORDER = 4  # px of the 25x25 face repeated round it before upscaling: dlib wants some margin
FEATHER = 0.08  # of the sprite's size: its edge fades into the background over this much
HEAD_CROP = 2.3  # the astronaut sprite: this many face widths round the face
BLINK_EVERY = 2.4  # seconds between blinks
BLINK_FRAMES = 3
# ffmpeg encoders by short name: fast settings, good enough for tracking
ENCODERS = {
    "h264": ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p"],
    "vp9": ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "2M", "-pix_fmt", "yuv420p"],
    "vp8": ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "2M", "-pix_fmt", "yuv420p"],
    "mpeg4": ["-c:v", "mpeg4", "-q:v", "3", "-pix_fmt", "yuv420p"],
    "hevc": ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-pix_fmt", "yuv420p"],
    "mjpeg": ["-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj420p"],
}


@dataclass
class Sprite:
    """A face picture with a feathered alpha and its 68 landmarks (sprite pixels)."""

    rgb: np.ndarray
    alpha: np.ndarray  # float32 0..1
    landmarks: np.ndarray  # (68, 2) float32
    blink: np.ndarray | None = None  # the same picture with closed eyes

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]


@dataclass
class Actor:
    """A sprite in a scene: where (fractions of the frame), how wide (fraction of frame width), how it moves."""

    sprite: Sprite
    centre: tuple[float, float] = (0.5, 0.5)
    width: float = 0.3
    sway: float = 0.06  # translation amplitude, fraction of frame width
    roll: float = 6.0  # degrees
    zoom: float = 0.08  # relative scale amplitude
    seed: int = 0
    blinks: bool = True
    tempo: float = 1.0  # motion frequencies times this (1: 0.15-0.45 Hz, a calm head)

    def pose(self, t: float, frame_w: int, frame_h: int) -> tuple[float, float, float, float]:
        """(centre x, centre y, angle in degrees, scale) at time t: sums of slow sines, smooth."""
        rng = np.random.default_rng(self.seed)
        f = rng.uniform(0.15, 0.45, 4) * self.tempo
        p = rng.uniform(0, 2 * np.pi, 4)
        x = self.centre[0] * frame_w + self.sway * frame_w * np.sin(2 * np.pi * f[0] * t + p[0])
        y = self.centre[1] * frame_h + 0.5 * self.sway * frame_w * np.sin(2 * np.pi * f[1] * t + p[1])
        angle = self.roll * np.sin(2 * np.pi * f[2] * t + p[2])
        scale = self.width * frame_w / self.sprite.size[0] * (1 + self.zoom * np.sin(2 * np.pi * f[3] * t + p[3]))
        return float(x), float(y), float(angle), float(scale)

    def matrix(self, t: float, frame_w: int, frame_h: int) -> np.ndarray:
        """2x3 affine taking sprite pixels to frame pixels at time t."""
        x, y, angle, scale = self.pose(t, frame_w, frame_h)
        sw, sh = self.sprite.size
        m = cv2.getRotationMatrix2D((sw / 2, sh / 2), angle, scale)
        m[:, 2] += (x - sw / 2, y - sh / 2)
        return m


@dataclass
class Scene:
    """One shot: seconds long, a background seed, actors (the first is the main face; None: faceless)."""

    seconds: float
    actors: Sequence[Actor] = ()
    background: int = 0
    enters: dict[int, float] = field(default_factory=dict)  # actor index -> second it appears at


@dataclass
class Clip:
    data: bytes
    size: tuple[int, int]
    fps: int
    truth: np.ndarray  # (n, 68, 2) where the main face's landmarks are; NaN where it is absent
    frames: int


def _feathered_alpha(h: int, w: int) -> np.ndarray:
    """1 inside, fading to 0 at the edge over FEATHER of the size."""
    edge = max(2, int(FEATHER * min(h, w)))
    alpha = np.zeros((h, w), np.float32)
    alpha[edge:h - edge, edge:w - edge] = 1.0
    k = 2 * edge + 1
    return cv2.GaussianBlur(alpha, (k, k), edge / 2)


def _with_closed_eyes(rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The picture with both eyes painted over in the skin tone just below them: a cheap blink."""
    out = rgb.copy()
    for eye in (range(36, 42), range(42, 48)):
        poly = points[list(eye)]
        centre = poly.mean(axis=0)
        height = max(2.0, float(np.ptp(poly[:, 1])))
        sy, sx = int(centre[1] + 2.2 * height), int(centre[0])
        sy, sx = min(max(sy, 0), rgb.shape[0] - 1), min(max(sx, 0), rgb.shape[1] - 1)
        skin = rgb[max(0, sy - 2):sy + 3, max(0, sx - 2):sx + 3].reshape(-1, 3).mean(axis=0)
        grown = centre + (poly - centre) * (1.35, 1.9)
        cv2.fillPoly(out, [np.round(grown).astype(np.int32)], tuple(float(v) for v in skin), cv2.LINE_AA)
        lid = np.round(np.stack([poly[0], poly[3]])).astype(np.int32)
        cv2.polylines(out, [lid], False, tuple(float(v) * 0.55 for v in skin), 1, cv2.LINE_AA)
    return out


@functools.lru_cache(maxsize=None)
def _analyzer():
    from generation.pipeline.faces import FaceAnalyzer

    return FaceAnalyzer()


def make_sprite(rgb: np.ndarray) -> Sprite:
    """A sprite of a face picture: dlib's landmarks on it (which must be found) and a blink variant."""
    rgb = np.ascontiguousarray(rgb)
    face = _analyzer().analyze(rgb)
    if face is None:
        raise ValueError("no face on the sprite picture")
    points = np.asarray(face.landmarks, np.float32)
    return Sprite(rgb, _feathered_alpha(*rgb.shape[:2]), points, _with_closed_eyes(rgb, points))


@functools.lru_cache(maxsize=None)
def astronaut() -> Sprite:
    """The demo avatar's head and shoulders, cropped round the face."""
    from generation.pipeline.images import demo_avatar_image

    image = demo_avatar_image()
    face = _analyzer().analyze(image)
    left, top, right, bottom = face.box
    side = HEAD_CROP * (right - left)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side * 0.45))
    crop = image[y0:int(min(image.shape[0], y0 + side * 1.05)), x0:int(min(image.shape[1], x0 + side))]
    return make_sprite(crop)


def lfw_faces() -> np.ndarray:
    """The 100 faces (25x25 float greyscale) of scikit-image's bundled LFW subset."""
    import skimage

    return np.load(os.path.join(os.path.dirname(skimage.__file__), "data", "lfw_subset.npy"))[:100]


@functools.lru_cache(maxsize=None)
def lfw(index: int, tint: tuple[float, float, float] = (1.0, 0.88, 0.78)) -> Sprite:
    """LFW face `index`, upscaled 8x with a border and tinted to a skin tone."""
    grey = np.pad((lfw_faces()[index] * 255).astype(np.uint8), LFW_BORDER, mode="edge")
    big = cv2.resize(grey, None, fx=LFW_UPSCALE, fy=LFW_UPSCALE, interpolation=cv2.INTER_CUBIC).astype(np.float32)
    rgb = np.clip(np.stack([big * c for c in tint], axis=-1), 0, 255).astype(np.uint8)
    return make_sprite(rgb)


def background(width: int, height: int, seed: int) -> np.ndarray:
    """A calm random backdrop: a colour gradient with soft blotches (no faces, nothing face-like)."""
    rng = np.random.default_rng(1000 + seed)
    c0, c1 = rng.uniform(40, 215, 3), rng.uniform(40, 215, 3)
    ramp = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    image = c0 + (c1 - c0) * ramp * np.ones((height, 1, 1), np.float32)
    blotches = cv2.resize(rng.normal(0, 25, (6, 10)).astype(np.float32), (width, height),
                          interpolation=cv2.INTER_CUBIC)
    return np.clip(image + blotches[..., None], 0, 255).astype(np.uint8)


def _blinking(t: float, fps: int) -> bool:
    """Whether the eyes are closed at time t."""
    phase = (t + 0.7) % BLINK_EVERY
    return phase < BLINK_FRAMES / fps


def render(scenes: Sequence[Scene], size: tuple[int, int], fps: int = FPS) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(frame, main face's true landmarks or NaN) for every frame of the scenes, in order."""
    width, height = size
    t0 = 0.0
    for scene in scenes:
        base = background(width, height, scene.background).astype(np.float32)
        for k in range(round(scene.seconds * fps)):
            t = t0 + k / fps
            frame = base.copy()
            truth = np.full((68, 2), np.nan, np.float32)
            for index, actor in enumerate(scene.actors):
                if k / fps < scene.enters.get(index, 0.0):
                    continue
                m = actor.matrix(t, width, height)
                sprite = actor.sprite
                rgb = sprite.blink if actor.blinks and sprite.blink is not None and _blinking(t, fps) else sprite.rgb
                layer = cv2.warpAffine(rgb, m, size, flags=cv2.INTER_LINEAR).astype(np.float32)
                alpha = cv2.warpAffine(sprite.alpha, m, size, flags=cv2.INTER_LINEAR)[..., None]
                frame = frame * (1 - alpha) + layer * alpha
                if index == 0:
                    truth = (sprite.landmarks @ m[:, :2].T + m[:, 2]).astype(np.float32)
            yield np.clip(frame + 0.5, 0, 255).astype(np.uint8), truth
        t0 += scene.seconds


def encode(frames: Iterator[np.ndarray], size: tuple[int, int], codec: str = "h264", container: str = "mp4",
           fps: int = FPS, extra: Sequence[str] = ()) -> bytes:
    """Frames through the real ffmpeg into a container ("mp4", "mov", "matroska", "webm"), as bytes."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "clip")
        cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "-s", f"{size[0]}x{size[1]}", "-r", str(fps), "-i", "pipe:0", *ENCODERS[codec], *extra,
               "-f", container, "-y", path]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            for frame in frames:
                proc.stdin.write(np.ascontiguousarray(frame).tobytes())
        finally:
            proc.stdin.close()
            err = proc.stderr.read()
            proc.wait()
        if proc.returncode != 0:
            raise RuntimeError(f"ffmpeg failed: {err.decode(errors='replace')[-500:]}")
        with open(path, "rb") as fh:
            return fh.read()


def make_clip(scenes: Sequence[Scene], size: tuple[int, int] = (640, 360), codec: str = "h264",
              container: str = "mp4", fps: int = FPS, extra: Sequence[str] = ()) -> Clip:
    """Render and encode scenes; the truth comes along."""
    truths = []

    def frames():
        for frame, truth in render(scenes, size, fps):
            truths.append(truth)
            yield frame

    data = encode(frames(), size, codec, container, fps, extra)
    return Clip(data, size, fps, np.array(truths), len(truths))


# ---- the clips tests ask for ----

def moving_face(seconds: float = 4.0, sprite: Sprite | None = None, size=(640, 360), codec="h264", container="mp4",
                seed: int = 0, width: float = 0.28, **actor) -> Clip:
    """One face moving smoothly (sway, roll, zoom), blinking, for `seconds`."""
    main = Actor(sprite or astronaut(), width=width, seed=seed, **actor)
    return make_clip([Scene(seconds, [main], background=seed)], size, codec, container)


def with_cut(first: float = 3.0, second: float = 1.6, size=(640, 360)) -> Clip:
    """The astronaut for `first` s, then a cut to another face on another backdrop."""
    a = Actor(astronaut(), centre=(0.4, 0.5), width=0.28, seed=1)
    b = Actor(lfw(3), centre=(0.62, 0.45), width=0.3, seed=2)
    return make_clip([Scene(first, [a], background=1), Scene(second, [b], background=2)], size)


def with_gap(before: float = 1.0, gap: float = 0.6, after: float = 3.0, size=(640, 360)) -> Clip:
    """A face, then only the empty backdrop for `gap` s (same shot), then the face again."""
    a = Actor(astronaut(), width=0.28, seed=3)
    return make_clip([Scene(before, [a], background=3), Scene(gap, [], background=3), Scene(after, [a], background=3)],
                     size)


def faceless(seconds: float = 3.0, size=(640, 360)) -> Clip:
    """Only backdrops: nothing to find."""
    return make_clip([Scene(seconds / 2, [], background=4), Scene(seconds / 2, [], background=5)], size)


def second_face(alone: float = 3.0, together: float = 2.0, size=(640, 360)) -> Clip:
    """A face alone, then a second, larger face walks in and stays (same shot)."""
    main = Actor(lfw(5), centre=(0.3, 0.5), width=0.22, sway=0.03, seed=4)
    big = Actor(lfw(8), centre=(0.7, 0.48), width=0.34, sway=0.03, seed=5)
    return make_clip([Scene(alone + together, [main, big], background=6, enters={1: alone})], size)


def long_clip(seconds: float = 120.0, size=(320, 180), width: float = 0.5) -> Clip:
    """A long clip of one moving face, small so that it is quick to make (faces ~70 px wide at 320x180)."""
    return moving_face(seconds, size=size, width=width, seed=9)


def not_a_video() -> bytes:
    """A PNG picture, as uploaded under a .mp4 name."""
    ok, png = cv2.imencode(".png", background(64, 48, 0))
    return png.tobytes()


def talking(text: str = "Hello, my name is Eileen. I talk a lot in this clip, as you can see.", language="en",
            size=None) -> Clip:
    """The demo avatar speaking (the project's viseme engine on espeak speech): a clip whose own mouth moves."""
    from generation.pipeline.audio import prepare
    from generation.pipeline.images import demo_avatar_image
    from generation.pipeline.lipsync.viseme import VisemeEngine
    from generation.pipeline.tts.espeak import EspeakBackend

    image = demo_avatar_image()
    engine = VisemeEngine()
    state = engine.prepare(image, _analyzer().analyze(image))
    audio = prepare(EspeakBackend().synthesize(text, language))
    frames = list(engine.render(state, audio, FPS))
    shape = (image.shape[1], image.shape[0])
    data = encode(iter(frames), shape, "h264", "mp4")
    return Clip(data, shape, FPS, np.full((len(frames), 68, 2), np.nan, np.float32), len(frames))
