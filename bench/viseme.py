"""Viseme engine speed: frames/s and per-step ms for a 512x512 avatar and 10 s of speech, with the
still head (the baseline) and with each head-motion level, in the same run.

Run: .venv/bin/python bench/viseme.py   (target: >= 150 frames/s on 2 cores, with motion too)
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from generation.pipeline.audio import prepare  # noqa: E402
from generation.pipeline.faces import FaceAnalyzer  # noqa: E402
from generation.pipeline.lipsync import eyelids as lids  # noqa: E402
from generation.pipeline.lipsync import mouth_interior as mi  # noqa: E402
from generation.pipeline.lipsync import viseme_render as vr  # noqa: E402
from generation.pipeline.lipsync.viseme import VisemeEngine  # noqa: E402
from generation.pipeline.motion import LIVELY, SUBTLE, MotionSource, plan_motion  # noqa: E402
from generation.pipeline.tts.espeak import EspeakBackend  # noqa: E402
from generation.pipeline.types import SAMPLE_RATE, Audio, Phoneme  # noqa: E402

SECONDS = 10.0
FPS = 25
TEXT = "The quick brown fox jumps over the lazy dog. Many people spoke about the moon, the sea and blue skies."


def ten_seconds_of_speech() -> Audio:
    """Real espeak speech with phonemes, repeated to exactly SECONDS."""
    one = prepare(EspeakBackend().synthesize(TEXT, "en"))
    reps = int(np.ceil(SECONDS / one.duration))
    n = int(SECONDS * SAMPLE_RATE)
    samples = np.tile(one.samples, reps)[:n]
    phonemes = [Phoneme(p.start + k * one.duration, p.end + k * one.duration, p.symbol)
                for k in range(reps) for p in (one.phonemes or []) if p.start + k * one.duration < SECONDS]
    return Audio(samples, 0.0, phonemes)


def timed(fn, *args):
    """(result, ms) of one call."""
    t = time.perf_counter()
    out = fn(*args)
    return out, (time.perf_counter() - t) * 1000


def main() -> None:
    cv2.setNumThreads(2)
    from skimage import data

    image = np.ascontiguousarray(data.astronaut())  # 512x512
    face = FaceAnalyzer().analyze(image)
    audio = ten_seconds_of_speech()
    engine = VisemeEngine()
    state, prep_ms = timed(engine.prepare, image, face)
    track, track_ms = timed(engine.track, audio, FPS, 0)

    # Per-step timings over one pass (every frame drawn, no reuse of identical frames)
    steps = {"copy": 0.0, "mesh": 0.0, "remap": 0.0, "mouth": 0.0, "blink": 0.0}
    for i in range(len(track)):
        w = engine.mouth_weights(track, i)
        frame, ms = timed(state.image.copy); steps["copy"] += ms
        dst, ms = timed(state.mouth.displaced, w); steps["mesh"] += ms
        m, ms = timed(vr.inverse_map, state.mouth, dst); steps["mesh"] += ms
        x0, y0, x1, y1 = state.mouth.roi
        t = time.perf_counter()
        frame[y0:y1, x0:x1] = cv2.remap(state.image, m[..., 0], m[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        steps["remap"] += (time.perf_counter() - t) * 1000
        _, ms = timed(mi.draw_mouth, frame, dst[state.inner_idx], state.mouth_width, state.down, state.interior); steps["mouth"] += ms
        if track.blink[i] > 0.02:
            _, ms = timed(lids.draw_lids, frame, state.lids, state.eye_points, float(track.blink[i])); steps["blink"] += ms

    t = time.perf_counter()
    count = sum(1 for _ in engine.render(state, audio, FPS, 0))
    total = time.perf_counter() - t
    n = len(track)
    print(f"avatar 512x512, audio {audio.duration:.1f}s, {count} frames at {FPS} fps, source={track.source}")
    print(f"prepare {prep_ms:.1f} ms (once per avatar); track {track_ms:.1f} ms (once per request)")
    print(f"render: {count / total:.1f} frames/s ({total * 1000 / count:.2f} ms/frame, incl. track)")
    print("per frame, ms: " + ", ".join(f"{k} {v / n:.3f}" for k, v in steps.items()) + f" (blink on {int((track.blink > 0.02).sum())} frames)")
    x0, y0, x1, y1 = state.mouth.roi
    print(f"mouth ROI {x1 - x0}x{y1 - y0} px, {len(state.mouth.triangles)} triangles")

    still_fps = count / total
    for level in (SUBTLE, LIVELY):
        t = time.perf_counter()  # the plan and the warp's masks are per request: counted in
        source = MotionSource(image, face, plan_motion(audio, face, level, seed=0, fps=FPS))
        moved = sum(1 for _ in engine.render(state, audio, FPS, 0, motion=source))
        fps = moved / (time.perf_counter() - t)
        print(f"render with motion {level}: {fps:.1f} frames/s ({1000 / fps:.2f} ms/frame, incl. plan), "
              f"{fps / still_fps:.2f}x the still head")


if __name__ == "__main__":
    main()
