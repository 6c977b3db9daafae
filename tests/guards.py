"""The runtime guard cases of tests/vectors/guards.json, and how a runtime's events are checked.

A language's test runs each case in a fresh process with ``case["env"]`` and calls ``check``
with the events it wrote. The driver's conventions (see the file's "about"): loops use the loop
variable ``i``; calls and durations use functions named ``fast``/``slow`` (durations) or any one
name (calls); values are written as var events in order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GUARDS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "vectors" / "guards.json").read_text("utf-8")
)
KINDS = ("loops", "calls", "durations", "values")


def cases(kind: str, containers: bool = True) -> list[dict[str, Any]]:
    """The cases of one kind; without containers, those that need a container walk are left out."""
    return [c for c in GUARDS[kind] if containers or not c.get("containers")]


def check(kind: str, case: dict[str, Any], events: list[dict[str, Any]]) -> None:
    """The events one case's process wrote match the case exactly."""
    if kind == "loops":
        loops = [e for e in events if e["ev"] == "loop"]
        runs = [] if not case["expect"] else [case["expect"]] * case["runs"]
        got: list[list[int]] = []
        for e in loops:
            if e["i"] == min(case["expect"], default=0) or not got:
                got.append([])
            got[-1].append(e["i"])
            assert e.get("vars") == {"i": e["i"]}, e
            assert isinstance(e["kind"], str) and e["kind"], e
        assert got == runs, f"loop indices {got}, expected {runs} ({case['env']})"
    elif kind == "calls":
        count = {ev: sum(e["ev"] == ev for e in events) for ev in ("enter", "exit")}
        assert count == case["expect"], f"{count} for {case['env']}"
    elif kind == "durations":
        got_pairs = [[e["ev"], e["fn"]] for e in events if e["ev"] in ("enter", "exit")]
        assert got_pairs == case["expect"], f"{got_pairs} for {case['env']}"
    elif kind == "values":
        var = [e for e in events if e["ev"] == "var"]
        if case.get("expect_none"):
            assert var == [], var
            return
        assert [e["name"] for e in var] == [name for name, _v, _x in case["values"]]
        for e, (name, _value, expected) in zip(var, case["values"], strict=True):
            assert e["value"] == expected and type(e["value"]) is type(expected), (
                f"{name}: {e['value']!r}, expected {expected!r} ({case['env']})"
            )
    else:
        raise ValueError(f"unknown guard kind {kind!r}")
