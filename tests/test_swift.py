"""Swift: no Swift toolchain can be installed here, so these tests check what can be checked
without one: golden before/after files, that every result re-parses with no new syntax errors,
which functions are instrumented or skipped and why, idempotency and byte-exact removal."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from guards import GUARDS, KINDS
from helpers import EXAMPLES, ROOT, line_of, run_cli, tree
from telemetry_inject.core import analyze, language, plan

FIXTURES = ROOT / "tests" / "fixtures" / "swift"
RUNTIME = "_telemetry_utils.swift"
ENTRY = re.compile(
    r'let _tel_s = _telEnter\(#"(?P<fn>"[^#]*")"#, #"(?P<file>"[^#]*")"#, (?P<line>\d+)\)'
)


def instrument(root: Path, *extra: str) -> dict:
    out = run_cli(".", "--in-place", "--jobs", "1", "--no-cache", "--json", "-v", *extra, cwd=root)
    return json.loads(out.stdout)


def parses_cleanly(path: Path) -> bool:
    spec = language.get("swift")
    return not analyze.parse(spec, path.read_bytes()).root_node.has_error


def entries(path: Path) -> list[tuple[str, str, int]]:
    """(fn, file, line) of every entry statement, decoded from its JSON literals."""
    return [
        (json.loads(m["fn"]), json.loads(m["file"]), int(m["line"]))
        for m in ENTRY.finditer(path.read_text("utf-8"))
    ]


@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_edge_cases_match_the_golden_file_and_re_parse(tmp_path: Path, eol: str) -> None:
    text = (FIXTURES / "edge.input.swift").read_text("utf-8").replace("\n", eol)
    out = tmp_path / "edge.swift"
    out.write_bytes(text.encode("utf-8"))
    report = instrument(tmp_path)
    assert report["failures"] == []
    golden = (FIXTURES / "edge.expected.swift").read_text("utf-8").replace("\n", eol)
    got = out.read_bytes().decode("utf-8")
    if eol != "\n":  # stamps hash the original text, EOLs included
        got, golden = (re.sub(r"telemetry-inject:[0-9a-f]{8}", "STAMP", t) for t in (got, golden))
    assert got == golden
    assert parses_cleanly(out) and parses_cleanly(tmp_path / RUNTIME)
    skipped = {n.split(": ")[1]: n.split(": skipped: ")[1] for n in report["skipped_functions"]}
    implicit = "its single expression is an implicit return, which an entry statement would end"
    assert skipped == {
        "emptyBody": "an empty body: its `defer` would run at once (and Swift warns about it)",
        "emptyLines": "an empty body: its `defer` would run at once (and Swift warns about it)",
        "implicit": implicit,
        "implicitOverLines": implicit,
        "ifExpression": implicit,
        "Suit.label": implicit,
        "Greeting.lines": "a result-builder function: its body is a DSL, not statements",
    }
    source = FIXTURES / "edge.input.swift"
    found: dict[str, int] = {}
    for fn, _file, line in entries(out):
        found.setdefault(fn, line)
    for fn, needle in {
        "unicodé": "func unicodé()",
        "outer.inner": "func inner(",
        "Square.init": "init(side: Int)",
        "Box.deinit": "deinit {",
        "Box.contains": "func contains(",
        "Counter.increment": "func increment()",
        "debugOnly": "func debugOnly()",
    }.items():
        assert found[fn] == line_of(source, needle), fn
    again = instrument(tmp_path)
    assert (again["changed"], again["instrumented"], again["failures"]) == (0, 0, [])
    run_cli("strip", tmp_path, "--in-place", "--no-cache")
    assert out.read_bytes() == text.encode("utf-8")
    assert not (tmp_path / RUNTIME).exists()


def test_example_is_instrumented_re_parses_and_strips_back(tmp_path: Path) -> None:
    src = EXAMPLES / "swift"
    out = tmp_path / "swift"
    shutil.copytree(src, out)
    report = instrument(out)
    assert report["failures"] == []
    demo = out / "Sources" / "Demo"
    # One runtime file per module directory; Package.swift is a manifest with no functions.
    assert sorted(p.name for p in demo.iterdir()) == ["Cart.swift", RUNTIME, "main.swift"]
    assert (out / "Package.swift").read_bytes() == (src / "Package.swift").read_bytes()
    for path in demo.iterdir():
        assert parses_cleanly(path), path.name
    got = {(fn, file) for path in demo.iterdir() for fn, file, _line in entries(path)}
    main, cart = "Sources/Demo/main.swift", "Sources/Demo/Cart.swift"
    assert got == {
        ("square", main), ("squares", main), ("safeCheckout", main),
        ("main", main), ("Cart.init", cart), ("Cart.describe", cart), ("Cart.add", cart),
        ("Cart.names", cart), ("Cart.subtotal", cart), ("Cart.subtotal.discounted", cart),
        ("Cart.checkout", cart), ("Cart.reserve", cart),
    }  # fmt: skip
    skipped = sorted(n.split(": skipped: ")[0] for n in report["skipped_functions"])
    assert skipped == [
        f"{cart}:{line_of(src / cart, 'func isEmpty()')}: Cart.isEmpty",
        f"{main}:{line_of(src / main, 'func cube(')}: cube",
        f"{main}:{line_of(src / main, 'func noop()')}: noop",
    ]
    run_cli("strip", out, "--in-place", "--no-cache")
    assert tree(out) == tree(src)


def test_runtime_declares_what_the_entry_line_calls() -> None:
    """No compiler: check the runtime's shape the instrumented code relies on."""
    spec = language.get("swift")
    (runtime,) = plan.runtime_files(spec, "tel", "Sources/Demo/main.swift", {})
    assert runtime.path == f"Sources/Demo/{RUNTIME}"
    text = runtime.text
    assert text.splitlines()[0].startswith("// Generated by telemetry-inject")
    assert not analyze.parse(spec, text.encode()).root_node.has_error
    # @usableFromInline: callable from @inlinable functions; the names the snippet uses.
    assert "@usableFromInline\ninternal func _telEnter(_ name: StaticString," in text
    assert "@usableFromInline\ninternal func _telExit(_ call: _TelCall)" in text
    assert "@usableFromInline\ninternal struct _TelCall" in text
    for needle in ('getenv("TELEMETRY_INJECT")', 'getenv("TELEMETRY_INJECT_OUT")', "atexit"):
        assert needle in text
    snippet = spec.profile("tel").snippets["body_start"]
    assert "_telEnter(#" in snippet and "defer { _telExit(_tel_s) }" in snippet


GUARD_DRIVER = """// The runtime called as the probes call it (no Swift toolchain: parsed only).
func runLoop(_ n: Int) {
    let __tel_l1_1 = _telLoop(#""runLoop""#, #""driver.swift""#, 3, "for")
    for i in 0..<n {
        if __tel_l1_1.tick() { _telIter(__tel_l1_1, ("i", i)) }
    }
}

func call(_ fn: StaticString, _ sleepMs: Int) {
    let _tel_s = _telEnter(fn, #""d.swift""#, 10, ("ms", sleepMs)); defer { _telExit(_tel_s) }
    if sleepMs > 0 {
        usleep(UInt32(sleepMs * 1000))
    }
}

func values() {
    let items: [Any?] = [1, "two", nil]
    _telVar(#""values""#, #""driver.swift""#, 18, "items", items)
    let mapping: [String: Any] = ["a": 1, "b": [true]]
    _telVar(#""values""#, #""driver.swift""#, 20, "mapping", mapping)
    let nothing: Int? = nil
    _telVar(#""values""#, #""driver.swift""#, 22, "nothing", nothing)
}
"""


def test_runtime_has_every_guard_and_what_the_probes_call(tmp_path: Path) -> None:
    """No compiler: the guards are read from the environment and the probe API is declared."""
    spec = language.get("swift")
    (runtime,) = plan.runtime_files(spec, "tel", "main.swift", {})
    text = runtime.text
    names = {name for kind in KINDS for case in GUARDS[kind] for name in case["env"]}
    names |= {"TELEMETRY_INJECT_MAX_LEN", "TELEMETRY_INJECT_REDACT", "TELEMETRY_INJECT_OUT"}
    for name in sorted(names):
        assert f'"{name}"' in text, name
    for needle in (
        "internal func _telEnter(_ name: StaticString, _ file: StaticString, _ line: Int, "
        "_ args: (String, Any?)...) -> _TelCall",
        "internal func _telLoop(",
        "internal final class _TelLoop",
        "func tick() -> Bool",
        "internal func _telIter(_ loop: _TelLoop, _ vars: (String, Any?)...)",
        "internal func _telVar(",
        "password,passwd,secret,token,apikey,api_key,private_key,auth,credential,cookie,session",
    ):
        assert needle in text, needle
    (tmp_path / RUNTIME).write_text(text, "utf-8")
    (tmp_path / "driver.swift").write_text(GUARD_DRIVER, "utf-8")
    assert parses_cleanly(tmp_path / RUNTIME) and parses_cleanly(tmp_path / "driver.swift")


def test_what_is_found_and_what_is_not() -> None:
    spec = language.get("swift")
    source = b"""protocol P { func req() -> Int }
struct S {
    var computed: Int { 1 }
    subscript(i: Int) -> Int { return i }
    init() { print(1) }
    func m() { let c = { (a: Int) in print(a) }; c(1) }
    static func + (l: S, r: S) -> S { return l }
}
"""
    found = [str(f.id) for f in analyze.analyze(spec, source).functions]
    # Requirements, accessors, subscripts and closures are not functions here; nor (a gap)
    # operator functions, whose names the pattern does not take.
    assert found == ["S.init", "S.m"]


PROBES = "function,loop,var,args"
LOOP = re.compile(r"let (__tel_l\d+_\d+) = _telLoop\(")
ITER = re.compile(
    r"if (__tel_l\d+_\d+)\.tick\(\) \{ _telIter\((__tel_l\d+_\d+)(, \(\"\w+\", \w+\))*\) \}"
)


@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_probes_match_the_golden_file_re_parse_and_strip_back(tmp_path: Path, eol: str) -> None:
    text = (FIXTURES / "probes.input.swift").read_text("utf-8").replace("\n", eol)
    out = tmp_path / "probes.swift"
    out.write_bytes(text.encode("utf-8"))
    report = instrument(tmp_path, "--probes", PROBES)
    assert report["failures"] == [] and report["instrumented"] == 7
    golden = (FIXTURES / "probes.expected.swift").read_text("utf-8").replace("\n", eol)
    got = out.read_bytes().decode("utf-8")
    if eol != "\n":  # stamps hash the original text, EOLs included
        got, golden = (re.sub(r"telemetry-inject:[0-9a-f]{8}", "STAMP", t) for t in (got, golden))
    assert got == golden
    assert parses_cleanly(out)
    skipped = {n.split(": ")[1]: n.split(": skipped: ")[1] for n in report["skipped_functions"]}
    assert sorted(skipped) == ["built", "implicit", "single"]
    lines = got.split(eol)
    # Each loop's state is declared once, before the loop (or its label), and only used inside.
    declared = [m[1] for line in lines if (m := LOOP.search(line))]
    iterated = [m[1] for line in lines if (m := ITER.search(line))]
    assert declared == iterated and len(declared) == 8
    for n, line in enumerate(lines):
        if LOOP.search(line):
            nxt = lines[n + 1].strip()
            assert nxt.startswith(("for ", "while ", "repeat ", "outer:", "rows:")), nxt
    # Nothing in closures, nor after `async let` / `lazy var`, nor in implicit returns; the
    # labelled loops keep their labels right before them.
    closures = ("let twice", "for c in w", "let inClosure", "let deeper")
    for needle in (*closures, "async let late", "lazy var expensive", "x + 1 }"):
        at = next(n for n, line in enumerate(lines) if needle in line)
        assert "telemetry-inject" not in lines[at] + lines[at + 1], needle
    assert "    let __tel_l0_3 = _telLoop(" in lines[lines.index("    rows:") - 1]
    # Parameters: closures and closure typealiases left out; values as ("name", value) tuples.
    assert '("words", words), ("limit", limit)); defer' in got
    assert '"each"' not in got and '"transform"' not in got
    # The iteration call is the first thing in each loop body: the line right after its `{`,
    # or right after the `{` on the line of a one-line body.
    for n, line in enumerate(lines):
        if ITER.search(line):
            head, _sep, _rest = line.partition("if __tel_l")
            if head.strip():
                assert re.search(r"\{/\*(telemetry-inject:\w+|STAMP)\{\*/$", head), line
            else:
                assert lines[n - 1].rstrip().endswith("{"), lines[n - 1]
    # Instrumenting again changes nothing; strip restores every byte and removes the runtime.
    again = instrument(tmp_path, "--probes", PROBES)
    assert (again["changed"], again["failures"]) == (0, [])
    run_cli("strip", tmp_path, "--in-place", "--no-cache")
    assert out.read_bytes() == text.encode("utf-8")
    assert not (tmp_path / RUNTIME).exists()
