"""Web server and django-q2 worker together in the foreground; Ctrl-C stops both."""
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the development web server and one django-q2 cluster until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:3000")

    def handle(self, *args, **options):
        manage = [sys.executable, "manage.py"]
        children = [
            subprocess.Popen(manage + ["qcluster"]),
            subprocess.Popen(manage + ["runserver", options["addr"], "--noreload"]),
        ]
        self.stdout.write(f"Open http://{options['addr']}/  (Ctrl-C stops the server and the worker)")

        stopping = []

        def stop(*_):
            # SIGTERM, not SIGINT: a child started from a script may have SIGINT ignored, and
            # qcluster stops gracefully on SIGTERM too.
            stopping.append(True)
            for child in children:
                if child.poll() is None:
                    child.terminate()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)  # Ctrl-C, even where the shell started us ignoring it
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
        stop()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
