"""Runs avprobe.py's readers in a child under a CPU, memory and wall-clock budget: a fork of the caller.

Starting Python and importing PyAV costs ~0.2 s, and every upload is probed. So the caller imports
PyAV once (on its first probe) and each probe is a plain fork of it (a few ms, no exec): a hostile
header costs only that child its budget, never the caller, and nothing of one probe survives into
the next. The child touches nothing of the caller's (database connections, locks other threads
hold): it reads one file with PyAV, writes JSON to a pipe and leaves by os._exit. os.fork, not
multiprocessing: django-q2's workers are daemonic processes, which multiprocessing forbids children.
"""
from __future__ import annotations

import json
import os
import resource
import select
import signal
import time
from dataclasses import dataclass

CPU_GRACE_SECONDS = 1  # SIGXCPU at the soft limit, SIGKILL this much later
MAX_ANSWER_BYTES = 1 << 16  # the JSON: a few hundred bytes
READ_BYTES = 1 << 14
EXIT_WAIT_SECONDS = 5.0  # for a child that answered to exit


@dataclass(frozen=True)
class ProbeOutcome:
    answer: dict | None  # avprobe's JSON-ready answer; None when the child gave none
    timed_out: bool = False
    out_of_cpu: bool = False
    exitcode: int | None = None  # negative: the signal that ended it


def _address_space() -> int:
    """Bytes this process maps now (a fork starts with all of its parent's mappings)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _child(fd: int, mode: str, args: tuple, cpu_seconds: int, memory_bytes: int) -> None:
    """In the fork: limit itself, answer through `fd`, never return."""
    code = 1
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + CPU_GRACE_SECONDS))
        limit = _address_space() + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        from . import avprobe

        avprobe.quiet()
        data = json.dumps(avprobe.READERS[mode](*args)).encode()[:MAX_ANSWER_BYTES]
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        code = 0
    finally:
        os._exit(code)


def _exitcode(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def run_probe(mode: str, *args: str, cpu_seconds: float, timeout: float, memory_bytes: int) -> ProbeOutcome:
    """avprobe.READERS[mode](*args) in a budgeted fork of this process."""
    from . import avprobe  # noqa: F401  (PyAV's libraries load here once, so no child loads them again)

    deadline = time.monotonic() + timeout
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child (coverage does not follow a fork)
        os.close(read_fd)
        _child(write_fd, mode, args, max(1, int(cpu_seconds)), memory_bytes)
    os.close(write_fd)
    chunks, size, status = [], 0, None
    try:
        while size <= MAX_ANSWER_BYTES:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_fd], [], [], left)[0]:
                break
            chunk = os.read(read_fd, READ_BYTES)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        end = min(deadline, time.monotonic() + EXIT_WAIT_SECONDS)
        while status is None:
            done, found = os.waitpid(pid, os.WNOHANG)
            if done:
                status = found
            elif time.monotonic() >= end:
                break
            else:
                time.sleep(0.005)
    finally:
        os.close(read_fd)
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    if status is None:
        return ProbeOutcome(None, timed_out=True)
    code = _exitcode(status)
    try:
        answer = json.loads(b"".join(chunks)) if code == 0 else None
    except ValueError:
        answer = None
    return ProbeOutcome(answer if isinstance(answer, dict) else None, False,
                        code in (-signal.SIGXCPU, -signal.SIGKILL), code)
