"""Video avatar preparation speed and memory: prepare_clip on a real face moving in a 720p H.264 clip.

Run: .venv/bin/python bench/prepare_clip.py [--seconds 10] [--long-seconds 60] [--sheet /tmp/prep_sheet.png]
Targets: a 10 s 1280x720 clip prepared in <= 10 s on 2 cores (ratio to its length <= 1.0); peak RSS of
preparing a 60 s 1920x1080 clip about that of a 10 s one and well under 400 MB (the worker with Wav2Lip
loaded must stay <= 800 MB).

The clips: the demo avatar's photo (a real face) swaying, rolling, zooming, blinking and turning +-20
degrees (a card turning in perspective) over a generated backdrop (tests/media.py's sprite, motion and
backdrop), so where its landmarks are is known on every frame; rendered only round the face so that a
minute of 1080p is quick to make, and encoded by the real ffmpeg (libx264). Each measurement runs in a fresh child
process (as in the worker: the face analyser loaded first, then one preparation), so its peak RSS is its own:
  prepare:  prepare_clip as the worker calls it, with timers round its parts: waiting for decoded frames
            (ffmpeg decodes in its own process, alongside), JPEG store, detector runs, landmarks, the rest
            of tracking (thumbnails, bookkeeping), smoothing, and what is left (probe, copy, .npz);
  baseline: the same clip (1) decoded by ffmpeg alone to nothing (`-f null`, same filters, same threads)
            and (2) the naive approach, dlib's detector + landmarks on every frame, timed over the first
            2 s and extrapolated to the clip's length;
  memory:   prepare_clip on the 60 s 1080p clip: the child's peak RSS, the analyser's share of it (RSS
            before preparation), and ffmpeg's own peak (a separate process).
The prepared 10 s clip's landmarks are compared with the truth (error, jitter). With --sheet, its first
frame with its box and landmarks (draw_face_preview) and a contact sheet of 12 prepared frames with
their tracked landmarks (and the raw ones, and the truth) are written as one PNG.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

SECONDS = 10.0
SIZE = (1280, 720)
LONG_SECONDS = 60.0
LONG_SIZE = (1920, 1080)
TARGET_RATIO = 1.0  # preparation time / clip length
RSS_TARGET_MB = 400
BASELINE_SECONDS = 2.0
SHEET_FRAMES = 12


def peak_rss_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident set size now (VmHWM: its peak since the last reset_peak)."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":")) / 1024


def reset_peak() -> bool:
    """Start VmHWM again from the current RSS (Linux >= 4.0), so a peak can be pinned to one step."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def cpu_seconds(who) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def cpu_info() -> tuple[str, dict[str, bool]]:
    """lscpu's model name and whether the flags that matter to the worker's kernels are there."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        out = ""
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    flags = fields.get("Flags", "").split()
    return fields.get("Model name", "unknown").strip(), {
        "avx2": "avx2" in flags, "avx512_bf16": "avx512_bf16" in flags,
        "amx": any(f.startswith("amx") for f in flags)}


# ---- the clips ----

YAW_DEGREES = 20.0  # the head turns left and right this far (the face a flat card: the truth stays exact)
YAW_HZ = 0.35
FOCAL = 2.0  # the camera's distance, in sprite widths (a turning card gets a near and a far side)


def actor():
    """The demo avatar's face, moving as a lively head does: sway, roll, zoom, blinks (tests/media.py)."""
    from tests import media

    return media.Actor(media.astronaut(), width=0.28, sway=0.08, roll=8, zoom=0.1, seed=7, tempo=1.5)


def homography(main, t: float, size: tuple[int, int]) -> np.ndarray:
    """3x3 taking sprite pixels to frame pixels at time t: a turn about the face's vertical axis, then
    the actor's similarity (translation, roll, scale)."""
    sw, sh = main.sprite.size
    yaw = np.radians(YAW_DEGREES * np.sin(2 * np.pi * YAW_HZ * t))
    f = FOCAL * sw
    centre, back = np.eye(3), np.eye(3)
    centre[:2, 2], back[:2, 2] = (sw / 2, sh / 2), (-sw / 2, -sh / 2)
    turn = np.array([[f * np.cos(yaw), 0, 0], [0, f, 0], [np.sin(yaw), 0, f]])
    return np.vstack([main.matrix(t, *size), [0, 0, 1]]) @ centre @ turn @ back


def truth(seconds: float, size: tuple[int, int], fps: int = 25) -> np.ndarray:
    """(n, 68, 2): where the face's landmarks are on every frame."""
    main = actor()
    points = main.sprite.landmarks.reshape(-1, 1, 2).astype(np.float64)
    return np.array([cv2.perspectiveTransform(points, homography(main, k / fps, size))[:, 0]
                     for k in range(round(seconds * fps))])


def render(seconds: float, size: tuple[int, int], fps: int = 25):
    """The actor over tests/media.py's backdrop, computed only round the face (a minute of 1080p in ~1 min)."""
    from tests import media

    width, height = size
    main = actor()
    sprite = main.sprite
    base = media.background(width, height, 7)
    sw, sh = sprite.size
    corners = np.array([[[0, 0]], [[sw, 0]], [[0, sh]], [[sw, sh]]], np.float64)
    for k in range(round(seconds * fps)):
        t = k / fps
        frame = base.copy()
        h = homography(main, t, size)
        spot = cv2.perspectiveTransform(corners, h)[:, 0]
        x0, y0 = (max(0, int(np.floor(v)) - 1) for v in spot.min(axis=0))
        x1, y1 = min(width, int(np.ceil(spot[:, 0].max())) + 1), min(height, int(np.ceil(spot[:, 1].max())) + 1)
        if x1 > x0 and y1 > y0:
            shift = np.eye(3)
            shift[:2, 2] = (-x0, -y0)
            local = shift @ h
            rgb = sprite.blink if media._blinking(t, fps) else sprite.rgb
            layer = cv2.warpPerspective(rgb, local, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR).astype(np.float32)
            alpha = cv2.warpPerspective(sprite.alpha, local, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)[..., None]
            roi = frame[y0:y1, x0:x1].astype(np.float32)
            frame[y0:y1, x0:x1] = np.clip(roi * (1 - alpha) + layer * alpha + 0.5, 0, 255).astype(np.uint8)
        yield frame


def make_clip(path: Path, seconds: float, size: tuple[int, int], preset: str = "veryfast") -> float:
    """An H.264 MP4 (libx264, crf 20, a key frame every 2 s, as phones write); seconds it took."""
    from tests import media

    t0 = time.perf_counter()
    data = media.encode(render(seconds, size), size, "h264", "mp4", extra=["-preset", preset, "-crf", "20", "-g", "50"])
    path.write_bytes(data)
    return time.perf_counter() - t0


# ---- children ----

class Timer:
    """Seconds and calls, accumulated."""

    def __init__(self):
        self.seconds, self.calls = 0.0, 0

    def wrap(self, fn):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0
                self.calls += 1
        return timed

    def wrap_iter(self, fn):
        """Time spent waiting in a generator's next()."""
        def timed(*args, **kwargs):
            it = fn(*args, **kwargs)
            while True:
                t0 = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    return
                finally:
                    self.seconds += time.perf_counter() - t0
                self.calls += 1
                yield item
        return timed


def child_prepare(args) -> dict:
    """prepare_clip with timers round its parts (the timers cost ~1 us a call)."""
    from generation.pipeline import clip, ffmpeg, tracking
    from generation.pipeline.faces import default_analyzer

    analyzer = default_analyzer()
    rss_loaded = rss_mb()
    data = Path(args.clip).read_bytes()
    check = clip.inspect_video(data)
    timers = {name: Timer() for name in ("decode", "jpeg", "detect", "landmarks", "track", "smooth", "stream")}
    if not args.plain:
        analyzer.detect = timers["detect"].wrap(analyzer.detect)
        analyzer.landmarks = timers["landmarks"].wrap(analyzer.landmarks)
        ffmpeg.read_frames = timers["decode"].wrap_iter(ffmpeg.read_frames)
        clip.FrameWriter.add = timers["jpeg"].wrap(clip.FrameWriter.add)
        tracking.FaceTracker.add = timers["track"].wrap(tracking.FaceTracker.add)
        tracking.FaceTracker.finish = timers["track"].wrap(tracking.FaceTracker.finish)
        clip.smooth_landmarks = timers["smooth"].wrap(clip.smooth_landmarks)
        clip._decode_and_track = timers["stream"].wrap(clip._decode_and_track)
    peak_loading = peak_rss_mb()
    reset = reset_peak()
    cpu0, child0 = cpu_seconds(resource.RUSAGE_SELF), cpu_seconds(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    result = clip.prepare_clip(data, check.demuxer, Path(args.out), analyzer)
    total = time.perf_counter() - t0
    out = {name: {"seconds": t.seconds, "calls": t.calls} for name, t in timers.items()}
    out.update(total=total, frames=result.frame_count, detections=result.detections,
               kept=[result.start, result.end], notes=[vars(n) for n in result.notes],
               size=[result.width, result.height], cpu=cpu_seconds(resource.RUSAGE_SELF) - cpu0,
               ffmpeg_cpu=cpu_seconds(resource.RUSAGE_CHILDREN) - child0, rss_loaded_mb=rss_loaded,
               peak_rss_mb=peak_rss_mb(), peak_loading_mb=peak_loading,
               peak_preparing_mb=rss_mb("VmHWM") if reset else peak_rss_mb(), ffmpeg_peak_rss_mb=peak_rss_mb(resource.RUSAGE_CHILDREN),
               duration=check.duration)
    return out


def child_baseline(args) -> dict:
    """ffmpeg's bare decode of the whole clip; dlib's detector + landmarks on every frame of the first 2 s."""
    from generation.pipeline import clip, ffmpeg
    from generation.pipeline.faces import default_analyzer

    analyzer = default_analyzer()
    data = Path(args.clip).read_bytes()
    check = clip.inspect_video(data)
    with ffmpeg.private_file(data) as path:
        cmd = ffmpeg.video_decode_command(ffmpeg.ffmpeg_exe(), path, check.demuxer, (check.demuxer,),
                                          fps=clip.CLIP_FPS, max_side=clip.MAX_CLIP_SIDE, max_seconds=60)
        cmd = cmd[:cmd.index("-pix_fmt")] + ["-pix_fmt", "rgb24", "-f", "null", "-"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        bare = time.perf_counter() - t0
        t0 = time.perf_counter()
        frames = 0
        naive_frames, naive = 0, 0.0
        for frame in ffmpeg.read_frames(path, check.demuxer, (check.demuxer,), fps=clip.CLIP_FPS,
                                        max_side=clip.MAX_CLIP_SIDE, max_seconds=60, cpu_seconds=240, timeout=900):
            frames += 1
            if frames <= BASELINE_SECONDS * clip.CLIP_FPS:
                t1 = time.perf_counter()
                boxes = analyzer.detect(frame)
                if boxes:
                    analyzer.landmarks(frame, max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1])))
                naive += time.perf_counter() - t1
                naive_frames += 1
        piped = time.perf_counter() - t0 - naive
    return {"bare_decode": bare, "piped_decode": piped, "frames": frames,
            "naive_per_frame": naive / max(naive_frames, 1), "naive_frames": naive_frames}


def spawn(kind: str, clip_path: Path, out: Path, plain: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--clip", str(clip_path), "--out", str(out)]
    proc = subprocess.run(cmd + (["--plain"] if plain else []), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{kind} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---- looking at the result ----

def quality(out_dir: Path, true: np.ndarray) -> dict:
    """Prepared landmarks against the truth: error and jitter in face widths (jaw end to jaw end)."""
    from generation.pipeline.clip import DATA_NAME, FRAMES_NAME, ClipReader

    with ClipReader(out_dir / DATA_NAME, out_dir / FRAMES_NAME) as reader:
        first = round(reader.start * reader.fps)
        smooth, raw = reader.landmarks.astype(np.float64), reader.raw_landmarks.astype(np.float64)
    true = true[first:first + len(smooth)]
    width = np.linalg.norm(true[:, 0] - true[:, 16], axis=1)[:, None]
    error = np.linalg.norm(smooth - true, axis=2) / width
    jitter = lambda p: (np.linalg.norm(p[2:] - 2 * p[1:-1] + p[:-2], axis=2) / width[1:-1]).mean()  # noqa: E731
    return {"error": error.mean(), "error95": np.percentile(error, 95), "worst_frame": int(error.mean(axis=1).argmax()),
            "raw_error": (np.linalg.norm(raw - true, axis=2) / width).mean(), "jitter": jitter(smooth),
            "raw_jitter": jitter(raw), "true_jitter": jitter(true)}


def contact_sheet(out_dir: Path, path: Path, true: np.ndarray, count: int = SHEET_FRAMES) -> None:
    """The first prepared frame with box + landmarks (draw_face_preview), then `count` frames spread over
    the clip, cropped round the face: prepared landmarks red (with the box), raw cyan, truth white."""
    from generation.pipeline.clip import DATA_NAME, FRAMES_NAME, ClipReader
    from generation.pipeline.images import draw_face_preview

    with ClipReader(out_dir / DATA_NAME, out_dir / FRAMES_NAME) as reader:
        first = round(reader.start * reader.fps)
        preview = draw_face_preview(reader.frame(0), reader.face(0))
        tiles = []
        for i in np.linspace(0, reader.frame_count - 1, count).round().astype(int):
            face = reader.face(i)
            left, top, right, bottom = face.box
            side = int(1.5 * max(right - left, bottom - top))
            cx, cy = (left + right) // 2, (top + bottom) // 2
            x0, y0 = max(0, cx - side // 2), max(0, cy - side // 2)
            frame = draw_face_preview(reader.frame(i), face)
            for points, colour in ((reader.raw_landmarks[i], (0, 255, 255)), (true[first + i], (255, 255, 255))):
                for x, y in points:
                    cv2.circle(frame, (int(round(x)), int(round(y))), 1, colour, -1, cv2.LINE_AA)
            tile = cv2.resize(frame[y0:y0 + side, x0:x0 + side], (320, 320), interpolation=cv2.INTER_AREA)
            cv2.putText(tile, f"#{i}", (6, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
            tiles.append(tile)
    sheet = np.vstack([np.hstack(tiles[k:k + 4]) for k in range(0, len(tiles), 4)])
    head = cv2.resize(preview, (sheet.shape[1], round(preview.shape[0] * sheet.shape[1] / preview.shape[1])),
                      interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(path), cv2.cvtColor(np.vstack([head, sheet]), cv2.COLOR_RGB2BGR))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--long-seconds", type=float, default=LONG_SECONDS, help="0: skip the memory run")
    parser.add_argument("--repeat", type=int, default=3, help="plain runs of the 10 s clip; the best is reported")
    parser.add_argument("--sheet", default=None, help="write the preview and contact sheet PNG here")
    parser.add_argument("--child", choices=["prepare", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--clip", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_prepare(args) if args.child == "prepare" else child_baseline(args)))
        return

    model, flags = cpu_info()
    print(f"CPU: {model}; {os.cpu_count()} cores; " + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in flags.items()))
    print(f"reproduce: .venv/bin/python bench/prepare_clip.py --seconds {args.seconds:g} "
          f"--long-seconds {args.long_seconds:g}" + (f" --sheet {args.sheet}" if args.sheet else ""))
    with tempfile.TemporaryDirectory(prefix="bench-clip-") as tmp_name:
        tmp = Path(tmp_name)
        short = tmp / "short.mp4"
        made = make_clip(short, args.seconds, SIZE)
        print(f"clip: {args.seconds:g} s {SIZE[0]}x{SIZE[1]} H.264, {short.stat().st_size / 1e6:.1f} MB "
              f"(made in {made:.1f} s)")
        base = spawn("baseline", short, tmp / "unused")
        runs = [spawn("prepare", short, tmp / f"plain{k}", plain=True) for k in range(args.repeat)]
        plain = min(runs, key=lambda r: r["total"])
        times = sorted(r["total"] for r in runs)
        timed = spawn("prepare", short, tmp / "prepared")
        n, length = timed["frames"], timed["duration"]
        print(f"prepare_clip: {plain['total']:.2f} s for {n} frames ({plain['total'] / length:.2f}x the clip's "
              f"length, target <= {TARGET_RATIO:.1f}x: {'ok' if plain['total'] <= TARGET_RATIO * length else 'OVER'}); "
              f"{n / plain['total']:.0f} frames/s; CPU {plain['cpu']:.1f} s python + {plain['ffmpeg_cpu']:.1f} s ffmpeg; "
              f"best of {len(times)} runs: " + ", ".join(f"{t:.2f}" for t in times) + " s")
        ms = lambda key: timed[key]["seconds"] / max(timed[key]["calls"], 1) * 1e3  # noqa: E731
        tracking_busy = timed["track"]["seconds"]
        print(f"  breakdown (a run with timers, {timed['total']:.2f} s; the reader thread runs alongside the tracker):")
        rows = [
            ("reader: waiting for ffmpeg", timed["decode"]["seconds"], f"{timed['decode']['calls']} frames decoded "
             f"in ffmpeg's own process ({timed['ffmpeg_cpu']:.2f} s of its CPU, probe included)"),
            ("reader: JPEG store", timed["jpeg"]["seconds"], f"{ms('jpeg'):.1f} ms/frame"),
            ("tracker: detector", timed["detect"]["seconds"], f"{timed['detect']['calls']} runs, {ms('detect'):.1f} ms/run"),
            ("tracker: landmarks", timed["landmarks"]["seconds"], f"{timed['landmarks']['calls']} fits, "
             f"{ms('landmarks'):.2f} ms/fit"),
            ("tracker: rest", tracking_busy - timed["detect"]["seconds"] - timed["landmarks"]["seconds"],
             "thumbnails, cut hints, detector image resizes, bookkeeping"),
            ("tracker: waiting for frames", timed["stream"]["seconds"] - tracking_busy, "the reader is behind"),
            ("smoothing", timed["smooth"]["seconds"], f"{timed['smooth']['calls']} call"),
            ("other", timed["total"] - timed["stream"]["seconds"] - timed["smooth"]["seconds"],
             "probe, stretch choice, .npz"),
        ]
        for name, seconds, note in rows:
            print(f"    {name:28} {seconds:6.2f} s  {note}")
        print(f"  kept {timed['kept'][0]:.2f}-{timed['kept'][1]:.2f} s, notes {timed['notes']}, "
              f"RSS: analyser loaded {timed['rss_loaded_mb']:.0f} MB (peak while loading "
              f"{timed['peak_loading_mb']:.0f} MB), peak while preparing "
              f"{timed['peak_preparing_mb']:.0f} MB, process peak {timed['peak_rss_mb']:.0f} MB")
        naive = base["naive_per_frame"] * base["frames"]
        print(f"baseline: ffmpeg bare decode {base['bare_decode']:.2f} s; decode through the pipe "
              f"{base['piped_decode']:.2f} s; naive detect+landmarks on every frame {naive:.1f} s "
              f"({base['naive_per_frame'] * 1e3:.0f} ms/frame over the first {base['naive_frames']} frames, "
              f"extrapolated to {base['frames']}) -> prepare_clip is {naive / plain['total']:.1f}x the naive pass")
        true = truth(args.seconds, SIZE)
        q = quality(tmp / "prepared", true)
        print(f"tracking vs the true landmarks (in face widths): mean error {q['error']:.4f} (raw {q['raw_error']:.4f}), "
              f"95th percentile {q['error95']:.4f}, worst frame #{q['worst_frame']}; jitter (2nd difference) "
              f"{q['jitter']:.4f} (raw {q['raw_jitter']:.4f}, the true motion's own {q['true_jitter']:.4f})")
        if args.sheet:
            contact_sheet(tmp / "prepared", Path(args.sheet), true)
            print(f"preview + contact sheet: {args.sheet}")
        if args.long_seconds > 0:
            long = tmp / "long.mp4"
            made = make_clip(long, args.long_seconds, LONG_SIZE, "ultrafast")
            print(f"long clip: {args.long_seconds:g} s {LONG_SIZE[0]}x{LONG_SIZE[1]} H.264, "
                  f"{long.stat().st_size / 1e6:.1f} MB (made in {made:.1f} s)")
            mem = spawn("prepare", long, tmp / "long", plain=True)
            print(f"memory: peak RSS {mem['peak_preparing_mb']:.0f} MB preparing {args.long_seconds:g} s "
                  f"{LONG_SIZE[0]}x{LONG_SIZE[1]} (analyser loaded: {mem['rss_loaded_mb']:.0f} MB; "
                  f"{args.seconds:g} s 720p: {plain['peak_preparing_mb']:.0f} MB; process peak "
                  f"{mem['peak_rss_mb']:.0f} MB, target < {RSS_TARGET_MB} MB: "
                  f"{'ok' if mem['peak_rss_mb'] < RSS_TARGET_MB else 'OVER'}); ffmpeg's own peak "
                  f"{mem['ffmpeg_peak_rss_mb']:.0f} MB; {mem['total']:.1f} s "
                  f"({mem['total'] / mem['duration']:.2f}x its length), {mem['detections']} detector runs")


if __name__ == "__main__":
    main()
