"""A shared, varied set of test faces for realism work: real portraits and synthetic variations of them.

    from tests import faces
    for case in faces.cases(): photo = faces.get(case.name)   # RGB uint8, read-only
    faces.names("three_quarter")                               # the cases with a tag
    faces.feature_crops(photo, landmarks)                      # mouth and eyes, enlarged 3x

Nothing is downloaded at run time: the sources are scikit-image's astronaut (the demo avatar),
matplotlib's bundled Grace Hopper portrait and the crops in tests/data/faces/ (see its README for
their origin and licence). Import-light: no Django; dlib and OpenCV load on first `get`.
`python -m tests.faces` writes a contact sheet to bench/out/faces_sheet.png.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "faces"
CACHE = ROOT / "bench" / "out" / "faces_cache"
SHEET = ROOT / "bench" / "out" / "faces_sheet.png"
SHEET_TILE = (240, 300)  # (width, height) of one case on the contact sheet

TAGS = frozenset({
    "frontal", "three_quarter", "looking_down", "rotated", "closed_mouth", "open_mouth", "toothy", "glasses",
    "beard", "dark_skin", "light_skin", "low_light", "colour_cast", "blurred", "jpeg_artifacts",
    "small_face_300", "large_face_1200", "synthetic",
})


@dataclass(frozen=True)
class Case:
    """One test photo: a unique name, what it shows (tags), where it comes from, how to make it."""

    name: str
    tags: frozenset
    source: str
    build: Callable[[], np.ndarray]
    base: str | None = None  # the real photo a synthetic case is made from


def _read_rgb(path: Path) -> np.ndarray:
    """An RGB uint8 array from an image file."""
    from generation.pipeline.images import load_image

    return load_image(path, max_side=None)  # as made: the worker's working-size cap is not a test photo's


def _matplotlib_sample(name: str) -> Path:
    """A file of matplotlib's bundled sample data, found without importing matplotlib."""
    spec = importlib.util.find_spec("matplotlib")
    assert spec is not None and spec.origin, "matplotlib is not installed"
    return Path(spec.origin).parent / "mpl-data" / "sample_data" / name


def _astronaut() -> np.ndarray:
    from generation.pipeline.images import demo_avatar_image

    return demo_avatar_image()


BASES: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": _astronaut,
    "grace_hopper": lambda: _read_rgb(_matplotlib_sample("grace_hopper.jpg")),
    "biden": lambda: _read_rgb(DATA / "biden.jpg"),
    "obama_smile": lambda: _read_rgb(DATA / "obama.jpg"),
    "obama_speaking": lambda: _read_rgb(DATA / "obama2.jpg"),
    "obama_standing": lambda: _read_rgb(DATA / "obama3.jpg"),
}


@functools.lru_cache(maxsize=None)
def base(name: str) -> np.ndarray:
    """A real source photo by name (read-only)."""
    photo = BASES[name]()
    photo.flags.writeable = False
    return photo


@functools.lru_cache(maxsize=None)
def base_landmarks(name: str) -> np.ndarray:
    """The 68 landmarks dlib finds on a real source photo (the edits are placed with them)."""
    from generation.pipeline.faces import analyze_face

    face = analyze_face(base(name))
    assert face is not None, f"no face on the source photo {name!r}"
    return face.landmarks


def _face_width(name: str) -> float:
    """Width of dlib's face box on a source photo."""
    from generation.pipeline.faces import analyze_face

    left, _, right, _ = analyze_face(base(name)).box
    return float(right - left)


def _edit(base_name: str, fn: Callable, *args, **kwargs) -> Callable[[], np.ndarray]:
    """A builder applying fn(photo, *args) or, when fn wants them, fn(photo, landmarks, *args)."""
    import inspect

    wants_points = "points" in inspect.signature(fn).parameters

    def build() -> np.ndarray:
        photo = np.array(base(base_name))
        if wants_points:
            return fn(photo, base_landmarks(base_name), *args, **kwargs)
        return fn(photo, *args, **kwargs)

    return build


def _scaled(base_name: str, target: float, crop: tuple[float, float]) -> Callable[[], np.ndarray]:
    """A builder scaling a source so dlib's face box is `target` px wide, cropped to crop × target."""
    from generation.pipeline.faces import analyze_face
    from tests import face_edits as fx

    def build() -> np.ndarray:
        photo, points = np.array(base(base_name)), base_landmarks(base_name)
        width = _face_width(base_name)
        for _ in range(2):  # dlib's box does not scale exactly with the photo: correct once on the result
            s = target / width
            scaled = fx.scale_to_face(photo, width, target)
            box = analyze_face(scaled).box
            width *= (box[2] - box[0]) / target
        centre = fx.face_centre(points) * s
        return fx.crop_to(scaled, centre, int(crop[0] * target) // 2 * 2, int(crop[1] * target) // 2 * 2)

    return build


def _real(name: str, *tags: str, source: str) -> Case:
    return Case(name, frozenset(tags), source, lambda: np.array(base(name)))


def _synthetic(name: str, tags: tuple[str, ...], source: str, build: Callable[[], np.ndarray]) -> Case:
    base_name = source.split()[0].rstrip("',")
    assert base_name in BASES, f"{name}: its source must start with a base photo's name, got {source!r}"
    return Case(name, frozenset(tags) | {"synthetic"}, source, build, base_name)


@functools.lru_cache(maxsize=1)
def cases() -> tuple[Case, ...]:
    """Every test face, real ones first."""
    from tests import face_edits as fx

    real = [
        _real("astronaut", "frontal", "toothy", "open_mouth", "light_skin",
              source="scikit-image astronaut (Eileen Collins, NASA, public domain): the demo avatar"),
        _real("grace_hopper", "frontal", "glasses", "closed_mouth", "light_skin",
              source="matplotlib sample data grace_hopper.jpg (US Navy, public domain)"),
        _real("biden", "frontal", "closed_mouth", "light_skin", source="tests/data/faces/biden.jpg"),
        _real("obama_smile", "frontal", "toothy", "open_mouth", "dark_skin", source="tests/data/faces/obama.jpg"),
        _real("obama_speaking", "three_quarter", "open_mouth", "dark_skin", source="tests/data/faces/obama2.jpg"),
        _real("obama_standing", "frontal", "closed_mouth", "dark_skin", source="tests/data/faces/obama3.jpg"),
    ]
    synthetic = [
        _synthetic("biden_turned", ("three_quarter", "closed_mouth", "light_skin"), "biden, yaw 24° on a cylinder",
                   _edit("biden", fx.turn, 24.0)),
        _synthetic("astronaut_turned", ("three_quarter", "toothy", "open_mouth", "light_skin"),
                   "astronaut, yaw -30° on a cylinder", _edit("astronaut", fx.turn, -30.0)),
        _synthetic("grace_looking_down", ("looking_down", "glasses", "closed_mouth", "light_skin"),
                   "grace_hopper, pitch 22° down", _edit("grace_hopper", fx.turn, 22.0, axis="pitch")),
        _synthetic("biden_looking_down", ("looking_down", "closed_mouth", "light_skin"),
                   "biden, pitch 22° down", _edit("biden", fx.turn, 22.0, axis="pitch")),
        _synthetic("obama_tilted", ("frontal", "rotated", "toothy", "open_mouth", "dark_skin"),
                   "obama_smile tilted 15°", _edit("obama_smile", fx.rotate, 15.0)),
        _synthetic("biden_tungsten", ("frontal", "colour_cast", "closed_mouth", "light_skin"),
                   "biden under tungsten light (white balance off)",
                   _edit("biden", fx.colour_cast, (1.25, 0.95, 0.55))),
        _synthetic("grace_low_light", ("frontal", "low_light", "glasses", "closed_mouth", "light_skin"),
                   "grace_hopper at 1/6 exposure with sensor noise", _edit("grace_hopper", fx.low_light)),
        _synthetic("obama_low_light", ("frontal", "low_light", "toothy", "open_mouth", "dark_skin"),
                   "obama_smile at 1/4 exposure with sensor noise", _edit("obama_smile", fx.low_light, 0.25)),
        _synthetic("obama_standing_blurred", ("frontal", "blurred", "closed_mouth", "dark_skin"),
                   "obama_standing out of focus (sigma 2.5 px)", _edit("obama_standing", fx.defocus, 2.5)),
        _synthetic("obama_speaking_jpeg", ("three_quarter", "jpeg_artifacts", "open_mouth", "dark_skin"),
                   "obama_speaking at JPEG quality 12", _edit("obama_speaking", fx.jpeg, 12)),
        _synthetic("grace_small_face_300", ("frontal", "small_face_300", "glasses", "closed_mouth", "light_skin"),
                   "grace_hopper scaled to a 300 px face", _scaled("grace_hopper", 300, (2.2, 2.6))),
        _synthetic("biden_large_face_1200", ("frontal", "large_face_1200", "closed_mouth", "light_skin"),
                   "biden upscaled (bicubic) to a 1200 px face: soft, as an upscaled photo is",
                   _scaled("biden", 1200, (1.7, 2.0))),
        _synthetic("biden_beard", ("frontal", "beard", "closed_mouth", "light_skin"),
                   "biden with a drawn salt-and-pepper beard", _edit("biden", fx.draw_beard)),
        _synthetic("obama_glasses", ("frontal", "glasses", "toothy", "open_mouth", "dark_skin"),
                   "obama_smile with drawn dark frames", _edit("obama_smile", fx.draw_glasses)),
        _synthetic("biden_dark_skin", ("frontal", "dark_skin", "closed_mouth"),
                   "biden, skin moved to a deep brown in LAB (shading kept, eyes and teeth untouched)",
                   _edit("biden", fx.darken_skin)),
        _synthetic("astronaut_dark_skin", ("frontal", "dark_skin", "toothy", "open_mouth"),
                   "astronaut, skin moved to a deep brown in LAB", _edit("astronaut", fx.darken_skin)),
    ]
    all_cases = tuple(real + synthetic)
    for case in all_cases:
        assert case.tags <= TAGS, f"{case.name}: unknown tags {set(case.tags - TAGS)}"
    assert len({c.name for c in all_cases}) == len(all_cases)
    return all_cases


def names(tag: str | None = None) -> list[str]:
    """Names of every case, or of those carrying `tag`."""
    assert tag is None or tag in TAGS, f"unknown tag {tag!r}"
    return [c.name for c in cases() if tag is None or tag in c.tags]


def case(name: str) -> Case:
    """The case called `name`."""
    for c in cases():
        if c.name == name:
            return c
    raise KeyError(f"no test face called {name!r}; known: {', '.join(names())}")


def _version() -> str:
    """A digest of the code and data the photos are made from: a changed edit invalidates the PNG cache."""
    digest = hashlib.sha1()
    for path in [Path(__file__), Path(__file__).with_name("face_edits.py"), *sorted(DATA.glob("*.jpg"))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


@functools.lru_cache(maxsize=None)
def get(name: str, disk_cache: bool = True) -> np.ndarray:
    """The RGB uint8 photo of a case (read-only: copy before editing), cached in memory and on disk."""
    c = case(name)
    path = CACHE / f"{name}-{_version()}.png"
    photo = None
    if disk_cache and path.is_file():
        photo = _read_rgb(path)
    if photo is None:
        photo = np.ascontiguousarray(c.build(), dtype=np.uint8)
        if disk_cache:
            from PIL import Image

            path.parent.mkdir(parents=True, exist_ok=True)
            for stale in path.parent.glob(f"{name}-*.png"):
                stale.unlink(missing_ok=True)
            Image.fromarray(photo).save(path, compress_level=1)
    photo.flags.writeable = False
    return photo


def feature_crops(photo: np.ndarray, landmarks: np.ndarray, scale: int = 3) -> dict[str, np.ndarray]:
    """The mouth and both eyes of a photo cut round its landmarks and enlarged `scale`× (nearest: pixels kept)."""
    import cv2

    from tests.face_edits import eye_distance

    e = eye_distance(landmarks)
    h, w = photo.shape[:2]
    out = {}
    for name, group, margin in (("mouth", slice(48, 68), 0.25), ("right_eye", slice(36, 42), 0.18),
                                ("left_eye", slice(42, 48), 0.18)):
        pts = landmarks[group]
        x0, y0 = np.floor(pts.min(axis=0) - margin * e).astype(int)
        x1, y1 = np.ceil(pts.max(axis=0) + margin * e).astype(int)
        crop = photo[max(0, y0):min(h, y1), max(0, x0):min(w, x1)]
        out[name] = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    return out


def contact_sheet(annotate: bool = True) -> np.ndarray:
    """All cases on one image, each letterboxed with its name and tags; dlib's landmarks drawn if annotate."""
    import cv2

    from generation.pipeline.faces import analyze_face
    from generation.pipeline.images import draw_face_preview

    tile_w, tile_h = SHEET_TILE
    label_h = 34
    tiles = []
    for c in cases():
        photo = get(c.name)
        if annotate:
            photo = draw_face_preview(photo, analyze_face(photo))
        s = min(tile_w / photo.shape[1], (tile_h - label_h) / photo.shape[0])
        small = cv2.resize(photo, (max(1, int(photo.shape[1] * s)), max(1, int(photo.shape[0] * s))),
                           interpolation=cv2.INTER_AREA)
        tile = np.full((tile_h, tile_w, 3), 24, np.uint8)
        y0, x0 = (tile_h - label_h - small.shape[0]) // 2, (tile_w - small.shape[1]) // 2
        tile[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
        tags = " ".join(sorted(c.tags - {"synthetic"}))
        cv2.putText(tile, c.name, (4, tile_h - 20), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
        cv2.putText(tile, tags[:46], (4, tile_h - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.3, (190, 190, 190), 1, cv2.LINE_AA)
        tiles.append(tile)
    columns = 6
    while len(tiles) % columns:
        tiles.append(np.full((tile_h, tile_w, 3), 24, np.uint8))
    rows = [np.hstack(tiles[i:i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)


def write_sheet(path: Path = SHEET, annotate: bool = True) -> Path:
    """Write the contact sheet as a PNG and return its path."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(contact_sheet(annotate)).save(path)
    return path


if __name__ == "__main__":
    import sys

    print(write_sheet(annotate="--clean" not in sys.argv))
