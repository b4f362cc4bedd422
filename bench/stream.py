"""Watching while it is made: time from submission to the first playable HLS segment, stalls, total cost.

Run: .venv/bin/python bench/stream.py [--seconds 60] [--repeat 2] [--engines viseme,wav2lip]
Targets (2 cores, idle worker, a ~60 s English text): first segment stored <= 1.5 s (viseme), <= 3 s
(Wav2Lip, random weights of the official shape as bench/wav2lip.py makes them); playback never
stalls once started; the finished MP4 costs <= 10 % more than today's path (no stream) in the same run.

Both paths run in this process through the pre-loaded pipeline, as a worker's job does (TTS of
the whole text, audio, face from the cache, lip-sync, encode); the stream path also runs the
worker's streams.Publisher into a MEDIA_ROOT of its own, and a watcher notes when each segment is
listed in the *stored* playlist (what a player can fetch). Playback is taken to start when the
first segment is stored; segment i is needed when the segments before it have played.
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_FIRST = {"viseme": 1.5, "wav2lip": 3.0}
TARGET_OVERHEAD = 0.10
WATCH_SECONDS = 0.01
START_SEGMENTS = 2  # the pages start playing with this many segments listed (static/js/stream.js)
MOTION = "subtle"  # the photo avatars' default head motion (the worker's requests move unless told not to)
SENTENCES = ("Hello there! My name is Avatar. I can speak Russian, Kazakh and English, and my lips move in "
             "time with every word I say to you today. Nice to meet you! ")


def cpu_line() -> str:
    """lscpu's model name and the flags that matter for these engines."""
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in out.splitlines() if line.startswith("Flags")), [])
    wanted = [f for f in flags if f.startswith(("avx", "amx", "fma", "sse4"))]
    return f"{model}; {os.cpu_count()} cores; flags: {' '.join(wanted)}"


def setup_django(media: Path) -> None:
    """Django with a MEDIA_ROOT of this run's own (the Publisher stores through default_storage)."""
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "avatarsite.settings")
    os.environ["MEDIA_ROOT"] = str(media)
    import django
    from django.conf import settings

    django.setup()
    settings.MEDIA_ROOT = str(media)


class Watcher:
    """Notes the moment each segment is listed in the stored playlist."""

    def __init__(self, playlist: Path, started: float):
        self.playlist, self.started = playlist, started
        self.ready: dict[str, tuple[float, float]] = {}  # name -> (seconds after start, duration)
        self.ended_at = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from generation.pipeline import hls

        while not self._stop.wait(WATCH_SECONDS):
            try:
                listed = hls.parse_playlist(self.playlist.read_text())
            except OSError:
                continue
            now = time.perf_counter() - self.started
            for name, seconds in listed.segments:
                self.ready.setdefault(name, (now, seconds))
            if listed.ended and self.ended_at is None:
                self.ended_at = now

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def stalls(ready: list[tuple[float, float]], start_segments: int) -> tuple[int, float, int]:
    """(segments late for the player, smallest lead in s, the segment with it), playback starting once
    `start_segments` segments are ready (static/js/stream.js's START_SEGMENTS: 2)."""
    start = ready[min(start_segments, len(ready)) - 1][0]
    played, late, margin, worst = 0.0, 0, float("inf"), 0
    for number, (at, seconds) in enumerate(ready):
        needed = start + played
        if needed - at < margin:
            margin, worst = needed - at, number
        late += at > needed
        played += seconds
    return late, margin, worst


def run_once(pipeline, engine: str, text: str, image, face, folder: Path, stream: bool) -> dict:
    """One request through the pipeline, with or without the stream; timings and the MP4's size."""
    from django.core.files.storage import default_storage

    from generation.shared import streams

    out = folder / f"{engine}-{'stream' if stream else 'plain'}.mp4"
    started = time.perf_counter()
    if not stream:
        result = pipeline.run(text, "en", out, image=image, face=face, avatar_key="bench", engine=engine,
                              motion=MOTION)
        return {"total": time.perf_counter() - started, "size": out.stat().st_size, "audio": result.audio_duration}
    prefix = streams.new_folder(len(list(folder.iterdir())))
    scratch = Path(tempfile.mkdtemp(dir=folder, prefix="scratch-")) / "stream"  # fresh each run, as a job's is
    watcher = Watcher(Path(default_storage.path(prefix)) / "index.m3u8", started)
    with streams.Publisher(scratch, prefix):
        result = pipeline.run(text, "en", out, image=image, face=face, avatar_key="bench", engine=engine,
                              stream_dir=scratch, motion=MOTION)
    total = time.perf_counter() - started
    time.sleep(3 * WATCH_SECONDS)
    watcher.stop()
    ready = [watcher.ready[name] for name in sorted(watcher.ready)]
    late, margin, worst = stalls(ready, START_SEGMENTS)
    late1, margin1, _ = stalls(ready, 1)
    return {"total": total, "size": out.stat().st_size, "audio": result.audio_duration, "first": ready[0][0],
            "segments": len(ready), "late": late, "margin": margin, "worst": worst, "late1": late1, "margin1": margin1,
            "start": ready[min(START_SEGMENTS, len(ready)) - 1][0], "listed": sum(s for _, s in ready),
            "tts": result.timings.tts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="about this much speech")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each path per engine (the best is kept)")
    parser.add_argument("--engines", default="viseme,wav2lip")
    args = parser.parse_args()
    print("command:", shlex.join([".venv/bin/python", "bench/stream.py", *sys.argv[1:]]))
    print("cpu:", cpu_line())
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp:
        tmp = Path(tmp)
        setup_django(tmp / "media")
        from bench.wav2lip import save_random_checkpoint
        from generation.pipeline.images import demo_avatar_image
        from generation.pipeline.runner import PipelineConfig, build_pipeline

        engines = args.engines.split(",")
        (tmp / "weights").mkdir()
        if "wav2lip" in engines:
            save_random_checkpoint(tmp / "weights" / "wav2lip_gan.pth")
        t = time.perf_counter()
        pipeline = build_pipeline(PipelineConfig(lipsync_engine="auto", weights_dir=tmp / "weights",
                                                 torch_threads=2))
        image = demo_avatar_image()
        face = pipeline.analyzer().analyze(image)
        print(f"pipeline built in {time.perf_counter() - t:.1f} s; engines {pipeline.engine_names}")
        text = SENTENCES * max(1, round(args.seconds / 10.2))
        for engine in engines:
            pipeline.run("Warm up.", "en", tmp / "warm.mp4", image=image, face=face, avatar_key="bench", engine=engine)
            plain, streamed = [], []
            for _ in range(args.repeat):  # interleaved: a busy neighbour slows both alike
                plain.append(run_once(pipeline, engine, text, image, face, tmp, stream=False))
                streamed.append(run_once(pipeline, engine, text, image, face, tmp, stream=True))
            base = min(plain, key=lambda r: r["total"])
            best = min(streamed, key=lambda r: r["total"])
            first = min(r["first"] for r in streamed)
            print(f"\n{engine}: {best['audio']:.1f} s of speech, {best['segments']} segments "
                  f"({best['listed']:.2f} s listed), TTS {best['tts']:.2f} s")
            print(f"  first segment stored after   {first:6.2f} s   (target <= {TARGET_FIRST[engine]} s: "
                  f"{'ok' if first <= TARGET_FIRST[engine] else 'MISSED'}); all runs: "
                  + ", ".join(f"{r['first']:.2f}" for r in streamed))
            print(f"  playback starts (2 segments) {min(r['start'] for r in streamed):6.2f} s   (the pages wait for "
                  f"{START_SEGMENTS}); all runs: " + ", ".join(f"{r['start']:.2f}" for r in streamed))
            print(f"  stalls once playing          {best['late']:6d}     (smallest lead {best['margin']:.2f} s, segment "
                  f"{best['worst']}); late segments per run: " + ", ".join(str(r["late"]) for r in streamed)
                  + "; starting at the first segment instead: " + ", ".join(f"{r['late1']} late (lead {r['margin1']:.2f} s)"
                                                                         for r in streamed))
            overhead = best["total"] / base["total"] - 1
            print(f"  finished MP4: today {base['total']:6.2f} s, with the stream {best['total']:6.2f} s "
                  f"({overhead:+.1%}; target <= +{TARGET_OVERHEAD:.0%}); all runs today "
                  + ", ".join(f"{r['total']:.2f}" for r in plain) + "; streamed "
                  + ", ".join(f"{r['total']:.2f}" for r in streamed))
            print(f"  MP4 size: today {base['size'] / 1e6:.2f} MB, keyframes at every segment start "
                  f"{best['size'] / 1e6:.2f} MB ({best['size'] / base['size'] - 1:+.1%})")


if __name__ == "__main__":
    main()
