"""Wav2Lip speed: the official loop's approach against our engine, random weights of the official shape.

Run: .venv/bin/python bench/wav2lip.py [--seconds 8] [--threads 2]
Target: ours >= 3.5x naive (about real time, 25 frames/s, on 2 cores), outputs equal within 1e-4,
peak RSS of the engine process <= 550 MB.

A random-weight checkpoint in the official format ({"state_dict": {"module." + name: tensor},
"optimizer": ..., "global_step": ...}) is saved to a temporary folder; each side then runs in its
own child process, so the peak RSS printed is that side's alone:
  naive: per frame, the official 6-channel input (masked crop + crop) and the full forward, batch
         128, fp32 eager, then the official hard paste of the resized 96x96 box;
  ours:  Wav2LipEngine.render as the worker runs it, in fp32, then in bf16 (its error against fp32
         printed), then with the default WAV2LIP_PRECISION=auto (which of the two it chose, and why):
         cached face features, folded BatchNorm, only the decoder rows the frame uses, feathered paste.
Both sides get the same warm-up before the clock starts: one full batch through their network,
which is where oneDNN builds its kernels (the worker does this at start, Wav2LipEngine.warm_up).
ffmpeg encodes in its own process in the worker, so it is timed on neither side.
"max abs diff" compares the generator outputs (BGR in [0, 1]) over every pixel that reaches the
frame (rows >= FIRST_ROW of 96), and the frames both give through the same feathered paste.
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

SECONDS = 8.0
THREADS = 2
NAIVE_BATCH = 128  # the official inference script's default wav2lip_batch_size
TEXT = "The quick brown fox jumps over the lazy dog. Many people spoke about the moon, the sea and blue skies."


def peak_rss_mb() -> float:
    """This process's peak resident set size."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (what lscpu prints), or the platform's word for it."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def speech(seconds: float) -> np.ndarray:
    """Real espeak speech repeated to `seconds` (a synthetic vowel-like signal where espeak is missing)."""
    from generation.pipeline.types import SAMPLE_RATE

    n = int(seconds * SAMPLE_RATE)
    try:
        from generation.pipeline.audio import prepare
        from generation.pipeline.tts.espeak import EspeakBackend

        one = prepare(EspeakBackend().synthesize(TEXT, "en")).samples
        return np.tile(one, int(np.ceil(n / len(one))))[:n].astype(np.float32)
    except Exception:
        t = np.arange(n) / SAMPLE_RATE
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * t)
        voice = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((140, 280, 700, 1200, 2600), 1))
        return (0.2 * envelope * voice).astype(np.float32)


def demo_face(face_json: str | None):
    """The demo avatar and its dlib analysis (or one stored as JSON, for machines without dlib)."""
    from generation.pipeline.images import demo_avatar_image
    from generation.pipeline.types import Face

    image = demo_avatar_image()
    if face_json:
        return image, Face.from_dict(json.loads(Path(face_json).read_text()))
    from generation.pipeline.faces import FaceAnalyzer

    return image, FaceAnalyzer().analyze(image)


def save_random_checkpoint(path: Path, seed: int = 0) -> None:
    """Random weights of the official shape (output visibly audio-dependent) in the official file layout."""
    from generation.pipeline.lipsync.wav2lip_model import random_wav2lip, save_as_official

    save_as_official(random_wav2lip(seed), path)


def run_naive(ckpt: str, image, face, samples, threads: int, out: str) -> dict:
    """The official inference loop's work per frame, timed from mel to pasted frames."""
    import cv2
    import torch

    from generation.pipeline.lipsync.wav2lip import load_checkpoint, padded_box, set_torch_threads
    from generation.pipeline.lipsync.wav2lip_model import FACE_CHANNELS, FACE_SIZE
    from generation.pipeline.mel import MEL_STEP, N_MELS, mel_chunks, melspectrogram
    from generation.pipeline.types import frame_count

    set_torch_threads(threads)
    model = load_checkpoint(ckpt)
    n = frame_count(len(samples))
    warm = min(NAIVE_BATCH, n)  # the first timed batch's shape: oneDNN builds kernels per shape
    with torch.no_grad():
        model(torch.zeros(warm, 1, N_MELS, MEL_STEP), torch.zeros(warm, FACE_CHANNELS, FACE_SIZE, FACE_SIZE))
    x1, y1, x2, y2 = padded_box(face.box, image.shape[1], image.shape[0])
    bgr = np.ascontiguousarray(image[..., ::-1])
    outputs, frames = [], 0
    t0, c0 = time.perf_counter(), time.process_time()
    chunks = mel_chunks(melspectrogram(samples), 25, n)
    for i in range(0, n, NAIVE_BATCH):
        mels = chunks[i:i + NAIVE_BATCH]
        # as the official loop: every frame's face cropped and resized again, masked copy + crop
        # stacked and divided in float64, then handed to torch as float32
        crops = np.asarray([cv2.resize(bgr.copy()[y1:y2, x1:x2], (96, 96)) for _ in range(len(mels))])
        masked = crops.copy()
        masked[:, 48:] = 0
        faces = np.concatenate((masked, crops), axis=3) / 255.0
        with torch.no_grad():
            pred = model(torch.FloatTensor(mels[:, None].copy()), torch.FloatTensor(faces.transpose(0, 3, 1, 2)))
        pred = pred.numpy()
        outputs.append(pred)
        for p in pred.transpose(0, 2, 3, 1) * 255.0:
            frame = bgr.copy()
            frame[y1:y2, x1:x2] = cv2.resize(p.astype(np.uint8), (x2 - x1, y2 - y1))  # the hard box paste
            frames += 1
    seconds, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    np.save(out, np.concatenate(outputs))
    return {"fps": frames / seconds, "frames": frames, "seconds": seconds, "cpu_fps": frames / cpu_s,
            "peak_rss_mb": peak_rss_mb()}


def run_ours(ckpt: str, image, face, samples, threads: int, out: str, batch: int | None,
             precision: str = "fp32") -> dict:
    """Wav2LipEngine as the worker runs it: prepare once, then render every frame."""
    from generation.pipeline.lipsync import wav2lip
    from generation.pipeline.mel import mel_chunks, melspectrogram
    from generation.pipeline.types import Audio, frame_count

    t0 = time.perf_counter()
    engine = wav2lip.Wav2LipEngine(ckpt, threads=threads, batch_size=batch or wav2lip.BATCH_SIZE, precision=precision)
    engine.warm_up()  # as the worker does when it starts
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    state = engine.prepare(image, face)
    prepare_s = time.perf_counter() - t0
    audio = Audio(samples)
    frames = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in engine.render(state, audio):
        frames += 1
    seconds, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    chunks = mel_chunks(melspectrogram(samples), 25, frame_count(len(samples)))
    rss_mb = peak_rss_mb()  # before the extra pass below, which only collects outputs to compare
    rows = [engine.generate(state, chunks[i:i + engine.batch_size]) for i in range(0, len(chunks), engine.batch_size)]
    np.save(out, np.concatenate(rows))
    return {"fps": frames / seconds, "frames": frames, "seconds": seconds, "cpu_fps": frames / cpu_s,
            "load_s": load_s, "prepare_s": prepare_s, "peak_rss_mb": rss_mb, "precision": engine.precision,
            "reason": engine.precision_reason}


def child(args) -> None:
    """One side of the comparison, in its own process; prints a JSON line."""
    image, face = demo_face(args.face_json)
    samples = np.load(args.audio)
    if args.child == "naive":
        result = run_naive(args.ckpt, image, face, samples, args.threads, args.out)
    else:
        precision = {"ours": "fp32", "ours-bf16": "bf16", "ours-auto": "auto"}[args.child]
        result = run_ours(args.ckpt, image, face, samples, args.threads, args.out, args.batch, precision)
    print(json.dumps(result))


def spawn(side: str, args, tmp: Path, face_json: Path, audio: Path) -> dict:
    """Run one side in a fresh interpreter and read its JSON line."""
    cmd = [sys.executable, __file__, "--child", side, "--ckpt", str(tmp / "wav2lip_gan.pth"),
           "--face-json", str(face_json), "--audio", str(audio), "--out", str(tmp / f"{side}.npy"),
           "--threads", str(args.threads)] + (["--batch", str(args.batch)] if args.batch else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{side} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--batch", type=int, default=None, help="our frames per forward (default: the engine's)")
    parser.add_argument("--face-json", default=None, help="a stored Face (to_dict) instead of running dlib")
    parser.add_argument("--child", choices=["naive", "ours", "ours-bf16", "ours-auto"], help=argparse.SUPPRESS)
    parser.add_argument("--ckpt", help=argparse.SUPPRESS)
    parser.add_argument("--audio", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    image, face = demo_face(args.face_json)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        save_random_checkpoint(tmp / "wav2lip_gan.pth")
        (tmp / "face.json").write_text(json.dumps(face.to_dict()))
        np.save(tmp / "audio.npy", speech(args.seconds))
        ours = spawn("ours", args, tmp, tmp / "face.json", tmp / "audio.npy")
        naive = spawn("naive", args, tmp, tmp / "face.json", tmp / "audio.npy")
        bf16 = spawn("ours-bf16", args, tmp, tmp / "face.json", tmp / "audio.npy")
        auto = spawn("ours-auto", args, tmp, tmp / "face.json", tmp / "audio.npy")
        a, b = np.load(tmp / "naive.npy"), np.load(tmp / "ours.npy")

        from generation.pipeline.lipsync.wav2lip import FIRST_ROW, Wav2LipEngine

        full = a.transpose(0, 2, 3, 1)[:, FIRST_ROW:]
        diff = float(np.abs(full - b).max())
        # both outputs through the same paste: the frames the user would see
        engine = Wav2LipEngine(tmp / "wav2lip_gan.pth", threads=args.threads)
        state = engine.prepare(image, face)
        c = np.load(tmp / "ours-bf16.npy")
        bf16_diff, bf16_mean = float(np.abs(c - b).max()), float(np.abs(c - b).mean())
        frame_diff = max(int(np.abs(engine.paste(state, x).astype(int) - engine.paste(state, y)).max())
                         for x, y in zip(full, b))
    from generation.pipeline.lipsync.wav2lip_precision import cpu_flags, native_bf16

    print(f"CPU {cpu_model()}; native bf16 flags: {', '.join(native_bf16(cpu_flags())) or 'none'}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"audio {args.seconds:.1f} s, {ours['frames']} frames at 25 fps, {args.threads} threads, "
          f"image {image.shape[1]}x{image.shape[0]}, face box {face.box}")
    print(f"naive (official loop, batch {NAIVE_BATCH}, fp32 eager): {naive['fps']:6.1f} frames/s  "
          f"peak RSS {naive['peak_rss_mb']:.0f} MB")
    print(f"ours  (Wav2LipEngine.render):                  {ours['fps']:6.1f} frames/s  "
          f"peak RSS {ours['peak_rss_mb']:.0f} MB  (load {ours['load_s']:.2f} s, prepare {ours['prepare_s']:.3f} s)")
    print(f"ratio {ours['fps'] / naive['fps']:.2f}x  (real time needs 25 frames/s)")
    # a shared machine's load swings between the runs; CPU time per frame is steadier than the clock
    print("frames per CPU-second (all threads; steadier than frames/s on a loaded machine): "
          + ", ".join(f"{name} {side['cpu_fps']:.1f}" for name, side in
                      (("naive", naive), ("fp32", ours), ("bf16", bf16), ("auto", auto))))
    print(f"max abs diff, generator output over the pasted rows: {diff:.2e}; pasted frames: {frame_diff} levels")
    print(f"ours bf16 (WAV2LIP_PRECISION=bf16):         {bf16['fps']:6.1f} frames/s  peak RSS {bf16['peak_rss_mb']:.0f} MB  "
          f"ratio {bf16['fps'] / naive['fps']:.2f}x; vs fp32 max abs {bf16_diff:.1e} ({bf16_diff * 255:.1f} of 255), "
          f"mean {bf16_mean:.1e}")
    print(f"ours auto (WAV2LIP_PRECISION=auto, default): {auto['fps']:6.1f} frames/s  ratio "
          f"{auto['fps'] / naive['fps']:.2f}x, ran in {auto['precision']} (load incl. self-test {auto['load_s']:.2f} s "
          f"vs fp32 {ours['load_s']:.2f} s): {auto['reason']}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
    main()
