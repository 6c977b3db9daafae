"""Benchmarks on real code: the CLI over pinned corpora (cold, warm, incremental), ast-grep doing
function-entry insertion on the same files, the one-process-per-function original design on a
sample, and the language server's latencies (bench/lsp.py).

    .venv/bin/python bench/run.py [--repeat N] [--languages python,javascript,...] [--quick]
                                  [--sample SHARE] [--skip lsp,original]

Every scenario runs the real command (`telemetry-inject TREE --in-place --json --jobs 2`) on a
fresh copy of the corpus; times are medians over the repetitions, and the load average is kept
because the machine may be shared. Writes bench/results/bench.json and bench/results/bench.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import baselines
import checks
import corpus
import functions
import report
from measure import Measured, machine, run

HERE = Path(__file__).parent
WORK = HERE / ".work"
RESULTS = HERE / "results"
FULL = ("python", "javascript")  # every scenario; the other languages are scaling checks
EXTENSIONS = {
    "python": (".py",),
    "javascript": (".js",),
    "go": (".go",),
    "java": (".java",),
    "rust": (".rs",),
}
EDIT_EVERY = 100  # the incremental scenario edits 1 % of the functions


ROOT = HERE.parent
CODE = WORK / "code"  # the engine as it was when the run started (see snapshot)


def snapshot() -> dict[str, str]:
    """Copy the engine's code aside and run that copy for the whole benchmark.

    The work tree may change while a run takes minutes; the file memo is keyed by a digest of
    the engine's code, so a change between the cold and the warm run would turn "warm" into
    "cold". The copy is what ``telemetry-inject`` runs (``python -m`` on the same entry point).
    """
    shutil.rmtree(CODE, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("core", "server"):
        shutil.copytree(ROOT / part, CODE / "telemetry_inject" / part, ignore=ignore)
    (CODE / "telemetry_inject" / "__init__.py").write_text("")
    git = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "core", "server"],
        capture_output=True,
        text=True,
    )
    return {"commit": git.stdout.strip(), "uncommitted_engine_changes": str(bool(dirty.stdout))}


def cli() -> list[str]:
    return [sys.executable, "-m", "telemetry_inject.server.cli"]


SAMPLE = 1.0  # the share of each corpus's files measured (--sample)


def sampled(relpath: str) -> bool:
    """A fixed share of the files, the same in every run: chosen by a digest of the path."""
    digest = int(hashlib.sha256(relpath.encode()).hexdigest()[:8], 16)
    return digest < SAMPLE * 2**32


def fresh_copy(lang: str) -> tuple[Path, list[Path]]:
    """The language's corpus copied to .work/<lang>/src, and its source files."""
    src = WORK / lang / "src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    for pkg in corpus.packages([lang]):
        shutil.copytree(pkg.folder, src / pkg.folder.name)
    files = sorted(p for p in src.rglob("*") if p.suffix in EXTENSIONS[lang] and p.is_file())
    if SAMPLE < 1:
        for path in files:
            if not sampled(path.relative_to(src).as_posix()):
                path.unlink()
        files = [p for p in files if p.exists()]
    # The copy's own writeback must not be charged to the run that follows: on ext4, creating
    # a file while megabytes of fresh data are being flushed costs ~1 ms instead of ~0.05 ms.
    os.sync()
    return src, files


def instrument(lang: str, cache: Path, jobs: int) -> tuple[Measured, dict]:
    cmd = [*cli(), "src", "--in-place", "--json", "--jobs", str(jobs), "--cache-dir", str(cache)]
    m = run(cmd, cwd=WORK / lang, env={"PYTHONPATH": str(CODE)})
    try:
        rep = json.loads(m.stdout)
    except json.JSONDecodeError:
        raise SystemExit(
            f"{lang}: the CLI printed no report (exit {m.returncode}): {m.stderr[-500:]}"
        ) from None
    return m, rep


def summary(runs: list[tuple[Measured, dict]]) -> dict[str, object]:
    walls = [m.wall for m, _ in runs]
    rep = runs[-1][1]
    wall = statistics.median(walls)
    return {
        "runs": len(runs),
        "walls": [round(w, 2) for w in walls],
        "wall": round(wall, 2),
        "cpu": round(statistics.median(m.cpu for m, _ in runs), 2),
        "peak_rss_mb": round(max(m.peak_rss_mb for m, _ in runs), 1),
        "peak_processes": max(m.peak_processes for m, _ in runs),
        "files": rep["files"],
        "instrumented": rep["instrumented"],
        "skipped": rep["skipped"],
        "failed": rep["failed"],
        "cache_hits": rep["cache_hits"],
        "functions_per_s": round(rep["instrumented"] / wall) if wall else 0,
        "load": [round(x, 2) for m, _ in runs for x in (m.load_before, m.load_after)],
        "failures": rep["failures"][:20],
    }


def _corpus_key(lang: str) -> str:
    digests = "".join(p.digest for p in corpus.packages([lang])) + f"{SAMPLE:g}"
    return f"{lang}-{hashlib.sha256(digests.encode()).hexdigest()[:12]}"


def census_for(lang: str, src: Path, files: list[Path]) -> dict:
    rel = [str(p.relative_to(src)) for p in files]
    return functions.census(lang, src, rel, WORK / "census" / f"{_corpus_key(lang)}.json")


def originals_failing(lang: str, files: list[Path]) -> set[str]:
    """Corpus files that do not parse as published (e.g. Django's deliberate syntax errors)."""
    path = WORK / "census" / f"{_corpus_key(lang)}-failing.json"
    if not path.is_file():
        failing = sorted({b.split(":", 1)[0] for b in checks.failures(lang, files)})
        path.write_text(json.dumps(failing))
    return set(json.loads(path.read_text()))


def parse_check(lang: str, src: Path, files: list[Path], baseline: set[str]) -> dict:
    """Output files that do not parse, among those whose original parses."""
    bad = checks.failures(lang, files)
    new = [b for b in bad if b.split(":", 1)[0] not in baseline]
    return {
        "tool": checks.tool(lang),
        "files": len(files) - len(baseline),
        "parse": len(files) - len(baseline) - len(new),
        "broken": [b.replace(str(src) + "/", "") for b in new[:10]],
    }


def bench_language(lang: str, reps: int, jobs: int, full: bool) -> dict[str, object]:
    out: dict[str, object] = {}
    src, files = fresh_copy(lang)
    census = census_for(lang, src, files)
    baseline = originals_failing(lang, files)
    out["corpus"] = {
        "packages": [f"{p.name}@{p.version}" for p in corpus.packages([lang])],
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files),
        "functions_present": census["present"],
        "functions_present_ast": census.get("ast_present"),
        "originals_not_parsing": len(baseline),
    }
    cache = WORK / lang / "cache"
    print(f"[{lang}] {len(files)} files, {census['present']} functions", flush=True)
    cold = []
    for i in range(reps):
        shutil.rmtree(cache, ignore_errors=True)
        if i:
            src, files = fresh_copy(lang)
        cold.append(instrument(lang, cache, jobs))
        print(f"[{lang}] cold {i + 1}/{reps}: {cold[-1][0].wall:.1f} s", flush=True)
    out["cold"] = summary(cold)
    out["cold"]["coverage"] = round(cold[-1][1]["instrumented"] / census["present"], 4)
    out["cold"]["outputs"] = parse_check(lang, src, files, baseline)
    warm = []
    for i in range(reps):
        src, files = fresh_copy(lang)
        warm.append(instrument(lang, cache, jobs))
        print(f"[{lang}] warm {i + 1}/{reps}: {warm[-1][0].wall:.1f} s", flush=True)
    out["warm"] = summary(warm)
    if not full:
        return out
    incremental = []
    for i in range(reps):
        src, files = fresh_copy(lang)
        picked = functions.pick(census["rows"], EDIT_EVERY, 17 + 31 * i)
        edited = functions.apply_edits(src, picked)
        incremental.append(instrument(lang, cache, jobs))
        print(f"[{lang}] incremental {i + 1}/{reps}: {incremental[-1][0].wall:.1f} s", flush=True)
    out["incremental"] = summary(incremental)
    out["incremental"]["edited"] = edited
    grep = []
    for i in range(reps):
        src, files = fresh_copy(lang)
        grep.append(baselines.ast_grep(lang, src, files))
        if not grep[-1]:
            break
        print(f"[{lang}] ast-grep {i + 1}/{reps}: {grep[-1]['wall']:.1f} s", flush=True)
    if grep and grep[-1]:
        last = grep[-1]
        wall = statistics.median(g["wall"] for g in grep)
        out["ast_grep"] = {
            **last,
            "walls": [round(g["wall"], 2) for g in grep],
            "wall": round(wall, 2),
            "functions_per_s": round(last["instrumented"] / wall) if wall else 0,
            "coverage": round(last["instrumented"] / census["present"], 4),
            "outputs": parse_check(lang, src, files, baseline),
        }
    return out


def original_sample(lang_rows: dict, count: int) -> dict[str, object]:
    src, _ = fresh_copy("python")  # as published: ast-grep's passes have moved lines
    picked = functions.pick(lang_rows, max(1, sum(map(len, lang_rows.values())) // count), 5)
    return baselines.original([(src / rel, first) for rel, first, _last in picked[:count]])


def lsp(quick: bool) -> dict[str, object]:
    script = HERE / "lsp.py"
    if not script.is_file():
        return {}
    proc = subprocess.run(
        [sys.executable, str(script), *(["--quick"] if quick else [])],
        capture_output=True,
        text=True,
    )
    result = RESULTS / "lsp.json"
    if proc.returncode != 0 or not result.is_file():
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:]}
    return json.loads(result.read_text())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, help="repetitions per scenario (median)")
    p.add_argument("--languages", default="python,javascript,go,java,rust")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="one repetition, fewer samples")
    p.add_argument("--skip", default="", help="comma-separated: lsp, original")
    p.add_argument(
        "--sample",
        type=float,
        default=1.0,
        help="measure this share of each corpus's files (a fixed choice by path), e.g. 0.25",
    )
    args = p.parse_args()
    reps = 1 if args.quick else args.repeat
    global SAMPLE
    SAMPLE = min(1.0, max(0.001, args.sample))
    skip = set(filter(None, args.skip.split(",")))
    langs = args.languages.split(",")
    started = time.perf_counter()
    results: dict[str, object] = {"machine": machine(), "jobs": args.jobs, "repeat": reps}
    results["code"] = snapshot()
    results["sample"] = SAMPLE
    for pkg in corpus.packages(langs):
        corpus.ensure(pkg)
    languages: dict[str, object] = {}
    results["languages"] = languages
    for lang in langs:
        languages[lang] = bench_language(lang, reps, args.jobs, lang in FULL)
        save(results)  # what is measured so far survives a failure further on
    if "original" not in skip and "python" in langs:
        rows = json.loads((WORK / "census" / f"{_corpus_key('python')}.json").read_text())["rows"]
        try:
            results["original"] = original_sample(rows, 20 if args.quick else 60)
            print(f"[original] {results['original']['ms_median']:.1f} ms per function", flush=True)
        except RuntimeError as exc:
            results["original"] = {"error": str(exc)}
        save(results)
    if "lsp" not in skip:
        results["lsp"] = lsp(args.quick)
    results["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]  # type: ignore[index]
    results["seconds"] = round(time.perf_counter() - started, 1)
    print(save(results))
    return 0


def save(results: dict[str, object]) -> str:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    text = report.markdown(results)
    (RESULTS / "bench.md").write_text(text)
    return text


if __name__ == "__main__":
    sys.exit(main())
