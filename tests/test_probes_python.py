"""Loop, variable, argument and return probes in Python; the runtime guards; project files."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from guards import cases, check
from helpers import ROOT, run_cli, run_program
from telemetry import check_pairs, read_events

RUNTIME = ROOT / "core/languages/python/runtime/_telemetry_utils.py"

# Drives the runtime API directly, the way inserted lines call it; one guard case per process.
DRIVER = r"""
import json, sys, time
import _telemetry_utils as tel
kind, case = sys.argv[1], json.loads(sys.argv[2])
if kind == "loops":
    def run():
        state = tel.loop("run", "d.py", 3, "for")
        for i in range(case["iterations"]):
            state.it("i", i)
    for _ in range(case["runs"]):
        run()
elif kind == "calls":
    f = tel.probe("f", "d.py", 1)(lambda: None)
    for _ in range(case["calls"]):
        f()
elif kind == "durations":
    fast = tel.probe("fast", "d.py", 1)(lambda: None)
    slow = tel.probe("slow", "d.py", 2)(lambda: time.sleep(case["sleep_ms"] / 1000))
    fast()
    slow()
else:
    for name, value, _expected in case["values"]:
        tel.var("f", "d.py", 1, name, value)
"""

PROGRAM = '''\
"""Orders: a small program with the loop forms a user writes."""


def total(prices, password="hunter2"):
    s = 0
    for i, p in enumerate(prices):
        if p < 0:
            continue
        s += p
        doubled = p * 2
    n = s
    while n > 100:
        n = n // 2
    return s


def grid(rows, cols):
    found = None
    for r in range(rows):
        for c in range(cols):
            if r * c == 6:
                found = (r, c)
                break
        else:
            continue
        break
    return found


def words(text):
    out = []
    for w in text.split():  # telemetry-inject: ignore
        out.append(w.upper())
    counts = {w: len(w) for w in out}
    return counts


async def agen(n):
    for k in range(n):
        yield k


def main():
    import asyncio

    async def collect():
        return [k async for k in agen(3)]

    print(total(list(range(30)) + [-1]))
    print(grid(4, 4))
    print(words("a bb ccc"))
    print(asyncio.run(collect()))


if __name__ == "__main__":
    main()
'''


@pytest.mark.parametrize("kind", ["loops", "calls", "durations", "values"])
def test_runtime_passes_the_guard_vectors(tmp_path: Path, kind: str) -> None:
    shutil.copy2(RUNTIME, tmp_path / "_telemetry_utils.py")
    (tmp_path / "driver.py").write_text(DRIVER, "utf-8")
    for n, case in enumerate(cases(kind)):
        events = tmp_path / f"{kind}{n}.jsonl"
        run = run_program(
            [sys.executable, "driver.py", kind, json.dumps(case)],
            tmp_path,
            events=events,
            env=case["env"],
        )
        assert run.returncode == 0, run.stderr
        check(kind, case, read_events(events))


def _project(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "orders.py").write_text(PROGRAM, "utf-8")
    return src


def test_every_probe_keeps_behaviour_and_records_loops_vars_args_returns(tmp_path: Path) -> None:
    src = _project(tmp_path)
    plain = run_program([sys.executable, "orders.py"], src)
    assert plain.returncode == 0, plain.stderr
    out = tmp_path / "out"
    run_cli(src, "--out", out, "--probes", "function,loop,var,args,return", "--no-cache")
    copy = out / "src"
    events = tmp_path / "ev.jsonl"
    env = {"TELEMETRY_INJECT_LOOP_FIRST": "2", "TELEMETRY_INJECT_LOOP_EVERY": "10"}
    run = run_program([sys.executable, "orders.py"], copy, events=events, env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout == plain.stdout  # continue, for-else, break, async generators intact
    evs = read_events(events)
    check_pairs(evs)
    loops = [e for e in evs if e["ev"] == "loop" and e["fn"] == "total"]
    # 31 iterations of the for loop: 0, 1 (first two), then 10, 20, 30.
    assert [e["i"] for e in loops if e["kind"] == "for"] == [0, 1, 10, 20, 30]
    assert loops[0]["vars"] == {"i": 0, "p": 0}
    whiles = [e["i"] for e in loops if e["kind"] == "while"]
    assert whiles == [0, 1]  # 435 -> 217 -> 108 -> 54: three iterations, the first two kept
    inner = [e for e in evs if e["ev"] == "loop" and e["fn"] == "grid"]
    # The inner loop's index starts again with each execution of it (two kept of each).
    assert [e["i"] for e in inner if e["vars"].keys() == {"c"}][:6] == [0, 1, 0, 1, 0, 1]
    vars_ = [(e["name"], e["value"]) for e in evs if e["ev"] == "var" and e["fn"] == "total"]
    assert vars_[0] == ("s", 0) and ("doubled", 58) in vars_ and ("n", 435) in vars_
    enter = next(e for e in evs if e["ev"] == "enter" and e["fn"] == "total")
    assert enter["args"]["password"] == "<redacted>" and len(enter["args"]["prices"]) == 20 + 1
    exit_ = next(e for e in evs if e["ev"] == "exit" and e["fn"] == "total")
    assert exit_["ret"] == 435
    # The ignore comment left the words loop alone; the comprehension is never touched.
    assert not [e for e in evs if e["ev"] == "loop" and e["fn"] == "words"]
    assert "{w: len(w) for w in out}" in (copy / "orders.py").read_text("utf-8")


def test_strip_restores_every_probe_byte_for_byte(tmp_path: Path) -> None:
    src = _project(tmp_path)
    original = (src / "orders.py").read_bytes()
    run_cli(src, "--in-place", "--probes", "function,loop,var,args,return", "--no-cache")
    assert (src / "orders.py").read_bytes() != original
    run_cli("strip", src, "--in-place")
    assert (src / "orders.py").read_bytes() == original
    assert not (src / "_telemetry_utils.py").exists()


def test_project_file_sets_probes_templates_and_excludes(tmp_path: Path) -> None:
    src = _project(tmp_path)
    (src / "gen").mkdir()
    (src / "gen" / "made.py").write_text("def made():\n    x = 1\n    return x\n", "utf-8")
    (tmp_path / "telemetry-inject.toml").write_text(
        'probes = ["function", "var"]\n'
        'exclude = ["gen/"]\n'
        'exclude_functions = ["grid", "*.collect"]\n'
        "[templates.python]\n"
        'var_after = "_tel.var({{fn}}, {{file}}, {{line}}, {{name}}, {{value}})  # mine"\n',
        "utf-8",
    )
    report = run_cli(src, "--in-place", "--no-cache", "--json", "-v", cwd=tmp_path)
    text = (src / "orders.py").read_text("utf-8")
    assert "# mine" in text and "_tel.loop(" not in text  # the project's probes and template
    assert "made" not in (src / "gen" / "made.py").read_text("utf-8").split("def made")[0]
    assert "telemetry-inject" not in (src / "gen" / "made.py").read_text("utf-8")
    skipped = json.loads(report.stdout)["skipped_functions"]
    assert any(": grid: skipped: excluded by the project's exclude_functions" in s for s in skipped)
    assert any("main.collect: skipped: excluded by" in s for s in skipped)
    run = run_program([sys.executable, "orders.py"], src, events=tmp_path / "ev.jsonl")
    assert run.returncode == 0, run.stderr
    assert any(e["ev"] == "var" for e in read_events(tmp_path / "ev.jsonl"))


def test_changing_a_template_never_serves_the_old_result(tmp_path: Path) -> None:
    src = _project(tmp_path)
    config = tmp_path / "telemetry-inject.toml"
    cache = tmp_path / "cache"
    for mark in ("first", "second"):
        config.write_text(
            'probes = ["var"]\n[templates.python]\n'
            f'var_after = "_tel.var({{{{fn}}}}, {{{{file}}}}, {{{{line}}}}, {{{{name}}}}, '
            f'{{{{value}}}})  # {mark}"\n',
            "utf-8",
        )
        out = tmp_path / f"out-{mark}"
        run_cli(src, "--out", out, "--cache-dir", cache, cwd=tmp_path)
        assert f"# {mark}" in (out / "src" / "orders.py").read_text("utf-8")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("probes = [\n", "fix the TOML syntax"),
        ('probes = ["loops", "nope"]\n', "unknown probe 'nope'"),
        ('colour = "red"\n', "unknown setting 'colour'"),
        ('[templates.python]\nbody_middle = "x"\n', "templates.python.body_middle"),
    ],
)
def test_a_bad_project_file_is_one_clear_line(tmp_path: Path, content: str, message: str) -> None:
    src = _project(tmp_path)
    (tmp_path / "telemetry-inject.toml").write_text(content, "utf-8")
    before = (src / "orders.py").read_bytes()
    run = run_cli(src, "--in-place", check=False, cwd=tmp_path)
    assert run.returncode == 2
    assert message in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert "Traceback" not in run.stderr
    assert (src / "orders.py").read_bytes() == before


def test_a_template_that_does_not_parse_leaves_the_file_and_says_why(tmp_path: Path) -> None:
    src = _project(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.telemetry-inject]\nprobes = ["var"]\n'
        '[tool.telemetry-inject.templates.python]\nvar_after = "_tel.var(("\n',
        "utf-8",
    )
    before = (src / "orders.py").read_bytes()
    run = run_cli(src, "--in-place", "--no-cache", "-v", check=False, cwd=tmp_path)
    assert run.returncode == 1
    assert "pyproject.toml" in run.stdout + run.stderr
    assert (src / "orders.py").read_bytes() == before


def test_unknown_probe_on_the_command_line(tmp_path: Path) -> None:
    src = _project(tmp_path)
    run = run_cli(src, "--dry-run", "--probes", "loop,branches", check=False)
    assert run.returncode == 2 and "unknown probe 'branches'" in run.stderr


def test_update_brings_instrumented_functions_to_the_chosen_probes(tmp_path: Path) -> None:
    src = _project(tmp_path)
    original = (src / "orders.py").read_bytes()
    run_cli(src, "--in-place", "--no-cache")
    assert "_tel.loop(" not in (src / "orders.py").read_text("utf-8")
    run_cli("update", src, "--in-place", "--no-cache", "--probes", "function,loop")
    text = (src / "orders.py").read_text("utf-8")
    assert text.count("_tel.loop(") == 5 and text.count("@_tel.probe(") == 6
    again = run_cli("update", src, "--in-place", "--no-cache", "--probes", "function,loop")
    assert "changed 0 of" in again.stdout  # already as chosen: nothing to do
    run_cli("update", src, "--in-place", "--no-cache")  # back to function only
    text = (src / "orders.py").read_text("utf-8")
    assert "_tel.loop(" not in text and text.count("@_tel.probe(") == 6
    run = run_program([sys.executable, "orders.py"], src)
    assert run.returncode == 0, run.stderr
    run_cli("strip", src, "--in-place")
    assert (src / "orders.py").read_bytes() == original
