"""`manage.py serve` (what `make run` ends in) started as a terminal would, and stopped with Ctrl-C."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.server import free_port

ROOT = Path(__file__).resolve().parent.parent
QCLUSTER_PROCESSES = 4  # django-q2 with one worker: guard, sentinel's monitor, pusher and the worker


def sessions() -> dict[int, tuple[int, str]]:
    """pid -> (session id, state) of every process on the machine."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        found[int(entry.name)] = (int(fields[3]), fields[0])
    return found


def started_by(pids: set[int]) -> set[int]:
    """Every live process whose session one of `pids` leads, or whose parent chain leads to them."""
    table = sessions()
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), list(pids)
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            if child not in found:
                found.add(child)
                todo.append(child)
    found |= {pid for pid, (sid, _) in table.items() if sid in pids | found}
    return {pid for pid in found if table.get(pid, (0, "Z"))[1] != "Z"}


def alive(pids: set[int]) -> set[int]:
    table = sessions()
    return {pid for pid in pids if pid in table and table[pid][1] != "Z"}


def ctrl_c_once(env: dict, timeout: float = 90) -> dict:
    """Start serve, wait until both halves run, send SIGINT to its whole group (a terminal's Ctrl-C).

    Returns {'left': pids still running afterwards, 'processes': how many serve had started, 'stop_s': …}.
    """
    port = free_port()
    serve = subprocess.Popen([sys.executable, "manage.py", "serve", "--addr", f"127.0.0.1:{port}"], cwd=ROOT,
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)  # the terminal's foreground job: its own group
    processes: set[int] = set()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            processes = started_by({serve.pid})
            try:
                web = requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=5).status_code == 200
            except requests.RequestException:
                web = False
            # runserver, and qcluster with all of its processes
            if web and len(processes) >= 2 + QCLUSTER_PROCESSES:
                break
            time.sleep(0.3)
        else:
            raise AssertionError(f"serve did not start within {timeout} s: {len(processes)} processes")
        time.sleep(0.5)
        processes = started_by({serve.pid})
        asked = time.monotonic()
        os.killpg(serve.pid, signal.SIGINT)
        serve.wait(60)
        stop_s = time.monotonic() - asked
        time.sleep(0.5)  # what was orphaned would still be running now
        return {"left": alive(processes), "processes": len(processes), "stop_s": stop_s, "rc": serve.returncode}
    finally:
        for pid in alive(processes | started_by({serve.pid}) | {serve.pid}):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if serve.poll() is None:
            serve.wait()
