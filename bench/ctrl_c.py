"""Ctrl-C on `make run` ten times in a row: does every process `manage.py serve` started stop each time?

    .venv/bin/python bench/ctrl_c.py [stops]

Runs on a database of its own (migrated here, in a temporary folder); prints each stop and the tally.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.serving import ctrl_c_once  # noqa: E402


def main(stops: int = 10):
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "DEBUG": "1", "DATABASE_URL": f"sqlite:///{folder}/db.sqlite3",
               "MEDIA_ROOT": f"{folder}/media", "PYTHONUNBUFFERED": "1"}
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        clean = 0
        for i in range(stops):
            stopped = ctrl_c_once(env)
            clean += not stopped["left"]
            print(f"stop {i + 1:2d}: {stopped['processes']} processes, {len(stopped['left'])} left running, "
                  f"serve exited {stopped['rc']} after {stopped['stop_s']:.1f} s", flush=True)
        print(f"{clean}/{stops} stops left nothing running")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
