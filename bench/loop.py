"""Where video avatars loop: ping-pong against the planned loop (loop.py), on clips made on the spot.

Run: .venv/bin/python bench/loop.py [--strips]
Targets (issue 23): no frame-to-frame jump at a turn larger than the clip's own median step x 2,
and no reversed blink. For each clip, both orders play 3x the clip's length; a jump is measured
on the decoded prepared frames (mean absolute difference at 1/4 size) and on the tracked landmarks
(RMS px), each against the clip's own median step in the same measure; a reversed-blink step is a
step backwards (k -> k - 1) in or next to a blink. --strips writes 8 frames before and after each
turn of the loop, face crops, to bench/out/loop_<clip>.png.
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

from generation.pipeline import loop  # noqa: E402
from generation.pipeline.clip import ClipReader, inspect_video, prepare_clip  # noqa: E402
from generation.pipeline.faces import FaceAnalyzer  # noqa: E402
from tests import media  # noqa: E402

PASSES = 3
OUT = ROOT / "bench" / "out"


def clips():
    """(name, media.Clip): varied faces, motion speeds and lengths."""
    yield "astronaut_4s", media.moving_face(4.0)
    yield "astronaut_8s_fast", media.moving_face(8.0, seed=2, tempo=1.6)
    yield "lfw3_6s", media.moving_face(6.0, sprite=media.lfw(3), seed=5)
    yield "lfw8_3s", media.moving_face(3.0, sprite=media.lfw(8), seed=7)
    yield "talking", media.talking()


def measures(reader: ClipReader):
    """Per-frame picture (1/4 size, float) and landmarks, as the jump measures compare them."""
    pictures = np.array([reader.frame(k)[::4, ::4].astype(np.float32) for k in range(reader.frame_count)])
    return pictures, reader.landmarks.astype(np.float64)


def step_size(pictures, landmarks, a, b):
    """(picture, landmark) distance between frames a and b."""
    return (float(np.abs(pictures[a] - pictures[b]).mean()),
            float(np.sqrt(((landmarks[a] - landmarks[b]) ** 2).sum(-1).mean())))


def judge(order, pictures, landmarks, blinks):
    """(largest jump over median step, picture and landmarks; reversed-blink steps) of an order."""
    n = len(pictures)
    median = np.median([step_size(pictures, landmarks, k, k + 1) for k in range(n - 1)], axis=0)
    turns = np.flatnonzero(np.diff(order) != 1)
    jumps = np.array([step_size(pictures, landmarks, order[t], order[t + 1]) for t in turns]) if len(turns) else \
        np.zeros((1, 2))
    back = np.diff(order) == -1
    reversed_blinks = int((back & (blinks[order[1:]] | blinks[order[:-1]])).sum())
    return jumps.max(axis=0) / np.maximum(median, 1e-6), reversed_blinks, len(turns)


def strip(reader: ClipReader, order, path: Path) -> None:
    """8 frames before and 8 after each turn (face crops), one row per turn."""
    turns = np.flatnonzero(np.diff(order) != 1)[:3]
    rows = []
    for t in turns:
        ks = order[max(0, t - 7):t + 9]
        x0, y0, x1, y1 = np.median(reader.boxes, axis=0).astype(int)
        pad = (x1 - x0) // 3
        crops = []
        for i, k in enumerate(ks):
            f = reader.frame(int(k))[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad]
            f = cv2.resize(f, (120, int(120 * f.shape[0] / f.shape[1])))
            cv2.putText(f, str(int(k)), (3, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 0), 1)
            if i == 7:
                f[:, -2:] = (255, 0, 0)
            crops.append(f)
        rows.append(np.hstack(crops))
    if rows:
        cv2.imwrite(str(path), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))


LENGTHS = (3.0, 6.0, 10.0, 20.0)
SEEDS = (0, 3, 6, 11)


def by_length() -> None:
    """For clips of each length (faces swaying calmly, blinking every 2.4 s, four seeds): how many loop
    forward, the largest jump, reversed-blink steps over 3 passes."""
    analyzer = FaceAnalyzer()
    print(f"{'seconds':>7} {'forward loops':>13} {'largest jump (picture, landmarks)':>34} {'reversed blink steps':>21}")
    for seconds in LENGTHS:
        forward, worst, reversed_total = 0, np.zeros(2), 0
        for seed in SEEDS:
            clip = media.moving_face(seconds, size=(480, 270), seed=seed)
            with tempfile.TemporaryDirectory() as tmp:
                prepared = prepare_clip(clip.data, inspect_video(clip.data).demuxer, Path(tmp), analyzer)
                with ClipReader(prepared.data_path, prepared.frames_path) as reader:
                    pictures, landmarks = measures(reader)
                    blinks = loop.blinking(loop.eye_openness(reader.raw_landmarks), margin=1)
                    order = reader.order(PASSES * reader.frame_count)
                    jump, reversed_blinks, _ = judge(order, pictures, landmarks, blinks)
                    forward += bool((reader.transitions[:, 0] != reader.transitions[:, 1]).any())
                    worst, reversed_total = np.maximum(worst, jump), reversed_total + reversed_blinks
        print(f"{seconds:7.0f} {forward:9d} of {len(SEEDS)} {worst[0]:17.2f} {worst[1]:16.2f} {reversed_total:21d}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--strips", action="store_true")
    parser.add_argument("--lengths", action="store_true", help="how the loop depends on the clip's length")
    args = parser.parse_args()
    if args.lengths:
        return by_length()
    OUT.mkdir(parents=True, exist_ok=True)
    analyzer = FaceAnalyzer()
    print(f"{'clip':20} {'frames':>6} {'order':10} {'turns':>5} {'jump/median (picture, landmarks)':>34} "
          f"{'reversed blink steps':>21}")
    for name, clip in clips():
        with tempfile.TemporaryDirectory() as tmp:
            prepared = prepare_clip(clip.data, inspect_video(clip.data).demuxer, Path(tmp), analyzer)
            with ClipReader(prepared.data_path, prepared.frames_path) as reader:
                pictures, landmarks = measures(reader)
                blinks = loop.blinking(loop.eye_openness(reader.raw_landmarks), margin=1)
                n = PASSES * reader.frame_count
                started = time.perf_counter()
                planned = reader.order(n)
                orders = {"pingpong": loop.play(None, reader.frame_count, n), "loop": planned}
                for label, order in orders.items():
                    (pic, lm), reversed_blinks, turns = judge(order, pictures, landmarks, blinks)
                    print(f"{name:20} {reader.frame_count:6d} {label:10} {turns:5d} {pic:17.2f} {lm:16.2f} "
                          f"{reversed_blinks:21d}")
                print(f"{'':20} transitions {reader.transitions.tolist()}, blink frames {int(blinks.sum())}, "
                      f"order in {time.perf_counter() - started:.3f} s")
                if args.strips:
                    strip(reader, planned, OUT / f"loop_{name}.png")


if __name__ == "__main__":
    main()
