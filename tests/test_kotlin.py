"""Kotlin end to end: instrument programs and a real library with the CLI, compile them with the
Kotlin compiler from Maven Central (run on the JDK), run them, and check their output, events,
idempotency and byte-exact removal.

kotlinc is slow to start, so every program of this module is compiled in one JVM (see
tests/toolchains/kotlin/Kotlinc.java), and classes are kept under tests/.cache/kotlin keyed by
the exact sources, flags and compiler: a second xdist worker, or a rerun, reuses them."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from guards import KINDS
from guards import cases as guard_cases
from guards import check as guard_check
from helpers import EXAMPLES, ROOT, line_of, require, run_cli, run_program, tree
from telemetry import (
    VECTORS,
    check_off,
    check_pairs,
    check_vectors,
    check_where,
    errors_of,
    first,
    read_events,
)
from telemetry_inject.core import analyze, language, plan
from telemetry_inject.core.engine import Engine, Options, is_stale

FIXTURES = ROOT / "tests" / "fixtures" / "kotlin"
TOOLCHAIN = ROOT / "tests" / "toolchains" / "kotlin"
CACHE = ROOT / "tests" / ".cache" / "kotlin"
RUNTIME = "TelemetryInjectKotlin.kt"
# Stamps hash a function's original text, EOLs included; the call handle is named after it.
STAMP = re.compile(r"(?<=telemetry-inject:)[0-9a-f]{8}|(?<=__tel)[0-9a-f]{8}")
# A small stdlib-only Kotlin library from Maven Central, as its source jar (cached in ~/.m2).
KOTLIN_RESULT = ("com.michael-bull.kotlin-result", "kotlin-result-jvm", "2.0.0")
EDGE_DIR = "edge$dir"  # a `$` in the path: Kotlin string literals must escape it


@contextmanager
def locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def maven_jar(group: str, artifact: str, version: str, classifier: str = "") -> Path:
    """A jar from Maven Central through the local repository (~/.m2), fetched once."""
    suffix = f"-{classifier}" if classifier else ""
    jar = (
        Path.home() / ".m2" / "repository" / group.replace(".", "/") / artifact / version
        / f"{artifact}-{version}{suffix}.jar"
    )  # fmt: skip
    if not jar.is_file():
        coords = (
            f"-Dartifact={group}:{artifact}:{version}:jar{':' + classifier if classifier else ''}"
        )
        proc = subprocess.run(
            [require("mvn"), "-q", "-B", "dependency:get", coords, "-Dtransitive=false"],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert proc.returncode == 0, f"mvn dependency:get {coords}:\n{proc.stdout}"
    return jar


@dataclass(frozen=True)
class Kotlin:
    java: str
    compiler: str  # the compiler's classpath
    stdlib: str  # kotlin-stdlib.jar, for compiling against and for running

    def run(self, classes: Path, main: str, *args: str, cwd: Path, **kw: Any):
        cp = os.pathsep.join((str(classes), self.stdlib))
        return run_program([self.java, "-cp", cp, main, *args], cwd, **kw)


@pytest.fixture(scope="module")
def kotlin() -> Kotlin:
    """The Kotlin compiler from Maven Central, as resolved by tests/toolchains/kotlin/pom.xml."""
    java = require("java")
    listing = CACHE / "classpath.txt"
    with locked(CACHE / "toolchain.lock"):
        jars = listing.read_text("utf-8").split(os.pathsep) if listing.is_file() else []
        if not jars or not all(Path(j).is_file() for j in jars):
            proc = subprocess.run(
                [require("mvn"), "-q", "-B", "-f", str(TOOLCHAIN / "pom.xml"),
                 "dependency:build-classpath", f"-Dmdep.outputFile={listing}"],
                capture_output=True, text=True, timeout=900,
            )  # fmt: skip
            assert proc.returncode == 0, f"fetching the Kotlin compiler:\n{proc.stdout}"
            jars = listing.read_text("utf-8").split(os.pathsep)
    stdlib = next(j for j in jars if re.search(r"/kotlin-stdlib-[0-9.]+\.jar$", j))
    return Kotlin(java, os.pathsep.join(jars), stdlib)


@dataclass(frozen=True)
class Build:
    name: str
    root: Path
    flags: tuple[str, ...] = ("-Werror",)
    # Multiplatform layouts: fragment name -> its source folder under root.
    fragments: tuple[tuple[str, str], ...] = ()


def compile_all(kotlin: Kotlin, builds: list[Build]) -> dict[str, Path]:
    """Compile each build's .kt files; all missing ones in one JVM; classes cached by content."""
    keyed: dict[str, tuple[Build, list[Path], Path]] = {}
    for b in builds:
        sources = sorted(b.root.rglob("*.kt"))
        h = hashlib.sha256("\0".join((kotlin.compiler, *b.flags, *map(str, b.fragments))).encode())
        h.update((TOOLCHAIN / "Kotlinc.java").read_bytes())
        for src in sources:
            h.update(src.relative_to(b.root).as_posix().encode() + b"\0" + src.read_bytes())
        keyed[b.name] = (b, sources, CACHE / "classes" / h.hexdigest()[:24])
    with locked(CACHE / "compile.lock"):
        args: list[str] = []
        for b, sources, out in keyed.values():
            if out.is_dir():
                continue
            shutil.rmtree(out.with_suffix(".tmp"), ignore_errors=True)
            args += [*_fragment_flags(b, sources), *b.flags, "-no-stdlib", "-no-reflect"]
            args += ["-cp", kotlin.stdlib, "-d", str(out.with_suffix(".tmp"))]
            args += [*map(str, sources), "--next"]
        if args:
            proc = subprocess.run(
                [kotlin.java, "-cp", kotlin.compiler, str(TOOLCHAIN / "Kotlinc.java"), *args[:-1]],
                capture_output=True, text=True, timeout=1800,
            )  # fmt: skip
            assert proc.returncode == 0, f"kotlinc:\n{proc.stdout}{proc.stderr}"
            for _b, _sources, out in keyed.values():
                if not out.is_dir():
                    out.with_suffix(".tmp").rename(out)
        now = time.time()
        for _b, _sources, out in keyed.values():
            os.utime(out, (now, now))
        for old in (CACHE / "classes").iterdir():  # builds of sources since changed
            if now - old.stat().st_mtime > 14 * 86400:
                shutil.rmtree(old, ignore_errors=True)
    return {name: out for name, (_b, _s, out) in keyed.items()}


def _fragment_flags(b: Build, sources: list[Path]) -> list[str]:
    if not b.fragments:
        return []
    names = [name for name, _ in b.fragments]
    owned = [
        f"{name}:{src}"
        for name, folder in b.fragments
        for src in sources
        if src.is_relative_to(b.root / folder)
    ]
    refines = [f"{names[i + 1]}:{names[i]}" for i in range(len(names) - 1)]
    return [
        "-Xmulti-platform",
        f"-Xfragments={','.join(names)}",
        f"-Xfragment-refines={','.join(refines)}",
        f"-Xfragment-sources={','.join(owned)}",
    ]


def _unpack(jar: Path, dest: Path) -> Path:
    with zipfile.ZipFile(jar) as z:
        for name in z.namelist():
            if name.endswith(".kt"):
                z.extract(name, dest)
    return dest


def _copy_program(dest: Path) -> Path:
    """The bundled example plus the edge-case fixture (package edge), as one source tree."""
    shutil.copytree(EXAMPLES / "kotlin", dest)
    (dest / EDGE_DIR).mkdir()
    shutil.copy2(FIXTURES / "Edge.input.kt", dest / EDGE_DIR / "Edge.kt")
    return dest


VECTOR_DRIVER = """package vectors

fun call(fn: String, file: String, line: Int, raises: Boolean) {{
    val t = TelemetryInjectKotlin.enter(fn, file, line)
    try {{
        if (raises) throw IllegalStateException("vector " + fn)
    }} catch (e: Throwable) {{
        TelemetryInjectKotlin.error(t, e)
        throw e
    }} finally {{
        TelemetryInjectKotlin.exit(t)
    }}
}}

fun main() {{
{calls}
}}
"""
# Beyond the shared vectors: what a Kotlin literal must escape, and a lone surrogate.
EXTRA_CASES = [
    {"fn": "a$b${c}\\$", "file": "x\fy$.kt", "line": 2},
    {"fn": "lone\ud800x", "file": "f.kt", "line": 3},
]


def _vectors(dest: Path) -> None:
    spec = language.get("kotlin")
    calls = []
    for case in [*VECTORS["cases"], *EXTRA_CASES]:
        # The literals are made as the instrumentation makes them.
        fn, file = (plan.string_literal(spec, case[k]) for k in ("fn", "file"))
        if any("\ud800" <= ch <= "\udfff" for ch in fn):
            fn = json.dumps(case["fn"])  # a lone surrogate has no UTF-8 form: a \\u escape
        raises = str(case.get("raises", False)).lower()
        calls.append(
            f"    try {{ call({fn}, {file}, {case['line']}, {raises}) }}"
            " catch (e: IllegalStateException) {}"
        )
    dest.mkdir(parents=True)
    (dest / "Vectors.kt").write_text(VECTOR_DRIVER.format(calls="\n".join(calls)), "utf-8")
    for extra in plan.runtime_files(spec, "tel", "Vectors.kt", {"package": "package vectors"}):
        (dest / extra.path).write_text(extra.text, "utf-8")


GUARDS_DRIVER = """package guards

const val FILE = "Guards.kt"

fun call(fn: String, line: Int, sleepMs: Long) {{
    val t = TelemetryInjectKotlin.enter(fn, FILE, line)
    try {{
        if (sleepMs > 0) Thread.sleep(sleepMs)
    }} catch (e: Throwable) {{
        TelemetryInjectKotlin.error(t, e)
        throw e
    }} finally {{
        TelemetryInjectKotlin.exit(t)
    }}
}}

fun loops(runs: Int, iterations: Int) {{
    for (r in 0 until runs) {{
        val l = TelemetryInjectKotlin.loop("loops", FILE, "for", 40)
        for (i in 0 until iterations) {{
            TelemetryInjectKotlin.iter(l, "i", i)
        }}
    }}
}}

fun main(args: Array<String>) {{
    when (args[0]) {{
{cases}
        else -> throw IllegalArgumentException(args[0])
    }}
}}
"""


def _kotlin_value(spec: language.LanguageSpec, v: Any, arrays: bool) -> str:
    """A Kotlin expression for a JSON value: numbers, strings, Lists (or Arrays), Maps."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v) if -(2**31) <= v < 2**31 else f"{v}L"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return plan.string_literal(spec, v)
    if isinstance(v, list):
        items = ", ".join(_kotlin_value(spec, x, arrays) for x in v)
        return f"arrayOf<Any?>({items})" if arrays else f"listOf<Any?>({items})"
    assert isinstance(v, dict), v
    pairs = (
        f"{plan.string_literal(spec, k)} to {_kotlin_value(spec, x, arrays)}" for k, x in v.items()
    )
    return f"linkedMapOf<String, Any?>({', '.join(pairs)})"


def _guard_runs() -> list[tuple[str, int, bool]]:
    """(kind, case index, containers as arrays): container cases run as Lists and as Arrays."""
    runs = []
    for kind in KINDS:
        for n, case in enumerate(guard_cases(kind)):
            runs.append((kind, n, False))
            if case.get("containers"):
                runs.append((kind, n, True))
    return runs


def _guard_label(kind: str, n: int, arrays: bool) -> str:
    return f"{kind}-{n}-{'arrays' if arrays else 'lists'}"


def _guards_driver(dest: Path) -> Path:
    """One driver program calling the runtime directly: its argument names the guard case."""
    spec = language.get("kotlin")
    cases = []
    for kind, n, arrays in _guard_runs():
        case = guard_cases(kind)[n]
        if kind == "loops":
            code = [f"loops({case['runs']}, {case['iterations']})"]
        elif kind == "calls":
            code = [f'repeat({case["calls"]}) {{ call("f", 20, 0) }}']
        elif kind == "durations":
            code = ['call("fast", 30, 0)', f'call("slow", 31, {case["sleep_ms"]})']
        else:
            code = [
                f'TelemetryInjectKotlin.assign("values", FILE, {50 + k}, '
                f"{plan.string_literal(spec, name)}, {_kotlin_value(spec, value, arrays)})"
                for k, (name, value, _expected) in enumerate(case["values"])
            ]
        body = "".join(f"\n            {line}" for line in code)
        cases.append(f'        "{_guard_label(kind, n, arrays)}" -> {{{body}\n        }}')
    dest.mkdir(parents=True)
    (dest / "Guards.kt").write_text(GUARDS_DRIVER.format(cases="\n".join(cases)), "utf-8")
    for extra in plan.runtime_files(spec, "tel", "Guards.kt", {"package": "package guards"}):
        (dest / extra.path).write_text(extra.text, "utf-8")
    return dest


ALL_PROBES = ("--probes", "function,loop,var,args")
# Labelled break and continue, nested loops, destructuring and withIndex, braceless bodies on
# the loop's line and on the next one (which the grammar reads as a loop without a body: left
# alone), do-while whose condition reads a `val` of its body, when branches, lambdas (forEach,
# repeat), an anonymous function, an inline function with a lambda parameter, varargs.
PROBES_PROGRAM = """package app

class Ledger(vararg names: String) {
    private val stock = LinkedHashMap<String, Int>()
    var moves = 0

    init {
        for (i in names.indices) stock[names[i]] = i + 1
        moves = names.size
    }

    fun total(): Int {
        var sum = 0
        for ((name, count) in stock) {
            if (name == "pear") continue
            sum += count
        }
        return sum
    }

    fun positions(): List<String> {
        val out = mutableListOf<String>()
        for ((i, name) in stock.keys.withIndex()) {
            out.add("$i:$name")
        }
        return out
    }
}

fun firstPair(grid: Array<IntArray>, target: Int): Int {
    var found = -1
    outer@ for (r in grid.indices) {
        for (c in grid[r].indices) {
            if (grid[r][c] == target) {
                found = r * 10 + c
                break@outer
            }
            if (grid[r][c] < 0) continue@outer
        }
    }
    return found
}

fun login(user: String, password: String): String {
    val token = user + ":" + password.length
    var attempts = 0
    do {
        val next = attempts + 1
        attempts = next
    } while (next < 3)
    return "$token/$attempts"
}

fun churn(n: Int): Long {
    var acc = 0L
    var k = 0
    while (k < n) {
        k++
        if (k % 2 == 0)
            continue
        acc += k
    }
    return acc
}

fun kind(code: Int): String {
    val label = when (code) {
        1 -> {
            val doubled = code * 2
            "one/$doubled"
        }
        2 -> {
            val b = StringBuilder()
            for (i in 0 until 3)
                b.append(i)
            b.toString()
        }
        else -> "other"
    }
    return label
}

inline fun <T> timed(name: String, block: () -> T): T {
    val result = block()
    println("timed $name")
    return result
}

fun squares(xs: List<Int>): List<Int> {
    val out = mutableListOf<Int>()
    xs.forEach { x ->
        val sq = x * x
        for (rep in 0 until 1) out.add(sq)
    }
    var total = 0
    repeat(3) {
        total += it
    }
    val twice = fun(v: Int): Int {
        var t = v
        for (j in 0 until 2) { t *= 2 }
        return t
    }
    out.add(twice(5) + total)
    return timed("squares") { out }
}

fun grid(n: Int): Int {
    var cells = 0
    for (a in 0 until n)
        for (b in 0 until n) {
            cells += a * b + 1
        }
    var spins = 0
    while (spins < n)
        spins += 1
    return cells + spins
}

fun main() {
    val ledger = Ledger("apple", "pear", "fig")
    println("total ${ledger.total()} moves ${ledger.moves} ${ledger.positions()}")
    println("pair " + firstPair(arrayOf(intArrayOf(1, -2, 3), intArrayOf(4, 5, 6)), 5))
    println("login " + login("ann", "hunter2"))
    println("churn " + churn(1000))
    for (code in 1..3) println("kind " + kind(code))
    println("squares " + squares(listOf(1, 2, 3)))
    println("grid " + grid(3))
}
"""


KOTLIN_VALUES_DRIVER = """package kvalues

const val FILE = "KotlinValues.kt"

enum class Color { RED }

class Thrower {
    override fun toString(): String = throw IllegalStateException("no text")
}

class Selfish {
    override fun toString(): String {
        TelemetryInjectKotlin.assign("Selfish.toString", FILE, 2, "self", this)
        return "selfish"
    }
}

data class Point(val x: Int, val y: Int)

fun v(name: String, value: Any?) = TelemetryInjectKotlin.assign("values", FILE, 1, name, value)

fun main() {
    val c = TelemetryInjectKotlin.enter("f", FILE, 3, "apiKey", "k", "n", 1)
    v("ch", 'x')
    v("ints", intArrayOf(1, 2))
    v("pair", 1 to "a")
    v("triple", Triple(1, null, true))
    v("u", 42u)
    v("nan", Double.NaN)
    v("fl", 1.1f)
    v("big", 3000000000L)
    v("keys", linkedMapOf(1 to "a", null to "b"))
    v("thrower", Thrower())
    v("point", Point(1, 2))
    v("color", Color.RED)
    v("set", sortedSetOf(3, 1))
    v("s", Selfish())
    v("password", "hunter2")
    val l = TelemetryInjectKotlin.loop("f", FILE, "for", 4)
    TelemetryInjectKotlin.iter(l, "a", 1, "b", "two", "token", 3)
    TelemetryInjectKotlin.exit(c)
}
"""


@dataclass(frozen=True)
class Programs:
    plain: Path  # sources
    instrumented: Path
    library: Path  # kotlin-result, its common sources instrumented
    library_original: dict[str, bytes]
    classes: dict[str, Path]
    probes_plain: Path  # PROBES_PROGRAM
    probes: Path  # PROBES_PROGRAM, every probe on
    all_probes: Path  # the example and edge cases, every probe on
    library_probes: Path  # kotlin-result, every probe on


@pytest.fixture(scope="module")
def programs(kotlin: Kotlin, tmp_path_factory: pytest.TempPathFactory) -> Programs:
    work = tmp_path_factory.mktemp("kotlin")
    plain = _copy_program(work / "plain")
    instrumented = _copy_program(work / "instrumented")
    run_cli(instrumented, "--in-place", "--jobs", "1", "--cache-dir", work / "cache")
    _vectors(instrumented / "vectors")
    library = _unpack(maven_jar(*KOTLIN_RESULT, "sources"), work / "kotlin-result")
    original = tree(library)
    # Only the common sources: one runtime object per package and source set.
    run_cli(library / "commonMain", "--in-place", "--jobs", "2", "--cache-dir", work / "cache")
    shutil.copy2(FIXTURES / "ResultDriver.kt", library / "jvmMain" / "ResultDriver.kt")
    lib_flags = (
        "-nowarn",
        "-Xexplicit-api=strict",
        "-opt-in=kotlin.contracts.ExperimentalContracts",
    )
    guards = _guards_driver(work / "guards")
    # Every probe: the probes program, the example with the edge cases, and the library.
    probes_plain = work / "probes_plain"
    (probes_plain / "app").mkdir(parents=True)
    (probes_plain / "app" / "Ledger.kt").write_text(PROBES_PROGRAM, "utf-8")
    probes = work / "probes"
    shutil.copytree(probes_plain, probes)
    all_probes = _copy_program(work / "all_probes")
    library_probes = _unpack(maven_jar(*KOTLIN_RESULT, "sources"), work / "library_probes")
    for root in (probes, all_probes, library_probes / "commonMain"):
        run_cli(root, "--in-place", *ALL_PROBES, "--jobs", "2", "--cache-dir", work / "cache")
    shutil.copy2(FIXTURES / "ResultDriver.kt", library_probes / "jvmMain" / "ResultDriver.kt")
    fragments = (("common", "commonMain"), ("jvm", "jvmMain"))
    kvalues = work / "kvalues"
    kvalues.mkdir()
    (kvalues / "KotlinValues.kt").write_text(KOTLIN_VALUES_DRIVER, "utf-8")
    spec = language.get("kotlin")
    for extra in plan.runtime_files(spec, "tel", "KotlinValues.kt", {"package": "package kvalues"}):
        (kvalues / extra.path).write_text(extra.text, "utf-8")
    builds = [
        Build("kvalues", kvalues),
        Build("plain", plain),
        Build("instrumented", instrumented),
        Build("guards", guards),
        Build("library", library, lib_flags, fragments),
        Build("probes_plain", probes_plain),
        Build("probes", probes),
        Build("all_probes", all_probes),
        Build("library_probes", library_probes, lib_flags, fragments),
    ]
    return Programs(
        plain, instrumented, library, original, compile_all(kotlin, builds),
        probes_plain, probes, all_probes, library_probes,
    )  # fmt: skip


def test_example_behaves_the_same_and_reports_every_call(
    kotlin: Kotlin, programs: Programs, tmp_path: Path
) -> None:
    plain = kotlin.run(programs.classes["plain"], "MainKt", cwd=programs.plain)
    assert plain.returncode == 0, plain.stderr
    out = programs.instrumented
    assert (out / RUNTIME).read_text("utf-8").splitlines()[1] == ""  # the default package
    assert (out / "shop" / RUNTIME).read_text("utf-8").splitlines()[1] == "package shop"
    events_file = tmp_path / "events.jsonl"
    run = kotlin.run(programs.classes["instrumented"], "MainKt", cwd=out, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, plain.stderr)
    events = read_events(events_file)
    calls = check_pairs(events)
    expected = {
        "main": 1, "main.shout": 1, "checkout": 2, "runSuspend": 1, "settle": 1,
        "Cart.init": 2, "Cart.constructor": 1, "Cart.add": 4, "Item.init": 3,
        "Item.total.get": 6, "Cart.lines": 1, "Cart.subtotal": 2, "Cart.subtotal.discounted": 4,
        "Cart.tax": 1, "Cart.reserve": 2, "Cart.Payment.pay": 1, "Payment.receipt": 1,
        "Status.PAID.label": 1, "Status.REFUSED.label": 1, "Double.money": 3,
    }  # fmt: skip
    assert dict(calls) == expected  # card() has an expression body; lambdas are left alone
    assert errors_of(events) == [
        ("Cart.reserve", "shop.OutOfStock: apple"),
        ("Item.init", "java.lang.IllegalArgumentException: negative price for broken"),
        ("Cart.add", "java.lang.IllegalArgumentException: negative price for broken"),
    ]
    src = EXAMPLES / "kotlin"
    cart, main = src / "shop" / "Cart.kt", src / "Main.kt"
    where = {
        "Cart.add": (cart, "fun add("),
        "Cart.constructor": (cart, "constructor() : this(emptyMap())"),
        "Item.total.get": (cart, "        get() {"),
        "Cart.subtotal.discounted": (cart, "fun discounted("),
        "Double.money": (cart, "fun Double.money()"),
        "settle": (cart, "suspend fun settle("),
        "main.shout": (main, "val shout = fun("),
    }
    check_where(events, src, where)
    assert first(events, "Cart.init")["line"] == line_of(cart, "this.stock = stock") - 1
    # The suspend function resumed on another thread and still closed its own call.
    settle = [e for e in events if e["fn"] == "settle"]
    assert [e["ev"] for e in settle] == ["enter", "exit"]


def test_events_go_to_stderr_by_default_and_off_is_silent(
    kotlin: Kotlin, programs: Programs, tmp_path: Path
) -> None:
    classes, out = programs.classes["instrumented"], programs.instrumented
    default = kotlin.run(classes, "MainKt", cwd=out)
    assert default.returncode == 0
    stream = tmp_path / "stderr.jsonl"
    stream.write_text(default.stderr, "utf-8")
    assert check_pairs(read_events(stream))["Cart.add"] == 4
    check_off(
        lambda events, env: kotlin.run(classes, "MainKt", cwd=out, events=events, env=env),
        default.stdout,
        tmp_path,
    )


def test_edge_cases_match_the_golden_file_compile_and_run(
    kotlin: Kotlin, programs: Programs, tmp_path: Path
) -> None:
    got = (programs.instrumented / EDGE_DIR / "Edge.kt").read_text("utf-8")
    assert got == (FIXTURES / "Edge.expected.kt").read_text("utf-8")
    plain_classes, classes = programs.classes["plain"], programs.classes["instrumented"]
    plain = kotlin.run(plain_classes, "edge.EdgeKt", cwd=programs.plain)
    assert plain.returncode == 0, plain.stderr
    events_file = tmp_path / "events.jsonl"
    run = kotlin.run(classes, "edge.EdgeKt", cwd=programs.instrumented, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, "")
    events = read_events(events_file)
    calls = check_pairs(events)
    expected = {
        "Account.init": 1, "Account.constructor": 1, "Account.balance.get": 4,
        "Account.balance.set": 3, "Account.deposit": 2, "Account.open": 1,
        "Account.Statement.line": 1, "Registry.register": 7, "Op.PLUS.apply": 1,
        "Op.TIMES.apply": 1, "Shape.Square.area": 1, "Shape.describe": 1, "Greeter.greet": 1,
        "main.Greeter.name": 1, "String.shout": 1, "String.orNone": 1, "List.second": 1,
        "kindOf": 2, "firstMatch": 1, "isText": 2, "fail": 1, "outer": 1, "outer.middle": 1,
        "outer.middle.inner": 1, "empty": 1, "emptyLines": 1, "`costs $5`": 1, "ünïcødé": 1,
        "main.square": 3, "later": 1, "runSuspend": 1, "main": 1,
    }  # fmt: skip
    assert dict(calls) == expected  # not: tailrec countDown, expression-bodied twice, lambdas
    assert errors_of(events) == [
        ("Account.balance.set", "java.lang.IllegalArgumentException: negative balance"),
        ("fail", "java.lang.IllegalStateException: boom"),
    ]
    source = FIXTURES / "Edge.input.kt"
    for fn, needle in {
        "Account.balance.set": "        set(value) {",
        "Account.init": "    init {",
        "Op.TIMES.apply": "override fun apply(x: Int, y: Int): Int { return x * y }",
        "List.second": "fun <T> List<T>.second()",
        "`costs $5`": "fun `costs $5`()",
        "main.Greeter.name": 'return "object"',
        "main.square": "val square = fun(",
    }.items():
        want = line_of(source, needle) - (1 if fn == "main.Greeter.name" else 0)
        assert first(events, fn)["line"] == want, fn
    assert first(events, "main")["file"] == f"{EDGE_DIR}/Edge.kt"
    # An uncaught exception: recorded at every level, flushed at exit, crashes the same way.
    crash_file = tmp_path / "crash.jsonl"
    crash = kotlin.run(classes, "edge.EdgeKt", "x", cwd=programs.instrumented, events=crash_file)
    plain_crash = kotlin.run(plain_classes, "edge.EdgeKt", "x", cwd=programs.plain)
    assert crash.returncode == plain_crash.returncode == 1
    assert crash.stdout == plain_crash.stdout
    headline = 'Exception in thread "main" java.lang.IllegalStateException: fatal x'
    assert crash.stderr.splitlines()[0] == plain_crash.stderr.splitlines()[0] == headline
    crashed = read_events(crash_file)
    check_pairs(crashed)
    assert errors_of(crashed)[-2:] == [
        ("fail", "java.lang.IllegalStateException: fatal x"),
        ("main", "java.lang.IllegalStateException: fatal x"),
    ]


def test_crlf_sources_get_the_same_instrumentation(tmp_path: Path) -> None:
    text = (FIXTURES / "Edge.input.kt").read_text("utf-8").replace("\n", "\r\n")
    (tmp_path / EDGE_DIR).mkdir()
    (tmp_path / EDGE_DIR / "Edge.kt").write_bytes(text.encode("utf-8"))
    run_cli(tmp_path, "--in-place", "--jobs", "1", "--cache-dir", tmp_path / "cache")
    golden = (FIXTURES / "Edge.expected.kt").read_text("utf-8").replace("\n", "\r\n")
    got = (tmp_path / EDGE_DIR / "Edge.kt").read_bytes().decode("utf-8")
    assert STAMP.sub("STAMP", got) == STAMP.sub("STAMP", golden)
    run_cli("strip", tmp_path, "--in-place")
    assert (tmp_path / EDGE_DIR / "Edge.kt").read_bytes() == text.encode("utf-8")
    assert not (tmp_path / EDGE_DIR / RUNTIME).exists()


def test_instrumenting_again_changes_nothing_and_strip_restores_every_byte(
    instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    src = EXAMPLES / "kotlin"
    out = instrument_copy(src)
    assert tree(out) != tree(src)
    again = run_cli(out, "--in-place", "--json", "--jobs", "1", "--cache-dir", tmp_path / "cache")
    report = json.loads(again.stdout)
    assert (report["changed"], report["instrumented"], report["failures"]) == (0, 0, [])
    run_cli("strip", out, "--in-place")
    assert tree(out) == tree(src)  # both runtime objects removed too


def test_one_function_comes_and_goes_alone_nested_ones_included(tmp_path: Path) -> None:
    """What the editor's per-function actions do: markers belong to their own function."""
    source = (FIXTURES / "Edge.input.kt").read_bytes()
    spec, path = language.get("kotlin"), f"{EDGE_DIR}/Edge.kt"
    engine = Engine(Options(cache_dir=tmp_path / "cache"))
    try:
        full = engine.instrument(source, path, spec).new_text.encode("utf-8")
        inner = {"outer.middle", "main.Greeter.name", "Op.TIMES.apply"}
        partial = engine.strip(full, path, spec, select=lambda f: str(f.id) in inner)
        rest = engine.instrument(source, path, spec, lambda f: str(f.id) not in inner)
        assert partial.new_text == rest.new_text
        analysis = analyze.analyze(spec, full)
        # Every function, nested ones too, owns its markers and none reads as edited since.
        assert all(f.instrumented and not is_stale(analysis, f) for f in analysis.functions)
        again = engine.instrument(partial.new_text.encode("utf-8"), path, spec)
        assert again.new_text == full.decode("utf-8")
    finally:
        engine.close()


def test_only_block_bodies_are_found() -> None:
    spec = language.get("kotlin")
    source = (
        b"interface I {\n    fun a()\n    fun b() {}\n}\n"
        b"abstract class A {\n    abstract fun c()\n    fun d() = 1\n}\n"
        b"tailrec fun t(n: Int): Int {\n    return if (n == 0) 0 else t(n - 1)\n}\n"
        b'@Suppress("x") private tailrec fun u(n: Int): Int {\n    return n\n}\n'
        b"fun String?.e(): Int {\n    val f = { x: Int -> x }\n    return f(1)\n}\n"
    )
    found = [str(f.id) for f in analyze.analyze(spec, source).functions]
    assert found == ["I.b", "String.e"]


def test_runtime_passes_the_shared_vectors(
    kotlin: Kotlin, programs: Programs, tmp_path: Path
) -> None:
    events_file = tmp_path / "events.jsonl"
    run = kotlin.run(
        programs.classes["instrumented"], "vectors.VectorsKt", cwd=tmp_path, events=events_file
    )
    assert run.returncode == 0, run.stderr
    events = read_events(events_file)
    check_vectors(events[:-4])
    assert [e["error"] for e in events if e["ev"] == "error"] == [
        f"java.lang.IllegalStateException: vector {c['fn']}"
        for c in VECTORS["cases"]
        if c["raises"]
    ]
    # `$` and a form feed survive as themselves; a lone surrogate becomes U+FFFD.
    assert [(e["fn"], e["file"]) for e in events[-4:]] == [
        ("a$b${c}\\$", "x\fy$.kt"), ("a$b${c}\\$", "x\fy$.kt"),
        ("lone\ufffdx", "f.kt"), ("lone\ufffdx", "f.kt"),
    ]  # fmt: skip


def test_a_real_library_compiles_and_works_instrumented(
    kotlin: Kotlin, programs: Programs, tmp_path: Path
) -> None:
    lib = programs.library
    assert (lib / "commonMain/com/github/michaelbull/result" / RUNTIME).is_file()
    events_file = tmp_path / "events.jsonl"
    run = kotlin.run(
        programs.classes["library"], "resultdriver.ResultDriverKt", cwd=lib, events=events_file
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "Ok(2)",
        "Err(NOT A NUMBER: X)",
        "Ok([1, 2, 3])",
        "([1, 3], [not a number: b])",
        "40",
        "boom",
        "Ok(7)",
        "Err(not a number: y)",
        "Ok(3)",
    ]
    events = read_events(events_file)
    calls = check_pairs(events)
    # Inline functions report from their call sites; contracts stayed first, so they compiled.
    for fn in ("Result.map", "Result.mapError", "Iterable.combine", "Result.andThen", "binding"):
        assert calls[fn] >= 1, fn
    assert calls["Result.toString"] == 6
    # Strip restores the library byte for byte (the driver was added beside it).
    (lib / "jvmMain" / "ResultDriver.kt").unlink()
    run_cli("strip", lib / "commonMain", "--in-place")
    assert tree(lib) == programs.library_original


@pytest.mark.parametrize(
    ("kind", "n", "arrays"),
    _guard_runs(),
    ids=[f"{k}-{n}{'-arrays' if a else ''}" for k, n, a in _guard_runs()],
)
def test_runtime_passes_every_guard_case(
    kotlin: Kotlin, programs: Programs, tmp_path: Path, kind: str, n: int, arrays: bool
) -> None:
    case = guard_cases(kind)[n]
    events_file = tmp_path / "events.jsonl"
    # No guard variable of ours but the case's own.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_INJECT")}
    env.update(case["env"], TELEMETRY_INJECT_OUT=str(events_file))
    cp = os.pathsep.join((str(programs.classes["guards"]), kotlin.stdlib))
    label = _guard_label(kind, n, arrays)
    proc = subprocess.run(
        [kotlin.java, "-cp", cp, "guards.GuardsKt", label],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    guard_check(kind, case, read_events(events_file))
    if case["env"].get("TELEMETRY_INJECT") == "off":
        assert not events_file.exists()


def _loops(events: list[dict[str, Any]], fn: str) -> list[tuple[int, int, Any]]:
    return [
        (e["line"], e["i"], e.get("vars")) for e in events if e["ev"] == "loop" and e["fn"] == fn
    ]


def _vars(events: list[dict[str, Any]], fn: str) -> list[tuple[str, Any]]:
    return [(e["name"], e["value"]) for e in events if e["ev"] == "var" and e["fn"] == fn]


def test_loop_var_and_args_probes_compile_run_and_report(
    kotlin: Kotlin, programs: Programs, tmp_path: Path
) -> None:
    plain = kotlin.run(programs.classes["probes_plain"], "app.LedgerKt", cwd=programs.probes_plain)
    assert plain.returncode == 0, plain.stderr
    assert "pair 11\n" in plain.stdout and "kind 012\n" in plain.stdout
    classes, out = programs.classes["probes"], programs.probes
    text = (out / "app" / "Ledger.kt").read_text("utf-8")
    assert "TelemetryInjectKotlin.loop(" in text and "TelemetryInjectKotlin.assign(" in text
    events_file = tmp_path / "events.jsonl"
    run = kotlin.run(classes, "app.LedgerKt", cwd=out, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, "")
    events = read_events(events_file)
    check_pairs(events)
    source = programs.probes_plain / "app" / "Ledger.kt"

    def at(needle: str) -> int:
        return line_of(source, needle)

    # Nested loops with `continue@outer` and `break@outer`: each loop execution counts from 0.
    r_loop, c_loop = at("outer@ for"), at("for (c in grid[r].indices)")
    assert _loops(events, "firstPair") == [
        (r_loop, 0, {"r": 0}), (c_loop, 0, {"c": 0}), (c_loop, 1, {"c": 1}),
        (r_loop, 1, {"r": 1}), (c_loop, 0, {"c": 0}), (c_loop, 1, {"c": 1}),
    ]  # fmt: skip
    assert _vars(events, "firstPair") == [("found", -1), ("found", 11)]
    # Arguments, arrays walked; a parameter named like a secret is redacted, as is `token`.
    enter = {e["fn"]: e.get("args") for e in events if e["ev"] == "enter"}
    assert enter["firstPair"] == {"grid": [[1, -2, 3], [4, 5, 6]], "target": 5}
    assert enter["login"] == {"user": "ann", "password": "<redacted>"}
    assert enter["squares.twice"] == {"v": 5}
    assert enter["timed"] is None  # an inline function's lambda cannot be passed as a value
    assert _vars(events, "timed") == [("result", [1, 4, 9, 23])]
    # do-while: the condition reads a `val` of the body, which still sees it.
    assert _loops(events, "login") == [(at("    do {"), i, None) for i in range(3)]
    assert _vars(events, "login") == [
        ("token", "<redacted>"), ("attempts", 0),
        ("next", 1), ("attempts", 1), ("next", 2), ("attempts", 2), ("next", 3), ("attempts", 3),
    ]  # fmt: skip
    # Destructuring names, `continue`, withIndex; a braceless body on the loop's line.
    each = at("for ((name, count) in stock)")
    assert _loops(events, "Ledger.total") == [
        (each, 0, {"name": "apple", "count": 1}), (each, 1, {"name": "pear", "count": 2}),
        (each, 2, {"name": "fig", "count": 3}),
    ]  # fmt: skip
    assert _vars(events, "Ledger.total") == [("sum", 0), ("sum", 1), ("sum", 4)]
    assert [v for _l, _i, v in _loops(events, "Ledger.positions")] == [
        {"i": 0, "name": "apple"}, {"i": 1, "name": "pear"}, {"i": 2, "name": "fig"},
    ]  # fmt: skip
    assert _loops(events, "Ledger.init") == [
        (at("for (i in names.indices)"), i, {"i": i}) for i in range(3)
    ]
    # when branches; a braceless body on the next line is left alone (and still runs).
    assert _vars(events, "kind") == [
        ("doubled", 2), ("label", "one/2"), ("b", ""), ("label", "012"), ("label", "other"),
    ]  # fmt: skip
    assert _loops(events, "kind") == []
    assert _loops(events, "grid") == []
    grid = _vars(events, "grid")
    assert grid[0] == ("cells", 0) and grid[-1] == ("spins", 0) and len(grid) == 1 + 9 + 1
    # Lambdas: statements in them belong to the function around them.
    assert _loops(events, "squares") == [(at("for (rep in 0 until 1)"), 0, {"rep": 0})] * 3
    totals = [v for name, v in _vars(events, "squares") if name == "total"]
    assert totals == [0, 0, 1, 3]
    # A loop of 1000 iterations, sampled: the first 10, then every 100th.
    default = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100, 200, 300, 400, 500, 600, 700, 800, 900]
    assert [i for _l, i, _v in _loops(events, "churn")] == default
    assert len(_vars(events, "churn")) == 2 + 500  # acc and k, then acc on odd k
    sampled_file = tmp_path / "sampled.jsonl"
    env = {"TELEMETRY_INJECT_LOOP_FIRST": "2", "TELEMETRY_INJECT_LOOP_EVERY": "250"}
    sampled = kotlin.run(classes, "app.LedgerKt", cwd=out, events=sampled_file, env=env)
    assert (sampled.returncode, sampled.stdout) == (0, plain.stdout)
    sampled_events = read_events(sampled_file)
    assert [i for _l, i, _v in _loops(sampled_events, "churn")] == [0, 1, 250, 500, 750]
    assert len(_loops(sampled_events, "firstPair")) == 6  # all under FIRST=2
    # Redaction follows TELEMETRY_INJECT_REDACT; the rate limit caps each var site.
    other_file = tmp_path / "other.jsonl"
    env = {"TELEMETRY_INJECT_REDACT": "attempt", "TELEMETRY_INJECT_RATE": "3"}
    other = kotlin.run(classes, "app.LedgerKt", cwd=out, events=other_file, env=env)
    assert (other.returncode, other.stdout) == (0, plain.stdout)
    other_events = read_events(other_file)
    assert _vars(other_events, "login")[:2] == [("token", "ann:7"), ("attempts", "<redacted>")]
    assert _vars(other_events, "churn") == [
        ("acc", 0),
        ("k", 0),
        ("acc", 1),
        ("acc", 4),
        ("acc", 9),
    ]
    # Off: not one event, the same output.
    off_file = tmp_path / "off.jsonl"
    env = {"TELEMETRY_INJECT": "off"}
    off = kotlin.run(classes, "app.LedgerKt", cwd=out, events=off_file, env=env)
    assert (off.returncode, off.stdout, off.stderr) == (0, plain.stdout, "")
    assert not off_file.exists()
    # Again with every probe: nothing changes; strip restores every byte.
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    again = run_cli(copy, "--in-place", *ALL_PROBES, "--json", "--cache-dir", tmp_path / "cache")
    assert json.loads(again.stdout)["changed"] == 0
    run_cli("strip", copy, "--in-place")
    assert tree(copy) == tree(programs.probes_plain)


def test_every_probe_on_the_example_edge_cases_and_library_compiles_and_behaves_the_same(
    kotlin: Kotlin, programs: Programs, tmp_path: Path
) -> None:
    kinds: Counter[str] = Counter()
    for main in ("MainKt", "edge.EdgeKt"):
        plain = kotlin.run(programs.classes["plain"], main, cwd=programs.plain)
        events_file = tmp_path / f"{main}.jsonl"
        run = kotlin.run(
            programs.classes["all_probes"], main, cwd=programs.all_probes, events=events_file
        )
        assert (run.returncode, run.stdout, run.stderr) == (plain.returncode, plain.stdout, "")
        events = read_events(events_file)
        check_pairs(events)
        kinds.update(e["ev"] for e in events)
        assert kinds["var"] > 0, kinds
    assert kinds["loop"] > 0, kinds
    events_file = tmp_path / "library.jsonl"
    lib = programs.library_probes
    run = kotlin.run(
        programs.classes["library_probes"], "resultdriver.ResultDriverKt", cwd=lib,
        events=events_file,
    )  # fmt: skip
    plain = kotlin.run(
        programs.classes["library"], "resultdriver.ResultDriverKt", cwd=programs.library
    )
    assert (run.returncode, run.stdout) == (0, plain.stdout)
    check_pairs(read_events(events_file))
    copy = tmp_path / "all"
    shutil.copytree(programs.all_probes, copy)
    run_cli("strip", copy, "--in-place")
    assert tree(copy) == tree(programs.plain)


def test_runtime_renders_kotlin_values(kotlin: Kotlin, programs: Programs, tmp_path: Path) -> None:
    events_file = tmp_path / "events.jsonl"
    classes = programs.classes["kvalues"]
    run = kotlin.run(classes, "kvalues.KotlinValuesKt", cwd=tmp_path, events=events_file)
    assert (run.returncode, run.stderr) == (0, "")
    events = read_events(events_file)
    assert events[0]["args"] == {"apiKey": "<redacted>", "n": 1}
    values = [(e["fn"], e["name"], e["value"]) for e in events if e["ev"] == "var"]
    # A toString that records `this` sees its type name, not itself again.
    selfish = ("Selfish.toString", "self", "kvalues.Selfish")
    assert values == [
        ("values", "ch", "x"), ("values", "ints", [1, 2]), ("values", "pair", [1, "a"]),
        ("values", "triple", [1, None, True]), ("values", "u", 42), ("values", "nan", "NaN"),
        ("values", "fl", 1.1), ("values", "big", 3000000000),
        ("values", "keys", {"1": "a", "null": "b"}), ("values", "thrower", "kvalues.Thrower"),
        ("values", "point", "Point(x=1, y=2)"), ("values", "color", "RED"),
        ("values", "set", [1, 3]), selfish, ("values", "s", "selfish"),
        ("values", "password", "<redacted>"),
    ]  # fmt: skip
    loop = next(e for e in events if e["ev"] == "loop")
    assert loop["vars"] == {"a": 1, "b": "two", "token": "<redacted>"}
    # An empty TELEMETRY_INJECT_REDACT redacts nothing.
    plain_file = tmp_path / "plain.jsonl"
    env = {"TELEMETRY_INJECT_REDACT": ""}
    plain = kotlin.run(classes, "kvalues.KotlinValuesKt", cwd=tmp_path, events=plain_file, env=env)
    assert plain.returncode == 0
    plain_events = read_events(plain_file)
    assert plain_events[0]["args"] == {"apiKey": "k", "n": 1}
    assert [e["value"] for e in plain_events if e.get("name") == "password"] == ["hunter2"]
