"""A video avatar made from real footage-like input, measured frame by frame against issue 23's targets.

Run: .venv/bin/python bench/video_avatar_realism.py [--keep DIR] [--out /tmp/video23] [--languages ru,kk]
The clip (tests/mouth_clips.real_talking): a real portrait (tests/data/faces/obama.jpg) talking
English through the photo engine with its own head motion, filmed by a simulated hand-held camera
(slow drift, shake, zoom and roll, sensor noise) at 1280x720, H.264. It is prepared as a video
avatar (timed: target <= 10 s for 10 s; its loop is checked for blinks played backwards), then speaks each language (espeak) with the viseme
engine and its mouth bank. Per output frame (dlib): mouth/speech correlation and best lag
(target >= 0.55 within +-40 ms), bilabials closed (>= 90 %), frames with two mouths (0), mouth
sharpness over the clip's own (0.7-1.3x; also against its frames as open, since a closed mouth has
fewer edges than a toothy one). The same portrait as a photo avatar speaks the same audio
as the baseline. Render time: the avatar against the photo, still and with its default head
motion, alternated, best of REPEATS (CPU time). Contact sheets of mouths at 3x go to --out.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

SECONDS = 10.0
REPEATS = 3
SHEET_TILES = 12  # mouths per sheet, in rows of 4
SHEET_SCALE = 3
TARGETS = {"corr": 0.55, "lag_ms": 40, "bilabials": 0.9, "sharpness": (0.7, 1.3), "prep_s": 10.0}


def mouth_sheet(frames, landmarks, path: Path, picks=None) -> Path:
    """Mouths of evenly spaced frames (or `picks`), each 1.8 x 1.1 mouth widths, enlarged SHEET_SCALE x."""
    picks = np.linspace(0, len(frames) - 1, SHEET_TILES).astype(int) if picks is None else picks
    mw = float(np.median([np.linalg.norm(landmarks[i][54] - landmarks[i][48]) for i in picks]))
    tw, th = int(1.8 * mw), int(1.1 * mw)
    tiles = []
    for i in picks:
        c = landmarks[i][48:68].mean(axis=0)
        x0, y0 = int(c[0] - tw / 2), int(c[1] - th / 2)
        crop = np.ascontiguousarray(frames[i][max(y0, 0):y0 + th, max(x0, 0):x0 + tw])
        tile = np.zeros((th, tw, 3), np.uint8)
        tile[:crop.shape[0], :crop.shape[1]] = crop
        tile = cv2.resize(tile, (tw * SHEET_SCALE, th * SHEET_SCALE), interpolation=cv2.INTER_NEAREST)
        cv2.putText(tile, str(int(i)), (4, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 0), 2)
        tiles.append(tile)
    while len(tiles) % 4:
        tiles.append(np.zeros_like(tiles[0]))
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(np.vstack([np.hstack(tiles[r:r + 4]) for r in range(0, len(tiles), 4)]),
                                        cv2.COLOR_RGB2BGR))
    return path


def verdict(got: dict) -> str:
    """Which targets a measurement misses ("ok" when none)."""
    miss = []
    if got["corr"] < TARGETS["corr"]:
        miss.append("corr")
    if abs(got["lag_ms"]) > TARGETS["lag_ms"]:
        miss.append("lag")
    if not got["bilabials"] >= TARGETS["bilabials"]:
        miss.append("bilabials")
    if got["two_mouths"]:
        miss.append("two mouths")
    lo, hi = TARGETS["sharpness"]
    if "sharpness" in got and not lo <= got["sharpness"] <= hi:
        miss.append("sharpness")
    return "ok" if not miss else "MISS " + ", ".join(miss)


def matched_sharpness(frames, lms, shown, reader, step: int = 3, nearest: int = 10) -> float:
    """Mouth sharpness over the clip's own at the same opening: each output frame against the median of
    the `nearest` clip frames whose mouth is as open (a closed mouth has fewer edges than a toothy one)."""
    from bench.mouth_bank import sharpness
    from generation.pipeline.tracking import mouth_opening

    own_k = np.arange(0, reader.frame_count, 2)
    own = np.array([sharpness(reader.frame(int(k)), reader.landmarks[k]) for k in own_k])
    own_open = reader.mouth_open[own_k]
    ratios = []
    for i in range(0, len(frames), step):
        if lms[i] is None:
            continue
        gap = mouth_opening(lms[i][None])[0]
        ref = np.median(own[np.argsort(np.abs(own_open - gap))[:nearest]])
        ratios.append(sharpness(frames[i], reader.landmarks[shown[i]]) / max(ref, 1e-6))
    return float(np.median(ratios))


def clip_bytes(folder: Path) -> bytes:
    """The filmed clip's MP4 (made once per --keep folder: ~1 min here)."""
    from tests import mouth_clips

    path = folder / "real_talking.mp4"
    if not path.is_file():
        path.write_bytes(mouth_clips.real_talking(SECONDS).data)
    return path.read_bytes()


def timed(fn) -> float:
    """CPU seconds fn takes (this process's threads: less hurt by other load than the wall clock)."""
    t = time.process_time()
    fn()
    return time.process_time() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", default="")
    parser.add_argument("--out", default="/tmp/video23")
    parser.add_argument("--languages", default="ru,kk")
    args = parser.parse_args()
    from bench.mouth_bank import SPEECH, measure
    from bench.video_avatar import cpu_line
    from generation.pipeline import loop
    from generation.pipeline.audio import prepare
    from generation.pipeline.clip import ClipReader, inspect_video, prepare_clip
    from generation.pipeline.faces import FaceAnalyzer
    from generation.pipeline.lipsync.viseme import VisemeEngine
    from generation.pipeline.runner import moving_photo
    from generation.pipeline.tts.espeak import EspeakBackend
    from tests import mouth_clips

    print(cpu_line(), "(shared machine: render times are CPU seconds, best of", REPEATS, "alternated runs)")
    print("reproduce: .venv/bin/python bench/video_avatar_realism.py " + " ".join(sys.argv[1:]), flush=True)
    out = Path(args.out)
    analyzer, engine, tts = FaceAnalyzer(), VisemeEngine(), EspeakBackend()
    photo = mouth_clips.real_photo()
    photo_face = analyzer.analyze(photo)
    photo_state = engine.prepare(photo, photo_face)
    with tempfile.TemporaryDirectory(prefix="bench-real-") as tmp:
        base = Path(args.keep or tmp)
        base.mkdir(parents=True, exist_ok=True)
        data = clip_bytes(base)
        folder = Path(tmp) / "prepared"
        t = time.perf_counter()
        prepared = prepare_clip(data, inspect_video(data).demuxer, folder, analyzer)
        prep = time.perf_counter() - t
        reader = ClipReader(prepared.data_path, prepared.frames_path)
        bank = reader.bank
        cov = bank.coverage if bank else None
        print(f"prepared {reader.frame_count / 25:.1f} s at {reader.width}x{reader.height} in {prep:.1f} s "
              f"(target <= {TARGETS['prep_s']:g} s); bank {cov.code if cov else '-'} ({cov.share:.0%} open) of "
              f"{len(bank) if bank else 0} mouths; notes {[n.code for n in prepared.notes]}", flush=True)
        order = reader.order(3 * reader.frame_count)
        blinks = loop.blinking(loop.eye_openness(reader.raw_landmarks), margin=1)
        steps = np.diff(order)
        backwards = int(((steps == -1) & (blinks[order[1:]] | blinks[order[:-1]])).sum())
        print(f"loop {reader.transitions.tolist()}: {int(loop.blinking(loop.eye_openness(reader.raw_landmarks), 0).sum())}"
              f" blink frames, steps backwards through a blink over 3 passes: {backwards} (target 0)", flush=True)
        mouth_sheet([reader.frame(k) for k in range(reader.frame_count)], reader.landmarks,
                    out / "realism_clip.png")
        state = engine.prepare_clip(reader)
        for language in args.languages.split(","):
            audio = prepare(tts.synthesize(SPEECH[language], language))
            frames = list(engine.render(photo_state, audio))
            got, _ = measure(frames, audio, analyzer)
            print(f"[{language}] photo   corr {got['corr']:.2f} (lag {got['lag_ms']:+d} ms), bilabials closed "
                  f"{got['bilabials']:.0%}, two-mouth frames {got['two_mouths']}/{got['frames']}", flush=True)
            frames = list(engine.render(state, audio))
            shown = [int(k) for k in reader.order(len(frames))]
            got, lms = measure(frames, audio, analyzer, reader, shown)
            same = matched_sharpness(frames, lms, shown, reader)
            print(f"[{language}] video   corr {got['corr']:.2f} (lag {got['lag_ms']:+d} ms), bilabials closed "
                  f"{got['bilabials']:.0%}, two-mouth frames {got['two_mouths']}/{got['frames']}, sharpness "
                  f"{got['sharpness']:.2f}x the clip's ({same:.2f}x its mouths as open): {verdict(got)}", flush=True)
            sheet = mouth_sheet(frames, [lm if lm is not None else reader.landmarks[k] for lm, k in zip(lms, shown)],
                                out / f"realism_{language}.png")
            print(f"  mouths at {SHEET_SCALE}x: {sheet}", flush=True)
        audio = prepare(tts.synthesize(SPEECH[args.languages.split(',')[0]], args.languages.split(',')[0]))
        times = {"video": [], "photo still": [], "photo subtle": []}
        for _ in range(REPEATS):
            times["photo still"].append(timed(lambda: sum(1 for _ in engine.render(photo_state, audio))))
            motion = moving_photo(photo, photo_face, audio, "subtle", 0, 25)
            times["photo subtle"].append(timed(lambda: sum(1 for _ in engine.render(photo_state, audio,
                                                                                  motion=motion))))
            times["video"].append(timed(lambda: sum(1 for _ in engine.render(state, audio))))
        best = {k: min(v) for k, v in times.items()}
        print(f"render {audio.duration:.1f} s of speech: video {reader.width}x{reader.height} {best['video']:.2f} s, "
              f"photo {photo.shape[1]}x{photo.shape[0]} still {best['photo still']:.2f} s, with its default head "
              f"motion {best['photo subtle']:.2f} s: {best['video'] / best['photo still']:.2f}x the still photo, "
              f"{best['video'] / best['photo subtle']:.2f}x the moving one (target <= 1.5x)  [runs "
              + "; ".join(f"{k} " + ", ".join(f"{x:.2f}" for x in v) for k, v in times.items()) + "]", flush=True)
        reader.close()


if __name__ == "__main__":
    main()
