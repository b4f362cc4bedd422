"""Running ffmpeg on a budget: stdin closed, CPU-time and address-space limits, a wall-clock deadline,
capped output, and a log that may be huge kept by its head and tail.

ffmpeg.py builds the commands (which demuxers and protocols, which limits); this module only runs
them, so every run of ffmpeg on bytes we did not make goes through one LimitedRun.
"""
from __future__ import annotations

import contextlib
import fcntl
import math
import os
import resource
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Callable

from .types import PIPELINE_FAILED, PipelineError

# hyper-parameters
# address space: an audio decode maps ~0.6 GB and touches ~35 MB; 1080p video of every accepted codec
# (h264, hevc, vp8/9, av1, mpeg4; one thread) decodes and scales within 0.5 GB
MEMORY_LIMIT_BYTES = 1 << 30
CPU_GRACE_SECONDS = 1  # SIGXCPU lets ffmpeg stop cleanly; SIGKILL follows this much later
# Of ffmpeg's log, kept from the start (what it detected) and from the end (streams, final error).
# A real file's probe log is a few KiB; one longer than both is refused, since what was dropped
# from its middle could be the real stream line that a forged one imitates.
LOG_HEAD_BYTES = 256 << 10
LOG_TAIL_BYTES = 256 << 10
READ_CHUNK_BYTES = 1 << 16
REAP_POLL_SECONDS = 0.005  # a child that closed its pipes exits within a poll or two
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


@dataclass
class Outcome:
    """How a limited ffmpeg run ended."""

    returncode: int
    output: bytes | bytearray
    log: str
    timed_out: bool = False
    overflowed: bool = False  # its output passed the cap and it was stopped
    log_truncated: bool = False  # the middle of the log was dropped
    cpu_used: float = 0.0  # seconds, user + system
    cpu_limit: int = 0  # the RLIMIT_CPU soft limit it ran under

    @property
    def out_of_cpu(self) -> bool:
        """True when the CPU budget stopped it (on SIGXCPU ffmpeg exits "normally", with code 255)."""
        if self.returncode == 0 or self.timed_out or self.overflowed:
            return False
        return self.cpu_used >= self.cpu_limit


def _limit(pid: int, cpu: int, memory_bytes: int) -> None:
    """CPU-time (whole seconds) and address-space limits on a running child.

    Set from the parent right after the start rather than in a preexec_fn, which can deadlock a
    threaded web server; RLIMIT_CPU counts the CPU the child used before it too.
    """
    resource.prlimit(pid, resource.RLIMIT_CPU, (cpu, cpu + CPU_GRACE_SECONDS))
    resource.prlimit(pid, resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def _reap(proc: subprocess.Popen, deadline: float) -> tuple[float, bool]:
    """Wait for the child until `deadline`, then kill it: (CPU seconds it used, whether it was killed late).

    os.wait4 rather than Popen.wait: it also returns the child's resource usage.
    """
    late = False
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() >= deadline:
                os.kill(proc.pid, signal.SIGKILL)  # not Popen.kill: its poll() would reap the child first
                late = True
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(REAP_POLL_SECONDS)
    except ChildProcessError:  # SIGCHLD ignored: the child reaped itself; status unknown, as Popen assumes
        proc.returncode = 0
        return 0.0, late
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, late


class _LogBuffer:
    """The first and the last few KiB of a log that may be huge."""

    def __init__(self):
        self.head, self.tail, self.dropped = bytearray(), bytearray(), False

    def add(self, chunk: bytes) -> None:
        room = LOG_HEAD_BYTES - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        if len(self.tail) > LOG_TAIL_BYTES:
            del self.tail[:-LOG_TAIL_BYTES]
            self.dropped = True

    def text(self) -> str:
        gap = b"\n[...]\n" if self.dropped else b""
        return (bytes(self.head) + gap + bytes(self.tail)).decode("utf-8", "replace")


class LimitedRun:
    """ffmpeg started with stdin closed, under a CPU/memory budget and a deadline; stdout read on demand.

    Its log (stderr) is drained alongside, so a chatty child never blocks; `close()` stops it if it
    is still running, reaps it and returns the Outcome.
    """

    def __init__(self, cmd: list[str], *, cpu_seconds: float, timeout: float,
                 memory_bytes: int = MEMORY_LIMIT_BYTES, read_bytes: int = READ_CHUNK_BYTES):
        try:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE)
        except OSError as exc:
            raise PipelineError(f"Cannot start ffmpeg: {exc}", PIPELINE_FAILED) from exc
        self._cpu = max(1, math.ceil(cpu_seconds))
        self._deadline = time.monotonic() + timeout
        self._read_bytes = read_bytes
        self._buffer, self._log = bytearray(), _LogBuffer()
        self._stdout_done = self.timed_out = self.overflowed = False
        self.outcome: Outcome | None = None
        if read_bytes > READ_CHUNK_BYTES:  # a bigger pipe: fewer, larger reads (Linux; best effort)
            with contextlib.suppress(OSError):
                fcntl.fcntl(self._proc.stdout.fileno(), F_SETPIPE_SZ, read_bytes)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._proc.stdout, selectors.EVENT_READ)
        self._sel.register(self._proc.stderr, selectors.EVENT_READ)
        try:
            _limit(self._proc.pid, self._cpu, memory_bytes)
        except ProcessLookupError:
            pass  # already gone: nothing left to limit
        except OSError as exc:  # fail closed: never decode hostile bytes without the budget
            self.close(stop=True)
            raise PipelineError(f"Cannot limit ffmpeg's CPU and memory: {exc}", PIPELINE_FAILED) from exc

    def __enter__(self) -> "LimitedRun":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(stop=exc_type is not None)

    def _ready(self) -> list:
        """The pipes that have something to read; none (and `timed_out` set) once the deadline passes."""
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self.timed_out = True
            return []
        return [key for key, _ in self._sel.select(remaining)]

    def _take(self, key, into: memoryview | None = None) -> int:
        """Read what one ready pipe holds (stdout straight into `into` when given); bytes of output read."""
        is_output = key.fileobj is self._proc.stdout
        if is_output and into is not None:
            count = os.readv(key.fd, [into])
        else:
            chunk = os.read(key.fd, self._read_bytes)
            count = len(chunk)
            if is_output:
                self._buffer += chunk
            else:
                self._log.add(chunk)
        if count == 0:
            self._sel.unregister(key.fileobj)
            self._stdout_done = self._stdout_done or is_output
        return count if is_output else 0

    def _pump(self, enough: Callable[[], bool] | None = None) -> None:
        """Read both pipes until `enough()` or the end of stdout (None: until both end), or the deadline."""
        while self._sel.get_map() and not self.timed_out and not (
                enough is not None and (self._stdout_done or enough())):
            for key in self._ready():
                self._take(key)

    def read_into(self, view: memoryview) -> int:
        """Fill `view` with the next output, with no copy in between; how many bytes (fewer at the end)."""
        filled = min(len(self._buffer), len(view))
        view[:filled] = self._buffer[:filled]
        del self._buffer[:filled]
        while filled < len(view) and not self._stdout_done and not self.timed_out:
            for key in self._ready():
                filled += self._take(key, view[filled:])
        return filled

    def read(self, size: int) -> bytes:
        """The next `size` bytes of output; fewer where it ended or time ran out."""
        self._pump(lambda: len(self._buffer) >= size)
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    def readline(self, limit: int) -> bytes:
        """Output up to and including the next newline, at most `limit` bytes."""
        self._pump(lambda: self._buffer.find(b"\n", 0, limit) >= 0 or len(self._buffer) >= limit)
        end = self._buffer.find(b"\n", 0, limit)
        return self.read(limit if end < 0 else end + 1)

    def read_all(self, max_output: int | None = None) -> bytearray:
        """All output (it is stopped once past `max_output` bytes, and `overflowed` is set)."""
        self._pump(lambda: max_output is not None and len(self._buffer) > max_output)
        self.overflowed = max_output is not None and len(self._buffer) > max_output
        return self._buffer

    def close(self, stop: bool = False) -> Outcome:
        """Stop it if asked or if its output is not all read; drain the log, reap it, say how it ended."""
        if self.outcome is not None:
            return self.outcome
        proc = self._proc
        try:
            if stop or self.overflowed or self.timed_out or not self._stdout_done:
                os.kill(proc.pid, signal.SIGKILL)
            self._pump()  # the rest of the log; after a kill, what was left in the pipes
            if self.timed_out:
                os.kill(proc.pid, signal.SIGKILL)
        except BaseException:
            os.kill(proc.pid, signal.SIGKILL)
            _reap(proc, 0.0)
            raise
        finally:
            self._sel.close()
            proc.stdout.close()
            proc.stderr.close()
        cpu_used, late = _reap(proc, self._deadline)  # pipes closed: it is exiting, or gets no longer than the rest
        self.outcome = Outcome(proc.returncode, self._buffer, self._log.text(), self.timed_out or late,
                               self.overflowed, self._log.dropped, cpu_used, self._cpu)
        return self.outcome


def run_limited(cmd: list[str], *, cpu_seconds: float, timeout: float, max_output: int | None = None,
                memory_bytes: int = MEMORY_LIMIT_BYTES) -> Outcome:
    """Run ffmpeg with stdin closed, a CPU/memory budget, a wall-clock timeout and capped stdout."""
    with LimitedRun(cmd, cpu_seconds=cpu_seconds, timeout=timeout, memory_bytes=memory_bytes) as run:
        run.read_all(max_output)
    return run.outcome
