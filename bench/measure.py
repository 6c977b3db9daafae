"""Run a command and measure it as a user would feel it: wall time, CPU time of the whole
process tree, peak memory of the whole tree (the sum of its processes' RSS, sampled), and how
many processes were busy at once (a run that claims two cores should show two workers)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measured:
    wall: float
    cpu: float  # user + system of the command and every descendant it waited for
    peak_rss_mb: float  # the largest sum over the tree at one sampling instant
    peak_processes: int  # the most processes alive in the tree at once
    returncode: int
    stdout: str
    stderr: str
    load_before: float
    load_after: float


def _tree(pid: int) -> list[int]:
    """pid and its descendants, via /proc/PID/task/TID/children (no scan of all of /proc)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except OSError:
            continue
    return out


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> Measured:
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = [0, 0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            pids = _tree(proc.pid)
            peak[0] = max(peak[0], sum(_rss(p) for p in pids))
            peak[1] = max(peak[1], len(pids))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out_box: list[str] = []
    err_box: list[str] = []
    readers = [
        threading.Thread(target=lambda: out_box.append(proc.stdout.read()), daemon=True),  # type: ignore[union-attr]
        threading.Thread(target=lambda: err_box.append(proc.stderr.read()), daemon=True),  # type: ignore[union-attr]
    ]
    for t in readers:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    for t in readers:
        t.join()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=peak[0] / 2**20,
        peak_processes=peak[1],
        returncode=proc.returncode,
        stdout=out_box[0] if out_box else "",
        stderr=err_box[0] if err_box else "",
        load_before=load_before,
        load_after=os.getloadavg()[0],
    )


def machine() -> dict[str, object]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_mb": mem,
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
