"""Go end to end: instrument modules with the CLI, vet, build and run them with the real toolchain,
and check their output, events, idempotency and byte-exact removal."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import EXAMPLES, ROOT, require, run_cli, run_program
from telemetry import VECTORS, check_pairs, check_vectors, read_events
from telemetry_inject.core import analyze, language, plan

FIXTURES = ROOT / "tests" / "fixtures" / "go"
# Module, build and download caches outlive the test run so reruns are fast.
CACHE = ROOT / "tests" / ".cache" / "go"
UUID = "github.com/google/uuid@v1.6.0"
RUNTIME = "telemetry_inject_rt.go"

Go = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def go() -> Go:
    """The go command with test-local caches; fails with its output when it fails."""
    exe = require("go")
    env = {
        "GOPATH": str(CACHE / "path"),
        "GOMODCACHE": str(CACHE / "mod"),
        "GOCACHE": str(CACHE / "build"),
        "GOFLAGS": "-modcacherw",
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
    }

    def run(*args: str, cwd: Path, events: Path | None = None, check: bool = True):
        proc = run_program([exe, *args], cwd, events=events, env=env)
        if check and proc.returncode != 0:
            raise AssertionError(f"go {' '.join(args)} -> {proc.returncode}\n{proc.stderr}")
        return proc

    return run


def _build(go: Go, module: Path, out: Path) -> Path:
    go("build", "-o", str(out), ".", cwd=module)
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


def _module(tmp: Path, name: str, main: str) -> Path:
    root = tmp / name
    root.mkdir(parents=True)
    (root / "go.mod").write_text(f"module {name}\n\ngo 1.22\n", "utf-8")
    (root / "main.go").write_text(main, "utf-8")
    return root


def test_example_behaves_the_same_reports_every_call_and_strips_exactly(
    go: Go, instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    src = EXAMPLES / "go"
    plain = run_program([str(_build(go, src, tmp_path / "plain"))], src)
    assert plain.returncode == 0, plain.stderr
    out = instrument_copy(src)
    assert (out / RUNTIME).read_text("utf-8").count("\npackage main\n") == 1
    assert "\npackage shop\n" in (out / "shop" / RUNTIME).read_text("utf-8")
    go("vet", "./...", cwd=out)
    events_file = tmp_path / "events.jsonl"
    run = run_program([str(_build(go, out, tmp_path / "instr"))], out, events=events_file)
    assert run.returncode == 0, run.stderr
    assert run.stdout == plain.stdout
    assert run.stderr == plain.stderr == ""
    events = read_events(events_file)
    calls = check_pairs(events)
    expected = {
        "init": 1, "main": 1, "noop": 1, "Cart.Add": 3, "reserve": 3, "Stack.Push": 2,
        "Cart.Subtotal": 2, "Cart.Subtotal.discounted": 4, "Item.Total": 4, "Cart.Checkout": 2,
        "safeCheckout": 2, "safeCheckout.<anonymous>": 2, "main.<anonymous>": 2, "squares": 1,
        "squares.<anonymous>": 4, "square": 4, "Cart.Names": 1, "Cart.History": 1,
        "Stack.Items": 1,
    }  # fmt: skip
    assert {fn: calls[fn] for fn in expected} == expected
    assert calls["Cart.Names.<anonymous>"] >= 1  # sort.Slice's less function
    assert "Stack.Len" not in calls
    # The panic is recorded where it happens; the caller's own recover() still gets it.
    errors = [(e["fn"], e["error"]) for e in events if e["ev"] == "error"]
    assert errors == [("Cart.Checkout", "string: checkout of an empty cart")]
    cart, main = src / "shop" / "cart.go", src / "main.go"
    where = {
        "Cart.Add": (cart, "func (c *Cart) Add("),
        "Stack.Push": (cart, "func (s *Stack[T]) Push("),
        "Item.Total": (cart, "func (i Item) Total()"),
        "Cart.Subtotal.discounted": (cart, "discounted := func"),
        "squares.<anonymous>": (main, "go func(i int)"),
        "main": (main, "func main()"),
        "init": (main, "func init()"),
    }
    for fn, (path, needle) in where.items():
        event = _first(events, fn)
        assert (event["file"], event["line"]) == (
            path.relative_to(src).as_posix(),
            _line_of(path, needle),
        ), fn
    assert len({e["pid"] for e in events}) == 1
    # Instrumenting again changes nothing; strip restores every byte and removes the runtimes.
    cache = tmp_path / "cache"
    again = json.loads(run_cli(out, "--in-place", "--json", "--cache-dir", cache).stdout)
    assert (again["changed"], again["instrumented"], again["failures"]) == (0, 0, [])
    run_cli("strip", out, "--in-place", "--cache-dir", cache)
    assert _tree(out) == _tree(src)


def test_events_go_to_stderr_by_default_and_off_is_silent(
    go: Go, instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    out = instrument_copy(EXAMPLES / "go")
    exe = str(_build(go, out, tmp_path / "demo"))
    default = run_program([exe], out)
    assert default.returncode == 0
    stream = tmp_path / "stderr.jsonl"
    stream.write_text(default.stderr, "utf-8")
    assert check_pairs(read_events(stream))["Cart.Add"] == 3
    for value in ("off", "0", "FALSE", "no"):
        events_file = tmp_path / f"off-{value}.jsonl"
        off = run_program([exe], out, events=events_file, env={"TELEMETRY_INJECT": value})
        assert (off.returncode, off.stdout, off.stderr) == (0, default.stdout, "")
        assert not events_file.exists()


VECTOR_DRIVER = r"""package main

import (
	"encoding/json"
	"errors"
	"os"
	"strconv"
)

type vector struct {
	Fn     string `json:"fn"`
	File   string `json:"file"`
	Line   int    `json:"line"`
	Raises bool   `json:"raises"`
}

// call is what an instrumented function looks like; fn, file and line arrive at run time here.
func call(v vector) {
	defer _telExit(_telEnter(v.Fn, v.File, v.Line))
	if v.Raises {
		panic(errors.New("vector " + v.Fn))
	}
}

func main() {
	var vectors []vector
	switch os.Args[1] {
	case "vectors":
		var doc struct{ Cases []vector }
		data, err := os.ReadFile(os.Args[2])
		if err == nil {
			err = json.Unmarshal(data, &doc)
		}
		if err != nil {
			panic(err)
		}
		vectors = doc.Cases
	case "odd":
		vectors = []vector{{Fn: os.Args[2], File: "odd\x01\x7f.go", Line: 1}}
	case "many": // more call sites than the runtime's table holds, each called twice
		n, _ := strconv.Atoi(os.Args[2])
		for i := 0; i < 2*n; i++ {
			fn := "f" + strconv.Itoa(i%n%7)
			vectors = append(vectors, vector{Fn: fn, File: "m.go", Line: i%n + 1})
		}
	}
	for _, v := range vectors {
		func() {
			defer func() { _ = recover() }()
			call(v)
		}()
	}
}
"""


def test_runtime_passes_the_shared_vectors(go: Go, tmp_path: Path) -> None:
    spec = language.get("go")
    root = _module(tmp_path, "vectors", VECTOR_DRIVER)
    for extra in plan.runtime_files(spec, "tel", "main.go", {"package": "main"}):
        (root / extra.path).write_text(extra.text, "utf-8")
    go("vet", ".", cwd=root)
    exe = str(_build(go, root, tmp_path / "driver"))
    events_file = tmp_path / "events.jsonl"
    vectors = str(ROOT / "tests" / "vectors" / "events.json")
    run = run_program([exe, "vectors", vectors], root, events=events_file)
    assert run.returncode == 0, run.stderr
    events = read_events(events_file)
    check_vectors(events)
    raising = [c["fn"] for c in VECTORS["cases"] if c["raises"]]
    assert [e["error"] for e in events if e["ev"] == "error"] == [
        f"*errors.errorString: vector {fn}" for fn in raising
    ]
    # Bytes that are not UTF-8 and control characters still make valid JSON.
    odd = tmp_path / "odd.jsonl"
    run = subprocess.run(
        [exe.encode(), b"odd", b"bad\xffname\x01"],
        cwd=root,
        env={
            **{k: v for k, v in os.environ.items() if k != "TELEMETRY_INJECT"},
            "TELEMETRY_INJECT_OUT": str(odd),
        },
        capture_output=True,
    )
    assert run.returncode == 0
    assert [(e["fn"], e["file"]) for e in read_events(odd)] == [
        ("bad\ufffdname\x01", "odd\x01\x7f.go")
    ] * 2
    # More call sites than the site table holds: each one still reports its own constants.
    many = tmp_path / "many.jsonl"
    assert run_program([exe, "many", "5000"], root, events=many).returncode == 0
    got = [(e["fn"], e["line"]) for e in read_events(many) if e["ev"] == "exit"]
    assert got == [(f"f{i % 7}", i + 1) for i in range(5000)] * 2
    # The runtime is formatted the way gofmt wants.
    unformatted = subprocess.run([require("gofmt"), "-l", "."], cwd=root, capture_output=True)
    assert (unformatted.returncode, unformatted.stdout) == (0, b"")


CRASH = """package main

import "fmt"

func inner(xs []int) int {
	return xs[len(xs)+2]
}

func outer() int { return inner([]int{1, 2, 3}) }

func main() {
	fmt.Println("before")
	fmt.Println(outer())
}
"""


def test_an_uncaught_panic_is_recorded_and_crashes_the_same_way(
    go: Go, instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    src = _module(tmp_path / "src", "crash", CRASH)
    plain = run_program([str(_build(go, src, tmp_path / "plain"))], src)
    out = instrument_copy(src)
    events_file = tmp_path / "events.jsonl"
    run = run_program([str(_build(go, out, tmp_path / "instr"))], out, events=events_file)
    assert run.returncode == plain.returncode == 2
    assert run.stdout == plain.stdout == "before\n"
    # The runtime recovers, records and panics again with the same value: the crash names it
    # first (Go 1.25+ adds " [recovered, repanicked]") and the trace still shows where it began.
    headline = plain.stderr.splitlines()[0]
    assert headline == "panic: runtime error: index out of range [5] with length 3"
    assert run.stderr.startswith(headline + " [recovered")
    assert "main.inner(" in run.stderr and "goroutine 1 [running]" in run.stderr
    events = read_events(events_file)
    check_pairs(events)
    assert [(e["ev"], e["fn"]) for e in events if e["ev"] != "enter"] == [
        ("error", "inner"), ("exit", "inner"), ("error", "outer"), ("exit", "outer"),
        ("error", "main"), ("exit", "main"),
    ]  # fmt: skip
    assert {e["error"] for e in events if e["ev"] == "error"} == {
        "runtime.boundsError: " + headline.removeprefix("panic: ")
    }


def _edge_module(tmp: Path, eol: str) -> Path:
    text = (FIXTURES / "edge.input.go").read_text("utf-8").replace("\n", eol)
    root = _module(tmp, f"edge{len(eol)}", "")
    (root / "main.go").write_bytes(text.encode("utf-8"))
    return root


@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_edge_cases_match_the_golden_file_build_and_run(go: Go, tmp_path: Path, eol: str) -> None:
    src = _edge_module(tmp_path / "src", eol)
    out = _edge_module(tmp_path / "out", eol)
    plain = run_program([str(_build(go, src, tmp_path / "plain"))], src)
    assert plain.returncode == 0, plain.stderr
    run_cli(out, "--in-place", "--jobs", "1", "--cache-dir", tmp_path / "cache")
    golden = (FIXTURES / "edge.expected.go").read_text("utf-8").replace("\n", eol)
    got = (out / "main.go").read_bytes().decode("utf-8")
    if eol != "\n":  # stamps hash the original text, EOLs included
        got, golden = (re.sub(r"telemetry-inject:[0-9a-f]{8}", "STAMP", t) for t in (got, golden))
    assert got == golden
    go("vet", ".", cwd=out)
    exe = str(_build(go, out, tmp_path / "instr"))
    events_file = tmp_path / "events.jsonl"
    run = run_program([exe], out, events=events_file)
    assert (run.returncode, run.stdout) == (0, plain.stdout)
    events = read_events(events_file)
    calls = check_pairs(events)
    expected = {
        "init": 2, "one": 400, "empty": 1, "emptyLines": 1, "Counter.Inc": 2, "Counter.Get": 1,
        "Counter.Kind": 1, "Pair.Set": 1, "Pair.String": 1, "unicodeBefore": 1, "bound": 1,
        "divide": 2, "mustPositive": 1, "tryPositive": 1, "tryPositive.<anonymous>": 1,
        "fanOut": 1, "fanOut.<anonymous>": 8, "main": 1, "Before": 1, "After": 1,
    }  # fmt: skip
    assert {fn: calls[fn] for fn in expected} == expected
    assert calls["main.<anonymous>"] >= 4  # three closures made in a loop, sort's less
    errors = [(e["fn"], e["error"]) for e in events if e["ev"] == "error"]
    assert errors == [("mustPositive", "*errors.errorString: negative: -3")]
    source = FIXTURES / "edge.input.go"
    inits = sorted(e["line"] for e in events if e["fn"] == "init" and e["ev"] == "enter")
    assert inits == [_line_of(source, "func init() {"), _line_of(source, "func init() {") + 2]
    for fn, needle in {
        "unicodeBefore": "func unicodeBefore()",
        "Pair.Set": "func (p *Pair[K, V]) Set(",
        "Counter.Kind": "func (*Counter) Kind()",
        "fanOut.<anonymous>": "go func() {",
        "bound": "var bound = func",
        "emptyLines": "func emptyLines()",
        "After": "After: func() string {",
    }.items():
        assert _first(events, fn)["line"] == _line_of(source, needle), fn
    # os.Exit runs no deferred calls: every event written so far is on disk, but the functions
    # still on the stack (here main) never get their exit event.
    exit_file = tmp_path / "exit.jsonl"
    assert run_program([exe, "exit"], out, events=exit_file).returncode == 3
    exited = read_events(exit_file)
    opened = Counter(e["fn"] for e in exited if e["ev"] == "enter")
    opened.subtract(Counter(e["fn"] for e in exited if e["ev"] == "exit"))
    assert +opened == Counter({"main": 1})
    assert len(exited) == len(events) - 1
    run_cli("strip", out, "--in-place", "--cache-dir", tmp_path / "cache")
    assert _tree(out) == _tree(src)


def test_only_functions_with_bodies_are_found() -> None:
    spec = language.get("go")
    source = b"package x\n\nfunc asm(n int) int\n\nfunc Go() { _ = func() {} }\n"
    found = [str(f.id) for f in analyze.analyze(spec, source).functions]
    assert found == ["Go", "Go.<anonymous>"]


def test_build_ignore_files_and_tests_are_left_alone(go: Go, tmp_path: Path) -> None:
    # A generator beside a library declares package main and is only run by name: instrumented,
    # it would need a runtime of another package in the library's directory.
    main = 'package main\n\nimport "example.com/gen/lib"\n\nfunc main() { println(lib.Twice(2)) }\n'
    root = _module(tmp_path, "example.com/gen", main)
    (root / "lib").mkdir()
    (root / "lib" / "lib.go").write_text(
        "package lib\n\nfunc Twice(n int) int { return 2 * n }\n", "utf-8"
    )
    for name, build in (("gen.go", "//go:build ignore"), ("gen_old.go", "// +build ignore")):
        (root / "lib" / name).write_text(f"{build}\n\npackage main\n\nfunc main() {{}}\n", "utf-8")
    (root / "lib" / "lib_test.go").write_text("package lib_test\n\nfunc helper() {}\n", "utf-8")
    before = _tree(root)
    report = json.loads(
        run_cli(root, "--in-place", "--json", "-v", "--cache-dir", tmp_path / "c").stdout
    )
    after = _tree(root)
    for name in ("lib/gen.go", "lib/gen_old.go", "lib/lib_test.go"):
        assert after[name] == before[name], name
    assert after["lib/lib.go"] != before["lib/lib.go"]
    assert "package lib\n" in after[f"lib/{RUNTIME}"].decode()
    assert any(n.startswith("lib/lib_test.go: skipped") for n in report["skipped_files"])
    events_file = tmp_path / "events.jsonl"
    run = run_program([str(_build(go, root, tmp_path / "bin"))], root, events=events_file)
    assert (run.returncode, run.stderr.strip()) == (0, "4")
    assert check_pairs(read_events(events_file)) == Counter({"main": 1, "Twice": 1})


@pytest.fixture(scope="module")
def uuid_module(go: Go, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """google/uuid from the module proxy, copied out of the module cache and made writable."""
    work = tmp_path_factory.mktemp("uuid")
    info = json.loads(go("mod", "download", "-json", UUID, cwd=work).stdout)
    dst = work / "uuid"
    shutil.copytree(info["Dir"], dst)
    for path in dst.rglob("*"):
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    dst.chmod(dst.stat().st_mode | stat.S_IWUSR)
    return dst


def test_a_real_module_passes_its_own_tests_instrumented(
    go: Go, uuid_module: Path, tmp_path: Path
) -> None:
    original = _tree(uuid_module)
    run_cli(uuid_module, "--in-place", "--jobs", "2", "--cache-dir", tmp_path / "cache")
    after = _tree(uuid_module)
    tests = [name for name in original if name.endswith("_test.go")]
    assert tests and all(after[name] == original[name] for name in tests)
    assert after["uuid.go"] != original["uuid.go"] and RUNTIME in after
    go("vet", ".", cwd=uuid_module)
    # The whole suite with telemetry on; its two monotonicity tests make 110,000 UUIDs (1.8
    # million events), so the events checked below come from a second run without them.
    whole = go("test", "-count=1", ".", cwd=uuid_module, events=Path(os.devnull))
    assert whole.stdout.startswith("ok")
    events_file = tmp_path / "events.jsonl"
    go("test", "-count=1", "-skip", "Monotonicity", ".", cwd=uuid_module, events=events_file)
    events = read_events(events_file)
    calls = Counter(e["fn"] for e in events if e["ev"] == "enter")
    for fn in ("New", "NewRandom", "Parse", "UUID.String", "NewV7", "NullUUID.Scan"):
        assert calls[fn] >= 1, fn
    check_pairs(events)
    run_cli("strip", uuid_module, "--in-place", "--cache-dir", tmp_path / "cache")
    assert _tree(uuid_module) == original
