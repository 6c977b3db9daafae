"""Per-call cost of the `tel` profile in every language with a toolchain here.

Each language has a tiny driver under bench/overhead/<lang>/ that calls a one-line function N
times and prints nanoseconds per call. It runs bare, instrumented by the real CLI with telemetry
on (events to a file in /tmp, counted afterwards: none may be missing) and with
TELEMETRY_INJECT=off, and sampled (TELEMETRY_INJECT_RATE=1: the rate guard drops nearly every
call); Python also runs with an OpenTelemetry SDK span around each call, and instrumented by the
`otel` profile (same SDK setup). The
machine is shared with other runs, so every figure is the median of several repeats.

    .venv/bin/python bench/overhead.py [--repeats 5] [--only python,go]

Prints a Markdown table and writes bench/results/overhead.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DRIVERS = ROOT / "bench" / "overhead"
RESULTS = ROOT / "bench" / "results" / "overhead.json"
CLI = ROOT / ".venv" / "bin" / "telemetry-inject"
TSC = ROOT / "tests" / "toolchains" / "node_modules" / ".bin" / "tsc"
PY = sys.executable
GO_ENV = {"GOTOOLCHAIN": "local", "GOFLAGS": "-modcacherw", "CGO_ENABLED": "0"}
# Per-call targets (ns) for enter + exit with events written to a file.
TARGETS = {"python": 1500, "javascript": 500, "typescript": 500}
for _lang in ("go", "java", "rust", "c", "cpp"):
    TARGETS[_lang] = 200

Build = Callable[[Path], list[str]]  # builds the driver in a folder, returns the run command


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_INJECT")}
    full.update(extra or {})
    return full


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=_env(env), timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def _cpu(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    """CPU seconds (user + system, all threads) the command used: unlike wall time, not
    stretched by other processes competing for the cores."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=_env(env), stdout=subprocess.DEVNULL, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} -> {proc.returncode}\n{err.read().decode()}")
    return usage.ru_utime + usage.ru_stime


def _python(d: Path) -> list[str]:
    return [PY, "driver.py"]


def _node(d: Path) -> list[str]:
    return ["node", "driver.js"]


def _ts(d: Path) -> list[str]:
    _run([str(TSC), "-p", "."], d)
    return ["node", "out/driver.js"]


def _go(d: Path) -> list[str]:
    _run(["go", "build", "-o", "driver", "."], d, GO_ENV)
    return ["./driver"]


def _java(d: Path) -> list[str]:
    _run(["javac", "-d", "classes", *sorted(p.name for p in d.glob("*.java"))], d)
    return ["java", "-cp", "classes", "Driver"]


def _c(d: Path) -> list[str]:
    _run(["gcc", "-O2", "-o", "driver", "driver.c"], d)
    return ["./driver"]


def _cpp(d: Path) -> list[str]:
    _run(["g++", "-O2", "-std=c++17", "-o", "driver", "driver.cpp"], d)
    return ["./driver"]


def _rust(d: Path) -> list[str]:
    _run(["cargo", "build", "--release", "-q", "--offline"], d)
    return ["./target/release/overhead"]


def _ruby(d: Path) -> list[str]:
    return ["ruby", "driver.rb"]


def _php(d: Path) -> list[str]:
    return ["php", "driver.php"]


# language -> (tool that must exist, build, calls per run)
LANGUAGES: dict[str, tuple[str, Build, int]] = {
    "python": ("python3", _python, 200_000),
    "javascript": ("node", _node, 1_000_000),
    "typescript": ("node", _ts, 1_000_000),
    "go": ("go", _go, 300_000),
    "java": ("javac", _java, 2_000_000),
    "c": ("gcc", _c, 2_000_000),
    "cpp": ("g++", _cpp, 2_000_000),
    "rust": ("cargo", _rust, 2_000_000),
    "ruby": ("ruby", _ruby, 200_000),
    "php": ("php", _php, 500_000),
}


def _lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


# Guard settings per run kind: "sampled" keeps one call per function per second (the rate
# guard), so it measures the cost of a call the guard drops.
RUNS = {"on": {}, "off": {"TELEMETRY_INJECT": "off"}, "sampled": {"TELEMETRY_INJECT_RATE": "1"}}


def _measure(
    cmd: list[str], cwd: Path, n: int, repeats: int, events: Path | None, run: str, warm: bool
) -> float:
    """Median CPU ns per call over `repeats` pairs of runs with n and 2n calls (the difference
    cancels start-up and compilation); with `events`, an "on" run must write all its events
    and a "sampled" one at most a few per second."""
    samples = []
    for _ in range(repeats):
        cpu = []
        for k in (n, 2 * n):
            env = dict(RUNS[run])
            if events is not None:
                events.unlink(missing_ok=True)
                env["TELEMETRY_INJECT_OUT"] = str(events)
            cpu.append(_cpu([*cmd, str(k)], cwd, env))
            if events is not None:
                written = _lines(events) if events.exists() else 0
                calls = k + k // 10 if warm else k  # JIT drivers warm up with k/10 calls first
                low, high = (2 * calls, 2 * calls + 8) if run == "on" else (1, calls // 10)
                if not low <= written <= high:  # the driver's run/main add a few
                    raise RuntimeError(f"{cwd.name}: {written} events for {calls} calls ({run})")
                events.unlink()
        calls = n + n // 10 if warm else n
        samples.append((cpu[1] - cpu[0]) * 1e9 / calls)
    return statistics.median(samples)


def bench_language(lang: str, tmp: Path, repeats: int) -> dict[str, float | int | bool | None]:
    _tool, build, n = LANGUAGES[lang]
    warm = lang in ("javascript", "typescript", "java")
    bare, inst = tmp / lang / "bare", tmp / lang / "tel"
    shutil.copytree(DRIVERS / lang, bare)
    shutil.copytree(DRIVERS / lang, inst)
    _run([str(CLI), str(inst), "--in-place", "--no-cache"], ROOT)
    bare_cmd, inst_cmd = build(bare), build(inst)
    events = Path(tempfile.gettempdir()) / f"telemetry-overhead-{os.getpid()}-{lang}.jsonl"
    base = _measure(bare_cmd, bare, n, repeats, None, "on", warm)
    on = _measure(inst_cmd, inst, n, repeats, events, "on", warm)
    off = _measure(inst_cmd, inst, n, repeats, None, "off", warm)
    try:
        sampled: float | None = _measure(inst_cmd, inst, n, repeats, events, "sampled", warm)
    except RuntimeError:  # a runtime without the rate guard writes every event
        sampled = None
    row: dict[str, float | int | bool | None] = {
        "calls": n,
        "bare_ns": round(max(base, 0.0), 2),
        "on_ns": round(on - base, 2),  # added per call
        "off_ns": round(max(off - base, 0.0), 2),
        "sampled_ns": None if sampled is None else round(max(sampled - base, 0.0), 2),
        # A JIT can make the bare loop cost next to nothing: no ratio to a ~0 baseline.
        "on_ratio": round(on / base, 1) if base >= 1 else None,
        "off_on": round(max(off - base, 0.0) / max(on - base, 1e-9), 4),
        "target_ns": TARGETS.get(lang),
    }
    if lang == "python":
        if importlib.util.find_spec("opentelemetry.sdk") is None:
            raise RuntimeError("opentelemetry-sdk is missing: pip install -e '.[bench]'")
        otel = tmp / "otel"
        shutil.copytree(DRIVERS / "otel", otel)
        row["otel_ns"] = round(
            _measure([PY, "driver.py"], otel, n // 4, repeats, None, "on", False) - base, 2
        )
        row["otel_vs_tel"] = round(float(row["otel_ns"]) / max(float(row["on_ns"]), 1e-9), 1)
        # The otel profile itself: work.py instrumented with --profile otel, same SDK setup.
        profiled = tmp / "otel_profile"
        shutil.copytree(DRIVERS / "otel_profile", profiled)
        _run(
            [str(CLI), str(profiled / "work.py"), "--in-place", "--no-cache", "--profile", "otel"],
            ROOT,
        )
        row["otel_profile_ns"] = round(
            _measure([PY, "driver.py"], profiled, n // 4, repeats, None, "on", False) - base, 2
        )
    target = row["target_ns"]
    met = target is None or float(row["on_ns"]) <= float(target)
    met = met and float(row["off_on"]) <= 0.05
    if lang == "python":
        met = met and float(row["otel_vs_tel"]) >= 10
    row["met"] = met if target is not None else None
    return row


def machine() -> dict[str, object]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
    }


def table(results: dict[str, dict]) -> str:
    head = (
        "| language | bare ns/call | + tel on | on/bare | + tel off | off/on | + sampled "
        "| OTel span | target | met |"
    )
    out = [head, "|" + "---|" * 10]
    for lang, r in results.items():
        if "failed" in r:
            out.append(f"| {lang} | failed: {r['failed'][:60]} |||||||||")
            continue
        otel = f"{r['otel_ns']:.0f} ({r['otel_vs_tel']}x tel)" if "otel_ns" in r else ""
        if "otel_profile_ns" in r:
            otel += f"; otel profile {r['otel_profile_ns']:.0f}"
        target = f"≤ {r['target_ns']}" if r["target_ns"] else ""
        met = {True: "yes", False: "no", None: ""}[r["met"]]
        ratio = f"{r['on_ratio']}x" if r["on_ratio"] else "-"
        out.append(
            f"| {lang} | {r['bare_ns']:.1f} | {r['on_ns']:.1f} | {ratio} | {r['off_ns']:.1f} "
            f"| {r['off_on'] * 100:.1f} % | {_ns(r.get('sampled_ns'))} | {otel} | {target} "
            f"| {met} |"
        )
    return "\n".join(out)


def _ns(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated languages")
    args = parser.parse_args()
    wanted = [x for x in args.only.split(",") if x] or list(LANGUAGES)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="telemetry-overhead-") as tmp:
        for lang in wanted:
            if shutil.which(LANGUAGES[lang][0]) is None:
                continue
            try:
                results[lang] = bench_language(lang, Path(tmp), args.repeats)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                results[lang] = {"failed": str(exc).strip()}
            print(lang, results[lang], file=sys.stderr, flush=True)
    report = {"machine": machine(), "repeats": args.repeats, "unit": "ns", "results": results}
    if args.only and RESULTS.exists():  # rows measured now replace theirs; the rest stay
        old = json.loads(RESULTS.read_text("utf-8"))
        report["results"] = {**old.get("results", {}), **results}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    print(table(report["results"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
