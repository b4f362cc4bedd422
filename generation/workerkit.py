"""What a worker's run of any job uses, a generation's (generation.worker) or a preparation's (avatars.worker).

The worker's name on a claim, the heartbeat that keeps a claim alive, and the exception that stops a
run which lost its job. Both worker rooms import it; it imports neither (docs/architecture.md §1).
"""
import logging
import os
import socket
import threading

from django.db import connections

log = logging.getLogger(__name__)


def identity() -> str:
    """This worker process, as claims and the staff page name it: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Cancelled(Exception):
    """The job was cancelled, deleted or taken over by another worker while this one ran it."""


class Heartbeat:
    """While a job runs, a thread calls `beat` every `interval` seconds (HEARTBEAT_SECONDS).

    Progress callbacks can be far apart (a long TTS call, a slow encode), so liveness comes from a
    thread of its own: when the process dies the stamps stop, and recovery takes the job over.
    `beat` stamps the row and answers True while the row is still this run's.
    """

    def __init__(self, request, interval: float, beat):
        self.request, self.interval = request, interval
        self.beat = beat
        self.lost = threading.Event()  # set once the row is gone, cancelled or taken over
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{request.pk}", daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    if not self.beat():
                        self.lost.set()
                except Exception:  # a locked or lost database: the next beat tries again
                    log.warning("Heartbeat of %s #%s failed", type(self.request).__name__, self.request.pk,
                                exc_info=True)
        finally:
            connections.close_all()  # this thread's own connection

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
