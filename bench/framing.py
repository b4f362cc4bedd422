"""Framing's cost: whole viseme-engine runs (TTS → encode) of the demo avatar at its own size
(`original`, the baseline) and framed 16:9 / 9:16 / 1:1 at 720p and 1080p, in the same run; then
the two ways to compose compared on the same rendered frames: numpy/OpenCV per frame (what the
pipeline does) against the encoding ffmpeg scaling and overlaying onto a looped still.

A second baseline isolates framing from the size of the video: the same photo already framed
16:9@720 and 9:16@720 offline (a 1280×720 / 720×1280 avatar), rendered `original`. Against it a framed
run pays only the composing; against the demo's own 352×416 it also pays for encoding 6× the pixels.

Run: .venv/bin/python bench/framing.py [--repeat N]   (target: framed 720p ≤ 1.20× original)
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from generation.pipeline import framing  # noqa: E402
from generation.pipeline import video as video_stage  # noqa: E402
from generation.pipeline.audio import prepare as prepare_audio, write_wav  # noqa: E402
from generation.pipeline.faces import FaceAnalyzer  # noqa: E402
from generation.pipeline.images import demo_avatar_image  # noqa: E402
from generation.pipeline.runner import PipelineConfig, build_pipeline  # noqa: E402
from generation.pipeline.types import FPS, frame_count  # noqa: E402

TEXT = ("Добрый день! Меня зовут Айгерим, и сегодня я расскажу о нашем сервисе. Он превращает текст "
        "в видео с говорящим аватаром за несколько секунд.")
LANGUAGE = "ru"
MOTION = "subtle"  # the avatars' default
VARIANTS = [("original", 720)] + [(f, r) for r in framing.RESOLUTIONS for f in framing.FRAMES[1:]]


def cpu() -> str:
    """lscpu's model name and flags line."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return "lscpu unavailable"
    lines = [line for line in out.splitlines() if line.startswith(("Model name", "Flags", "CPU(s):"))]
    return "\n".join(lines)


def whole_runs(pipeline, image, face, repeat: int) -> dict:
    """Seconds (best of `repeat`) of a whole run per (frame, resolution), plus its timings."""
    best: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            for frame, res in VARIANTS:
                fmt = framing.Format(frame, res, framing.BLUR)
                t = time.perf_counter()
                result = pipeline.run(TEXT, LANGUAGE, Path(tmp) / "out.mp4", image=image, face=face,
                                      avatar_key="bench", motion=MOTION, framing=fmt)
                took = time.perf_counter() - t
                if (frame, res) not in best or took < best[(frame, res)][0]:
                    best[(frame, res)] = (took, result)
    return best


def same_size_runs(pipeline, image, face, repeat: int) -> dict:
    """Seconds (best of `repeat`) of `original` runs of the photo pre-framed to each 720p frame: equal pixels."""
    best = {}
    analyzer = FaceAnalyzer()
    with tempfile.TemporaryDirectory() as tmp:
        for frame in framing.FRAMES[1:]:
            composer, _notes = framing.prepare(framing.Format(frame, 720, framing.BLUR), face, image)
            still = composer.compose(image)
            still_face = analyzer.analyze(still)
            for _ in range(repeat):
                t = time.perf_counter()
                pipeline.run(TEXT, LANGUAGE, Path(tmp) / "out.mp4", image=still, face=still_face,
                             avatar_key=f"bench-{frame}", motion=MOTION)
                best[frame] = min(best.get(frame, float("inf")), time.perf_counter() - t)
    return best


def ffmpeg_overlay(frames, audio, out_path, layout, background) -> None:
    """The other way: avatar-size frames piped in, ffmpeg crops, scales (Lanczos) and overlays onto a looped still."""
    h, w = frames[0].shape[:2]
    sx0, sy0, sx1, sy1 = layout.src
    dx0, dy0, dx1, dy1 = layout.dst
    with tempfile.TemporaryDirectory() as tmp:
        wav, still = os.path.join(tmp, "a.wav"), os.path.join(tmp, "bg.png")
        write_wav(wav, audio)
        Image.fromarray(background).save(still)
        graph = (f"[0:v]crop={sx1 - sx0}:{sy1 - sy0}:{sx0}:{sy0},scale={dx1 - dx0}:{dy1 - dy0}:flags=lanczos[a];"
                 f"[1:v][a]overlay={dx0}:{dy0}:shortest=1,format={video_stage.PIX_FMT}[v]")
        cmd = [video_stage.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(FPS), "-i", "pipe:0",
               "-loop", "1", "-r", str(FPS), "-i", still, "-i", wav,
               "-filter_complex", graph, "-map", "[v]", "-map", "2:a:0",
               "-c:v", video_stage.VIDEO_CODEC, "-preset", video_stage.PRESET, "-crf", str(video_stage.CRF),
               "-tune", video_stage.TUNE, "-threads", str(video_stage.THREADS),
               "-c:a", video_stage.AUDIO_CODEC, "-b:a", video_stage.AUDIO_BITRATE, "-ar", str(video_stage.AUDIO_RATE),
               "-movflags", "+faststart", "-f", "mp4", str(out_path)]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
        for frame in frames:
            proc.stdin.write(np.ascontiguousarray(frame).data)
        proc.stdin.close()
        if proc.wait() != 0:
            raise SystemExit("ffmpeg overlay failed")


def compose_ways(pipeline, image, face, repeat: int) -> None:
    """numpy/OpenCV per frame vs ffmpeg's scale+overlay, encode included, on the same pre-rendered frames."""
    name, engine = pipeline.engine("viseme")
    state = pipeline.prepared(name, engine, image, face, "bench")
    from generation.pipeline.tts.text import synthesize_text

    audio = prepare_audio(synthesize_text(pipeline.tts, TEXT, LANGUAGE, pipeline.tts.default_voice(LANGUAGE).id))
    frames = list(engine.render(state, audio, fps=FPS, seed=0))[:frame_count(len(audio.samples), FPS)]
    print(f"\ncompose + encode only, {len(frames)} pre-rendered frames (best of {repeat}):")
    print(f"{'variant':14} {'numpy s':>8} {'ffmpeg s':>9} {'ffmpeg/numpy':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "o.mp4"
        t = min(_timed(lambda: video_stage.encode_mp4(iter(frames), audio.samples, out)) for _ in range(repeat))
        print(f"{'original':14} {t:8.2f}")
        for frame, res in VARIANTS[1:]:
            composer, _notes = framing.prepare(framing.Format(frame, res), face, image)
            numpy_s = min(_timed(lambda: video_stage.encode_mp4(framing.FramedFrames(iter(frames), composer),
                                                                audio.samples, out)) for _ in range(repeat))
            ff_s = min(_timed(lambda: ffmpeg_overlay(frames, audio.samples, out, composer.layout,
                                                     composer.background)) for _ in range(repeat))
            print(f"{frame + '@' + str(res):14} {numpy_s:8.2f} {ff_s:9.2f} {ff_s / numpy_s:13.2f}")


def filters() -> None:
    """Why bicubic: a 1.8× enlargement of the shrunk astronaut against the original, per OpenCV filter."""
    import cv2
    from skimage import data

    truth = data.astronaut()
    small = cv2.resize(truth, (284, 284), interpolation=cv2.INTER_AREA)
    print("\nenlarging 284 → 512 px (1.8×), against the 512 px original:")
    for name, flag in (("lanczos4", cv2.INTER_LANCZOS4), ("cubic", cv2.INTER_CUBIC), ("linear", cv2.INTER_LINEAR)):
        up = cv2.resize(small, (512, 512), interpolation=flag)
        started = time.perf_counter()
        for _ in range(20):
            cv2.resize(small, (512, 512), interpolation=flag)
        ms = (time.perf_counter() - started) / 20 * 1000
        error = np.abs(up.astype(float) - truth).mean()
        sharp = cv2.Laplacian(cv2.cvtColor(up, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()
        print(f"{name:9} mean |error| {error:5.2f}  Laplacian variance {sharp:6.0f}  {ms:5.2f} ms")


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-compare", action="store_true", help="skip the numpy-vs-ffmpeg comparison")
    args = parser.parse_args()
    print(cpu())
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    image = demo_avatar_image()
    face = FaceAnalyzer().analyze(image)
    pipeline = build_pipeline(PipelineConfig(lipsync_engine="viseme"))
    best = whole_runs(pipeline, image, face, args.repeat)
    base = best[("original", 720)][0]
    print(f"\nwhole runs, viseme engine, motion {MOTION}, background blur, best of {args.repeat}:")
    print(f"{'variant':14} {'size':>10} {'total s':>8} {'×original':>10} {'lipsync':>8} {'framing':>8} {'encode':>7}")
    for (frame, res), (took, result) in best.items():
        v, tm = result.video, result.timings
        label = frame if frame == "original" else f"{frame}@{res}"
        print(f"{label:14} {f'{v.width}x{v.height}':>10} {took:8.2f} {took / base:10.2f} {tm.lipsync:8.2f} "
              f"{tm.extra.get('framing', 0.0):8.2f} {tm.encode - tm.extra.get('framing', 0.0):7.2f}")
    print(f"(video {best[('original', 720)][1].video.duration:.1f} s; framing's seconds are inside encode's "
          "in the pipeline's timings and shown apart here)")
    same = same_size_runs(pipeline, image, face, args.repeat)
    print("\nframed vs an avatar already that size (original frame, same output pixels, same run):")
    print(f"{'variant':14} {'pre-framed s':>12} {'framed s':>9} {'framed/pre-framed':>18}")
    for frame, seconds in same.items():
        framed = best[(frame, 720)][0]
        print(f"{frame + '@720':14} {seconds:12.2f} {framed:9.2f} {framed / seconds:18.2f}")
    if not args.no_compare:
        compose_ways(pipeline, image, face, args.repeat)
    filters()


if __name__ == "__main__":
    main()
