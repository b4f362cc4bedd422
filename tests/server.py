"""Start the site as production runs it: gunicorn, DEBUG off, whitenoise, collected static files.

Django's own live test server also serves MEDIA_ROOT and static files through handlers of its own,
so it cannot show what a real deployment serves; this can.
"""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.worker import ROOT, database_url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def collect_static(static_root: Path) -> None:
    """What `collectstatic` gives a real deployment (whitenoise's manifest included)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "avatarsite.settings", "DEBUG": "0",
           "STATIC_ROOT": str(static_root), "ALLOWED_HOSTS": "127.0.0.1"}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py avatarsite.wsgi` (as the README starts it) with DEBUG off on a free port."""

    def __init__(self, media_root, static_root, log_path, options=("-c", "gunicorn.conf.py"), **env):
        self.options = list(options)  # bench/web_tier.py starts the README's former command for comparison
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "avatarsite.settings", "DATABASE_URL": database_url(),
                    "MEDIA_ROOT": str(media_root), "STATIC_ROOT": str(static_root), "ALLOWED_HOSTS": "127.0.0.1",
                    "PYTHONUNBUFFERED": "1",
                    # as behind one TLS-terminating proxy, the only case where X-Forwarded-Proto is believed
                    "TRUSTED_PROXIES": "1", "WEB_WORKERS": "2", "WEB_ACCESS_LOG": "",
                    **{k: str(v) for k, v in env.items()}}
        self.env.pop("DEBUG", None)  # the default: off
        self.log_path = Path(log_path)
        self.process = None

    def start(self, timeout: float = 60):
        import gunicorn

        self.log = open(self.log_path, "ab")
        # gunicorn 27 opens a control socket at a fixed path: two test servers at once would share it
        private = ["--no-control-socket"] if gunicorn.version_info >= (27,) else []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *self.options, "avatarsite.wsgi",
             "-b", f"127.0.0.1:{self.port}", *private],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited: {self.output()}")
            try:  # the first answer loads Django in the worker: seconds on a busy 2-core machine
                requests.get(self.url + "/accounts/login/", headers=self.https, allow_redirects=False, timeout=10)
                return self
            except requests.RequestException:
                time.sleep(0.2)
        raise AssertionError(f"gunicorn did not answer within {timeout} s: {self.output()}")

    # as behind a TLS-terminating proxy: otherwise DEBUG-off redirects everything to https
    https = {"X-Forwarded-Proto": "https"}

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]
