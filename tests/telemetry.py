"""Checks shared by every language's tests: the JSON-lines event schema and enter/exit pairing."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers import line_of

VECTORS = json.loads((Path(__file__).parent / "vectors" / "events.json").read_text("utf-8"))


def read_events(path: Path) -> list[dict[str, Any]]:
    """Parse an events file; every line must be one complete JSON object of the schema."""
    events = []
    if not path.exists():
        return events
    # Lines end at "\n" only: U+2028 and friends may stand raw inside JSON strings.
    lines = path.read_text("utf-8").split("\n")
    if lines[-1] == "":
        lines.pop()  # the last line's own end; a partial last line stays and fails below
    for n, line in enumerate(lines, 1):
        event = json.loads(line)  # a partial or interleaved line fails here
        assert isinstance(event, dict), f"line {n} is not an object"
        missing = [k for k in VECTORS["required"][event["ev"]] if k not in event]
        assert not missing, f"line {n} lacks {missing}: {line}"
        assert isinstance(event["line"], int) and event["line"] >= 1
        assert isinstance(event["ts"], int) and isinstance(event["pid"], int)
        if "dur_ns" in event:
            assert isinstance(event["dur_ns"], int) and event["dur_ns"] >= 0
        events.append(event)
    return events


def check_pairs(events: list[dict[str, Any]]) -> Counter[str]:
    """Every enter has exactly one exit (per pid and function); returns calls per function."""
    opened: Counter[tuple[int, str]] = Counter()
    closed: Counter[tuple[int, str]] = Counter()
    for e in events:
        key = (e["pid"], e["fn"])
        if e["ev"] == "enter":
            opened[key] += 1
        elif e["ev"] == "exit":
            closed[key] += 1
            assert closed[key] <= opened[key], f"exit before enter: {e}"
    assert opened == closed, f"unbalanced enter/exit: {opened - closed} / {closed - opened}"
    return Counter(fn for (_pid, fn), n in opened.items() for _ in range(n))


def check_vectors(events: list[dict[str, Any]]) -> None:
    """The events a runtime wrote for the shared vectors, in order, match them exactly."""
    expected: list[tuple[str, str, str, int]] = []
    for case in VECTORS["cases"]:
        expected.append(("enter", case["fn"], case["file"], case["line"]))
        if case["raises"]:
            expected.append(("error", case["fn"], case["file"], case["line"]))
        expected.append(("exit", case["fn"], case["file"], case["line"]))
    got = [(e["ev"], e["fn"], e["file"], e["line"]) for e in events]
    assert got == expected
    for e in events:
        if e["ev"] == "error":
            assert isinstance(e["error"], str) and e["error"]


def first(events: list[dict[str, Any]], fn: str) -> dict[str, Any]:
    """The first event of a function."""
    return next(e for e in events if e["fn"] == fn)


def errors_of(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["fn"], e["error"]) for e in events if e["ev"] == "error"]


def check_where(
    events: list[dict[str, Any]], src: Path, where: dict[str, tuple[Path, str]]
) -> None:
    """Each function's first event names its file (relative to src) and the line of the
    original source that holds the needle."""
    for fn, (path, needle) in where.items():
        event = first(events, fn)
        expected = (path.relative_to(src).as_posix(), line_of(path, needle))
        assert (event["file"], event["line"]) == expected, fn


OFF_VALUES = ("off", "0", "FALSE", "no")


def check_off(
    run: Callable[[Path, dict[str, str]], subprocess.CompletedProcess[str]], stdout: str, tmp: Path
) -> None:
    """Every spelling of off silences the runtime: `run(events_file, env)` prints what the
    program prints uninstrumented, nothing on stderr, and writes no events file."""
    for value in OFF_VALUES:
        events_file = tmp / f"off-{value}.jsonl"
        off = run(events_file, {"TELEMETRY_INJECT": value})
        assert (off.returncode, off.stdout, off.stderr) == (0, stdout, ""), value
        assert not events_file.exists(), value
