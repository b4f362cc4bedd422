"""A small photo must not cost a gigabyte: the web check and the worker's decode, each measured in a child.

A 16-bit grey PNG of 6300x6300 is ~90 KB and under MAX_IMAGE_PIXELS; checking it once took a web
process from 61 MB to 1.18 GB. The child's peak RSS (VmHWM) is a resource bound, not a timing.
"""
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
WEB_PEAK_MB = 300  # issue 24's budget for any accepted upload
WORKER_PEAK_MB = 700  # the decode itself is whole (PNG has no reduced decode); it then works at MAX_PHOTO_SIDE

CHILD = """
import os, sys
sys.path.insert(0, {root!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "avatarsite.settings")
import django
django.setup()
from avatars.web.services import check_photo
from generation.pipeline.images import load_image
data = open({path!r}, "rb").read()
result = {call}
print(result.tolist() if hasattr(result, "tolist") else result)
print([line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")][0])
"""


@pytest.fixture(scope="module")
def grey16(tmp_path_factory):
    path = tmp_path_factory.mktemp("photos") / "grey16.png"
    picture = np.full((6300, 6300), 30000, np.uint16)
    cv2.circle(picture, (3150, 3150), 2000, 60000, -1)
    cv2.imwrite(str(path), picture)
    return path


def child_peak(path: Path, call: str) -> tuple[str, float]:
    """(what the call returned, printed; the child's peak RSS in MB)."""
    out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT), path=str(path), call=call)],
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "DEBUG": "1"}, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result, peak_kb = out.stdout.strip().splitlines()[-2:]
    return result, int(peak_kb) / 1024


def test_the_web_check_of_a_16_bit_png_stays_in_budget(grey16):
    assert grey16.stat().st_size < 200_000
    result, peak = child_peak(grey16, "check_photo(data)")
    assert result == "('.png', 6300, 6300)"
    assert peak <= WEB_PEAK_MB, peak


def test_the_worker_decodes_a_16_bit_png_scaled_not_clipped_in_budget(grey16):
    result, peak = child_peak(grey16, "(lambda a: [list(a.shape), a[[0, 1024], [0, 1024]].tolist()])(load_image(data))")
    # 30000 and 60000 of 65535, scaled to bytes; the picture at the worker's working size
    assert result == "[[2048, 2048, 3], [[116, 116, 116], [233, 233, 233]]]"
    assert peak <= WORKER_PEAK_MB, peak


def test_the_worker_works_on_a_big_photo_at_its_working_size(tmp_path):
    from generation.pipeline.images import MAX_PHOTO_SIDE, load_image
    from generation.pipeline.types import Face

    picture = np.zeros((3000, 4500, 3), np.uint8)
    cv2.rectangle(picture, (900, 600), (1800, 1500), (200, 120, 90), -1)
    ok, jpeg = cv2.imencode(".jpg", picture)
    image = load_image(jpeg.tobytes())
    assert image.shape == (round(3000 * MAX_PHOTO_SIDE / 4500), MAX_PHOTO_SIDE, 3)
    assert load_image(jpeg.tobytes(), max_side=None).shape == (3000, 4500, 3)
    # an avatar analysed at its full size before the cap: its face follows the working copy
    face = Face(box=(900, 600, 1800, 1500), landmarks=np.full((68, 2), 900.0, np.float32), image_size=(4500, 3000))
    fitted = face.fitted(image.shape[1], image.shape[0])
    scale = MAX_PHOTO_SIDE / 4500
    assert fitted.image_size == (image.shape[1], image.shape[0]) and fitted.box[0] == round(900 * scale)
    assert np.allclose(fitted.landmarks, 900.0 * scale, atol=0.5) and face.fitted(4500, 3000) is face
