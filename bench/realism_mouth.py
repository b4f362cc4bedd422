"""Mouth interior and eyelid realism on photo avatars (bench/realism.py runs it; REALISM_CODE gives the before).

    .venv/bin/python bench/realism_mouth.py [--sheets] [photo.jpg ...]

Per photo (name, RGB), the viseme engine's frames at fixed weights, with dlib landmarks of the
photo, and these figures (for a before/after, run it twice: REALISM_CODE=/other/checkout for the before):

- separations: dark dips between teeth along a row just under the upper lip of a mid-word frame
  (a dip is >= SEP_DEPTH grey levels under both neighbouring maxima within 0.1 mouth widths);
- texture: Laplacian variance inside the open mouth over that of the lips and chin round it
  (target 0.7-1.3), and the robust one (squared median |Laplacian| ratio) the engine calibrates on;
- remnant: on photos that show their teeth, pale pixels (lighter and less red than the lips) in
  the lips of the closed frame;
- lid: mean luminance of the closed eye (between the photo's lid curves) over the lid skin above it
  (target >= 0.85).

`figures(photos)` returns the rows (bench/realism.py imports it); --sheets writes contact sheets
(mouth crops at 3x: closed, mid-word, open, rounded with the tongue up; eye crops at 3x: open,
mid-blink, closed) under bench/out/realism_mouth/.
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generation.pipeline.faces import FaceAnalyzer  # noqa: E402
from generation.pipeline.lipsync import eyelids as L  # noqa: E402
from generation.pipeline.lipsync import mouth_photo as P  # noqa: E402
from generation.pipeline.lipsync import viseme_mesh as M  # noqa: E402
from generation.pipeline.lipsync import viseme_render as R  # noqa: E402
from generation.pipeline.lipsync.viseme import VisemeEngine  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "realism_mouth"
MID_WORD = np.array([0.55, 0.3, 0.0])
SHEET_WEIGHTS = ((0.0, 0.0, 0.0, 0.0), (0.55, 0.3, 0.0, 0.0), (0.95, 0.1, 0.0, 0.3), (0.5, 0.0, 0.9, 0.9))
BLINKS = (0.0, 0.5, 1.0)
SEP_DEPTH = 6.0
SEP_ROW = 0.03  # mouth widths under the upper inner lip
SCALE = 3


def new_draw(engine: VisemeEngine, state, weights, blink=0.0, tongue=0.0) -> np.ndarray:
    """Today's drawing."""
    return engine.draw(state, weights, blink, tongue)


def separations(frame: np.ndarray, inner: np.ndarray, mw: float, v: np.ndarray) -> int:
    """Dark dips between teeth along a row SEP_ROW mouth widths under the warped upper inner lip."""
    top = inner[[0, 1, 2, 3, 4]]
    length = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(top, axis=0), axis=1))])
    at = np.linspace(0.15, 0.85, 200) * length[-1]
    pts = np.stack([np.interp(at, length, top[:, 0]), np.interp(at, length, top[:, 1])], axis=1) + v * SEP_ROW * mw
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    line = cv2.remap(grey, pts[:, 0:1].astype(np.float32), pts[:, 1:2].astype(np.float32), cv2.INTER_LINEAR)[:, 0]
    step = float(np.hypot(*(pts[-1] - pts[0]))) / len(pts)
    reach = max(2, int(0.1 * mw / max(step, 1e-3)))
    count, i = 0, 1
    while i < len(line) - 1:
        if line[i] <= line[i - 1] and line[i] <= line[i + 1]:
            left = line[max(0, i - reach):i].max()
            right = line[i + 1:i + 1 + reach].max()
            if min(left, right) - line[i] >= SEP_DEPTH:
                count += 1
                i += max(1, reach // 3)
                continue
        i += 1
    return count


def remnant(frame: np.ndarray, outer: np.ndarray, lips: np.ndarray) -> int:
    """Pale pixels in the closed frame's lips."""
    h, w = frame.shape[:2]
    return int(P.pale_mask(frame, P.polygon((h, w), outer), lips).sum())


def measure_one(engine: VisemeEngine, analyzer: FaceAnalyzer, name: str, rgb: np.ndarray) -> dict:
    """The figures of one photo."""
    face = analyzer.analyze(rgb)
    state = engine.prepare(rgb, face)
    lm = np.asarray(face.landmarks, np.float64)
    row = {"name": name, "toothy": state.interior.own is not None, "parted": P.photo_gap(lm) >= P.OWN_GAP_MIN}
    outer_idx = [M.lip_vertex(i) for i in range(48, 60)]
    lips = P.lips_rgb(rgb, lm)
    # the photo's own open mouth, where it has one: what a real mouth's ratio is on this photo
    row["tex_photo"] = P.texture_ratio(rgb, lm[60:68], lm[48:60], state.mouth_width) if P.photo_gap(lm) > 0.05 else None
    for tag, draw in (("new", new_draw),):
        dst = state.mouth.displaced(MID_WORD)
        mid = draw(engine, state, MID_WORD)
        row[f"sep_{tag}"] = separations(mid, dst[state.inner_idx], state.mouth_width, state.down)
        row[f"tex_{tag}"] = P.texture_ratio(mid, dst[state.inner_idx], dst[outer_idx], state.mouth_width)
        h, w = rgb.shape[:2]
        eye_sharp = P.edge_sharpness(rgb, P.eyes_mask((h, w), lm))
        row[f"rtex_{tag}"] = (P.edge_sharpness(mid, P.polygon((h, w), dst[state.inner_idx])) or 0.0) / eye_sharp
        rest = state.mouth.displaced(np.zeros(3))
        row[f"remnant_{tag}"] = remnant(draw(engine, state, np.zeros(3)), rest[outer_idx], lips)
        row[f"lid_{tag}"] = L.closed_lid_ratio(rgb, draw(engine, state, np.zeros(3), 1.0), lm, state.lids)
    return row


def figures(photos) -> list[dict]:
    """Rows of figures for (name, RGB) pairs."""
    engine, analyzer = VisemeEngine(), FaceAnalyzer()
    return [measure_one(engine, analyzer, name, rgb) for name, rgb in photos]


def crop(frame: np.ndarray, centre: np.ndarray, half: np.ndarray) -> np.ndarray:
    """A crop round `centre`, enlarged SCALE times."""
    h, w = frame.shape[:2]
    x0, y0 = np.maximum((centre - half).astype(int), 0)
    x1, y1 = np.minimum((centre + half).astype(int), (w, h))
    return cv2.resize(frame[y0:y1, x0:x1], None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_CUBIC)


def fit(tiles: list[np.ndarray], height: int) -> np.ndarray:
    """Tiles side by side at one height."""
    return np.hstack([cv2.resize(t, (max(1, int(t.shape[1] * height / t.shape[0])), height)) for t in tiles])


def sheet(engine: VisemeEngine, analyzer: FaceAnalyzer, name: str, rgb: np.ndarray) -> Path:
    """Contact sheet of one photo: mouth and eye crops at 3x."""
    face = analyzer.analyze(rgb)
    state = engine.prepare(rgb, face)
    lm = np.asarray(face.landmarks, np.float64)
    mw = state.mouth_width
    mc, ec = lm[48:68].mean(axis=0), lm[36:48].mean(axis=0)
    ew = float(np.ptp(lm[36:48, 0]))
    rows = []
    for draw in (new_draw,):
        mouths = [crop(draw(engine, state, np.array(w[:3]), 0.0, w[3]), mc,
                       np.array([0.8, 0.55]) * mw) for w in SHEET_WEIGHTS]
        eyes = [crop(draw(engine, state, np.zeros(3), b), ec, np.array([0.62, 0.28]) * ew) for b in BLINKS]
        rows.append(np.hstack([fit(mouths, 240), fit(eyes, 240)]))
    width = max(r.shape[1] for r in rows)
    out = np.vstack([np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0))) for r in rows])
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    cv2.imwrite(str(path), out[..., ::-1])
    return path


def default_photos() -> list[tuple[str, np.ndarray]]:
    """The shared test faces when present, else the demo, Grace Hopper and synthetic variations of them."""
    try:
        from tests import faces  # noqa: PLC0415 - the shared set (tests/faces.py)
        return [(name, np.ascontiguousarray(faces.get(name))) for name in faces.names()]
    except Exception:  # noqa: BLE001 - any failure: fall back to the bundled photos
        pass
    from generation.pipeline.images import demo_avatar_image
    demo = demo_avatar_image()
    hopper = grace_hopper()
    dark = np.clip((demo.astype(np.float32) / 255) ** 1.9 * 255 * np.array([0.78, 0.62, 0.52]), 0, 255).astype(np.uint8)
    warm = np.clip(hopper.astype(np.float32) * np.array([1.08, 0.95, 0.78]), 0, 255).astype(np.uint8)
    h, w = demo.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 14, 1.0)
    m[0] = m[0] * np.array([0.78, 1, 1]) + np.array([0, 0, 0.11 * w])  # squeezed across: like a turned face
    turned = cv2.warpAffine(demo, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    big = cv2.resize(hopper, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    photos = [("astronaut", demo), ("hopper", hopper), ("astronaut_dark", dark), ("hopper_warm_cast", warm),
              ("astronaut_turned", turned), ("hopper_2x", big)]
    try:  # two small, soft, tinted LFW faces (8x upscaled from 25 px): the low-quality end
        from tests import media
        photos += [(f"lfw{i}", media.lfw(i).rgb) for i in (3, 11)]
    except Exception:  # noqa: BLE001 - scikit-image's LFW subset missing: the six above
        pass
    return photos


def grace_hopper() -> np.ndarray:
    """matplotlib's Grace Hopper sample photo (glasses, closed mouth, 512x600)."""
    import matplotlib.cbook as cbook
    from PIL import Image
    return np.array(Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB"))


def table(rows: list[dict]) -> list[str]:
    """The figures as printed lines."""
    lines = [f"{'photo':22} {'toothy':6} {'sep':>4} {'tex':>6} {'edges/eyes':>10} {'remnant':>8} {'lid':>6} {'photo tex':>9}"]
    for r in rows:
        tex = lambda k: "-" if r[k] is None else f"{r[k]:.2f}"  # noqa: E731
        lines.append(f"{r['name']:22} {str(r['toothy']):6} {r['sep_new']:>4} {tex('tex_new'):>6} {tex('rtex_new'):>10} "
                     f"{(str(r['remnant_new']) if r.get('parted', r['toothy']) else '-'):>8} {r['lid_new']:6.2f} {tex('tex_photo'):>9}")
    return lines


def run(photos, out: Path) -> list[str]:
    """bench/realism.py's entry: (name, RGB, face) triples; contact sheets into `out`."""
    global OUT
    pairs = [(name, rgb) for name, rgb, _ in photos]
    lines = table(figures(pairs))
    OUT = out
    engine, analyzer = VisemeEngine(), FaceAnalyzer()
    lines += [f"wrote {sheet(engine, analyzer, name, rgb)}" for name, rgb in pairs]
    return lines


def main(argv: list[str]) -> None:
    paths = [a for a in argv if not a.startswith("--")]
    if paths:
        from generation.pipeline.images import load_image
        photos = [(Path(p).stem, load_image(p)) for p in paths]
    else:
        photos = default_photos()
    print("\n".join(table(figures(photos))))
    if "--sheets" in argv:
        engine, analyzer = VisemeEngine(), FaceAnalyzer()
        for name, rgb in photos:
            print("wrote", sheet(engine, analyzer, name, rgb))


if __name__ == "__main__":
    main(sys.argv[1:])
