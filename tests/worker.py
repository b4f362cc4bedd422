"""Start a real `manage.py qcluster` against the test database for end-to-end tests."""
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The URL of the database the tests run on, for a subprocess to share it."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Cluster:
    """A qcluster process; stopped (or killed) by the test."""

    def __init__(self, media_root, log_path, **env):
        self.env = {**os.environ, "DATABASE_URL": database_url(), "MEDIA_ROOT": str(media_root),
                    "PYTHONUNBUFFERED": "1", **{k: str(v) for k, v in env.items()}}
        self.log_path = Path(log_path)
        self.process = None

    def start(self):
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=self.env,
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def stop(self, timeout=8):
        """SIGTERM to the main process only, as a supervisor should send it, then SIGKILL to what is left.

        django-q2 stops its own processes in order; a SIGTERM to the whole group at once leaves its
        main process waiting forever on children that already died (README, "Stopping workers").
        """
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        if self.process:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # leftovers of the group, if any
            self.process.wait()
        self.log.close()

    def kill(self):
        """kill -9 the whole cluster (guard, sentinel and workers): a machine dying mid-job."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def wait_for(predicate, timeout, interval=0.3, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def finished(pk):
    """The request once it has finished (done, failed or cancelled), else None: for wait_for."""
    from generation.models import GenerationRequest

    request = GenerationRequest.objects.get(pk=pk)
    return request if request.is_finished else None
