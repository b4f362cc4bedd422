"""Peak memory of checking (web) and loading (worker) a photo, each in a fresh child process.

Run: .venv/bin/python bench/photo_memory.py
Target (issue 24): the web process peaks at <= 300 MB for any accepted upload; the worker within a
fixed budget. Photos: a 16-bit grey PNG of 6300x6300 (~77 KB: under MAX_IMAGE_PIXELS, it took a
web process to 1.18 GB), a 40-megapixel RGB JPEG. "before" runs the check as it was (a full
load_image with a float64 grey conversion, copied below), "after" the code as it is. The peak is the
child's VmHWM (ru_maxrss would carry this process's size over fork and exec).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_MB = 300

CHILD = r"""
import io, os, sys
sys.path.insert(0, {root!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "avatarsite.settings")
import django
django.setup()
import numpy as np
from PIL import Image
from avatars.web.services import check_photo
from generation.pipeline.images import load_image

def legacy_load(data):
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        if img.mode in ("I;16", "I;16B", "I;16L", "I"):
            arr = np.asarray(img, dtype=np.float64)
            scale = 255.0 / (65535.0 if max(arr.max(), 1.0) > 255 else 255.0)
            grey = np.clip(arr * scale, 0, 255).astype(np.uint8)
            return np.asarray(Image.fromarray(grey, "L").convert("RGB"))
        return np.asarray(img.convert("RGB"))

def vm(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024

data = open({path!r}, "rb").read()
base = vm("VmRSS")
{call}
print(f"{{base:.0f}} {{vm('VmHWM'):.0f}}")
"""

CALLS = {
    ("web", "before"): "legacy_load(data)",  # check_photo decoded with load_image
    ("web", "after"): "check_photo(data)",
    ("worker", "before"): "legacy_load(data)",
    ("worker", "after"): "load_image(data)",
}


def photos(folder: Path) -> dict[str, Path]:
    """The test photos, written once."""
    import cv2
    import numpy as np

    made = {}
    grey16 = folder / "grey16_6300.png"
    cv2.imwrite(str(grey16), np.full((6300, 6300), 40000, np.uint16))
    made["16-bit grey PNG 6300x6300"] = grey16
    jpeg = folder / "rgb_40mp.jpg"
    rng = np.random.default_rng(0)
    picture = cv2.resize(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8), (7300, 5470))
    cv2.imwrite(str(jpeg), picture, [cv2.IMWRITE_JPEG_QUALITY, 80])
    made["RGB JPEG 7300x5470"] = jpeg
    return made


def peak(path: Path, call: str) -> tuple[float, float]:
    """(RSS before the call, peak RSS) of a fresh child, MB."""
    code = CHILD.format(root=str(ROOT), path=str(path), call=call)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "DEBUG": "1"})
    if out.returncode != 0:
        raise SystemExit(out.stderr[-2000:])
    base, high = out.stdout.split()[-2:]
    return float(base), float(high)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in photos(Path(tmp)).items():
            print(f"{name} ({path.stat().st_size / 1024:.0f} KB)")
            for (side, version), call in CALLS.items():
                base, high = peak(path, call)
                mark = "" if side == "worker" else ("  ok" if high <= TARGET_MB else f"  over {TARGET_MB} MB")
                print(f"  {side:7} {version:7} peak {high:6.0f} MB (before the photo {base:.0f} MB){mark}")


if __name__ == "__main__":
    main()
