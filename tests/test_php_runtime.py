"""The PHP runtime against the shared contract (docs/probes.md): the event vectors, every guard
vector and the guards' finer points, driven by small PHP programs that call it as instrumented
code does."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from guards import KINDS, cases, check
from helpers import ROOT, require, run_program
from telemetry import VECTORS, check_vectors, read_events
from telemetry_inject.core import language, plan


def _driver(root: Path, name: str, text: str) -> None:
    """The runtime beside a driver program, as instrumenting writes it."""
    for extra in plan.runtime_files(language.get("php"), "tel", name, {}):
        (root / extra.path).write_text(extra.text, "utf-8")
    (root / name).write_text(text, "utf-8")


def _php(root: Path, *args: str, events: Path) -> subprocess.CompletedProcess[str]:
    return run_program([require("php"), *args], root, events=events)


VECTOR_DRIVER = r"""<?php
require_once __DIR__ . '/_telemetry_utils.php';

// What an instrumented function does, with fn, file and line arriving at run time.
function call(string $fn, string $file, int $line, bool $raises): void
{
    $__tel = \_tel_enter($fn, $file, $line); try {
    if ($raises) {
        throw new \DomainException("vector $fn");
    }
    } catch (\Throwable $__tel_e) { \_tel_error($__tel, $__tel_e); throw $__tel_e; }
    finally { \_tel_exit($__tel); }
}

if (isset($argv[2])) {
    call("bad\xFFname\x01", "odd\x01\x7F.php", 1, false);
    exit(0);
}
foreach (json_decode(file_get_contents($argv[1]), true)['cases'] as $c) {
    try {
        call($c['fn'], $c['file'], $c['line'], $c['raises']);
    } catch (\DomainException $e) {
    }
}
"""


def test_runtime_passes_the_shared_vectors(tmp_path: Path) -> None:
    _driver(tmp_path, "driver.php", VECTOR_DRIVER)
    vectors = str(ROOT / "tests" / "vectors" / "events.json")
    events_file = tmp_path / "events.jsonl"
    run = _php(tmp_path, "driver.php", vectors, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    events = read_events(events_file)
    check_vectors(events)
    raising = [c["fn"] for c in VECTORS["cases"] if c["raises"]]
    assert [e["error"] for e in events if e["ev"] == "error"] == [
        f"DomainException: vector {fn}" for fn in raising
    ]
    # Bytes that are not UTF-8 and control characters still make valid JSON.
    odd = tmp_path / "odd.jsonl"
    assert _php(tmp_path, "driver.php", vectors, "odd", events=odd).returncode == 0
    assert [(e["fn"], e["file"]) for e in read_events(odd)] == [
        ("bad\ufffdname\x01", "odd\x01\x7f.php")
    ] * 2


GUARD_DRIVER = r"""<?php
require_once __DIR__ . '/_telemetry_utils.php';

// A loop as the loop probe instruments it: its state before it, a sampled call per iteration.
function run_loop(int $n): void
{
    $__tel_l1_1 = \_tel_loop('run_loop', 'driver.php', 7, 'for');
    for ($i = 0; $i < $n; $i++) {
        if ($__tel_l1_1->tick()) { \_tel_iter($__tel_l1_1, 'i', $i); }
    }
}

// A function as the function probe instruments it.
function call(string $fn, int $sleep_ms = 0): void
{
    $__tel = \_tel_enter($fn, 'driver.php', 15, 'sleep_ms', $sleep_ms); try {
    if ($sleep_ms > 0) {
        usleep($sleep_ms * 1000);
    }
    } catch (\Throwable $__tel_e) { \_tel_error($__tel, $__tel_e); throw $__tel_e; }
    finally { \_tel_exit($__tel); }
}

$kind = $argv[1];
$c = json_decode(file_get_contents($argv[2]), true);
if ($kind === 'loops') {
    for ($r = 0; $r < $c['runs']; $r++) {
        run_loop($c['iterations']);
    }
} elseif ($kind === 'calls') {
    for ($k = 0; $k < $c['calls']; $k++) {
        call('work');
    }
} elseif ($kind === 'durations') {
    call('fast');
    call('slow', $c['sleep_ms']);
} else {
    foreach ($c['values'] as $k => [$name, $value, $expected]) {
        \_tel_var('values', 'driver.php', $k + 1, $name, $value);
    }
}
"""


def guard_env(case: dict[str, Any], events: Path) -> dict[str, str]:
    """The case's environment alone: no guard variable of the caller's leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_INJECT")}
    return {**env, **case["env"], "TELEMETRY_INJECT_OUT": str(events)}


GUARD_CASES = [(kind, n) for kind in KINDS for n in range(len(cases(kind)))]


@pytest.mark.parametrize(("kind", "n"), GUARD_CASES, ids=[f"{k}-{n}" for k, n in GUARD_CASES])
def test_runtime_passes_the_guard_vectors(kind: str, n: int, tmp_path: Path) -> None:
    _driver(tmp_path, "driver.php", GUARD_DRIVER)
    case = cases(kind)[n]
    (tmp_path / "case.json").write_text(json.dumps(case), "utf-8")
    events_file = tmp_path / "events.jsonl"
    run = subprocess.run(
        [require("php"), "driver.php", kind, "case.json"],
        cwd=tmp_path, env=guard_env(case, events_file), capture_output=True, text=True,
    )  # fmt: skip
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    events = read_events(events_file)
    check(kind, case, events)
    for e in events:
        if e["ev"] == "enter":  # the args probe's field, with its value rendered
            assert e["args"] == {"sleep_ms": case.get("sleep_ms", 0) if e["fn"] == "slow" else 0}


MORE_GUARDS = r"""<?php
require_once __DIR__ . '/_telemetry_utils.php';

function call(string $fn, bool $raises): void
{
    $__tel = \_tel_enter($fn, 'more.php', 4); try {
    if ($raises) {
        throw new \LogicException(str_repeat('no', 150));
    }
    } catch (\Throwable $__tel_e) { \_tel_error($__tel, $__tel_e); throw $__tel_e; }
    finally { \_tel_exit($__tel); }
}

for ($k = 0; $k < 10; $k++) {
    \_tel_var('sites', 'more.php', 12, 'a', $k);
    \_tel_var('sites', 'more.php', 13, 'b', $k);
}
call('quick', false);
try {
    call('raises', true);
} catch (\LogicException $e) {
}
$state = \_tel_loop('loops', 'more.php', 20, 'foreach');
foreach (['t1', 't2'] as $token) {
    if ($state->tick()) { \_tel_iter($state, 'token', $token, 'n', 1); }
}
\_tel_var('values', 'more.php', 24, 'object', new ArrayObject([1]));
\_tel_var('values', 'more.php', 25, 'inf', -INF);
\_tel_var('values', 'more.php', 26, 'whole', 2.0);
\_tel_var('values', 'more.php', 27, 'sparse', [3 => 'x', 'k' => [1, [2, [3, [4]]]]]);
\_tel_var('values', 'more.php', 28, 'bytes', "\xff\xfeok");
\_tel_var('values', 'more.php', 29, 'empty', []);
"""


def test_runtime_rate_per_site_errors_outlive_min_duration_and_values(tmp_path: Path) -> None:
    _driver(tmp_path, "more.php", MORE_GUARDS)
    events_file = tmp_path / "events.jsonl"
    env = {"TELEMETRY_INJECT_RATE": "3", "TELEMETRY_INJECT_MIN_DURATION_US": "50000"}
    run = subprocess.run(
        [require("php"), "more.php"], cwd=tmp_path, capture_output=True, text=True,
        env=guard_env({"env": env}, events_file),
    )  # fmt: skip
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    events = read_events(events_file)
    # RATE var events per site (not per function); a call that threw keeps its exit.
    assert [e["value"] for e in events if e["ev"] == "var" and e["line"] == 12] == [0, 1, 2]
    assert [e["value"] for e in events if e["ev"] == "var" and e["line"] == 13] == [0, 1, 2]
    calls = [(e["ev"], e["fn"]) for e in events if e["ev"] in ("enter", "error", "exit")]
    assert calls == [("enter", "quick"), ("enter", "raises"), ("error", "raises"),
                     ("exit", "raises")]  # fmt: skip
    assert [e["vars"] for e in events if e["ev"] == "loop"] == [{"token": "<redacted>", "n": 1}] * 2
    # MAX_LEN cuts values, not error messages.
    assert [e["error"] for e in events if e["ev"] == "error"] == ["LogicException: " + "no" * 150]
    values = {e["name"]: e["value"] for e in events if e["fn"] == "values"}
    assert values["object"] == "ArrayObject" and values["inf"] == "-INF"
    assert values["whole"] == 2.0 and isinstance(values["whole"], float)
    assert values["sparse"] == {"3": "x", "k": [1, [2, "…"]]}
    assert values["bytes"] == "\ufffd\ufffdok" and values["empty"] == []
