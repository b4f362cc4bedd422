"""Two synchronous waits behind a queue that never moves, and a login page asked for meanwhile:
the README's former gunicorn command (2 sync workers, gunicorn's default 30 s timeout) against
gunicorn.conf.py, same run, same machine.

    .venv/bin/python bench/web_tier.py [wait seconds, default 40: past gunicorn's default timeout]
"""
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup(folder: str) -> None:
    """A database of its own, migrated, for this process and the servers it starts."""
    os.environ.update({"DATABASE_URL": f"sqlite:///{folder}/db.sqlite3", "MEDIA_ROOT": f"{folder}/media",
                       "DJANGO_SETTINGS_MODULE": "avatarsite.settings_test"})
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()


def run(name: str, options: list[str], wait: int, folder: str, tokens: list[str], static: Path) -> None:
    import requests

    from generation.models import SyncWait
    from tests.server import Gunicorn

    empty = Path(folder) / "empty.conf.py"
    empty.write_text("")
    site = Gunicorn(Path(folder) / "media", static, Path(folder) / f"{name}.log",
                    options=[o.replace("EMPTY", str(empty)) for o in options],
                    SYNC_GENERATE_TIMEOUT=wait, SYNC_GENERATE_TOTAL=2, SYNC_GENERATE_PER_USER=1).start()
    answers = {}

    def post(token):
        started = time.monotonic()
        r = requests.post(site.url + "/api/generate", json={"text": "Привет!", "language": "ru"},
                          headers={"Authorization": f"Token {token}", **site.https}, timeout=wait + 120)
        answers[token] = (r.status_code, r.headers.get("Content-Type", ""), time.monotonic() - started)

    threads = [threading.Thread(target=post, args=(t,)) for t in tokens]
    try:
        for thread in threads:
            thread.start()
        while SyncWait.objects.count() < 2:
            time.sleep(0.05)
        asked = time.monotonic()
        page = requests.get(site.url + "/accounts/login/", headers=site.https, timeout=wait + 120)
        login = time.monotonic() - asked
        for thread in threads:
            thread.join()
    finally:
        site.stop()
    timeouts = site.log_path.read_text(errors="replace").count("WORKER TIMEOUT")
    waits = ", ".join(f"{code} {kind.split(';')[0]} after {took:.1f} s" for code, kind, took in answers.values())
    print(f"{name:>16}: login {page.status_code} in {login * 1000:7.0f} ms; waits: {waits}; "
          f"WORKER TIMEOUT x{timeouts}", flush=True)


def main(wait: int = 40):
    with tempfile.TemporaryDirectory() as folder:
        setup(folder)
        from django.contrib.auth.models import User
        from rest_framework.authtoken.models import Token

        from avatars.worker.demo import create_demo_avatar
        from tests.server import collect_static

        create_demo_avatar()
        tokens = [Token.objects.create(user=User.objects.create_user(n, password="pw-bench-1")).key
                  for n in ("alice", "bob")]
        static = Path(folder) / "static"
        collect_static(static)
        print(f"SYNC_GENERATE_TIMEOUT={wait} s, SYNC_GENERATE_TOTAL=2, no worker running")
        run("README before", ["-c", "EMPTY", "-w", "2"], wait, folder, tokens, static)
        run("gunicorn.conf.py", ["-c", "gunicorn.conf.py"], wait, folder, tokens, static)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
