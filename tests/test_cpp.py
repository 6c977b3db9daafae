"""C++ end to end: instrument programs with the CLI, compile them with g++ -std=c++17 -Wall
-Wextra -Werror, run them, and check output, events (exceptions as error events), threads,
fork, idempotency and byte-exact removal; real code: cxxopts from its Debian package."""

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

FIXTURES = ROOT / "tests" / "fixtures" / "cpp"
CACHE = ROOT / "tests" / ".cache" / "cpp"
RUNTIME = "telemetry_inject.hpp"
FLAGS = ["-std=c++17", "-Wall", "-Wextra", "-Wshadow", "-Werror", "-pthread"]


def gxx(sources: list[str], out: Path, cwd: Path, flags: list[str] = FLAGS) -> Path:
    proc = subprocess.run(
        [require("g++"), *flags, *sources, "-o", str(out)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"g++ {' '.join(flags)} {sources}:\n{proc.stderr}"
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


def _shape(events: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(e["ev"], e["fn"], e["line"]) for e in events]


def _errors(events: list[dict[str, Any]]) -> Counter[str]:
    return Counter(e["fn"] for e in events if e["ev"] == "error")


EXAMPLE_SOURCES = ["main.cpp", "geometry.cpp"]


def test_example_behaves_the_same_and_reports_every_call(
    instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    src = EXAMPLES / "cpp"
    plain = run_program([str(gxx(EXAMPLE_SOURCES, tmp_path / "plain", src))], src)
    assert plain.returncode == 0, plain.stderr
    out = instrument_copy(src)
    assert (out / RUNTIME).is_file()
    exe = str(gxx(EXAMPLE_SOURCES, tmp_path / "instr", out))
    events_file = tmp_path / "events.jsonl"
    run = run_program([exe], out, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, "")
    events = read_events(events_file)
    calls = check_pairs(events)
    expected = {
        "main": 1, "load": 1, "geo.parse": 5, "geo.Circle.Circle": 2, "geo.Rect.Rect": 3,
        "geo.Shape.Shape": 5, "geo.Shape.~Shape": 5, "geo.Point.operator+": 2,
        "geo.operator<<": 3, "geo.Shape.name": 3, "geo.stats.total": 1, "main.by_area": 3,
        "geo.Rect.operator bool() const": 1,
    }  # fmt: skip
    assert {fn: calls[fn] for fn in expected} == expected
    assert calls["main.<anonymous>"] == 6  # the transform lambda 3x, the total lambda 3x
    assert "geo.square" not in calls  # constexpr: left alone
    # A throwing constructor and parse: error, then exit, then the exception goes on.
    assert _errors(events) == Counter({"geo.parse": 2, "geo.Circle.Circle": 1})
    error = next(e for e in events if e["ev"] == "error")
    assert error["error"] and error["dur_ns"] >= 0
    for fn, file, needle in [
        ("geo.Circle.Circle", "geometry.cpp", "Circle::Circle(double r)"),
        ("geo.Rect.area", "geometry.cpp", "double geo::Rect::area() const"),
        ("geo.Shape.~Shape", "geometry.hpp", "virtual ~Shape()"),
        ("geo.stats.total", "geometry.hpp", "T total(const std::vector<T>& items, F f)"),
        ("main.by_area", "main.cpp", "auto by_area = [](const"),
    ]:
        assert (_first(events, fn)["file"], _first(events, fn)["line"]) == (
            file,
            _line_of(src / file, needle),
        ), fn
    # Without TELEMETRY_INJECT_OUT events go to stderr; TELEMETRY_INJECT=off writes nothing.
    loud = run_program([exe], out)
    assert (loud.returncode, loud.stdout) == (0, plain.stdout)
    assert _shape([json.loads(line) for line in loud.stderr.splitlines()]) == _shape(events)
    quiet = run_program([exe], out, events=tmp_path / "off.jsonl", env={"TELEMETRY_INJECT": "off"})
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, plain.stdout, "")
    assert not (tmp_path / "off.jsonl").exists()


def test_example_with_every_probe_behaves_the_same(
    instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    """Rendering a value may run instrumented code (an operator<< whose own parameters are
    rendered through itself): the probes are silent while a value renders, no recursion."""
    src = EXAMPLES / "cpp"
    plain = run_program([str(gxx(EXAMPLE_SOURCES, tmp_path / "plain", src))], src)
    assert plain.returncode == 0, plain.stderr
    out = instrument_copy(src, "--probes", "function,loop,var,args")
    exe = str(gxx(EXAMPLE_SOURCES, tmp_path / "instr", out))
    run = run_program([exe], out, events=tmp_path / "ev.jsonl")
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, "")
    events = read_events(tmp_path / "ev.jsonl")
    calls = check_pairs(events)
    printed = [e["args"] for e in events if e["ev"] == "enter" and e["fn"] == "geo.operator<<"]
    assert printed and calls["geo.operator<<"] == len(printed)
    assert all(set(a) == {"out", "s"} and isinstance(a["s"], str) for a in printed)
    assert {e["ev"] for e in events} >= {"enter", "exit", "loop", "var"}
    run_cli("strip", out, "--in-place")
    assert _tree(out) == _tree(src)


def _edge(tmp: Path, eol: str) -> Path:
    root = tmp / f"edge{len(eol)}"
    root.mkdir(parents=True)
    text = (FIXTURES / "edge.input.cpp").read_text("utf-8").replace("\n", eol)
    (root / "edge.cpp").write_bytes(text.encode("utf-8"))
    return root


@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_edge_cases_match_the_golden_file_compile_and_run(tmp_path: Path, eol: str) -> None:
    src, out = _edge(tmp_path / "src", eol), _edge(tmp_path / "out", eol)
    plain = run_program([str(gxx(["edge.cpp"], tmp_path / "plain", src))], src)
    assert plain.returncode == 0, plain.stderr
    run_cli(out, "--in-place", "--jobs", "1", "--cache-dir", tmp_path / "cache")
    golden = (FIXTURES / "edge.expected.cpp").read_text("utf-8").replace("\n", eol)
    got = (out / "edge.cpp").read_bytes().decode("utf-8")
    if eol != "\n":  # stamps hash the original text, EOLs included
        got, golden = (re.sub(r"(?<=[:_])[0-9a-f]{8}\b", "STAMP", t) for t in (got, golden))
    assert got == golden
    exe = str(gxx(["edge.cpp"], tmp_path / "instr", out))
    events_file = tmp_path / "events.jsonl"
    run = run_program([exe], out, events=events_file)
    assert (run.returncode, run.stdout) == (0, plain.stdout)
    events = read_events(events_file)
    calls = check_pairs(events)
    expected = {
        "main": 1, "shapes.Square.Square": 2, "shapes.Square.~Square": 2,
        "shapes.Base.~Base": 2, "shapes.Square.sides": 1, "shapes.Square.operator()": 1,
        "shapes.Square.operator bool() const noexcept": 1, "shapes.Square.scaled": 1,
        "shapes.Square.operator==": 1, "util.text.upper": 1, "Box.get": 1, "twice": 2,
        "choose": 2, "choose.<anonymous>": 2, "trailing": 1, "plain_c": 1, "wrap": 2,
        "shapes.detail.checked": 3, "main.fib": 177,
    }  # fmt: skip
    assert calls == Counter(expected)  # not cube (constexpr), not guarded (function-try-block)
    assert _errors(events) == Counter({"shapes.detail.checked": 2})
    source = FIXTURES / "edge.input.cpp"
    for fn, needle in {
        "shapes.Square.Square": "explicit Square(int n)",
        "shapes.Square.~Square": "Square::~Square()",
        "shapes.detail.checked": "int shapes::detail::checked(int v)",
        "Box.get": "T Box<T>::get() const",
        "choose": "static int (*choose(bool big))(int)",
        "main.fib": "std::function<int(int)> fib = [&fib]",
    }.items():
        assert _first(events, fn)["line"] == _line_of(source, needle), fn
    if eol == "\n":
        _threads_fork_and_terminate(exe, out, tmp_path, calls)
    # Instrumenting again changes nothing; strip restores every byte and removes the runtime.
    before = _tree(out)
    again = run_cli(out, "--in-place", "--json", "--cache-dir", tmp_path / "cache")
    assert json.loads(again.stdout)["changed"] == 0 and _tree(out) == before
    run_cli("strip", out, "--in-place")
    assert _tree(out) == _tree(src)


def _threads_fork_and_terminate(exe: str, out: Path, tmp: Path, base: Counter[str]) -> None:
    threads = tmp / "threads.jsonl"
    assert run_program([exe, "threads"], out, events=threads).returncode == 0
    calls = check_pairs(read_events(threads))  # whole lines from 4 threads
    assert (calls["work"], calls["work.step"]) == (4, 2000)
    forked = tmp / "fork.jsonl"
    assert run_program([exe, "fork"], out, events=forked).returncode == 0
    by_pid: dict[int, list[dict[str, Any]]] = {}
    for e in read_events(forked):
        by_pid.setdefault(e["pid"], []).append(e)
    parent = next(p for p, evs in by_pid.items() if any(e["fn"] == "main" for e in evs))
    (child,) = (p for p in by_pid if p != parent)
    assert check_pairs(by_pid[parent]) == base + Counter({"work": 1, "work.step": 3})
    # Flushed before fork: the child writes its own events once, nothing of its parent's.
    assert check_pairs(by_pid[child]) == Counter({"work": 1, "work.step": 3})
    # An uncaught exception: std::terminate flushes what was written, then aborts as before.
    crashed = tmp / "throw.jsonl"
    crash = run_program([exe, "throw"], out, events=crashed)
    assert crash.returncode == -6 and "negative: -7" in crash.stderr
    events = read_events(crashed)
    opened = Counter(e["fn"] for e in events if e["ev"] == "enter")
    opened.subtract(Counter(e["fn"] for e in events if e["ev"] == "exit"))
    # No handler: g++ terminates without unwinding, so these two never see their exit.
    assert +opened == Counter({"main": 1, "shapes.detail.checked": 1})


def test_definitions_found_qualified_and_constexpr_skipped_with_a_reason() -> None:
    spec = language.get("cpp")
    analysis = analyze.analyze(spec, (FIXTURES / "edge.input.cpp").read_bytes())
    found = {str(f.id) for f in analysis.functions}
    assert {"shapes.detail.checked", "util.text.upper", "Box.get", "twice#1", "cube"} <= found
    assert not {"guarded", "shapes.Base.sides", "shapes.Base.Base"} & found  # no plain body
    skipped = {str(o.id): o.reason for o in plan.plan(analysis, "tel", "edge.cpp").skipped}
    assert list(skipped) == ["cube"] and "compile time" in skipped["cube"]


@pytest.mark.parametrize("std", ["c++11", "c++17"])
def test_runtime_passes_the_shared_vectors(tmp_path: Path, std: str) -> None:
    spec = language.get("cpp")
    shutil.copy2(spec.folder / "runtime" / RUNTIME, tmp_path / RUNTIME)
    snippet = spec.profile("tel").snippets["body_start"]
    parts = [f'#include "{RUNTIME}"\n#include <stdexcept>\n']
    for i, case in enumerate(VECTORS["cases"]):
        site = {
            "fn": plan.string_literal(spec, case["fn"]),
            "file": plan.string_literal(spec, case["file"]),
            "line": str(case["line"]),
            "args": "",
            "stamp": f"{i:08x}",
        }
        fail = '    throw std::runtime_error("boom");\n' if case["raises"] else ""
        parts.append(f"static void case{i}() {{\n    {plan.render(snippet, site)}\n{fail}}}\n")
    calls = "".join(
        f"    try {{ case{i}(); }} catch (const std::exception&) {{}}\n"
        for i in range(len(VECTORS["cases"]))
    )
    parts.append(f"int main() {{\n{calls}    return 0;\n}}\n")
    (tmp_path / "driver.cpp").write_text("".join(parts), "utf-8")
    flags = [f"-std={std}", *FLAGS[1:]]
    exe = gxx(["driver.cpp"], tmp_path / "driver", tmp_path, flags)
    run = run_program([str(exe)], tmp_path, events=tmp_path / "ev.jsonl")
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    check_vectors(read_events(tmp_path / "ev.jsonl"))


def _cxx_value(spec: Any, value: Any) -> tuple[str, str]:
    """A C++ expression of the guard value and its type: lists of one type as vectors, mixed
    ones as tuples, objects as std::map (values of several types as a std::variant)."""
    if value is None:
        return "nullptr", "std::nullptr_t"
    if isinstance(value, bool):
        return ("true" if value else "false"), "bool"
    if isinstance(value, int):
        return str(value), "int"
    if isinstance(value, float):
        return repr(value), "double"
    if isinstance(value, str):
        return f"std::string({plan.string_literal(spec, value)})", "std::string"
    if isinstance(value, list):
        items = [_cxx_value(spec, v) for v in value]
        types = list(dict.fromkeys(t for _e, t in items))
        exprs = ", ".join(e for e, _t in items)
        if len(types) == 1:
            return f"std::vector<{types[0]}>{{{exprs}}}", f"std::vector<{types[0]}>"
        return f"std::make_tuple({exprs})", f"std::tuple<{', '.join(t for _e, t in items)}>"
    assert isinstance(value, dict), value
    members = {k: _cxx_value(spec, v) for k, v in value.items()}
    types = list(dict.fromkeys(t for _e, t in members.values()))
    held = types[0] if len(types) == 1 else f"std::variant<{', '.join(types)}>"
    pairs = ", ".join(
        f"{{{plan.string_literal(spec, k)}, {held}({e})}}" for k, (e, _t) in members.items()
    )
    return f"std::map<std::string, {held}>{{{pairs}}}", f"std::map<std::string, {held}>"


def _guards_driver(spec: Any, containers: bool) -> str:
    """Calls the runtime's API as inserted code does: one entry point per guard case."""
    enter = spec.profile("tel").snippets["body_start"]

    def body(fn: str, line: int) -> str:
        site = {"fn": f'"{fn}"', "file": '"guards.cpp"', "line": str(line), "stamp": fn}
        return plan.render(enter, {**site, "args": ""})

    parts = [
        f'#include "{RUNTIME}"\n#include <chrono>\n#include <cstdlib>\n#include <cstring>\n',
        "#include <map>\n#include <string>\n#include <thread>\n#include <tuple>\n",
        "#include <vector>\n#if __cplusplus >= 201703L\n#include <variant>\n#endif\n",
        f"static void fast() {{\n    {body('fast', 1)}\n}}\n",
        f"static void slow(long ms) {{\n    {body('slow', 2)}\n",
        "    std::this_thread::sleep_for(std::chrono::milliseconds(ms));\n}\n",
        f"static void work() {{\n    {body('work', 3)}\n}}\n",
        "static void loops(long iterations, long runs) {\n",
        "    for (long r = 0; r < runs; r++) {\n",
        "        _tel::Loop __tel_l0_1;\n",
        '        __tel_l0_1.begin(_TEL_SITE("loops", "guards.cpp", 4), "for");\n',
        "        for (long i = 0; i < iterations; i++) {\n",
        '            _tel::iter(__tel_l0_1, "i", i);\n        }\n    }\n}\n',
    ]
    for n, case in enumerate(guards.cases("values", containers=containers)):
        parts.append(f"static void values{n}() {{\n")
        for k, (name, value, _expected) in enumerate(case["values"]):
            site = f'_TEL_SITE("values", "guards.cpp", {10 + k})'
            expr, _type = _cxx_value(spec, value)
            parts.append(f"    auto v{k} = {expr};\n")
            parts.append(f"    _tel::var({site}, {plan.string_literal(spec, name)}, v{k});\n")
        parts.append("}\n")
    parts.append(
        "int main(int argc, char** argv) {\n"
        "    long a = argc > 2 ? std::atol(argv[2]) : 0, b = argc > 3 ? std::atol(argv[3]) : 0;\n"
        '    if (std::strcmp(argv[1], "loops") == 0)\n        loops(a, b);\n'
        '    else if (std::strcmp(argv[1], "calls") == 0)\n'
        "        for (long n = 0; n < a; n++)\n            work();\n"
        '    else if (std::strcmp(argv[1], "durations") == 0) {\n'
        "        fast();\n        slow(a);\n    }\n"
    )
    for n, _case in enumerate(guards.cases("values", containers=containers)):
        parts.append(
            f'    else if (std::strcmp(argv[1], "values{n}") == 0)\n        values{n}();\n'
        )
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


@pytest.mark.parametrize("std", ["c++11", "c++17"])
def test_runtime_passes_the_guard_vectors(tmp_path: Path, std: str) -> None:
    """Every guard case, each in a fresh process with its env only; containers need C++17
    (the mixed-type object is a std::map of std::variant)."""
    spec = language.get("cpp")
    containers = std == "c++17"
    shutil.copy2(spec.folder / "runtime" / RUNTIME, tmp_path / RUNTIME)
    (tmp_path / "guards.cpp").write_text(_guards_driver(spec, containers), "utf-8")
    exe = gxx(["guards.cpp"], tmp_path / "guards", tmp_path, [f"-std={std}", *FLAGS[1:]])
    base = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_INJECT")}
    ran = 0
    for kind in guards.KINDS:
        for n, case in enumerate(guards.cases(kind, containers=containers)):
            out = tmp_path / f"{kind}{n}.jsonl"
            env = {**base, **case["env"], "TELEMETRY_INJECT_OUT": str(out)}
            proc = subprocess.run(
                [str(exe), *_guard_args(kind, n, case)],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", ""), (kind, case)
            guards.check(kind, case, read_events(out))
            ran += 1
    assert ran == sum(len(guards.cases(k, containers=containers)) for k in guards.KINDS)
    assert ran == (16 if containers else 14)


@pytest.fixture(scope="module")
def cxxopts_header() -> Path:
    """cxxopts.hpp (header-only C++11 option parser) from Debian's libcxxopts-dev, cached."""
    target = CACHE / "cxxopts.hpp"
    if target.is_file():
        return target
    work = CACHE / "deb"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    apt = require("apt-get")
    got = run_program([apt, "download", "libcxxopts-dev"], work)
    if got.returncode != 0:  # a fresh machine has no package lists yet
        assert run_program([apt, "update", "-qq"], work).returncode == 0
        got = run_program([apt, "download", "libcxxopts-dev"], work)
    assert got.returncode == 0, got.stderr
    (deb,) = work.glob("libcxxopts-dev_*.deb")
    unpacked = run_program([require("dpkg-deb"), "-x", str(deb), "x"], work)
    assert unpacked.returncode == 0, unpacked.stderr
    shutil.copy2(work / "x" / "usr" / "include" / "cxxopts.hpp", target)
    return target


CXXOPTS_DRIVER = r"""#include "cxxopts.hpp"
#include <iostream>

static void attempt(cxxopts::Options& options, std::vector<const char*> args) {
    try {
        auto result = options.parse(static_cast<int>(args.size()), args.data());
        std::cout << "number=" << result["number"].as<int>() << "\n";
    } catch (const cxxopts::exceptions::exception& e) {
        std::cout << "error: " << e.what() << "\n";
    }
}

int main(int argc, char** argv) {
    cxxopts::Options options("demo", "cxxopts, instrumented");
    options.add_options()("v,verbose", "Verbose", cxxopts::value<bool>()->default_value("false"))(
        "n,number", "A number", cxxopts::value<int>()->default_value("1"))(
        "names", "Names", cxxopts::value<std::vector<std::string>>());
    auto result = options.parse(argc, argv);
    std::cout << "verbose=" << result["verbose"].as<bool>() << "\n";
    for (const auto& n : result["names"].as<std::vector<std::string>>()) std::cout << n << "\n";
    std::cout << options.help() << "\n";
    attempt(options, {"demo", "--bogus"});
    attempt(options, {"demo", "-n", "abc"});
    attempt(options, {"demo", "-n", "42"});
    return 0;
}
"""


def test_real_cxxopts_compiles_and_behaves_the_same(cxxopts_header: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy2(cxxopts_header, src / "cxxopts.hpp")
    original = (src / "cxxopts.hpp").read_bytes()
    work = tmp_path / "work"
    shutil.copytree(src, work)
    report = json.loads(run_cli(work, "--in-place", "--json", "--no-cache").stdout)
    assert report["instrumented"] >= 120 and report["failed"] == 0
    args = ["-v", "--names", "a,b"]
    builds = []
    for root in (src, work):  # both builds at once: the heavy part of this test
        (root / "driver.cpp").write_text(CXXOPTS_DRIVER, "utf-8")
        cmd = [require("g++"), *FLAGS, "driver.cpp", "-o", str(tmp_path / f"{root.name}.exe")]
        builds.append(subprocess.Popen(cmd, cwd=root, stderr=subprocess.PIPE, text=True))
    for build in builds:
        assert build.wait(timeout=300) == 0, build.stderr.read() if build.stderr else ""
    runs = []
    for root in (src, work):
        (root / "driver.cpp").unlink()
        exe = tmp_path / f"{root.name}.exe"
        runs.append(run_program([str(exe), *args], root, events=tmp_path / f"{root.name}.jsonl"))
    assert runs[0].returncode == runs[1].returncode == 0
    assert runs[1].stdout == runs[0].stdout and "error: Option ‘bogus’" in runs[0].stdout
    assert not (tmp_path / "src.jsonl").exists()
    events = read_events(tmp_path / "work.jsonl")
    calls = check_pairs(events)
    assert calls["cxxopts.Options.parse"] == 4 and calls["cxxopts.Options.help"] == 1
    errors = _errors(events)  # the two failed parses propagate through several frames
    assert errors["cxxopts.Options.parse"] == 2 and errors["cxxopts.OptionParser.parse"] == 2
    run_cli("strip", work, "--in-place")
    assert _tree(work) == {"cxxopts.hpp": original}


def test_real_cxxopts_with_every_probe_compiles_and_behaves_the_same(
    cxxopts_header: Path, tmp_path: Path
) -> None:
    """Every probe on cxxopts (templates, lambdas, iterators, shared_ptr, maps): still clean
    under -Wall -Wextra -Wshadow -Werror, same output, and its values rendered."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy2(cxxopts_header, work / "cxxopts.hpp")
    every = ("--probes", "function,loop,var,args")
    report = json.loads(run_cli(work, "--in-place", "--json", "--no-cache", *every).stdout)
    assert report["instrumented"] >= 120 and report["failed"] == 0
    text = (work / "cxxopts.hpp").read_text("utf-8")
    assert text.count("_tel::iter(") > 10 and text.count("_tel::var(") > 50
    (work / "driver.cpp").write_text(CXXOPTS_DRIVER, "utf-8")
    exe = gxx(["driver.cpp"], tmp_path / "driver", work)
    args = ["-v", "--names", "a,b"]
    quiet = run_program([str(exe), *args], work, env={"TELEMETRY_INJECT": "off"})
    assert quiet.returncode == 0 and "error: Option ‘bogus’" in quiet.stdout
    run = run_program([str(exe), *args], work, events=tmp_path / "ev.jsonl")
    assert (run.returncode, run.stdout, run.stderr) == (0, quiet.stdout, "")
    events = read_events(tmp_path / "ev.jsonl")
    check_pairs(events)
    kinds = Counter(e["ev"] for e in events)
    assert kinds["loop"] > 10 and kinds["var"] > 100 and kinds["error"] > 0
    values = {(e["name"], json.dumps(e["value"])) for e in events if e["ev"] == "var"}
    assert ("option_names", json.dumps(["v", "verbose"])) in values
    args_seen = [e["args"] for e in events if e["ev"] == "enter" and "args" in e]
    assert {"text": "n,number"} in args_seen
    (work / "driver.cpp").unlink()
    run_cli("strip", work, "--in-place")
    assert (work / "cxxopts.hpp").read_bytes() == cxxopts_header.read_bytes()


PROBES = r"""#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace inv {

struct Item {
    std::string name;
    int qty;
};

class Store {
public:
    explicit Store(std::string owner) : owner_(std::move(owner)) {}

    void add(const std::string& name, int qty) {
        for (auto& item : items_) {
            if (item.name != name)
                continue;
            item.qty += qty;
            return;
        }
        items_.push_back({name, qty});
    }

    int total() const {
        int sum = 0;
        for (const auto& item : items_) sum += item.qty;
        return sum;
    }

    std::map<std::string, int> counts() const {
        std::map<std::string, int> out;
        for (std::size_t i = 0; i < items_.size(); ++i)
            out[items_[i].name] = items_[i].qty;
        return out;
    }

private:
    std::string owner_;
    std::vector<Item> items_;
};

}  // namespace inv

static int login(const std::string& user, const std::string& password) {
    int score = 0;
    for (char c : password) score += c % 7;
    return static_cast<int>(user.size()) + score;
}

static int grade(int mark) {
    int bonus = 0;
    switch (mark / 10) {
    case 9:
        for (int i = 0; i < 3; i++) bonus++;
        break;
    case 5: {
        int k = 0;
        while (k < 2) k++;
        bonus = k;
        break;
    }
    default:
        bonus = -1;
    }
    return bonus;
}

static long series(int n) {
    long acc = 0;
    for (int i = 0; i < n; i++) {
        acc += i;
    }
    return acc;
}

int main() {
    inv::Store store("ann");
    std::vector<std::pair<std::string, int>> batch = {{"bolt", 5}, {"nut", 3}, {"bolt", 2}};
    for (const auto& [name, qty] : batch) {
        store.add(name, qty);
    }
    int steps = 0;
    int found = -1;
    int n = 0;
outer:
    for (int i = 0; i < 5; i++) {
        for (int j = 0; j < 5; j++) {
            steps++;
            if (j > i) continue;
            if (i * j == 6) {
                found = i * 10 + j;
                goto done;
            }
        }
    }
    if (found < 0) goto outer;
done:
    steps += 100;
    do {
        n += 2;
    } while (n < 7);
    while (n > 0) n -= 3;
    auto counts = store.counts();
    auto twice = [](int v) {
        int r = 0;
        for (int k = 0; k < 2; k++) r += v;
        return r;
    };
    int extra = 0;
    std::vector<int> vals = {1, 2, 3};
    for (int base = 10; auto v : vals) extra += base + v;
    std::cout << store.total() << " " << counts["bolt"] << " " << found << " " << steps << " "
              << n << " " << twice(21) << " " << login("bob", "s3cret") << " " << grade(95)
              << " " << grade(55) << " " << grade(10) << " " << series(250) << " " << extra
              << "\n";
    return 0;
}
"""


def sampled(n: int, first: int = 10, every: int = 100) -> list[int]:
    """The iterations of one execution of an n-iteration loop the guards record."""
    return [i for i in range(n) if i < first or (every > 0 and i % every == 0)]


def test_loop_var_and_args_probes_compile_run_and_strip(
    instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    src = tmp_path / "src" / "inv"
    src.mkdir(parents=True)
    (src / "inv.cpp").write_text(PROBES, "utf-8")
    flags = ["-std=c++20", *FLAGS[1:]]  # range-for with an init-statement
    plain = run_program([str(gxx(["inv.cpp"], tmp_path / "plain", src, flags))], src)
    assert (plain.returncode, plain.stdout) == (0, "10 7 32 118 -1 42 18 3 2 -1 31125 36\n")
    out = instrument_copy(src, "--probes", "function,loop,var,args")
    text = (out / "inv.cpp").read_text("utf-8")
    assert "case 9:\n        for" in text  # a loop after a case label is left alone
    exe = str(gxx(["inv.cpp"], tmp_path / "instr", out, flags))

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
            line("        for (auto& item : items_) {"): s(1) + s(1),  # the first add: none
            line("        for (const auto& item : items_) sum += item.qty;"): s(2),
            line("        for (std::size_t i = 0; i < items_.size(); ++i)"): s(2),
            line("    for (char c : password) score += c % 7;"): s(6),
            line("        while (k < 2) k++;"): s(2),
            line("    for (int i = 0; i < n; i++) {"): s(250),
            line("    for (const auto& [name, qty] : batch) {"): s(3),
            line("outer:"): s(4),
            line("        for (int j = 0; j < 5; j++) {"): s(5) + s(5) + s(5) + s(3),
            line("    do {"): s(4),
            line("    while (n > 0) n -= 3;"): s(3),
            line("        for (int k = 0; k < 2; k++) r += v;"): s(2),
            line("    for (int base = 10; auto v : vals) extra += base + v;"): s(3),
        }

    events_file = tmp_path / "events.jsonl"
    run = run_program([exe], out, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, "")
    events = read_events(events_file)
    calls = check_pairs(events)
    assert calls["grade"] == 3 and calls["inv.Store.add"] == 3 and calls["main.twice"] == 1
    assert loops(events) == expected_loops(10, 100)
    kinds = {e["line"]: e["kind"] for e in events if e["ev"] == "loop"}
    assert kinds[line("outer:")] == "for" and kinds[line("    do {")] == "do"
    assert kinds[line("    for (const auto& [name, qty] : batch) {")] == "each"
    loop_vars = [e.get("vars") for e in events if e["ev"] == "loop"]
    bolt, nut, item = {"name": "bolt", "qty": 5}, {"name": "nut", "qty": 3}, {"item": "inv::Item"}
    assert loop_vars[:3] == [bolt, nut, item]  # the first add's loop runs no iteration
    chars = [e["vars"]["c"] for e in events if e["ev"] == "loop" and "c" in e.get("vars", {})]
    assert chars == list("s3cret")
    assert [e["vars"] for e in events if e.get("vars", {}).keys() == {"v"}] == [
        {"v": 1},
        {"v": 2},
        {"v": 3},
    ]

    def values(name: str) -> list[Any]:
        return [e["value"] for e in events if e["ev"] == "var" and e["name"] == name]

    assert values("found") == [-1, 32] and values("steps") == [0]
    assert values("n") == [0, 2, 4, 6, 8] and values("k") == [0] and values("bonus") == [0, 0, 2, 0]
    assert values("batch") == [[["bolt", 5], ["nut", 3], ["bolt", 2]]]
    assert values("counts") == [{"bolt": 7, "nut": 3}] and values("store") == ["inv::Store"]
    assert values("twice") == ["main()::<lambda(int)>"] and values("vals") == [[1, 2, 3]]
    args = [(e["fn"], e.get("args")) for e in events if e["ev"] == "enter"]
    assert ("login", {"user": "bob", "password": "<redacted>"}) in args
    assert ("inv.Store.add", {"name": "nut", "qty": 3}) in args
    assert ("main.twice", {"v": 21}) in args and ("main", None) in args
    assert [a for fn, a in args if fn == "grade"] == [{"mark": 95}, {"mark": 55}, {"mark": 10}]

    # Sampling, redaction by another list, truncation: the same program.
    guarded = tmp_path / "guarded.jsonl"
    env = {
        "TELEMETRY_INJECT_LOOP_FIRST": "1",
        "TELEMETRY_INJECT_LOOP_EVERY": "2",
        "TELEMETRY_INJECT_REDACT": "USER",
        "TELEMETRY_INJECT_MAX_LEN": "2",
        "TELEMETRY_INJECT_MAX_ITEMS": "1",
    }
    run = run_program([exe], out, events=guarded, env=env)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, "")
    events = read_events(guarded)
    assert loops(events) == expected_loops(1, 2)
    args = [(e["fn"], e.get("args")) for e in events if e["ev"] == "enter"]
    assert ("login", {"user": "<redacted>", "password": "s3…"}) in args
    assert values("batch") == [[["bo…", "…"], "…"]] and values("counts") == [{"bo…": 7, "…": "…"}]

    off = tmp_path / "off.jsonl"
    quiet = run_program([exe], out, events=off, env={"TELEMETRY_INJECT": "off"})
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, plain.stdout, "")
    assert not off.exists()

    run_cli("strip", out, "--in-place")
    assert _tree(out) == _tree(src)


VALUES = r"""#include "telemetry_inject.hpp"
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>
struct Pt {
    int x;
};
std::ostream& operator<<(std::ostream& o, const Pt& p) { return o << "Pt(" << p.x << ")"; }
struct Opaque {
    int y;
};
enum class Color { red = 2 };
static int add(int a, int b) { return a + b; }
#define V(x) _tel::var(_TEL_SITE("main", "v.cpp", 1), #x, x)
int main() {
    Pt pt{3};
    Opaque op{1};
    Color color = Color::red;
    char ch = 'z';
    float fl = 0.1f;
    int* np = nullptr;
    int (*fp)(int, int) = add;
    std::map<int, std::string> byid{{1, "a"}, {2, "b"}};
    std::set<double> st{1.0, 2.5};
    std::optional<int> none;
    std::optional<std::string> some = "s";
    std::pair<std::string, bool> pr{"k", true};
    std::vector<bool> bits{true, false};
    char buf[8] = "hey";
    auto lam = [](int v) { return v; };
    std::unique_ptr<int> up(new int(4));
    V(pt); V(op); V(color); V(ch); V(fl); V(np); V(fp); V(byid); V(st); V(none); V(some);
    V(pr); V(bits); V(buf); V(lam); V(up);
    return lam(add(op.y, 0)) - 1;
}
"""


def test_values_of_every_cpp_kind(tmp_path: Path) -> None:
    """Beyond the guard vectors: operator<< text, type names, enums, char, floats, null
    pointers, function pointers, maps with number keys, sets, optional, pairs, bit vectors,
    char arrays, lambdas (not their bool conversion), smart pointers."""
    shutil.copy2(language.get("cpp").folder / "runtime" / RUNTIME, tmp_path / RUNTIME)
    (tmp_path / "v.cpp").write_text(VALUES, "utf-8")
    exe = gxx(["v.cpp"], tmp_path / "v", tmp_path)
    run = run_program([str(exe)], tmp_path, events=tmp_path / "ev.jsonl")
    assert (run.returncode, run.stderr) == (0, "")
    values = {e["name"]: e["value"] for e in read_events(tmp_path / "ev.jsonl")}
    assert values == {
        "pt": "Pt(3)",
        "op": "Opaque",
        "color": 2,
        "ch": "z",
        "fl": 0.1,
        "np": None,
        "fp": "int (*)(int, int)",
        "byid": {"1": "a", "2": "b"},
        "st": [1.0, 2.5],
        "none": None,
        "some": "s",
        "pr": ["k", True],
        "bits": [True, False],
        "buf": "hey",
        "lam": "main()::<lambda(int)>",
        "up": "std::unique_ptr<int>",
    }
