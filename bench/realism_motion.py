"""Realism of photo head motion, against the source photo in the same run (imported by bench/realism.py).

Per photo and motion level, on the viseme engine's real output over 10 s of speech:
- eye sharpness: Laplacian variance of the eye region (brows to under the lids) in each frame, at
  the moved landmarks, over the source's (target >= 0.85x; open-eye frames only);
- flicker: median frame-to-frame relative change of that variance (target <= 3 %);
- background: the largest |frame - photo| (of 255) outside the head, hair and neck; the head is
  this bench's own referee segmentation (GrabCut from a rectangle round the head, dilated by 4 px),
  not the pipeline's mask (target <= 2);
- parallax: by optical flow (Farneback) on the motion's own frames, the nose tip's motion that a
  flat (affine) motion of the outline and eye corners does not explain, along the eyes (a turn) and
  down the face (a nod), 95th percentile over frames in px; a 2D slide, roll or squash gives ~0;
- speed: viseme engine frames/s at the photo's size, with the still head in the same run.
Pictures: per photo and level, the source and a mid-word frame with the most motion, 3x eye and
mouth crops, and |difference| x8 (bench/out/realism/motion/).
"""
from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

LEVELS = ("subtle", "lively")
BLINK_EPS = 0.02
FLOW_STRIDE = 5  # frames between optical-flow measurements
SEED = 5


def eye_box(lm: np.ndarray) -> tuple[float, float, float, float]:
    """(cx, cy, half w, half h) round both eyes and brows."""
    pts = lm[17:48]
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    lower = lm[36:48, 1].max()
    y1 = lower + 0.25 * (lower - y0)
    return (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2 + 4, (y1 - y0) / 2


def lap_var(image: np.ndarray, box) -> float:
    """Variance of the Laplacian of the grey image inside a (cx, cy, hw, hh) box."""
    cx, cy, hw, hh = box
    x0, y0, x1, y1 = int(round(cx - hw)), int(round(cy - hh)), int(round(cx + hw)), int(round(cy + hh))
    h, w = image.shape[:2]
    crop = cv2.cvtColor(image[max(0, y0):min(h, y1), max(0, x0):min(w, x1)], cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(crop.astype(np.float64), cv2.CV_64F).var())


def referee_head(image: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """bool (H, W): head, hair and neck by GrabCut from a generous rectangle, dilated by 4 px."""
    h, w = image.shape[:2]
    fw = float(np.hypot(*(lm[16] - lm[0])))
    cx = float(lm[[0, 16, 27], 0].mean())
    top = float(lm[17:27, 1].min()) - 1.3 * fw  # hats and high hair
    x0, x1 = int(max(1, cx - 1.0 * fw)), int(min(w - 2, cx + 1.0 * fw))
    y0, y1 = int(max(1, top)), int(min(h - 2, lm[8, 1] + 0.9 * fw))
    mask = np.zeros((h, w), np.uint8)
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.grabCut(image, mask, (x0, y0, x1 - x0, y1 - y0), bgd, fgd, 4, cv2.GC_INIT_WITH_RECT)
    head = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    cv2.fillConvexPoly(head, cv2.convexHull(np.round(lm).astype(np.int32)), 1)  # the face itself, always
    return cv2.dilate(head, np.ones((9, 9), np.uint8)) > 0


def flow_parallax(src_grey: np.ndarray, frame: np.ndarray, lm: np.ndarray) -> tuple[float, float]:
    """The nose tip's motion not explained by a flat (affine) motion of the face's outline and eye
    corners, by optical flow, along the eye axis (a turn) and down the face (a nod), in px; 2D: ~0."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    flow = cv2.calcOpticalFlowFarneback(src_grey, grey, None, 0.5, 3, 15, 3, 5, 1.2, 0)

    def at(p):
        x, y = int(round(p[0])), int(round(p[1]))
        return flow[max(0, y - 3):y + 4, max(0, x - 3):x + 4].reshape(-1, 2).mean(axis=0)

    frame_pts = [*range(0, 17), 36, 39, 42, 45]  # outline and eye corners
    src = lm[frame_pts]
    dst = src + np.array([at(p) for p in src])
    a = np.hstack([src, np.ones((len(src), 1))])
    affine, *_ = np.linalg.lstsq(a, dst, rcond=None)
    nose = lm[30] + at(lm[30]) - np.array([*lm[30], 1.0]) @ affine
    ex = lm[45] - lm[36]
    ex /= np.hypot(*ex)
    return float(nose @ ex), float(nose @ np.array([-ex[1], ex[0]]))


def crops(image: np.ndarray, lm: np.ndarray, scale: int = 3) -> np.ndarray:
    """Eye band and mouth, enlarged `scale`x, side by side."""
    def cut(cx, cy, hw, hh):
        x0, y0 = int(max(0, cx - hw)), int(max(0, cy - hh))
        c = image[y0:int(cy + hh), x0:int(cx + hw)]
        return cv2.resize(c, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    fw = float(np.hypot(*(lm[16] - lm[0])))
    eye = cut(*eye_box(lm))
    m = lm[48:68].mean(axis=0)
    mouth = cut(m[0], m[1], 0.32 * fw, 0.2 * fw)
    hgt = max(eye.shape[0], mouth.shape[0])
    pad = lambda a: np.pad(a, ((0, hgt - a.shape[0]), (0, 4), (0, 0)))  # noqa: E731
    return np.hstack([pad(eye), pad(mouth)])


def save(path: Path, rgb: np.ndarray) -> None:
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def render(engine, state, audio, source) -> tuple[list[np.ndarray], float]:
    """All frames and frames/s."""
    t = time.perf_counter()
    frames = list(engine.render(state, audio, 25, seed=SEED, motion=source))
    return frames, len(frames) / (time.perf_counter() - t)


def run(photos, out: Path) -> list[str]:
    from bench.viseme import ten_seconds_of_speech
    from generation.pipeline.lipsync.viseme import VisemeEngine
    from generation.pipeline.motion import MotionSource, plan_motion

    audio = ten_seconds_of_speech()
    engine = VisemeEngine()
    lines = [f"{'photo':10} {'level':7} {'eye sharp':>9} {'flicker':>8} {'bg max':>6} {'bg mean':>7} "
             f"{'nose turn':>9} {'nose nod':>9} {'fps':>5} {'still fps':>9}"]
    for name, image, face in photos:
        lm0 = face.landmarks.astype(np.float64) * (image.shape[1] / face.image_size[0], image.shape[0] / face.image_size[1])
        src_box = eye_box(lm0)
        src_var = lap_var(image, src_box)
        head = referee_head(image, lm0)
        save(out / f"{name}_referee_head.png", (image * head[..., None]).astype(np.uint8))
        src_grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        state = engine.prepare(image, face)
        still_frames, still_fps = render(engine, state, audio, None)
        for level in LEVELS:
            source = MotionSource(image, face, plan_motion(audio, face, level, seed=SEED))
            frames, fps = render(engine, state, audio, source)
            ratios, bg_max, bg_mean = [], 0.0, 0.0
            for i, f in enumerate(frames):
                diff = np.abs(f.astype(np.int16) - image.astype(np.int16)).max(axis=2)[~head]
                bg_max, bg_mean = max(bg_max, float(diff.max(initial=0))), max(bg_mean, float(diff.mean()))
                if source.blink[i] > BLINK_EPS:
                    ratios.append(np.nan)
                    continue
                cx, cy, _, _ = eye_box(source.landmarks[i].astype(np.float64))
                ratios.append(lap_var(f, (cx, cy, src_box[2], src_box[3])) / src_var)
            r = np.array(ratios)
            both = ~np.isnan(r[1:]) & ~np.isnan(r[:-1])
            flicker = float(np.median(np.abs(r[1:] - r[:-1])[both] / r[:-1][both]))
            # motion alone (no mouth, no blink) for the parallax: the jaw must not count as a nod
            par = np.array([flow_parallax(src_grey, source.frame(i), lm0) for i in range(0, len(frames), FLOW_STRIDE)])
            turn, nod = np.percentile(np.abs(par), 95, axis=0)
            lines.append(f"{name:10} {level:7} {np.nanmedian(r):8.2f}x {100 * flicker:7.1f}% {bg_max:6.0f} "
                         f"{bg_mean:7.2f} {turn:7.2f}px {nod:7.2f}px {fps:5.0f} {still_fps:9.0f}")
            # a mid-word frame with the most head motion
            moved = np.linalg.norm(source.landmarks[:, 30] - lm0[30], axis=1)
            open_ = engine.track(audio, 25, SEED).open[:len(frames)]
            k = int(np.argmax(moved * (open_ > 0.3) * (source.blink < BLINK_EPS)))
            lmk = source.landmarks[k].astype(np.float64)
            save(out / f"{name}_{level}_frame.png", np.hstack([image, frames[k]]))
            a, b = crops(image, lm0), crops(frames[k], lmk)
            wdt = max(a.shape[1], b.shape[1])
            save(out / f"{name}_{level}_crops3x.png", np.vstack([np.pad(a, ((0, 4), (0, wdt - a.shape[1]), (0, 0))),
                                                                np.pad(b, ((0, 0), (0, wdt - b.shape[1]), (0, 0)))]))
            d = np.clip(np.abs(frames[k].astype(np.int16) - image.astype(np.int16)) * 8, 0, 255).astype(np.uint8)
            save(out / f"{name}_{level}_diff8x.png", d)
    return lines
