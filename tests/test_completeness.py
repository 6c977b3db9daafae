"""No event lost: instrumented programs with threads and child processes end every way their
language lets a runtime see (return, uncaught exception/panic, sys.exit/process.exit/os.Exit,
SIGTERM), and every event they made is in the file exactly once, on a whole JSON line."""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT, require, run_program
from telemetry import check_pairs, read_events

GO_CACHE = ROOT / "tests" / ".cache" / "go"

PYTHON = """\
import multiprocessing
import os
import sys
import threading
import time


def work(i):
    return i


def spin(n):
    for i in range(n):
        work(i)


def finish(how):
    if how == "raise":
        raise ValueError("boom")
    if how == "exit":
        sys.exit(3)
    if how == "sigterm":
        os.kill(os.getpid(), 15)
        time.sleep(30)  # ended by the signal


def main(how):
    threads = [threading.Thread(target=spin, args=(2000,)) for _ in range(4)]  # many flushes
    for t in threads:
        t.start()
    spin(100)
    for t in threads:
        t.join()
    pid = os.fork()
    if pid == 0:
        spin(50)
        sys.exit(0)
    os.waitpid(pid, 0)
    child = multiprocessing.get_context("fork").Process(target=spin, args=(30,))
    child.start()
    child.join()
    finish(how)


main(sys.argv[1])
"""


def _enters(events: list[dict[str, Any]], pid: int | None = None) -> Counter[str]:
    return Counter(e["fn"] for e in events if e["ev"] == "enter" and pid in (None, e["pid"]))


def _open_frames(events: list[dict[str, Any]]) -> Counter[str]:
    opened = _enters(events)
    opened.subtract(e["fn"] for e in events if e["ev"] == "exit")
    return +opened


@pytest.mark.parametrize(
    ("how", "code", "still_open"),
    [
        ("return", 0, []),
        ("raise", 1, []),
        ("exit", 3, []),
        ("sigterm", -signal.SIGTERM, ["main", "finish"]),
    ],
)
def test_python_threads_fork_and_every_exit(
    how: str, code: int, still_open: list[str], instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "prog.py").write_text(PYTHON, "utf-8")
    out = instrument_copy(src)
    events_file = tmp_path / "events.jsonl"
    run = run_program([require("python3"), "prog.py", how], out, events=events_file, timeout=60)
    assert run.returncode == code, run.stderr
    events = read_events(events_file)
    pids = Counter(e["pid"] for e in events)
    assert len(pids) == 3, pids  # the parent, its forked child and a multiprocessing child
    mp_child, child, parent = sorted(pids, key=lambda p: pids[p])
    # multiprocessing's child leaves main's inherited frame by os._exit: no event for it.
    assert _enters(events, mp_child) == {"spin": 1, "work": 30}
    assert [e["fn"] for e in events if e["pid"] == mp_child and e["ev"] != "enter"] == [
        "work"
    ] * 30 + ["spin"]
    # The child makes its own calls, each once, and leaves main (entered before the fork) by
    # sys.exit: that frame's error and exit carry the child's pid.
    assert _enters(events, child) == {"spin": 1, "work": 50}
    inherited = [e for e in events if e["pid"] == child and e["fn"] == "main"]
    assert [(e["ev"], e.get("error")) for e in inherited] == [
        ("error", "SystemExit: 0"),
        ("exit", None),
    ]
    events = [e for e in events if e not in inherited]
    calls = {"main": 1, "spin": 5, "work": 8100, "finish": 1}
    assert _enters(events, parent) == calls
    assert _open_frames(events) == Counter(still_open)
    if not still_open:
        check_pairs(events)
    errors = [(e["fn"], e["error"]) for e in events if e["ev"] == "error" and e["pid"] == parent]
    expected = {"raise": "ValueError: boom", "exit": "SystemExit: 3"}.get(how)
    assert errors == ([("finish", expected), ("main", expected)] if expected else [])


JAVASCRIPT = """\
"use strict";
const { Worker, isMainThread, workerData } = require("worker_threads");
const { fork } = require("child_process");

function work(i) {
  return i;
}

function spin(n) {
  for (let i = 0; i < n; i++) work(i);
}

function finish(how) {
  if (how === "throw") throw new TypeError("boom");
  if (how === "exit") process.exit(3);
  if (how === "sigterm") {
    process.kill(process.pid, "SIGTERM");
    setTimeout(() => {}, 30000); // ended by the signal
  }
}

function main(how) {
  const workers = [0, 1, 2].map(() => new Worker(__filename, { workerData: 300 }));
  let left = workers.length + 1;
  const done = () => {
    if (--left === 0) finish(how);
  };
  for (const w of workers) w.on("exit", done);
  fork(__filename, ["child"]).on("exit", done);
  spin(100);
}

if (!isMainThread) spin(workerData);
else if (process.argv[2] === "child") spin(50);
else main(process.argv[2]);
"""


@pytest.mark.parametrize(
    ("how", "code", "still_open"),
    [
        ("return", 0, []),
        ("throw", 1, []),
        ("exit", 3, ["main.done", "finish"]),
        ("sigterm", -signal.SIGTERM, []),
    ],
)
def test_javascript_workers_fork_and_every_exit(
    how: str, code: int, still_open: list[str], instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "prog.js").write_text(JAVASCRIPT, "utf-8")
    out = instrument_copy(src)
    events_file = tmp_path / "events.jsonl"
    run = run_program([require("node"), "prog.js", how], out, events=events_file, timeout=60)
    assert run.returncode == code, run.stderr
    events = read_events(events_file)
    pids = Counter(e["pid"] for e in events)
    assert len(pids) == 2, pids  # workers share the parent's pid; the forked child has its own
    child = min(pids, key=lambda p: pids[p])
    parent = next(p for p in pids if p != child)
    assert _enters(events, child) == {"spin": 1, "work": 50}
    # main and its spin, three workers' spins, finish from the last exit callback (main.done).
    parent_calls = _enters(events, parent)
    assert parent_calls["work"] == 100 + 3 * 300
    assert (parent_calls["spin"], parent_calls["main"], parent_calls["finish"]) == (4, 1, 1)
    assert _open_frames(events) == Counter(still_open)
    if not still_open:
        check_pairs(events)
    errors = [(e["fn"], e["error"]) for e in events if e["ev"] == "error"]
    assert errors[:1] == ([("finish", "TypeError: boom")] if how == "throw" else [])


GO = """\
package main

import (
	"os"
	"sync"
)

func work(i int) int {
	return i
}

func spin(n int) {
	for i := 0; i < n; i++ {
		work(i)
	}
}

func finish(how string) {
	switch how {
	case "panic":
		panic("boom")
	case "exit":
		os.Exit(3)
	}
}

func main() {
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spin(300)
		}()
	}
	spin(100)
	wg.Wait()
	finish(os.Args[1])
}
"""


@pytest.mark.parametrize(
    ("how", "code", "still_open"),
    [("return", 0, []), ("panic", 2, []), ("exit", 3, ["main", "finish"])],
)
def test_go_goroutines_and_every_exit(
    how: str, code: int, still_open: list[str], instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "go.mod").write_text("module prog\n\ngo 1.22\n", "utf-8")
    (src / "main.go").write_text(GO, "utf-8")
    out = instrument_copy(src)
    env = {
        "GOCACHE": str(GO_CACHE / "build"),
        "GOPATH": str(GO_CACHE / "path"),
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
    }
    go = require("go")
    build = run_program([go, "build", "-o", "prog", "."], out, env=env, timeout=120)
    assert build.returncode == 0, build.stderr
    events_file = tmp_path / "events.jsonl"
    run = run_program([str(out / "prog"), how], out, events=events_file, timeout=60)
    assert run.returncode == code, run.stderr
    events = read_events(events_file)
    calls = _enters(events)
    assert (calls["work"], calls["spin"], calls["main"], calls["finish"]) == (2500, 9, 1, 1)
    assert calls["main.<anonymous>"] == 8
    # A goroutine's exit event is written by the first defer it registered, which runs after its
    # own `defer wg.Done()`: main may return first. That event can be lost (README says so).
    open_frames = _open_frames(events)
    assert open_frames["main.<anonymous>"] <= 8
    del open_frames["main.<anonymous>"]
    assert open_frames == Counter(still_open)
    errors = [(e["fn"], e["error"]) for e in events if e["ev"] == "error"]
    boom = "string: boom"
    assert errors == ([("finish", boom), ("main", boom)] if how == "panic" else [])
