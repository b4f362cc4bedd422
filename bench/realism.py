"""Realism figures for photo avatars, each against its source photo in the same run.

A driver: it builds a set of photos as (name, RGB) pairs, analyses each face once, and hands them to
every `bench/realism_<area>.py` module it finds (motion here; mouth and speech from their own
branches). Each module has `run(photos, out_dir) -> list[str]` printing nothing itself: the lines
it returns are printed here, under its name. Frames and 3x crops go to bench/out/realism/<area>/.

Run: .venv/bin/python bench/realism.py [area ...]      (no area: every module found)
REALISM_PHOTOS=astronaut,biden keeps only those photos (by name); =all every case of tests/faces.py.
Set REALISM_CODE=/path/to/another/checkout to measure that checkout's pipeline with these benches
(the "before" column of a change).
"""
from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
if os.environ.get("REALISM_CODE"):  # another checkout's pipeline under these benches
    sys.path.insert(0, os.environ["REALISM_CODE"])
os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402

OUT = HERE / "out" / "realism"


# a varied default from tests/faces.py (frontal, three-quarter, looking down, glasses, toothy, dark
# skin, low light, a small face); REALISM_PHOTOS=all runs all of its cases
DEFAULT_SET = ("astronaut", "grace_hopper", "biden", "obama_smile", "obama_speaking", "biden_turned",
               "grace_looking_down", "obama_low_light", "grace_small_face_300")


def photos() -> list[tuple[str, np.ndarray]]:
    """(name, RGB uint8) test photos: the shared set (tests/faces.py) when present, else a built-in few."""
    try:
        from tests import faces
    except ImportError:
        faces = None
    if faces is not None:
        wanted = os.environ.get("REALISM_PHOTOS", "")
        chosen = faces.names() if wanted == "all" else [n for n in faces.names()
                                                         if n in (wanted.split(",") if wanted else DEFAULT_SET)]
        return [(name, np.ascontiguousarray(faces.get(name))) for name in chosen]
    import cv2
    import matplotlib.cbook
    from skimage import data

    from tests import media

    hopper = cv2.cvtColor(cv2.imread(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)),
                          cv2.COLOR_BGR2RGB)
    return [("astronaut", np.ascontiguousarray(data.astronaut())),
            ("hopper", np.ascontiguousarray(hopper)),
            ("turned", np.ascontiguousarray(media.lfw(40).rgb)),
            ("lfw7", np.ascontiguousarray(media.lfw(7).rgb))]


def areas(wanted: list[str]) -> list[str]:
    """Names of the realism_<area>.py modules beside this file (or the ones asked for)."""
    found = sorted(p.stem[len("realism_"):] for p in HERE.glob("realism_*.py"))
    return [a for a in found if not wanted or a in wanted]


def main() -> None:
    from generation.pipeline.faces import default_analyzer
    from bench.motion import cpu

    print("command:", " ".join([Path(sys.executable).name, *sys.argv]),
          f"(code: {os.environ.get('REALISM_CODE') or 'this checkout'})")
    print("cpu:", cpu(), "(shared machine: under load)")
    analyzer = default_analyzer()
    faced = []
    keep = [n for n in os.environ.get("REALISM_PHOTOS", "").split(",") if n and n != "all"]
    for name, rgb in photos():
        if keep and name not in keep:
            continue
        face = analyzer.analyze(rgb)
        if face is None:
            print(f"  {name}: no face found, skipped")
            continue
        faced.append((name, rgb, face))
    print("photos:", ", ".join(f"{n} {im.shape[1]}x{im.shape[0]}" for n, im, _ in faced))
    for area in areas(sys.argv[1:]):
        module = importlib.import_module(f"bench.realism_{area}")
        t = time.perf_counter()
        out = OUT / area
        out.mkdir(parents=True, exist_ok=True)
        print(f"\n== {area} ==")
        for line in module.run(faced, out):
            print(line, flush=True)
        print(f"({area}: {time.perf_counter() - t:.0f} s; pictures in {out})")


if __name__ == "__main__":
    main()
