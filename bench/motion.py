"""Photo motion speed: MotionSource.frame frames/s at 512x512 over 250 frames (10 s of speech), against
a plain image copy and the viseme engine's own render in the same run.

Run: .venv/bin/python bench/motion.py   (target: the warp ~2-3 ms/frame, so that the viseme engine
with motion stays >= 150 frames/s on 2 cores)
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench.viseme import FPS, ten_seconds_of_speech  # noqa: E402
from generation.pipeline.faces import FaceAnalyzer  # noqa: E402
from generation.pipeline.lipsync.viseme import VisemeEngine  # noqa: E402
from generation.pipeline.motion import LEVELS, NONE, MotionSource, plan_motion  # noqa: E402


def cpu() -> str:
    """CPU model and the SIMD flags that matter here, from lscpu."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return platform.processor() or "unknown CPU"
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("Flags")), [])
    wanted = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    return f"{model}; {os.cpu_count()} CPUs visible, {len(os.sched_getaffinity(0))} usable; flags: {' '.join(wanted) or 'none of avx2/avx512/amx'}"


def rate(fn, count: int, repeats: int = 3) -> float:
    """Best frames/s of `count` calls fn(i) over a few repeats."""
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for i in range(count):
            fn(i)
        best = min(best, time.perf_counter() - t)
    return count / best


def main() -> None:
    cv2.setNumThreads(2)
    from skimage import data

    image = np.ascontiguousarray(data.astronaut())  # 512x512
    face = FaceAnalyzer().analyze(image)
    audio = ten_seconds_of_speech()
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print("cpu:", cpu())
    print(f"cv2 {cv2.__version__}, {cv2.getNumThreads()} threads; avatar 512x512, audio {audio.duration:.1f} s")

    copy_fps = rate(lambda i: image.copy(), 250)
    print(f"baseline image copy: {copy_fps:.0f} frames/s")
    for level in LEVELS:
        t = time.perf_counter()
        plan = plan_motion(audio, face, level, seed=0, fps=FPS)
        plan_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        source = MotionSource(image, face, plan)
        source_ms = (time.perf_counter() - t) * 1000
        n = source.frame_count
        fps = rate(source.frame, n)
        rois = ", ".join(f"{x1 - x0}x{y1 - y0}" for x0, y0, x1, y1 in (layer.roi for layer in source._layers))
        print(f"motion {level:6s}: MotionSource.frame {fps:.0f} frames/s ({1000 / fps:.2f} ms/frame, {n} frames); "
              f"plan {plan_ms:.0f} ms, source {source_ms:.0f} ms (once per request)"
              + (f"; warp ROIs {rois}" if level != NONE else ""))

    engine = VisemeEngine()
    state = engine.prepare(image, face)
    t = time.perf_counter()
    count = sum(1 for _ in engine.render(state, audio, FPS, 0))
    render_fps = count / (time.perf_counter() - t)
    print(f"viseme engine render (still head, today): {render_fps:.0f} frames/s")
    warp_ms = 1000 / rate(MotionSource(image, face, plan_motion(audio, face, "subtle", 0, FPS)).frame, 250, 2)
    print(f"estimate with motion (render + warp - copy): "
          f"{1000 / (1000 / render_fps + warp_ms - 1000 / copy_fps):.0f} frames/s "
          f"(the engine's own per-frame mesh work on a moving face not included)")


if __name__ == "__main__":
    main()
