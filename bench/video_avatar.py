"""Video avatars: render time with a clip against a photo, per engine, and the worker's peak memory.

Run: .venv/bin/python bench/video_avatar.py [--seconds 10] [--threads 2] [--skip-memory] [--clock cpu] [--repeats 3]
Targets: a video avatar renders 10 s of speech in <= 1.5x the photo avatar's time (same engine,
same run); a worker with Wav2Lip loaded that renders with a 60 s 1080p avatar (prepared frames
1280 px on the long side) peaks at <= 800 MB RSS.

Photo: the demo avatar, still (frames reused while the mouth holds) and with the default head
motion (every frame drawn: what users get). Video: a 10 s 1280x720 clip of a real face moving along a known path
(tests/media.py), encoded by ffmpeg and prepared by clip.prepare_clip (not timed). Wav2Lip runs a
random-weight checkpoint of the official shape at fp32 (bench/wav2lip.py does the same). Photo and
clip runs alternate and the best of REPEATS is kept, so load from other processes on the machine
hurts both sides alike; "before" decodes the clip's frames as before (libjpeg to BGR, then
cvtColor), in the same run. Frames are consumed and dropped, as the encoder pipe does; ffmpeg's
encoding is in its own process and timed on neither side.
The memory check runs in a child process (resource.getrusage of that child alone): load Wav2Lip,
open the prepared 60 s clip, prepare it for the engine, render SECONDS of speech.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

SECONDS = 10.0
THREADS = 2
REPEATS = 2  # best of: the machine may be shared
RATIO_TARGET = 1.5
RSS_TARGET_MB = 800
CLIP_SIZE = (1280, 720)
LONG_SIZE = (1920, 1080)  # prepared at clip.MAX_CLIP_SIDE = 1280 on the long side
LONG_SECONDS = 60.0
DEFAULT_MOTION = "subtle"  # types.DEFAULT_MOTION: what a photo avatar does unless told otherwise
TEXT = "The quick brown fox jumps over the lazy dog. Many people spoke about the moon, the sea and blue skies."


def cpu_line() -> str:
    """The CPU model and whether the flags that matter for torch's CPU kernels are there."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        out = ""
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    flags = set(fields.get("Flags", "").split())
    have = {name: name in flags for name in ("avx2", "avx512_bf16", "amx_tile", "amx_bf16")}
    return (f"CPU: {fields.get('Model name', '?').strip()}, {os.cpu_count()} cores here; "
            + ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in have.items()))


def speech(seconds: float):
    """Real espeak speech repeated to `seconds`, as a types.Audio."""
    from generation.pipeline.audio import prepare
    from generation.pipeline.tts.espeak import EspeakBackend
    from generation.pipeline.types import SAMPLE_RATE, Audio

    one = prepare(EspeakBackend().synthesize(TEXT, "en")).samples
    n = int(seconds * SAMPLE_RATE)
    return Audio(np.tile(one, int(np.ceil(n / len(one))))[:n].astype(np.float32))


def make_clip(seconds: float, size: tuple[int, int], folder: Path) -> tuple[Path, Path]:
    """A prepared clip of the astronaut moving for `seconds` at `size` (reused when already in `folder`)."""
    from generation.pipeline.clip import DATA_NAME, FRAMES_NAME, inspect_video, prepare_clip
    from generation.pipeline.faces import FaceAnalyzer
    from tests import media

    data, frames = folder / DATA_NAME, folder / FRAMES_NAME
    if not (data.is_file() and frames.is_file()):
        t = time.perf_counter()
        made = media.moving_face(seconds, size=size, width=0.22, seed=3)
        prepare_clip(made.data, inspect_video(made.data).demuxer, folder, FaceAnalyzer())
        print(f"  made and prepared a {seconds:g} s {size[0]}x{size[1]} clip in {time.perf_counter() - t:.0f} s",
              flush=True)
    return data, frames


def random_checkpoint(folder: Path) -> Path:
    """An official-format checkpoint of random weights."""
    from generation.pipeline.lipsync.wav2lip_model import random_wav2lip, save_as_official

    path = folder / "wav2lip_gan.pth"
    if not path.is_file():
        save_as_official(random_wav2lip(seed=0), path)
    return path


def build_engine(name: str, checkpoint: Path, threads: int):
    """A warmed-up engine, as the worker holds it."""
    if name == "viseme":
        from generation.pipeline.lipsync.viseme import VisemeEngine

        return VisemeEngine()
    from generation.pipeline.lipsync.wav2lip import Wav2LipEngine

    engine = Wav2LipEngine(checkpoint, threads=threads, precision="fp32")
    engine.warm_up()
    return engine


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}  # cpu: this process's threads, less hurt by others' load
clock = CLOCKS["wall"]


def timed_render(engine, state, audio, **kwargs) -> float:
    """Seconds (of `clock`) to produce every frame (each dropped at once)."""
    t = clock()
    count = sum(1 for _ in engine.render(state, audio, **kwargs))
    assert count == round(audio.duration * 25)
    return clock() - t


def compare(name: str, checkpoint: Path, clip: tuple[Path, Path], seconds: float, threads: int) -> float:
    """Print photo and clip render times of one engine; the ratio."""
    from generation.pipeline.clip import ClipReader
    from generation.pipeline.faces import FaceAnalyzer
    from generation.pipeline.images import demo_avatar_image

    engine = build_engine(name, checkpoint, threads)
    image = demo_avatar_image()
    photo_state = engine.prepare(image, FaceAnalyzer().analyze(image))
    reader = ClipReader(*clip)
    # the fair baseline: the clip's own first frame as a photo (same size, same face size), since
    # drawing a mouth costs by its pixels, and the demo photo's face is a third as wide
    still_state = engine.prepare(reader.frame(0), reader.face(0))
    t = time.perf_counter()
    clip_state = engine.prepare_clip(reader)
    prep = time.perf_counter() - t
    audio = speech(seconds)
    from generation.pipeline import clip as clip_
    from generation.pipeline.runner import moving_photo

    face = FaceAnalyzer().analyze(image)
    photo, moving, still, video, before = [], [], [], [], []
    rgb = getattr(clip_, "_IMREAD_RGB", None)  # None before decode_rgb existed
    for _ in range(REPEATS):
        photo.append(timed_render(engine, photo_state, audio))
        if name == "viseme":  # the photo path as users get it: the default head motion, every frame drawn
            motion = moving_photo(image, face, audio, DEFAULT_MOTION, 0, 25)
            moving.append(timed_render(engine, photo_state, audio, motion=motion))
        still.append(timed_render(engine, still_state, audio))
        for got, decode in ((before, None), (video, rgb)):  # before: libjpeg's BGR, then cvtColor
            clip_._IMREAD_RGB = decode
            engine.close_state(clip_state)  # each clip run starts with nothing cached, like a new avatar
            clip_state = engine.prepare_clip(ClipReader(*clip))
            got.append(timed_render(engine, clip_state, audio))
    clip_._IMREAD_RGB = rgb
    engine.close_state(clip_state)
    ratio, fair = min(video) / min(photo), min(video) / min(still)
    runs = lambda values: ", ".join(f"{v:.2f}" for v in values)  # noqa: E731
    vs_moving = f"{min(video) / min(moving):.2f}x (before {min(before) / min(moving):.2f}x) the moving photo, " \
        if moving else ""
    print(f"{name:8s} photo {image.shape[1]}x{image.shape[0]}: {min(photo):6.2f} s still"
          + (f", {min(moving):6.2f} s moving ({DEFAULT_MOTION})" if moving else "") + "   "
          f"photo {reader.width}x{reader.height} (the clip's frame 0): {min(still):6.2f} s   "
          f"video {reader.width}x{reader.height}: {min(video):6.2f} s, before {min(before):6.2f} s "
          f"(prepare_clip {prep * 1000:.0f} ms)   ratio {ratio:.2f}x (before {min(before) / min(photo):.2f}x) the "
          f"still demo photo, {vs_moving}{fair:.2f}x the same-size photo (target <= {RATIO_TARGET}x)  "
          f"[{seconds:g} s of speech; runs: photo {runs(photo)}; moving {runs(moving)}; same-size photo {runs(still)}; "
          f"video {runs(video)}; before {runs(before)}]", flush=True)
    return ratio


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM), in MB.

    Not getrusage's ru_maxrss: Linux carries that over fork and exec, so a child started by this
    (large) bench would report the bench's own size as its peak.
    """
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024


def memory_child(checkpoint: str, data: str, frames: str, seconds: float, threads: int) -> None:
    """In a fresh process: Wav2Lip loaded, the long clip prepared for it and rendered; print peak RSS."""
    from generation.pipeline.clip import ClipReader

    engine = build_engine("wav2lip", Path(checkpoint), threads)
    loaded = peak_rss_mb()
    reader = ClipReader(data, frames)
    state = engine.prepare_clip(reader)
    count = sum(1 for _ in engine.render(state, speech(seconds)))
    peak = peak_rss_mb()
    print(json.dumps({"loaded_mb": loaded, "peak_mb": peak, "frames": count, "clip_frames": reader.frame_count,
                      "clip_size": [reader.width, reader.height]}))


def memory(checkpoint: Path, clip: tuple[Path, Path], seconds: float, threads: int) -> None:
    """Run memory_child in its own process and print what it measured."""
    cmd = [sys.executable, __file__, "--child-memory", str(checkpoint), str(clip[0]), str(clip[1]),
           "--seconds", str(seconds), "--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    got = json.loads(out)
    w, h = got["clip_size"]
    print(f"worker peak RSS: {got['peak_mb']:.0f} MB (target <= {RSS_TARGET_MB} MB): Wav2Lip loaded "
          f"{got['loaded_mb']:.0f} MB, then a {got['clip_frames'] / 25:g} s avatar prepared at {w}x{h} and "
          f"{got['frames']} frames rendered", flush=True)


def main() -> None:
    global clock, REPEATS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--engines", default="viseme,wav2lip")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--keep", default="", help="folder to keep the made clips in between runs")
    parser.add_argument("--child-memory", nargs=3, metavar=("CHECKPOINT", "DATA", "FRAMES"))
    args = parser.parse_args()
    if args.child_memory:
        memory_child(*args.child_memory, args.seconds, args.threads)
        return
    clock, REPEATS = CLOCKS[args.clock], args.repeats
    print(cpu_line(), f"; times: {args.clock} clock, best of {REPEATS}")
    print("reproduce: .venv/bin/python bench/video_avatar.py " + " ".join(sys.argv[1:]), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-video-") as tmp:
        base = Path(args.keep or tmp)
        base.mkdir(parents=True, exist_ok=True)
        checkpoint = random_checkpoint(base)
        clip = make_clip(SECONDS, CLIP_SIZE, base / "clip10")
        for name in args.engines.split(","):
            compare(name, checkpoint, clip, args.seconds, args.threads)
        if not args.skip_memory:
            memory(checkpoint, make_clip(LONG_SECONDS, LONG_SIZE, base / "clip60"), args.seconds, args.threads)


if __name__ == "__main__":
    main()
