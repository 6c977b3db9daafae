"""What isolation costs per insertion script: in-process exec vs a process per script vs the
zygote (fork per script, with and without a pre-forked warm spare) vs batches in one child.

    .venv/bin/python bench/sandbox.py [--quick]

Prints a Markdown table and writes bench/results/sandbox.json. The workload is a real generated
script (the fixed core plus 8 operations) over a 300-line function. Medians over many runs;
the load average is recorded because the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from telemetry_inject.core import language, scripts, worker
from telemetry_inject.core.sandbox import Job, Sandbox
from telemetry_inject.core.types import FunctionId, FunctionInfo, FunctionPlan, Op, Span
from telemetry_inject.core.validate import validate

RESULTS = Path(__file__).with_name("results") / "sandbox.json"
SPAN = Span(0, 0, 0, 0, 0, 0)


def workload() -> tuple[str, str, tuple[tuple[str, str], ...]]:
    body = "".join(f"    total += item_{i} * {i}  # line {i}\n" for i in range(298))
    text = "def handle(request, items):\n" + body + "    return total\n"
    ticks = [Op("inline", 1 + 40 * k, 4, "", "_tel.tick({{fn}})") for k in range(7)]
    ops = (Op("line", 0, 0, "", "@_tel.probe({{fn}}, {{file}}, {{line}})"), *ticks)
    info = FunctionInfo(
        id=FunctionId("handle"), name="handle", kind="function", span=SPAN, name_span=SPAN,
        body=SPAN, line=1, indent="", body_indent="    ", depth=0, parent=None,
        signature="def handle(request, items):",
    )  # fmt: skip
    plan = FunctionPlan(function=info, snippets=(), ops=ops, params=())
    script = scripts.generate(language.get("python"), "tel", plan, text).text
    params = (("fn", '"handle"'), ("file", '"app.py"'), ("line", "1"), ("stamp", "0badc0de"))
    return script, text, params


def cpu_seconds(box: Sandbox | None = None) -> float:
    """CPU used so far by this process, its reaped children and, with ``box``, its zygote and
    every child the zygote reaped: unlike wall time, it hardly moves when the machine is busy."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    zygote = box._zygote if box is not None else None
    if zygote is not None:
        fields = Path(f"/proc/{zygote.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # u/s/cu/cs time
    return total


def per_call(
    fn: Callable[[], object],
    reps: int,
    per: int = 1,
    pause: float = 0.0,
    box: Sandbox | None = None,
) -> dict:
    fn()  # warm up
    times = []
    cpu = cpu_seconds(box)
    for _ in range(reps):
        if pause:
            time.sleep(pause)
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) / per * 1000)
    cpu = (cpu_seconds(box) - cpu) / (reps * per) * 1000
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 4),
        "p10_ms": round(times[len(times) // 10], 4),
        "p90_ms": round(times[(len(times) * 9) // 10], 4),
        "cpu_ms": round(cpu, 4),
        "runs": reps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    reps = 30 if args.quick else 200
    script, text, params = workload()
    expected = worker.run_one(script, text, [list(p) for p in params], "", None, 1 << 20)
    assert expected[0] == worker.OK
    want = expected[1].decode()
    core = Path(scripts.__file__).with_name("script_core.py.txt").read_text()
    core_code = compile(core, "<core>", "exec")
    whole = script + "\n# not the generated core any more: checked and compiled whole\n"
    rows: dict[str, dict] = {}

    rows["validate, generated script (core checked once)"] = per_call(
        lambda: validate(script), reps * 5
    )
    rows["validate, same script not in core form"] = per_call(lambda: validate(whole), reps)

    def in_process(split: bool) -> None:
        _, data = worker.run_one(script, text, [list(p) for p in params], core if split else "",
                                    core_code if split else None, 1 << 20)  # fmt: skip
        assert data.decode() == want

    rows["in-process exec, no isolation (compile whole script)"] = per_call(
        lambda: in_process(False), reps * 5
    )
    rows["in-process exec, no isolation (core compiled once)"] = per_call(
        lambda: in_process(True), reps * 5
    )

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "script.py"
        path.write_text(script)
        argv = [sys.executable, "-I", "-S", str(path), *(f"{k}={v}" for k, v in params)]

        def spawn() -> None:
            out = subprocess.run(argv, input=text, capture_output=True, text=True, check=True)
            assert out.stdout == want

        rows["spawn python3 -I -S per script (no confinement)"] = per_call(
            spawn, max(20, reps // 5)
        )

    job = Job(script, text, params)
    for spares, label in (
        (0, "zygote, fork per script on demand"),
        (1, "zygote, 1 pre-forked warm spare"),
        (2, "zygote, 2 pre-forked warm spares"),
    ):
        with Sandbox(spares=spares) as box:
            box.describe()

            def one() -> None:
                [result] = box.run([job])
                assert result.output == want, result

            rows[f"{label} (idle 20 ms between calls)"] = per_call(one, reps, pause=0.02, box=box)
            rows[f"{label} (back to back)"] = per_call(one, reps, box=box)
    with Sandbox() as box:
        box.describe()
        for n in (20, 100):

            def batch(n: int = n) -> None:
                results = box.run([job] * n)
                assert all(r.output == want for r in results)

            rows[f"zygote, batch of {n} in one child (per script)"] = per_call(
                batch, max(10, reps // 10), per=n, pause=0.02, box=box
            )
        layers = box.describe()

    print("| design | wall ms / script (median) | p10 | p90 | CPU ms / script (all processes) |")
    print("|---|---:|---:|---:|---:|")
    for name, row in rows.items():
        print(
            f"| {name} | {row['median_ms']:.3f} | {row['p10_ms']:.3f} | {row['p90_ms']:.3f} "
            f"| {row['cpu_ms']:.3f} |"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        "workload": {"script_lines": script.count("\n"), "input_lines": text.count("\n"), "ops": 8},
        "machine": {"cpus": os.cpu_count(), "loadavg": os.getloadavg(),
                    "kernel": platform.release(), "python": platform.python_version()},
        "layers": layers,
        "results": rows,
    }, indent=2) + "\n")  # fmt: skip
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
