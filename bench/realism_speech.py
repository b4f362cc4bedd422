"""Lip shapes per sound and per language, measured on rendered frames with dlib landmarks.

For each face and each language (ru, kk, en) a fixed phrase is spoken by espeak-ng, rendered by the
viseme engine (still head), and dlib's 68 landmarks are found on every output frame. All lengths are
divided by the outer-eye-corner distance (36-45) of the source photo, widths by the mouth width of
the engine's own rest frame. Printed per language:

- open / round / spread: per vowel, the widest inner-lip gap (open) or the narrowest (round) or
  widest (spread) mouth among the frames shown while it sounds; the median over that class's vowels
  (open: stressed vowels and unstressed ones apart)
- bilab: the gap of non-close vowels between two bilabials («мама»), median and minimum
- corr / lag: correlation of the per-frame inner-lip gap with the speech envelope at the best lag;
  lag > 0 means the mouth moves after the sound, < 0 before it
- pauses: interior pauses of >= 150 ms whose middle shows the lips together (rest_gap: the mean gap
  in the silence before and after the phrase, where the engine draws its closed rest pose)

Run: .venv/bin/python bench/realism_speech.py [--code DIR] [--out bench/out/realism_speech]
(--code: import `generation` from another checkout, e.g. an export of main, for a before/after)
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")

PHRASES = {
    "ru": "Мама мыла раму. Папа купил большую собаку, а бабушка пила молоко. Вы были в саду? Фото и вода.",
    "kk": "Әке мен апа үйге келді. Бала құсты көрді, өзен ұзын. Біз қыста ыстық шай ішеміз. Мама бар.",
    "en": "My mother moved a boat. Please feed the two blue fish, and be happy. We saw a big moon.",
}
FPS = 25
OPEN = {"a", "A", "A:", "a#", "aa", "&", "aI", "aU", "V", "a:"}  # espeak mnemonics, stress marks stripped
ROUND = {"o", "O", "o:", "O:", "oU", "u", "u:", "U", "u#", "8", "y", "Y", "9"}
SPREAD = {"i", "i:", "I", "e", "E", "eI", "1", "I#", "y"}  # «ы» is espeak's "y" in Russian
BILABIAL = {"m", "b", "p", "m;", "b;", "p;"}
CLOSE = {"i", "i:", "I", "u", "u:", "U", "u#", "y", "Y", "1", "I#"}  # close vowels open little anywhere: not in "bilab"
PAUSE_MIN = 0.15  # s: shorter pauses need not close
PAUSE_EDGE = 0.06  # s of a pause's ends not judged (the lips are still closing / already opening)
CLOSED_GAP = 0.03  # inner-lip gap (eye-distance units) at or under which the lips count as together
LAGS_MS = range(-150, 151, 5)
# from tests/faces.py: the real portraits and edits of them (turned, looking down, low light, small, beard)
DEFAULT_FACES = ("astronaut", "grace_hopper", "biden", "obama_smile", "obama_speaking", "obama_standing",
                 "biden_turned", "grace_looking_down", "obama_low_light", "grace_small_face_300", "biden_beard")
ENV_WINDOW = 0.03  # s: RMS window of the speech envelope


def vowel_class(symbol: str, language: str) -> str | None:
    """'open', 'round', 'spread' or None for an espeak mnemonic (stress marks stripped)."""
    bare = symbol.strip("'\",%=")
    if language == "ru" and bare == "y":
        return "spread"  # «ы»
    for name, members in (("open", OPEN), ("round", ROUND), ("spread", SPREAD)):
        if bare in members:
            return name
    return None


def stresses(text: str, language: str, phonemes, offset: float) -> list[int]:
    """Stress (0 none, 1 secondary, 2 primary) of each phoneme, from espeak's own marks.

    Read from the phoneme when the code knows it, else from espeak's raw events matched by time (a
    checkout from before stress was kept strips the marks)."""
    if phonemes and hasattr(phonemes[0], "stress"):
        return [int(p.stress) for p in phonemes]
    from generation.pipeline.tts import espeak

    voice = "en-us" if language == "en" else language
    _, events, _ = espeak._engine.synthesize(espeak.clean_text(text).encode(), voice)
    rate = espeak._engine.sample_rate
    marks = [(s / rate - offset, m) for s, m in events]
    out = []
    for p in phonemes:
        near = min(marks, key=lambda e: abs(e[0] - p.start) + (0 if e[1].lstrip("',%=") == p.symbol else 1))
        out.append(2 if near[1].startswith("'") else 1 if near[1].startswith(",") else 0)
    return out


def envelope(samples, rate: int, times):
    """Speech RMS envelope at `times` (s)."""
    import numpy as np

    power = np.convolve(samples.astype(np.float64) ** 2, np.ones(int(ENV_WINDOW * rate)) / int(ENV_WINDOW * rate), "same")
    idx = np.clip(np.round(np.asarray(times) * rate).astype(int), 0, len(power) - 1)
    return np.sqrt(power[idx])


def speak(language: str):
    """(text, 16 kHz Audio with phonemes) of the language's phrase."""
    from generation.pipeline.audio import prepare
    from generation.pipeline.tts.espeak import EspeakBackend
    from generation.pipeline.tts.text import synthesize_text

    text = PHRASES[language]
    return text, prepare(synthesize_text(EspeakBackend(), text, language))


def measure(analyzer, engine, image, face, audio, text, language, out_dir=None, name="") -> dict:
    """The figures of one face speaking one phrase."""
    import cv2
    import numpy as np

    from generation.pipeline.types import SAMPLE_RATE

    state = engine.prepare(image, face)
    box = face.box
    eye = float(np.linalg.norm(face.landmarks[45] - face.landmarks[36]))
    rest_frame = engine.draw(state, np.zeros(len(engine.mouth_weights(engine.track(audio, FPS), 0))))
    rest = analyzer.landmarks(rest_frame, box)
    rest_width = float(np.linalg.norm(rest[54] - rest[48]))
    frames = list(engine.render(state, audio, FPS))
    lms = np.array([analyzer.landmarks(f, box) for f in frames])
    gap = np.mean([np.linalg.norm(lms[:, a] - lms[:, b], axis=1) for a, b in ((61, 67), (62, 66), (63, 65))], axis=0) / eye
    width = np.linalg.norm(lms[:, 54] - lms[:, 48], axis=1) / rest_width
    n = len(frames)
    centres = (np.arange(n) + 0.5) / FPS
    phonemes = audio.phonemes
    stress = stresses(text, language, phonemes, audio.offset)

    def shown(p):
        """Frames shown while phoneme p sounds (the nearest one if it is shorter than a frame)."""
        idx = np.flatnonzero((centres >= p.start) & (centres < p.end))
        return idx if len(idx) else np.array([min(n - 1, int((p.start + p.end) / 2 * FPS))])

    per = {"open": [], "open_stressed": [], "open_unstressed": [], "round": [], "spread": [], "bilab": []}
    crops = []
    sounding = [k for k, p in enumerate(phonemes) if not p.symbol.startswith("_")]
    for j, k in enumerate(sounding):
        p = phonemes[k]
        cls = vowel_class(p.symbol, language)
        if cls is None:
            continue
        idx = shown(p)
        peak = float(gap[idx].max())
        if cls == "open":
            per["open"].append(peak)
            per["open_stressed" if stress[k] == 2 else "open_unstressed"].append(peak)
        elif cls == "round":
            per["round"].append(float(width[idx].min()))
        else:
            per["spread"].append(float(width[idx].max()))
        before = phonemes[sounding[j - 1]].symbol if j > 0 else ""
        after = phonemes[sounding[j + 1]].symbol if j + 1 < len(sounding) else ""
        if before in BILABIAL and after in BILABIAL and p.symbol.strip("'\",%=") not in CLOSE:
            per["bilab"].append(peak)
        crops.append((int(idx[np.argmax(gap[idx])]), p.symbol, cls))

    spoken = [p for p in phonemes if not p.symbol.startswith("_")]
    t0, t1 = spoken[0].start - 0.2, spoken[-1].end + 0.2
    span = (centres > t0) & (centres < t1)
    best = (-2.0, 0)
    for lag in LAGS_MS:
        env = envelope(audio.samples, SAMPLE_RATE, centres[span] - lag / 1000)
        r = float(np.corrcoef(gap[span], env)[0, 1])
        best = max(best, (r, lag))
    pauses = [p for p in phonemes[1:-1] if p.symbol.startswith("_") and p.end - p.start >= PAUSE_MIN
              and spoken[0].start < p.start < spoken[-1].end]
    closed = 0
    for p in pauses:
        mid = np.flatnonzero((centres > p.start + PAUSE_EDGE) & (centres < p.end - PAUSE_EDGE))
        closed += int(len(mid) > 0 and float(np.median(gap[mid])) <= CLOSED_GAP)
    if out_dir is not None:
        write_crops(out_dir / f"{name}_{language}.png", frames, lms, crops)
    med = {k: (float(np.median(v)) if v else float("nan")) for k, v in per.items()}
    med["bilab_min"] = float(min(per["bilab"])) if per["bilab"] else float("nan")
    med.update(corr=best[0], lag=best[1], pauses=f"{closed}/{len(pauses)}", rest_gap=float(gap[~span].mean()) if (~span).any() else 0.0)
    return med


def write_crops(path: Path, frames, lms, crops, per_row: int = 8) -> None:
    """Mouth crops at 3x of the frames where each measured vowel peaks, labelled, as one sheet."""
    import cv2
    import numpy as np

    tiles = []
    for i, symbol, cls in crops[:24]:
        lip = lms[i, 48:68]
        w = float(np.ptp(lip[:, 0]))
        cx, cy = lip.mean(axis=0)
        half = int(0.85 * w)
        f = frames[i]
        y0, x0 = int(max(0, cy - half)), int(max(0, cx - half))
        crop = np.ascontiguousarray(f[y0:y0 + 2 * half, x0:x0 + 2 * half])
        crop = cv2.resize(crop, (2 * half * 3, 2 * half * 3), interpolation=cv2.INTER_NEAREST)
        crop = cv2.resize(crop, (240, 240), interpolation=cv2.INTER_AREA)
        cv2.putText(crop, f"{symbol} {cls}", (6, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 0), 2)
        tiles.append(crop)
    if not tiles:
        return
    while len(tiles) % per_row:
        tiles.append(np.zeros_like(tiles[0]))
    sheet = np.vstack([np.hstack(tiles[r:r + per_row]) for r in range(0, len(tiles), per_row)])
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))


def default_photos() -> list[tuple[str, "np.ndarray"]]:
    """(name, RGB) test faces: the shared set in tests/faces.py when there, else the demo, Grace Hopper, LFW."""
    import numpy as np

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    try:
        from tests import faces  # the shared set of test photos

        return [(c.name, faces.get(c.name)) for c in faces.cases() if c.name in DEFAULT_FACES]
    except ImportError:
        pass
    import matplotlib.cbook
    import matplotlib.image

    from generation.pipeline.images import demo_avatar_image
    from tests import media

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        hopper = np.ascontiguousarray(matplotlib.image.imread(fh, format="jpg"))
    photos = [("astronaut", demo_avatar_image()), ("hopper", hopper)]
    photos += [(f"lfw{i}", np.ascontiguousarray(media.lfw(i).rgb)) for i in (0, 3, 7)]
    return photos


def figures(photos, out_dir: Path | None = None) -> dict:
    """{(photo name, language): figures} for (name, RGB) photos; faces dlib cannot find are skipped."""
    import cv2

    from generation.pipeline.faces import FaceAnalyzer
    from generation.pipeline.lipsync.viseme import VisemeEngine

    cv2.setNumThreads(2)
    analyzer, engine = FaceAnalyzer(), VisemeEngine()
    spoken = {lang: speak(lang) for lang in PHRASES}
    out = {}
    for name, image in photos:
        face = analyzer.analyze(image)
        if face is None:
            print(f"{name}: no face found, skipped", file=sys.stderr)
            continue
        for lang, (text, audio) in spoken.items():
            out[(name, lang)] = measure(analyzer, engine, image, face, audio, text, lang, out_dir, name)
    return out


COLUMNS = ("open", "open_stressed", "open_unstressed", "round", "spread", "bilab", "bilab_min", "corr", "lag", "pauses", "rest_gap")


def report(results: dict) -> None:
    """One line per face and language, then the median over faces per language."""
    import numpy as np

    print(f"{'face':12s} {'lang':4s} " + " ".join(f"{c:>9s}" for c in COLUMNS))
    for (name, lang), r in results.items():
        print(f"{name:12s} {lang:4s} " + " ".join(f"{r[c]:9.3f}" if not isinstance(r[c], str) else f"{r[c]:>9s}" for c in COLUMNS))
    for lang in PHRASES:
        rows = [r for (_, l), r in results.items() if l == lang]
        if not rows:
            continue
        cells = []
        for c in COLUMNS:
            if c == "pauses":
                closed = sum(int(r[c].split("/")[0]) for r in rows)
                total = sum(int(r[c].split("/")[1]) for r in rows)
                cells.append(f"{closed}/{total}".rjust(9))
            elif c == "bilab_min":
                cells.append(f"{np.nanmin([r[c] for r in rows]):9.3f}")
            else:
                cells.append(f"{np.nanmedian([r[c] for r in rows]):9.3f}")
        print(f"{'MEDIAN':12s} {lang:4s} " + " ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", help="a checkout whose `generation` package to measure instead of this one")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "out" / "realism_speech"))
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    try:
        import tests.faces  # noqa: F401 (this checkout's test photos, also when measuring another's code)
    except ImportError:
        pass
    if args.code:
        sys.path.insert(0, str(Path(args.code).resolve()))
    import generation

    print(f"code: {Path(generation.__file__).resolve().parent.parent}")
    report(figures(default_photos(), Path(args.out)))


if __name__ == "__main__":
    main()
