"""Web server and django-q2 worker together in the foreground; Ctrl-C stops both, and everything they started.

Each child runs in a process group of its own, so the terminal's Ctrl-C reaches this command only.
Sent to the whole foreground group, it also hit qcluster's own worker processes at the moment their
main process was stopping them, which then waited on children already gone (2 stops in 5 left four
`qcluster` processes behind). Here qcluster's main process alone gets SIGTERM and stops its workers
in order; whatever is left of a group after STOP_SECONDS is killed.
"""
import contextlib
import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand

STOP_SECONDS = 15  # a graceful stop: qcluster finishes a running job's step and stops its workers
POLL_SECONDS = 0.2


def stop_group(child: subprocess.Popen, timeout: float) -> None:
    """SIGTERM to the child itself, then SIGKILL to its whole process group once it is gone or late."""
    if child.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            child.terminate()
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)  # its leftovers (qcluster's workers), or itself when late
    child.wait()


class Command(BaseCommand):
    help = "Run the development web server and one django-q2 cluster until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:3000")

    def handle(self, *args, **options):
        stopping = []

        def stop(*_):
            stopping.append(True)

        # before the children start: a Ctrl-C during their start must not kill this command half-way
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)  # Ctrl-C, even where the shell started us ignoring it
        signal.signal(signal.SIGHUP, stop)  # the terminal closed
        manage = [sys.executable, "manage.py"]
        children = [
            subprocess.Popen(manage + ["qcluster"], start_new_session=True),
            subprocess.Popen(manage + ["runserver", options["addr"], "--noreload"], start_new_session=True),
        ]
        self.stdout.write(f"Open http://{options['addr']}/  (Ctrl-C stops the server and the worker)")
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(POLL_SECONDS)
        finally:
            for child in children:  # both asked at once, then each waited for
                if child.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        child.terminate()
            deadline = time.monotonic() + STOP_SECONDS
            for child in children:
                stop_group(child, max(0.0, deadline - time.monotonic()))
        self.stdout.write("Stopped the server and the worker.")
