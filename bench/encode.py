"""H.264 settings for talking-head MP4s: detail kept in the eye region against file size and time.

The viseme engine renders 10 s of speech on photos with subtle head motion once; each x264 setting
(crf x preset x tune) encodes those frames through video.encode_mp4, the MP4 is decoded again, and
the eye region's Laplacian variance (skin grain, lashes: what a low bitrate smears first) and PSNR
are compared with the frames that went in. Printed per setting: kb/s, encode seconds, eye detail
kept (median over frames, both photos), eye PSNR.

Run: .venv/bin/python bench/encode.py
"""
from __future__ import annotations

import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench.motion import cpu  # noqa: E402
from bench.realism import photos  # noqa: E402
from bench.realism_motion import eye_box, lap_var  # noqa: E402
from bench.viseme import ten_seconds_of_speech  # noqa: E402
from generation.pipeline import video  # noqa: E402
from generation.pipeline.faces import default_analyzer  # noqa: E402
from generation.pipeline.lipsync.viseme import VisemeEngine  # noqa: E402
from generation.pipeline.motion import MotionSource, plan_motion  # noqa: E402

CRFS = (18, 20, 23)
PRESETS = ("veryfast", "faster")
TUNES = ("", "film", "grain")
PHOTOS = ("astronaut", "hopper", "grace_hopper")  # (hopper: the built-in set's name)
STRIDE = 5  # frames compared


def decode(path: str, width: int, height: int) -> np.ndarray:
    """(n, h, w, 3) RGB frames of an MP4."""
    raw = subprocess.run([video.ffmpeg_exe(), "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return 10 * np.log10(255 ** 2 / max(mse, 1e-9))


def main() -> None:
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print("cpu:", cpu(), "(shared machine: under load)")
    audio = ten_seconds_of_speech()
    engine = VisemeEngine()
    clips = []
    for name, image in photos():
        if name not in PHOTOS:
            continue
        h, w = image.shape[:2]
        image = np.ascontiguousarray(image[: h - h % 2, : w - w % 2])
        face = default_analyzer().analyze(image)
        source = MotionSource(image, face, plan_motion(audio, face, "subtle", seed=5))
        frames = list(engine.render(engine.prepare(image, face), audio, 25, seed=5, motion=source))
        clips.append((name, frames, source))
    print(f"{'crf':>3} {'preset':9} {'tune':6} {'kb/s':>6} {'enc s':>6} {'eye detail':>10} {'eye PSNR':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for crf, preset, tune in itertools.product(CRFS, PRESETS, TUNES):
            rates, secs, kept, ps = [], [], [], []
            for name, frames, source in clips:
                out = os.path.join(tmp, f"{name}.mp4")
                t = time.perf_counter()
                info = video.encode_mp4(iter(frames), audio.samples, out, crf=crf, preset=preset, tune=tune)
                secs.append(time.perf_counter() - t)
                rates.append(info.size * 8 / 1000 / info.duration)
                decoded = decode(out, info.width, info.height)
                for i in range(0, min(len(frames), len(decoded)), STRIDE):
                    box = eye_box(source.landmarks[i].astype(np.float64))
                    kept.append(lap_var(decoded[i], box) / lap_var(frames[i], box))
                    cx, cy, hw, hh = (int(v) for v in box)
                    ps.append(psnr(decoded[i][cy - hh:cy + hh, cx - hw:cx + hw], frames[i][cy - hh:cy + hh, cx - hw:cx + hw]))
            print(f"{crf:3d} {preset:9} {tune or '-':6} {np.mean(rates):6.0f} {np.mean(secs):6.2f} "
                  f"{np.median(kept):9.2f}x {np.median(ps):8.1f}", flush=True)


if __name__ == "__main__":
    main()
