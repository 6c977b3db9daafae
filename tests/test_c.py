"""C end to end: instrument programs with the CLI, compile them with gcc as strict C89
(-std=c89 -pedantic -Wall -Wextra -Werror) and C11, run them, and check output, events,
idempotency and byte-exact removal; real code: bzip2 as bundled by the bzip2-sys crate."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import guards
import pytest
from helpers import EXAMPLES, ROOT, require, run_cli, run_program
from telemetry import VECTORS, check_pairs, check_vectors, read_events
from telemetry_inject.core import analyze, language, plan

FIXTURES = ROOT / "tests" / "fixtures" / "c"
CACHE = ROOT / "tests" / ".cache" / "c"
RUNTIME = "telemetry_inject.h"
STRICT = ["-std=c89", "-pedantic", "-Wall", "-Wextra", "-Werror"]
C11 = ["-std=c11", "-pedantic", "-Wall", "-Wextra", "-Werror"]
BZIP2 = ("bzip2-sys", "0.1.11+1.0.8")


def gcc(sources: list[str], out: Path, cwd: Path, flags: list[str]) -> Path:
    proc = subprocess.run(
        [require("gcc"), *flags, *sources, "-o", str(out)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"gcc {' '.join(flags)} {sources}:\n{proc.stderr}"
    return out


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _line_of(path: Path, needle: str) -> int:
    for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(f"{needle!r} not in {path}")


def _first(events: list[dict[str, Any]], fn: str) -> dict[str, Any]:
    return next(e for e in events if e["fn"] == fn)


EXAMPLE_SOURCES = ["main.c", "calc.c"]


@pytest.mark.parametrize("flags", [STRICT, C11], ids=["c89", "c11"])
def test_example_behaves_the_same_and_reports_every_call(
    instrument_copy: Callable[..., Path], tmp_path: Path, flags: list[str]
) -> None:
    src = EXAMPLES / "c"
    plain = run_program([str(gcc(EXAMPLE_SOURCES, tmp_path / "plain", src, flags))], src)
    assert plain.returncode == 0, plain.stderr
    out = instrument_copy(src)
    assert (out / RUNTIME).is_file()
    exe = str(gcc(EXAMPLE_SOURCES, tmp_path / "instr", out, flags))
    events_file = tmp_path / "events.jsonl"
    run = run_program([exe], out, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, "")
    events = read_events(events_file)
    calls = check_pairs(events)
    assert calls == Counter(
        {
            "parse_int": 13, "calc_is_op": 12, "evaluate": 7, "calc_apply": 6,
            "calc_lookup": 6, "calc_factorial": 5, "main": 1, "op_add": 1, "op_sub": 1,
            "op_mul": 1, "op_div": 1, "calc_mode": 1,
        }
    )  # fmt: skip
    assert not [e for e in events if e["ev"] == "error"]  # C has no exceptions
    for fn, file, needle in [
        ("calc_lookup", "calc.c", "int (*calc_lookup(char op))(int, int)"),
        ("op_mul", "calc.c", "static int op_mul(a, b)"),
        ("calc_is_op", "calc.h", "static int calc_is_op(char c)"),
        ("main", "main.c", "int main(void)"),
    ]:
        assert (_first(events, fn)["file"], _first(events, fn)["line"]) == (
            file,
            _line_of(src / file, needle),
        )
    # Without TELEMETRY_INJECT_OUT events go to stderr; TELEMETRY_INJECT=off writes nothing.
    loud = run_program([exe], out)
    assert (loud.returncode, loud.stdout) == (0, plain.stdout)
    assert [json.loads(line)["fn"] for line in loud.stderr.splitlines()] == [
        e["fn"] for e in events
    ]
    for value in ("off", "0", "FALSE", "no"):
        off = tmp_path / "off.jsonl"
        quiet = run_program([exe], out, events=off, env={"TELEMETRY_INJECT": value})
        assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, plain.stdout, "")
        assert not off.exists()
    # The function-defining macro's body is left alone.
    assert "DEFINE_OP(name, expr) static int name(int a, int b) { return (expr); }" in (
        out / "calc.c"
    ).read_text("utf-8")


def _edge(tmp: Path, eol: str) -> Path:
    root = tmp / f"edge{len(eol)}"
    root.mkdir(parents=True)
    text = (FIXTURES / "edge.input.c").read_text("utf-8").replace("\n", eol)
    (root / "edge.c").write_bytes(text.encode("utf-8"))
    return root


@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_edge_cases_match_the_golden_file_compile_and_run(tmp_path: Path, eol: str) -> None:
    src, out = _edge(tmp_path / "src", eol), _edge(tmp_path / "out", eol)
    plain = run_program([str(gcc(["edge.c"], tmp_path / "plain", src, STRICT))], src)
    assert plain.returncode == 0, plain.stderr
    run_cli(out, "--in-place", "--jobs", "1", "--cache-dir", tmp_path / "cache")
    golden = (FIXTURES / "edge.expected.c").read_text("utf-8").replace("\n", eol)
    got = (out / "edge.c").read_bytes().decode("utf-8")
    if eol != "\n":  # stamps hash the original text, EOLs included
        got, golden = (re.sub(r"telemetry-inject:[0-9a-f]{8}", "STAMP", t) for t in (got, golden))
    assert got == golden
    assert "//" not in got  # C89 has block comments only
    for flags in (STRICT, C11):
        exe = str(gcc(["edge.c"], tmp_path / "instr", out, flags))
        events_file = tmp_path / f"events{flags[0]}.jsonl"
        run = run_program([exe], out, events=events_file)
        assert (run.returncode, run.stdout) == (0, plain.stdout)
        calls = check_pairs(read_events(events_file))
        assert calls == Counter(
            {
                "main": 1, "pick": 1, "names": 1, "empty": 1, "twice": 1, "tabbed": 1,
                "k_and_r": 1, "one_line": 1, "configured": 1, "exported": 1, "fact": 6,
                "early": 3,
            }
        )  # fmt: skip
    events = read_events(events_file)
    source = FIXTURES / "edge.input.c"
    for fn, needle in {
        "pick": "static int (*pick(int which))(int)",
        "names": "static char **names(void)",
        "exported": "int EXPORT(exported)(int x)",
        "k_and_r": "static int k_and_r(a, b)",
        "tabbed": "tabbed(int n)",
        "fact": "static long fact(int n)",
    }.items():
        assert _first(events, fn)["line"] == _line_of(source, needle), fn
    # exit() runs no cleanups but atexit flushes: every event so far is on disk, and the
    # functions still on the stack never get their exit event.
    exit_file = tmp_path / "exit.jsonl"
    left = run_program([exe, "exit"], out, events=exit_file)
    assert (left.returncode, left.stdout) == (3, plain.stdout + "leaving with 3\n")
    exited = read_events(exit_file)
    opened = Counter(e["fn"] for e in exited if e["ev"] == "enter")
    opened.subtract(Counter(e["fn"] for e in exited if e["ev"] == "exit"))
    assert +opened == Counter({"main": 1, "leave": 1})
    # Instrumenting again changes nothing; strip restores every byte and removes the runtime.
    before = _tree(out)
    again = run_cli(out, "--in-place", "--json", "--cache-dir", tmp_path / "cache")
    assert json.loads(again.stdout)["changed"] == 0 and _tree(out) == before
    run_cli("strip", out, "--in-place")
    assert _tree(out) == _tree(src)


def test_only_definitions_are_found_and_named_through_their_declarators() -> None:
    spec = language.get("c")
    source = (FIXTURES / "edge.input.c").read_bytes()
    found = [str(f.id) for f in analyze.analyze(spec, source).functions]
    assert found == [
        "one_line",
        "empty",
        "k_and_r",
        "tabbed",
        "twice",
        "pick",
        "names",
        "exported",
        "early",
        "fact",
        "configured",
        "leave",
        "main",
    ]  # fmt: skip  (no prototype_only, nothing from inside TWICE_FN's macro body)


def test_runtime_passes_the_shared_vectors(tmp_path: Path) -> None:
    spec = language.get("c")
    shutil.copy2(spec.folder / "runtime" / RUNTIME, tmp_path / RUNTIME)
    snippet = spec.profile("tel").snippets["body_start"]
    parts = [f'#include "{RUNTIME}"\n']
    for i, case in enumerate(VECTORS["cases"]):
        site = {
            "fn": plan.string_literal(spec, case["fn"]),
            "file": plan.string_literal(spec, case["file"]),
            "line": str(case["line"]),
            "args": "",
        }
        # C has no exceptions: a raising case reports its failure through the runtime's API.
        fail = '    _tel_error(&_tel_s, "RuntimeError: boom");\n' if case["raises"] else ""
        parts.append(f"static void case{i}(void)\n{{\n    {plan.render(snippet, site)}\n{fail}}}\n")
    calls = "".join(f"    case{i}();\n" for i in range(len(VECTORS["cases"])))
    parts.append(f"int main(void)\n{{\n{calls}    return 0;\n}}\n")
    (tmp_path / "driver.c").write_text("".join(parts), "utf-8")
    for flags in (STRICT, C11):
        exe = gcc(["driver.c"], tmp_path / "driver", tmp_path, flags)
        events_file = tmp_path / f"ev{flags[0]}.jsonl"
        run = run_program([str(exe)], tmp_path, events=events_file)
        assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
        events = read_events(events_file)
        check_vectors(events)
        assert {e["error"] for e in events if e["ev"] == "error"} == {"RuntimeError: boom"}


def _c_value(spec: Any, value: Any) -> str:
    """A C expression of the guard value (C has no containers the runtime walks)."""
    if value is None:
        return "((void *)0)"
    if isinstance(value, bool):
        return "TRUE_" if value else "FALSE_"
    if isinstance(value, int):
        return f"({value})"
    if isinstance(value, float):
        return repr(value)
    assert isinstance(value, str), value
    return plan.string_literal(spec, value)


def _guards_driver(spec: Any) -> str:
    """Calls the runtime's API as inserted code does: one entry point per guard case."""
    enter = spec.profile("tel").snippets["body_start"]

    def body(fn: str, line: int) -> str:
        site = {"fn": plan.string_literal(spec, fn), "file": '"guards.c"', "line": str(line)}
        return plan.render(enter, {**site, "args": ""})

    parts = [
        "#define _POSIX_C_SOURCE 199309L\n#include <stdlib.h>\n#include <string.h>\n",
        f'#include <time.h>\n#include "{RUNTIME}"\n',
        "#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L\n",
        "#define TRUE_ ((_Bool)1)\n#define FALSE_ ((_Bool)0)\n#else\n",
        "#define TRUE_ (__extension__ (_Bool)1)\n#define FALSE_ (__extension__ (_Bool)0)\n",
        "#endif\n",
        f"static void fast(void)\n{{\n    {body('fast', 1)}\n}}\n",
        f"static void slow(long ms)\n{{\n    {body('slow', 2)}\n    struct timespec t;\n",
        "    t.tv_sec = ms / 1000;\n    t.tv_nsec = ms % 1000 * 1000000L;\n",
        "    nanosleep(&t, (struct timespec *)0);\n}\n",
        f"static void work(void)\n{{\n    {body('work', 3)}\n}}\n",
        "static void loops(long iterations, long runs)\n{\n    long r, i;\n",
        "    for (r = 0; r < runs; r++) {\n",
        '        _TEL_LOOP(__tel_l0_1, _TEL_SITE("loops", "guards.c", 4), "for");\n',
        "        for (i = 0; i < iterations; i++) {\n",
        '            _TEL_ITER(__tel_l0_1, "i", _TEL_V(i));\n        }\n    }\n}\n',
    ]
    for n, case in enumerate(guards.cases("values", containers=False)):
        parts.append(f"static void values{n}(void)\n{{\n")
        for k, (name, value, _expected) in enumerate(case["values"]):
            site = f'_TEL_SITE("values", "guards.c", {10 + k})'
            call = f"_TEL_VAR({site}, {plan.string_literal(spec, name)}, {_c_value(spec, value)});"
            parts.append(f"    {call}\n")
        parts.append("}\n")
    parts.append(
        "int main(int argc, char **argv)\n{\n"
        "    long n, a = argc > 2 ? atol(argv[2]) : 0, b = argc > 3 ? atol(argv[3]) : 0;\n"
        '    if (strcmp(argv[1], "loops") == 0)\n        loops(a, b);\n'
        '    else if (strcmp(argv[1], "calls") == 0)\n'
        "        for (n = 0; n < a; n++)\n            work();\n"
        '    else if (strcmp(argv[1], "durations") == 0) {\n'
        "        fast();\n        slow(a);\n    }\n"
    )
    for n, _case in enumerate(guards.cases("values", containers=False)):
        parts.append(f'    else if (strcmp(argv[1], "values{n}") == 0)\n        values{n}();\n')
    parts.append("    return 0;\n}\n")
    return "".join(parts)


def _guard_args(kind: str, n: int, case: dict[str, Any]) -> list[str]:
    if kind == "loops":
        return ["loops", str(case["iterations"]), str(case["runs"])]
    if kind == "calls":
        return ["calls", str(case["calls"])]
    if kind == "durations":
        return ["durations", str(case["sleep_ms"])]
    return [f"values{n}"]


def run_guard_cases(exe: Path, cwd: Path, argv: Callable[..., list[str]], containers: bool) -> int:
    """Every case of the shared guard vectors, each in a fresh process with its env only."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_INJECT")}
    ran = 0
    for kind in guards.KINDS:
        for n, case in enumerate(guards.cases(kind, containers=containers)):
            out = cwd / f"{kind}{n}.jsonl"
            out.unlink(missing_ok=True)
            env = {**base, **case["env"], "TELEMETRY_INJECT_OUT": str(out)}
            proc = subprocess.run(
                [str(exe), *argv(kind, n, case)],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", ""), (kind, case)
            guards.check(kind, case, read_events(out))
            ran += 1
    return ran


@pytest.mark.parametrize("flags", [STRICT, C11], ids=["c89", "c11"])
def test_runtime_passes_the_guard_vectors(tmp_path: Path, flags: list[str]) -> None:
    spec = language.get("c")
    shutil.copy2(spec.folder / "runtime" / RUNTIME, tmp_path / RUNTIME)
    (tmp_path / "guards.c").write_text(_guards_driver(spec), "utf-8")
    exe = gcc(["guards.c"], tmp_path / "guards", tmp_path, flags)
    ran = run_guard_cases(exe, tmp_path, _guard_args, containers=False)
    expected = sum(len(guards.cases(k, containers=False)) for k in guards.KINDS)
    assert ran == expected == len(guards.cases("values", containers=False)) + 10


THREADS = r"""/* Feature macros after the injected #include must still take effect. */
#ifdef __linux__
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int leaf(int i)
{
    return i % 7;
}

static void *worker(void *arg)
{
    long sum = 0;
    int i;
    for (i = 0; i < 2000; i++)
        sum += leaf(i);
    *(long *)arg = sum;
    return NULL;
}

int main(void)
{
    pthread_t threads[4];
    long sums[4];
    int i;
    pid_t child;
    for (i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, worker, &sums[i]);
    for (i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    printf("%ld %s\n", sums[0] + sums[3], strchrnul("gnu", 'x') - 3);
    fflush(stdout);
    child = fork();
    leaf(child == 0 ? 1 : 2);
    if (child == 0)
        exit(0);
    waitpid(child, NULL, 0);
    return 0;
}
"""


def test_threads_fork_and_feature_macros(tmp_path: Path) -> None:
    root = tmp_path / "threads"
    root.mkdir()
    (root / "main.c").write_text(THREADS, "utf-8")
    plain = run_program([str(gcc(["main.c"], tmp_path / "plain", root, [*C11, "-pthread"]))], root)
    assert (plain.returncode, plain.stdout) == (0, "11990 gnu\n")
    run_cli(root, "--in-place", "--no-cache")
    text = (root / "main.c").read_text("utf-8")
    assert text.index(f'#include "{RUNTIME}"') < text.index("#define _GNU_SOURCE")
    exe = gcc(["main.c"], tmp_path / "threads.exe", root, [*C11, "-pthread"])
    events_file = tmp_path / "events.jsonl"
    run = run_program([str(exe)], root, events=events_file)
    assert (run.returncode, run.stdout) == (0, plain.stdout)
    events = read_events(events_file)  # whole lines only, from 4 threads and 2 processes
    by_pid: dict[int, list[dict[str, Any]]] = {}
    for e in events:
        by_pid.setdefault(e["pid"], []).append(e)
    assert len(by_pid) == 2
    parent = next(p for p, evs in by_pid.items() if any(e["fn"] == "main" for e in evs))
    child = next(p for p in by_pid if p != parent)
    assert check_pairs(by_pid[parent]) == Counter({"leaf": 8001, "worker": 4, "main": 1})
    # Flushed before fork: the child writes its own events once, nothing of its parent's.
    assert check_pairs(by_pid[child]) == Counter({"leaf": 1})


@pytest.fixture(scope="module")
def bzip2_sources() -> Path:
    """bzip2 1.0.8's C sources as the bzip2-sys crate bundles them (cargo fetch, cached)."""
    name, version = BZIP2
    home = CACHE / "cargo"
    pattern = f"registry/src/*/{name}-{version}/bzip2-1.0.8"
    if not list(home.glob(pattern)):
        project = CACHE / "fetch"
        (project / "src").mkdir(parents=True, exist_ok=True)
        (project / "src" / "main.rs").write_text("fn main() {}\n", "utf-8")
        (project / "Cargo.toml").write_text(
            f'[package]\nname = "fetch"\nversion = "0.0.0"\nedition = "2021"\n\n'
            f'[dependencies]\n{name} = "={version}"\n',
            "utf-8",
        )
        fetch = run_program([require("cargo"), "fetch"], project, env={"CARGO_HOME": str(home)})
        assert fetch.returncode == 0, fetch.stderr
    return next(iter(home.glob(pattern)))


BZIP2_FILES = ["blocksort.c", "huffman.c", "crctable.c", "randtable.c", "compress.c"]
BZIP2_FILES += ["decompress.c", "bzlib.c", "bzip2.c"]
# What bzip2 itself needs from POSIX under -std=c89 (fdopen, fileno), and its long strings.
BZIP2_FLAGS = ["-std=c89", "-pedantic", "-Wall", "-Werror", "-Wno-overlength-strings"]
BZIP2_FLAGS += ["-D_XOPEN_SOURCE=500"]


def test_real_bzip2_compiles_strict_c89_and_round_trips(
    bzip2_sources: Path, tmp_path: Path
) -> None:
    src = tmp_path / "bzip2"
    src.mkdir()
    for path in bzip2_sources.iterdir():
        if path.suffix in (".c", ".h") or path.name.startswith("sample3"):
            shutil.copy2(path, src / path.name)
    original = _tree(src)
    work = tmp_path / "work"
    shutil.copytree(src, work)
    report = run_cli(work, "--in-place", "--json", "--no-cache")
    counts = json.loads(report.stdout)
    assert counts["instrumented"] >= 100 and counts["failed"] == 0
    events_file = tmp_path / "events.jsonl"
    for root, env in ((src, {}), (work, {"TELEMETRY_INJECT_OUT": str(events_file)})):
        exe = str(gcc(BZIP2_FILES, tmp_path / f"{root.name}.exe", root, BZIP2_FLAGS))
        # bzip2's own self-test: compressing sample3 gives sample3.bz2 byte for byte, and back.
        for args, stdin, expected in (
            (["-3"], "sample3.ref", "sample3.bz2"),
            (["-d"], "sample3.bz2", "sample3.ref"),
        ):
            with (root / stdin).open("rb") as fh:
                proc = subprocess.run(
                    [exe, *args], stdin=fh, capture_output=True, env=env, timeout=120
                )
            assert (proc.returncode, proc.stderr) == (0, b"")
            assert proc.stdout == (root / expected).read_bytes()
    calls = check_pairs(read_events(events_file))
    assert calls["main"] == 2 and calls["BZ2_bzCompress"] > 0 and calls["BZ2_bzDecompress"] > 0
    assert calls["BZ2_blockSort"] > 0 and calls["BZ2_hbMakeCodeLengths"] > 0
    run_cli("strip", work, "--in-place")
    assert _tree(work) == original


def test_real_bzip2_with_every_probe_compiles_strict_c89_and_round_trips(
    bzip2_sources: Path, tmp_path: Path
) -> None:
    """Every probe on bzip2: still strict C89, byte-identical output; the rate guard keeps its
    hot functions and assignments to a few events (loop events off: FIRST=0, EVERY=0)."""
    src = tmp_path / "bzip2"
    src.mkdir()
    for path in bzip2_sources.iterdir():
        if path.suffix in (".c", ".h") or path.name.startswith("sample3"):
            shutil.copy2(path, src / path.name)
    original = _tree(src)
    report = run_cli(
        src, "--in-place", "--json", "--no-cache", "--probes", "function,loop,var,args"
    )
    counts = json.loads(report.stdout)
    assert counts["instrumented"] >= 100 and counts["failed"] == 0
    text = (src / "compress.c").read_text("utf-8")
    assert text.count("_TEL_LOOP(") > 10 and text.count("_TEL_VAR(") > 50
    exe = str(gcc(BZIP2_FILES, tmp_path / "bzip2.exe", src, BZIP2_FLAGS))
    events_file = tmp_path / "events.jsonl"
    guards_env = {
        "TELEMETRY_INJECT_RATE": "20",
        "TELEMETRY_INJECT_LOOP_FIRST": "0",
        "TELEMETRY_INJECT_LOOP_EVERY": "0",
    }
    for args, stdin, expected, env in (
        (["-3"], "sample3.ref", "sample3.bz2", guards_env),
        (["-d"], "sample3.bz2", "sample3.ref", {"TELEMETRY_INJECT": "off"}),
    ):
        with (src / stdin).open("rb") as fh:
            proc = subprocess.run(
                [exe, *args],
                stdin=fh,
                capture_output=True,
                env={**os.environ, **env, "TELEMETRY_INJECT_OUT": str(events_file)},
                timeout=120,
            )
        assert (proc.returncode, proc.stderr) == (0, b"")
        assert proc.stdout == original[expected]
    events = read_events(events_file)
    calls = check_pairs(events)
    seconds = (events[-1]["ts"] - events[0]["ts"]) // 10**9 + 1
    assert calls["main"] == 1 and 0 < max(calls.values()) <= 20 * seconds
    var = Counter((e["line"], e["name"]) for e in events if e["ev"] == "var")
    assert len(var) > 50 and max(var.values()) <= 20 * seconds
    assert not [e for e in events if e["ev"] == "loop"]
    run_cli("strip", src, "--in-place")
    assert _tree(src) == original


PROBES = r"""#include <stdio.h>
#include <string.h>

struct account {
    const char *owner;
    long cents;
};

static long total(const struct account *accts, int n)
{
    long sum = 0;
    int i;
    for (i = 0; i < n; i++)
        sum += accts[i].cents;
    return sum;
}

static int check_pin(const char *user, const char *password, int tries)
{
    int score = 0;
    int k;
    for (k = 0; k < tries; k++) {
        if (k % 2 == 0)
            continue;
        score += (int)strlen(user) + (int)strlen(password);
    }
    return score;
}

static int find_pair(int limit, int target)
{
    int a, b, hits = 0;
    int result = -1;
    for (a = 0; a < limit; a++) {
        for (b = 0; b < limit; b++) {
            hits++;
            if (a * b == target) {
                result = a * 100 + b;
                goto found;
            }
        }
    }
found:
    return result + hits;
}

static int countdown(int n)
{
    int steps = 0;
    while (n > 0)
        n -= 3, steps++;
    do
        steps += 10;
    while (steps < 25);
    return steps;
}

static int scan(const char *text)
{
    int i, vowels = 0;
    if (text == NULL)
        return -1;
again:
    for (i = 0; text[i] != '\0'; i++) {
        if (strchr("aeiou", text[i]) == NULL)
            continue;
        vowels++;
    }
    if (vowels == 0)
        goto again;
    return vowels;
}

static long series(int n)
{
    long acc = 0;
    int i;
    for (i = 0; i < n; i++) {
        acc += i;
    }
    switch (n) {
    case 250:
        for (i = 0; i < 3; i++)
            acc++;
        break;
    default:
        acc = 0;
    }
    return acc;
}

int main(void)
{
    struct account accts[3];
    const char *names[3];
    long sum;
    int pin, pair, steps, vowels;
    names[0] = "ann";
    names[1] = "bob";
    names[2] = "cy";
    accts[0].owner = names[0];
    accts[0].cents = 1250;
    accts[1].owner = names[1];
    accts[1].cents = 99;
    accts[2].owner = names[2];
    accts[2].cents = 1;
    sum = total(accts, 3);
    pin = check_pin("bob", "hunter2", 5);
    pair = find_pair(6, 12);
    steps = countdown(20);
    vowels = scan("education");
    printf("%ld %d %d %d %d %ld\n", sum, pin, pair, steps, vowels, series(250));
    return 0;
}
"""


def sampled(n: int, first: int = 10, every: int = 100) -> list[int]:
    """The iterations of one execution of an n-iteration loop the guards record."""
    return [i for i in range(n) if i < first or (every > 0 and i % every == 0)]


@pytest.mark.parametrize("flags", [STRICT, C11], ids=["c89", "c11"])
def test_loop_var_and_args_probes_compile_run_and_strip(
    instrument_copy: Callable[..., Path], tmp_path: Path, flags: list[str]
) -> None:
    src = tmp_path / "src" / "bank"
    src.mkdir(parents=True)
    (src / "bank.c").write_text(PROBES, "utf-8")
    plain = run_program([str(gcc(["bank.c"], tmp_path / "plain", src, flags))], src)
    assert (plain.returncode, plain.stdout) == (0, "1350 20 327 27 5 31128\n"), plain.stderr
    out = instrument_copy(src, "--probes", "function,loop,var,args")
    text = (out / "bank.c").read_text("utf-8")
    assert text.count("_TEL_LOOP(") == 8 and "case 250:\n        for" in text
    exe = str(gcc(["bank.c"], tmp_path / "instr", out, flags))

    def line(code: str) -> int:  # the line that is exactly this code
        return PROBES.splitlines().index(code) + 1

    def loops(events: list[dict[str, Any]]) -> dict[int, list[int]]:
        got: dict[int, list[int]] = {}
        for e in events:
            if e["ev"] == "loop":
                got.setdefault(e["line"], []).append(e["i"])
        return got

    def expected_loops(first: int, every: int) -> dict[int, list[int]]:
        s = lambda n: sampled(n, first, every)  # noqa: E731
        return {
            line("    for (i = 0; i < n; i++)"): s(3),
            line("    for (k = 0; k < tries; k++) {"): s(5),
            line("    for (a = 0; a < limit; a++) {"): s(4),
            line("        for (b = 0; b < limit; b++) {"): s(6) + s(6) + s(6) + s(5),
            line("    while (n > 0)"): s(7),
            line("    do"): s(2),
            line("again:"): s(9),
            line("    for (i = 0; i < n; i++) {"): s(250),
        }

    events_file = tmp_path / "events.jsonl"
    run = run_program([exe], out, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, "")
    events = read_events(events_file)
    assert check_pairs(events) == Counter(
        {"main": 1, "total": 1, "check_pin": 1, "find_pair": 1, "countdown": 1, "scan": 1,
         "series": 1}
    )  # fmt: skip
    got = loops(events)
    assert got == expected_loops(10, 100)
    kinds = {e["line"]: e["kind"] for e in events if e["ev"] == "loop"}
    assert kinds[line("    while (n > 0)")] == "while" and kinds[line("    do")] == "do"
    loop_vars = {(e["line"], tuple(sorted(e.get("vars", {})))) for e in events if e["ev"] == "loop"}
    inner = line("        for (b = 0; b < limit; b++) {")
    assert (inner, ("b",)) in loop_vars and (line("    do"), ()) in loop_vars
    assert all(e["vars"]["b"] == e["i"] for e in events if e.get("vars", {}).get("b") is not None)

    def values(name: str) -> list[Any]:
        return [e["value"] for e in events if e["ev"] == "var" and e["name"] == name]

    assert values("score") == [0, 10, 20]
    assert values("result") == [-1, 304] and values("hits") == [0]
    assert values("sum") == [0, 1350]  # the declaration in total, the assignment in main
    assert values("names") == [] and values("vowels") == [0, 5]
    assert values("pin") == [20] and values("pair") == [327] and values("steps") == [0, 27]
    args = {e["fn"]: e.get("args") for e in events if e["ev"] == "enter"}
    assert args["check_pin"] == {"user": "bob", "password": "<redacted>", "tries": 5}
    assert args["scan"] == {"text": "education"} and args["main"] is None
    assert args["total"]["n"] == 3 and args["total"]["accts"].startswith("0x")
    for e in events:
        if e["ev"] in ("loop", "var"):
            assert (e["file"], e["pid"]) == ("bank.c", events[0]["pid"])

    # Sampling, redaction by another list, string truncation: the same program.
    guarded = tmp_path / "guarded.jsonl"
    env = {
        "TELEMETRY_INJECT_LOOP_FIRST": "2",
        "TELEMETRY_INJECT_LOOP_EVERY": "4",
        "TELEMETRY_INJECT_REDACT": "User,pin",
        "TELEMETRY_INJECT_MAX_LEN": "3",
    }
    run = run_program([exe], out, events=guarded, env=env)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, "")
    events = read_events(guarded)
    assert loops(events) == expected_loops(2, 4)
    args = {e["fn"]: e.get("args") for e in events if e["ev"] == "enter"}
    assert args["check_pin"] == {"user": "<redacted>", "password": "hun…", "tries": 5}
    assert args["scan"] == {"text": "edu…"}
    assert [e["value"] for e in events if e.get("name") == "pin"] == ["<redacted>"]

    off = tmp_path / "off.jsonl"
    quiet = run_program([exe], out, events=off, env={"TELEMETRY_INJECT": "off"})
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, plain.stdout, "")
    assert not off.exists()

    run_cli("strip", out, "--in-place")
    assert _tree(out) == _tree(src)


VALUES = r"""#include <stddef.h>
#include "telemetry_inject.h"
struct point {
    int x;
};
static int touch(int v)
{
    return v;
}
int main(void)
{
    struct point p;
    int arr[2];
    float fl = 0.1f;
    double whole = 3.0;
    unsigned long big = 4294967295ul;
    char *none = NULL;
    const char bad[] = "a\xff" "b";
    char c = 'a';
    p.x = touch(1);
    arr[0] = 0;
    _TEL_VAR(_TEL_SITE("main", "v.c", 1), "p", p);
    _TEL_VAR(_TEL_SITE("main", "v.c", 2), "arr", arr);
    _TEL_VAR(_TEL_SITE("main", "v.c", 3), "fl", fl);
    _TEL_VAR(_TEL_SITE("main", "v.c", 4), "whole", whole);
    _TEL_VAR(_TEL_SITE("main", "v.c", 5), "big", big);
    _TEL_VAR(_TEL_SITE("main", "v.c", 6), "none", none);
    _TEL_VAR(_TEL_SITE("main", "v.c", 7), "bad", bad);
    _TEL_VAR(_TEL_SITE("main", "v.c", 8), "c", c);
    return touch(0);
}
"""


@pytest.mark.parametrize("flags", [STRICT, C11], ids=["c89", "c11"])
def test_values_of_every_c_kind(tmp_path: Path, flags: list[str]) -> None:
    """Beyond the guard vectors: structs, arrays, float, unsigned, NULL, invalid UTF-8, char;
    a var line after statements is still a declaration C89 accepts."""
    shutil.copy2(language.get("c").folder / "runtime" / RUNTIME, tmp_path / RUNTIME)
    (tmp_path / "v.c").write_text(VALUES, "utf-8")
    exe = gcc(["v.c"], tmp_path / "v", tmp_path, flags)
    run = run_program([str(exe)], tmp_path, events=tmp_path / "ev.jsonl")
    assert (run.returncode, run.stderr) == (0, "")
    values = {e["name"]: e["value"] for e in read_events(tmp_path / "ev.jsonl")}
    assert values.pop("arr").startswith("0x")
    assert values == {
        "p": "?",
        "fl": 0.1,
        "whole": 3.0,
        "big": 4294967295,
        "none": None,
        "bad": "a\ufffdb",
        "c": 97,
    }
