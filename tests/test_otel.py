"""The `otel` profile end to end: instrument a small program in each language that has an
OpenTelemetry API package, run it with the real toolchain under a harness that configures the
SDK with its in-memory exporter, and check the spans (names, nesting, attributes, error status
and recorded exception, loop and var events); then strip the program back to its exact bytes.

Every harness prints the finished spans as one JSON array of
{name, trace, id, parent, status, message, attributes, events: [{name, attributes}]}.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT, require, run_cli, run_program, tree
from telemetry_inject.core import language

TOOLCHAINS = ROOT / "tests" / "toolchains"
NODE_MODULES = TOOLCHAINS / "node_modules"
TSC = NODE_MODULES / ".bin" / "tsc"
CACHE = ROOT / "tests" / ".cache"
FIXTURES = ROOT / "tests" / "fixtures" / "otel"
GO_CACHE = CACHE / "go"
JAVA_CACHE = CACHE / "otel-java"
PROBES = "function,loop,var,args,return"

Span = dict[str, Any]


@dataclass
class Program:
    """A program of one language: its sources, the harness added after instrumenting, and what
    its spans must be."""

    lang: str
    files: dict[str, str]  # the program's own sources (instrumented)
    harness: dict[str, str]  # added after instrumenting: sets up the SDK, runs, prints spans
    # span name -> (calls, parent span name or None)
    calls: dict[str, tuple[int, str | None]]
    where: dict[str, tuple[str, str]]  # span name -> (file, text on its definition's line)
    failing: str  # the span that ends with an error
    error_type: str  # the exception's type as the SDK records it (exception.type ends with it)
    looping: str  # the span with the loop over the quantities 4, -1, 2
    runtime: str  # the runtime file written beside the instrumented ones
    extra: dict[str, str] = field(default_factory=dict)  # files neither instrumented nor run


def _files(lang: str, part: str) -> dict[str, str]:
    """A program's files under tests/fixtures/otel/LANG/PART, by path."""
    root = FIXTURES / lang / part
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {p.relative_to(root).as_posix(): p.read_text("utf-8") for p in files}


# -- the programs ---------------------------------------------------------------------------
# Sources in tests/fixtures/otel/LANG/: program/ is instrumented, harness/ is added after
# instrumenting (sets up the SDK, runs the program, prints the spans), extra/ is neither.

PYTHON = Program(
    lang="python",
    files=_files("python", "program"),
    harness=_files("python", "harness"),
    calls={
        "main": (1, None),
        "fetch_rate": (1, "main"),
        "Orders.__init__": (1, "main"),
        "Orders.total": (1, "main"),
        "quantities": (1, "Orders.total"),
        "Orders.price": (3, "Orders.total"),
    },
    where={
        "main": ("main.py", "def main("),
        "fetch_rate": ("main.py", "async def fetch_rate("),
        "Orders.price": ("shop/orders.py", "def price("),
        "Orders.total": ("shop/orders.py", "def total("),
        "quantities": ("shop/orders.py", "def quantities("),
    },
    failing="Orders.price",
    error_type="BadQuantity",
    looping="Orders.total",
    runtime="_telemetry_otel.py",
)

# JavaScript and TypeScript run the same program.
TS_CALLS: dict[str, tuple[int, str | None]] = {
    "main": (1, None),
    "fetchRate": (1, "main"),
    "Orders.constructor": (1, "main"),
    "Orders.total": (1, "main"),
    "quantities": (1, "Orders.total"),
    "Orders.price": (3, "Orders.total"),
    "BadQuantity.constructor": (1, "Orders.price"),
}

JAVASCRIPT = Program(
    lang="javascript",
    files=_files("javascript", "program"),
    harness=_files("javascript", "harness"),
    calls={**TS_CALLS, "format": (1, "main")},  # format.mjs: an ES module
    where={
        "main": ("main.js", "async function main("),
        "fetchRate": ("main.js", "async function fetchRate("),
        "Orders.price": ("shop/orders.js", "price(qty) {"),
        "Orders.total": ("shop/orders.js", "total(raw) {"),
        "quantities": ("shop/orders.js", "function quantities("),
    },
    failing="Orders.price",
    error_type="BadQuantity",
    looping="Orders.total",
    runtime="_telemetry_otel.cjs",
)

TYPESCRIPT = Program(
    lang="typescript",
    files=_files("typescript", "program"),
    harness=_files("typescript", "harness"),
    calls=TS_CALLS,
    where={
        "main": ("src/main.ts", "export async function main("),
        "fetchRate": ("src/main.ts", "async function fetchRate("),
        "Orders.price": ("src/orders.ts", "price(qty: number)"),
        "Orders.total": ("src/orders.ts", "total(raw: string)"),
        "quantities": ("src/orders.ts", "function quantities("),
    },
    failing="Orders.price",
    error_type="BadQuantity",
    looping="Orders.total",
    runtime="_telemetry_otel.ts",
    extra=_files("typescript", "extra"),
)

GO = Program(
    lang="go",
    files=_files("go", "program"),
    harness=_files("go", "harness"),
    calls={
        "run": (1, None),
        "fetchRate": (1, "run"),
        "New": (1, "run"),
        "Orders.Total": (1, "run"),
        "Quantities": (1, "Orders.Total"),
        "Orders.tryPrice": (3, "Orders.Total"),
        "Orders.Price": (
            3,
            "Orders.tryPrice",
        ),  # The deferred literal that recovers runs while tryPrice unwinds: its child.
        "Orders.tryPrice.<anonymous>": (3, "Orders.tryPrice"),
    },
    where={
        "run": ("main.go", "func run("),
        "New": ("orders/orders.go", "func New("),
        "Orders.Price": ("orders/orders.go", "func (o *Orders) Price("),
        "Orders.Total": ("orders/orders.go", "func (o *Orders) Total("),
    },
    failing="Orders.Price",
    error_type="BadQuantity",
    looping="Orders.Total",
    runtime="telemetry_inject_otel.go",
    extra=_files("go", "extra"),
)

JAVA = Program(
    lang="java",
    files=_files("java", "program"),
    harness=_files("java", "harness"),
    calls={
        "Main.run": (1, None),
        "Main.fetchRate": (1, "Main.run"),
        "Orders.Orders": (1, "Main.run"),
        "Orders.total": (1, "Main.run"),
        "Orders.quantities": (1, "Orders.total"),
        "Orders.price": (3, "Orders.total"),
        "BadQuantity.BadQuantity": (1, "Orders.price"),
    },
    where={
        "Main.run": ("src/shop/Main.java", "public static void run("),
        "Orders.price": ("src/shop/Orders.java", "public int price("),
        "Orders.total": ("src/shop/Orders.java", "public int total("),
    },
    failing="Orders.price",
    error_type="BadQuantity",
    looping="Orders.total",
    runtime="TelemetryInjectOtel.java",
)


# -- running them ---------------------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")


def _line_of(text: bytes, needle: str) -> int:
    for n, line in enumerate(text.decode("utf-8").splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(f"{needle!r} not found")


def _probes_ready(lang: str) -> bool:
    """Whether the language has loop and assignment sites (probes.scm) yet."""
    return language.get(lang).find("probes.scm") is not None


def _instrument(program: Program, root: Path, cache: Path) -> dict[str, bytes]:
    """Write the program, instrument it with the otel profile, check a second run changes
    nothing, add the harness; returns the original sources."""
    _write(root, program.files)
    original = tree(root)
    run_cli(root, "--profile", "otel", "--probes", PROBES, "--in-place", "--cache-dir", cache)
    instrumented = tree(root)
    for name in program.files:
        assert instrumented[name] != original[name] or not original[name].strip(), name
    runtimes = [n for n in instrumented if n.endswith(program.runtime)]
    assert runtimes, f"no {program.runtime} written"
    again = run_cli(root, "--profile", "otel", "--probes", PROBES, "--in-place", "--no-cache")
    assert tree(root) == instrumented, again.stdout
    _write(root, program.harness)
    _write(root, program.extra)
    return original


def _strip_back(program: Program, root: Path, original: dict[str, bytes]) -> None:
    """`telemetry-inject strip` gives back every original byte and removes the runtimes."""
    run_cli("strip", root, "--in-place")
    after = tree(root)
    for name, data in original.items():
        assert after[name] == data, f"{name} differs after strip"
    assert not [n for n in after if n.endswith(program.runtime)]


def _spans(proc: subprocess.CompletedProcess[str]) -> list[Span]:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    line = next(x for x in reversed(proc.stdout.splitlines()) if x.startswith("["))
    spans = json.loads(line)
    assert isinstance(spans, list) and spans, proc.stdout
    for s in spans:  # Go writes empty lists as null
        s["events"] = s["events"] or []
        s["attributes"] = s["attributes"] or {}
    return spans


def check_spans(program: Program, original: dict[str, bytes], spans: list[Span]) -> None:
    by_id = {s["id"]: s for s in spans}
    counts = Counter(s["name"] for s in spans)
    # Every call is a span, ended on every path (the exporter only sees ended spans).
    assert {n: counts[n] for n in program.calls} == {n: c for n, (c, _) in program.calls.items()}
    # One trace, nested as the calls are.
    assert len({s["trace"] for s in spans}) == 1, "more than one trace"
    for s in spans:
        if s["name"] not in program.calls:
            continue
        want = program.calls[s["name"]][1]
        got = by_id[s["parent"]]["name"] if s["parent"] in by_id else None
        assert got == want, f"{s['name']}: parent {got}, expected {want}"
        attrs = s["attributes"]
        assert attrs["code.function"] == s["name"]
        if s["name"] in program.where:
            file, needle = program.where[s["name"]]
            assert attrs["code.filepath"] == file
            assert attrs["code.lineno"] == _line_of(original[file], needle), s["name"]
    # The failing call: status ERROR with the message, the exception recorded; no other errors.
    failed = [s for s in spans if s["status"] == "ERROR"]
    assert [s["name"] for s in failed] == [program.failing]
    assert "negative quantity: -1" in failed[0]["message"]
    exceptions = [e for e in failed[0]["events"] if e["name"] == "exception"]
    assert len(exceptions) == 1, failed[0]["events"]
    assert str(exceptions[0]["attributes"]["exception.type"]).endswith(program.error_type)
    assert "negative quantity: -1" in exceptions[0]["attributes"]["exception.message"]
    # The args probe: the parameters are attributes of the span.
    assert sorted(s["attributes"]["arg.qty"] for s in spans if s["name"] == program.failing) == [
        -1,
        2,
        4,
    ]
    ok = [s for s in spans if s["name"] == program.failing and s["status"] != "ERROR"]
    assert ok and all(not [e for e in s["events"] if e["name"] == "exception"] for s in ok)
    # Loop and var events on the looping span, where the language has those probes.
    (looping,) = [s for s in spans if s["name"] == program.looping]
    loops = [e["attributes"] for e in looping["events"] if e["name"] == "loop"]
    assigned = [e["attributes"] for e in looping["events"] if e["name"] == "var"]
    if not _probes_ready(program.lang):
        assert not loops and not assigned
        return
    assert [(a["i"], a["vars.qty"]) for a in loops] == [(0, 4), (1, -1), (2, 2)]
    assert all(isinstance(a["kind"], str) and a["kind"] for a in loops)
    assert {a["name"]: a["value"] for a in assigned}["rounded"] == 15


def test_python(tmp_path: Path) -> None:
    root = tmp_path / "app"
    original = _instrument(PYTHON, root, tmp_path / "cache")
    text = (root / "shop" / "orders.py").read_text("utf-8")
    assert '@_telo.span("Orders.price", "shop/orders.py", 12, args=True, ret=True)' in text
    proc = run_program([sys.executable, "harness.py"], root)
    assert proc.stdout.splitlines()[0] == "15"
    spans = _spans(proc)
    check_spans(PYTHON, original, spans)
    # The generator's span is current only while it runs: the prices are its siblings.
    (gen,) = [s for s in spans if s["name"] == "quantities"]
    assert [e["attributes"]["vars.part"] for e in gen["events"] if e["name"] == "loop"] == [
        "4",
        "-1",
        "2",
    ]
    # The return probe: the result is an attribute of the span.
    (total,) = [s for s in spans if s["name"] == "Orders.total"]
    assert total["attributes"]["code.return"] == 15
    (main,) = [s for s in spans if s["name"] == "main"]
    assert {e["attributes"]["name"]: e["attributes"]["value"] for e in main["events"]}[
        "rate"
    ] == 250
    # TELEMETRY_INJECT=off: the program runs untouched, no span.
    off = run_program([sys.executable, "harness.py"], root, env={"TELEMETRY_INJECT": "off"})
    assert off.returncode == 0 and json.loads(off.stdout.splitlines()[-1]) == []
    _strip_back(PYTHON, root, original)
    assert not (root / "shop" / "_telemetry_otel.py").exists()


def _node_project(root: Path) -> str:
    """The toolchain's node_modules (@opentelemetry/api, the SDK, tsc's types) beside the
    program, as an application has its dependencies; returns node."""
    node = require("node")
    if not (NODE_MODULES / "@opentelemetry" / "sdk-trace-base").is_dir():
        pytest.fail("the OpenTelemetry packages are missing; run: npm ci --prefix tests/toolchains")
    (root / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    return node


def test_javascript(tmp_path: Path) -> None:
    root = tmp_path / "app"
    original = _instrument(JAVASCRIPT, root, tmp_path / "cache")
    node = _node_project(root)
    text = (root / "shop" / "orders.js").read_text("utf-8")
    assert 'var __telo = typeof require === "function" ? require("./_telemetry_otel.cjs")' in text
    esm = (root / "format.mjs").read_text("utf-8")
    assert 'import __telo from "./_telemetry_otel.cjs";  // telemetry-inject\n' in esm
    proc = run_program([node, "harness.js"], root)
    assert proc.stdout.splitlines()[0] == "15", proc.stderr
    check_spans(JAVASCRIPT, original, _spans(proc))
    off = run_program([node, "harness.js"], root, env={"TELEMETRY_INJECT": "off"})
    assert off.returncode == 0 and json.loads(off.stdout.splitlines()[-1]) == []
    _strip_back(JAVASCRIPT, root, original)


def test_typescript(tmp_path: Path) -> None:
    root = tmp_path / "app"
    original = _instrument(TYPESCRIPT, root, tmp_path / "cache")
    node = _node_project(root)
    if not TSC.is_file():
        pytest.fail("tsc is missing; run: npm ci --prefix tests/toolchains")
    text = (root / "src" / "main.ts").read_text("utf-8")
    assert 'import * as __telo from "./_telemetry_otel.js";  // telemetry-inject\n' in text
    build = subprocess.run(
        [node, str(TSC), "-p", str(root)], capture_output=True, text=True, timeout=300
    )
    assert build.returncode == 0, build.stdout + build.stderr
    proc = run_program([node, "harness.mjs"], root)
    assert proc.stdout.splitlines()[0] == "15", proc.stderr
    check_spans(TYPESCRIPT, original, _spans(proc))
    shutil.rmtree(root / "dist")
    _strip_back(TYPESCRIPT, root, original)


def test_go(tmp_path: Path) -> None:
    exe = require("go")
    env = {
        "GOPATH": str(GO_CACHE / "path"),
        "GOMODCACHE": str(GO_CACHE / "mod"),
        "GOCACHE": str(GO_CACHE / "build"),
        "GOFLAGS": "-modcacherw -mod=mod",
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
    }

    def go(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        proc = run_program([exe, *args], root, env={**env, **kw.pop("env", {})}, timeout=600)
        assert proc.returncode == 0, f"go {' '.join(args)}:\n{proc.stdout}{proc.stderr}"
        return proc

    root = tmp_path / "app"
    original = _instrument(GO, root, tmp_path / "cache")
    assert (root / "orders" / GO.runtime).read_text("utf-8").count("package orders\n") == 1
    go("mod", "tidy")
    go("vet", "./...")
    go("build", "-o", str(tmp_path / "shop"), ".")
    proc = run_program([str(tmp_path / "shop")], root)
    assert proc.stdout.splitlines()[0] == "15", proc.stderr
    check_spans(GO, original, _spans(proc))
    off = run_program([str(tmp_path / "shop")], root, env={"TELEMETRY_INJECT": "off"})
    assert off.returncode == 0 and off.stdout.splitlines()[-1] == "null"
    _strip_back(GO, root, original)


def _java_classpath() -> str:
    """opentelemetry-api, -sdk and -sdk-testing with their dependencies from Maven Central,
    through the local repository (~/.m2), resolved once."""
    JAVA_CACHE.mkdir(parents=True, exist_ok=True)
    pom = (FIXTURES / "java" / "pom.xml").read_text("utf-8")
    digest = hashlib.sha256(pom.encode()).hexdigest()[:12]  # a new pom resolves anew
    listing = JAVA_CACHE / f"classpath-{digest}.txt"
    with (JAVA_CACHE / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        jars = listing.read_text("utf-8").split(os.pathsep) if listing.is_file() else []
        if not jars or not all(Path(j).is_file() for j in jars):
            (JAVA_CACHE / "pom.xml").write_text(pom, "utf-8")
            proc = subprocess.run(
                [require("mvn"), "-q", "-B", "-f", str(JAVA_CACHE / "pom.xml"),
                 "dependency:build-classpath", f"-Dmdep.outputFile={listing}"],
                capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            assert proc.returncode == 0, f"mvn dependency:build-classpath:\n{proc.stdout}"
            jars = listing.read_text("utf-8").split(os.pathsep)
    assert any("opentelemetry-sdk-testing" in j for j in jars), jars
    return os.pathsep.join(jars)


def test_java(tmp_path: Path) -> None:
    javac, java = require("javac"), require("java")
    classpath = _java_classpath()
    root = tmp_path / "app"
    original = _instrument(JAVA, root, tmp_path / "cache")
    runtime = (root / "src" / "shop" / JAVA.runtime).read_text("utf-8")
    assert runtime.splitlines()[1] == "package shop;"
    sources = sorted(str(p) for p in (root / "src").rglob("*.java"))
    classes = tmp_path / "classes"
    build = subprocess.run(
        [javac, "-encoding", "UTF-8", "-Xlint:all,-serial", "-Werror", "-cp", classpath,
         "-d", str(classes), *sources],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    cmd = [java, "-cp", os.pathsep.join([str(classes), classpath]), "shop.Harness"]
    proc = run_program(cmd, root)
    assert proc.stdout.splitlines()[0] == "15", proc.stderr
    check_spans(JAVA, original, _spans(proc))
    off = run_program(cmd, root, env={"TELEMETRY_INJECT": "off"})
    assert off.returncode == 0 and off.stdout.splitlines()[-1] == "[]"
    _strip_back(JAVA, root, original)


def test_languages_without_the_profile_are_left_alone(tmp_path: Path) -> None:
    """A tree with a language the profile does not cover: its files stay as they are, listed
    with the reason; the others are instrumented."""
    _write(
        tmp_path,
        {
            "app/price.py": "def price(qty):\n    return qty * 250\n",
            "app/native.c": "int price(int qty) {\n    return qty * 250;\n}\n",
        },
    )
    c_before = (tmp_path / "app" / "native.c").read_bytes()
    proc = run_cli(tmp_path / "app", "--profile", "otel", "--in-place", "--no-cache", "-v")
    assert (tmp_path / "app" / "native.c").read_bytes() == c_before
    assert "native.c:1: price: skipped: the otel profile is not available for c" in proc.stderr
    assert "@_telo.span(" in (tmp_path / "app" / "price.py").read_text("utf-8")
