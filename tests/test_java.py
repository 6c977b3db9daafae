"""Java end to end: instrument programs and a real library with the CLI, compile them with javac,
run them with java, and check their output, events, idempotency and byte-exact removal."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from collections import Counter
from collections.abc import Callable
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

FIXTURES = ROOT / "tests" / "fixtures" / "java"
RUNTIME = "TelemetryInject.java"
STAMP = re.compile(r"telemetry-inject:[0-9a-f]{8}")
# A small dependency-free library from Maven Central, as its source jar (cached in ~/.m2).
ORG_JSON = ("org.json", "json", "20240303")
# -Werror: instrumentation must not add a single warning to code that had none.
STRICT = ("-Xlint:all", "-Werror")


@pytest.fixture(scope="module")
def jdk() -> tuple[str, str]:
    return require("javac"), require("java")


def javac(jdk: tuple[str, str], src: Path, out: Path, *flags: str) -> Path:
    """Compile every .java file under src into out (UTF-8 sources, as the fixtures are)."""
    files = sorted(str(p.relative_to(src)) for p in src.rglob("*.java"))
    cmd = [jdk[0], "-encoding", "UTF-8", *flags, "-d", str(out), *files]
    proc = subprocess.run(cmd, cwd=src, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"javac in {src}:\n{proc.stdout}{proc.stderr}"
    return out


def java(
    jdk: tuple[str, str], classes: Path, main: str, *args: str, cwd: Path, **kw: Any
) -> subprocess.CompletedProcess[str]:
    return run_program([jdk[1], "-cp", str(classes), main, *args], cwd, **kw)


def test_example_behaves_the_same_and_reports_every_call_to_a_file_stderr_or_nowhere(
    jdk: tuple[str, str], instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    src = EXAMPLES / "java"
    plain = java(jdk, javac(jdk, src, tmp_path / "plain", *STRICT), "Main", cwd=src)
    assert plain.returncode == 0, plain.stderr
    out = instrument_copy(src)
    # One runtime class per package: the default package has no package line.
    assert (out / RUNTIME).read_text("utf-8").splitlines()[1] == ""
    assert (out / "shop" / RUNTIME).read_text("utf-8").splitlines()[1] == "package shop;"
    classes = javac(jdk, out, tmp_path / "instr", *STRICT)
    events_file = tmp_path / "events.jsonl"
    run = java(jdk, classes, "Main", cwd=out, events=events_file)
    assert run.returncode == 0, run.stderr
    assert (run.stdout, run.stderr) == (plain.stdout, plain.stderr)
    events = read_events(events_file)
    calls = check_pairs(events)
    expected = {
        "Main.main": 1, "Main.checkout": 2, "Cart.Cart": 3, "Cart.add": 4, "Cart.Item.Item": 3,
        "Cart.Item.total": 6, "Cart.lines": 1, "Cart.lines.<anonymous>": 2, "Cart.subtotal": 2,
        "Cart.subtotal.discounted": 4, "Cart.tax": 1, "Cart.reserve": 2, "Cart.card": 1,
        "Cart.card.Payment.pay": 1, "Cart.Payment.receipt": 1, "Cart.Status.PAID.label": 1,
        "Cart.Status.REFUSED.label": 1, "OutOfStock.OutOfStock": 1,
    }  # fmt: skip
    assert dict(calls) == expected
    assert errors_of(events) == [
        ("Cart.reserve", "shop.OutOfStock: apple"),
        ("Cart.Item.Item", "java.lang.IllegalArgumentException: negative price for broken"),
        ("Cart.add", "java.lang.IllegalArgumentException: negative price for broken"),
    ]
    cart, main = src / "shop" / "Cart.java", src / "Main.java"
    where = {
        "Cart.Cart": (cart, "public Cart(Map<String, Integer> stock)"),
        "Cart.add": (cart, "public void add("),
        "Cart.Item.Item": (cart, "public Item {"),
        "Cart.lines.<anonymous>": (cart, "items.forEach(item -> {"),
        "Cart.subtotal.discounted": (cart, "ToIntFunction<Item> discounted"),
        "Cart.Status.PAID.label": (cart, 'public String label() { return "paid"; }'),
        "Cart.card.Payment.pay": (cart, "public String pay(int amount) {"),
        "Main.main": (main, "public static void main("),
    }
    check_where(events, src, where)
    # The overloaded constructors are told apart by their lines.
    assert {e["line"] for e in events if e["fn"] == "Cart.Cart"} == {
        line_of(cart, "public Cart(Map<String, Integer> stock)"),
        line_of(cart, "public Cart() {"),
    }
    assert len({e["pid"] for e in events}) == 1
    # Without TELEMETRY_INJECT_OUT the events go to stderr; TELEMETRY_INJECT=off silences them.
    default = java(jdk, classes, "Main", cwd=out)
    assert (default.returncode, default.stdout) == (0, plain.stdout)
    stream = tmp_path / "stderr.jsonl"
    stream.write_text(default.stderr, "utf-8")
    assert check_pairs(read_events(stream)) == calls
    check_off(
        lambda events, env: java(jdk, classes, "Main", cwd=out, events=events, env=env),
        plain.stdout,
        tmp_path,
    )


def test_instrumenting_again_changes_nothing_and_strip_restores_every_byte(
    instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    src = EXAMPLES / "java"
    out = instrument_copy(src)
    assert tree(out) != tree(src)
    again = run_cli(out, "--in-place", "--json", "--jobs", "1", "--cache-dir", tmp_path / "cache")
    report = json.loads(again.stdout)
    assert (report["changed"], report["instrumented"], report["failures"]) == (0, 0, [])
    run_cli("strip", out, "--in-place")
    assert tree(out) == tree(src)  # both runtime classes removed too


def _edge_tree(root: Path, eol: str) -> Path:
    text = (FIXTURES / "Edge.input.java").read_text("utf-8").replace("\n", eol)
    (root / "edge").mkdir(parents=True)
    (root / "edge" / "Edge.java").write_bytes(text.encode("utf-8"))
    return root


def test_crlf_sources_get_the_same_instrumentation(tmp_path: Path) -> None:
    src = _edge_tree(tmp_path / "src", "\r\n")
    out = _edge_tree(tmp_path / "out", "\r\n")
    run_cli(out, "--in-place", "--jobs", "1", "--cache-dir", tmp_path / "cache")
    golden = (FIXTURES / "Edge.expected.java").read_text("utf-8").replace("\n", "\r\n")
    got = (out / "edge" / "Edge.java").read_bytes().decode("utf-8")
    # Stamps hash the original text, EOLs included.
    assert STAMP.sub("STAMP", got) == STAMP.sub("STAMP", golden)
    run_cli("strip", out, "--in-place")
    assert tree(out) == tree(src)


def test_edge_cases_match_the_golden_file_compile_and_run(
    jdk: tuple[str, str], tmp_path: Path
) -> None:
    src = _edge_tree(tmp_path / "src", "\n")
    out = _edge_tree(tmp_path / "out", "\n")
    plain_classes = javac(jdk, src, tmp_path / "plain", *STRICT)
    plain = java(jdk, plain_classes, "edge.Edge", cwd=src)
    assert plain.returncode == 0, plain.stderr
    run_cli(out, "--in-place", "--jobs", "1", "--cache-dir", tmp_path / "cache")
    golden = (FIXTURES / "Edge.expected.java").read_text("utf-8")
    assert (out / "edge" / "Edge.java").read_text("utf-8") == golden
    classes = javac(jdk, out, tmp_path / "instr", *STRICT)
    events_file = tmp_path / "events.jsonl"
    run = java(jdk, classes, "edge.Edge", cwd=out, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, "")
    events = read_events(events_file)
    calls = check_pairs(events)
    expected = {
        "Edge.Edge": 10, "Edge.BY_LENGTH": 4, "Edge.Range.Range": 4, "Edge.Range.width": 1,
        "Edge.Op.Op": 2, "Edge.Op.PLUS.apply": 1, "Edge.Op.TIMES.apply": 1,
        "Edge.Shape.describe": 1, "Edge.Shape.square": 1, "Edge.Base.greet": 1,
        "Edge.Named.name": 1, "Edge.Inner.plus": 1, "Edge.call": 2, "Edge.empty": 1,
        "Edge.emptyLines": 1, "Edge.definite": 2, "Edge.forever": 1, "Edge.early": 2,
        "Edge.fail": 1, "Edge.sw": 2, "Edge.sw.k": 1, "Edge.local": 1, "Edge.local.Local.hi": 1,
        "Edge.local.Pair.sum": 1, "Edge.local.Color.low": 1, "Edge.firstLine": 1, "Edge.sync": 1,
        "Edge.ünïcødé": 1, "Edge.main.Comparator.compare": 2, "Edge.main": 1,
        "Edge.main.<anonymous>": 10, "Edge.recurse": 288,
    }  # fmt: skip
    assert dict(calls) == expected  # Shape.square's expression lambda and `joined` are not
    assert errors_of(events) == [
        # Edge(int)'s entry comes after this(...), which threw: only Edge(int, String) saw it.
        ("Edge.Edge", "java.lang.IllegalArgumentException: a < 0"),
        ("Edge.Range.Range", "java.lang.IllegalArgumentException: lo > hi"),
        ("Edge.main.<anonymous>", "java.io.IOException: io"),
        ("Edge.call", "java.io.IOException: io"),
        ("Edge.fail", "java.lang.UnsupportedOperationException: nope"),
    ]
    source = FIXTURES / "Edge.input.java"
    for fn, needle in {
        "Edge.BY_LENGTH": "BY_LENGTH = (a, b) -> {",
        "Edge.Range.Range": "Range {",
        "Edge.Op.PLUS.apply": "int apply(int x, int y) { return x + y; }",
        "Edge.sw.k": "IntSupplier k = () -> {",
        "Edge.local.Pair.sum": "int sum() {",
        "Edge.ünïcødé": "static String ünïcødé(",
        "Edge.main.Comparator.compare": "public int compare(String x, String y) {",
    }.items():
        assert first(events, fn)["line"] == line_of(source, needle), fn
    assert first(events, "Edge.main")["file"] == "edge/Edge.java"
    # Work in pool threads is reported from those threads, each call whole.
    assert calls["Edge.main.<anonymous>"] == 2 + 8
    # An uncaught exception: recorded at every level, flushed at exit, crashes the same way.
    crash_file = tmp_path / "crash.jsonl"
    crash = java(jdk, classes, "edge.Edge", "boom", cwd=out, events=crash_file)
    plain_crash = java(jdk, plain_classes, "edge.Edge", "boom", cwd=src)
    assert crash.returncode == plain_crash.returncode == 1
    assert crash.stdout == plain_crash.stdout
    headline = 'Exception in thread "main" java.lang.IllegalStateException: fatal boom'
    assert crash.stderr.splitlines()[0] == plain_crash.stderr.splitlines()[0] == headline
    crashed = read_events(crash_file)
    check_pairs(crashed)
    assert errors_of(crashed)[-1] == ("Edge.main", "java.lang.IllegalStateException: fatal boom")
    assert (crashed[-1]["ev"], crashed[-1]["fn"]) == ("exit", "Edge.main")
    run_cli("strip", out, "--in-place")
    assert tree(out) == tree(src)


def test_only_bodies_are_found_and_constructor_calls_stay_first() -> None:
    spec = language.get("java")
    source = (
        b"interface I { void a(); default void b() {} }\n"
        b"abstract class A { abstract void c(); native void d();\n"
        b"  A() { /* first */ super(); }\n"
        b"  Runnable r = () -> run(); }\n"
    )
    analysis = analyze.analyze(spec, source)
    assert [str(f.id) for f in analysis.functions] == ["I.b", "A.A"]
    fp = plan.plan_function(analysis, analysis.functions[1], spec.profile("tel").snippets, "A.java")
    entry = next(op for op in fp.ops if "enter" in op.code)
    ctor_row = analysis.functions[1].span.start_row
    assert source.splitlines()[ctor_row + entry.line][: entry.col].endswith(b"super();")


def test_one_function_comes_and_goes_alone_nested_ones_included(tmp_path: Path) -> None:
    """What the editor's per-function actions do: markers belong to their own function."""
    source = (FIXTURES / "Edge.input.java").read_bytes()
    spec = language.get("java")
    engine = Engine(Options(cache_dir=tmp_path / "cache"))
    try:
        full = engine.instrument(source, "edge/Edge.java", spec).new_text.encode("utf-8")
        inner = {"Edge.sw.k", "Edge.main.Comparator.compare", "Edge.Op.PLUS.apply"}
        partial = engine.strip(full, "edge/Edge.java", spec, select=lambda f: str(f.id) in inner)
        rest = engine.instrument(source, "edge/Edge.java", spec, lambda f: str(f.id) not in inner)
        assert partial.new_text == rest.new_text
        analysis = analyze.analyze(spec, full)
        # Every function, nested ones too, owns its markers and none reads as edited since.
        assert all(f.instrumented and not is_stale(analysis, f) for f in analysis.functions)
        again = engine.instrument(partial.new_text.encode("utf-8"), "edge/Edge.java", spec)
        assert again.new_text == full.decode("utf-8")
    finally:
        engine.close()


DEEP = """public class Deep {
    static int depth(int n) {
        return n == 0 ? 0 : 1 + depth(n - 1);
    }

    public static void main(String[] args) {
        try {
            System.out.println(depth(10_000_000));
        } catch (StackOverflowError e) {
            System.out.println("overflow");
        }
        System.out.println(depth(3));
    }
}
"""


def test_a_stack_overflow_loses_events_at_the_edge_and_nothing_else(
    jdk: tuple[str, str], instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    src = tmp_path / "deep"
    src.mkdir()
    (src / "Deep.java").write_text(DEEP, "utf-8")
    plain = java(jdk, javac(jdk, src, tmp_path / "plain"), "Deep", cwd=src)
    out = instrument_copy(src)
    events_file = tmp_path / "events.jsonl"
    run = java(jdk, javac(jdk, out, tmp_path / "instr"), "Deep", cwd=out, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, "")
    assert plain.stdout == "overflow\n3\n"
    events = read_events(events_file)  # every line whole, even those written at the limit
    opened = Counter(e["fn"] for e in events if e["ev"] == "enter")
    opened.subtract(e["fn"] for e in events if e["ev"] == "exit")
    # The frames right at the limit may have no stack left to write their exit event (a few
    # dozen at most; none when the overflow struck inside enter, which then wrote nothing).
    assert set(+opened) <= {"Deep.depth"} and opened["Deep.depth"] <= 200
    # The calls after the overflow are reported whole: the runtime kept no broken state.
    assert [(e["ev"], e["fn"]) for e in events[-9:]] == [
        *[("enter", "Deep.depth")] * 4,
        *[("exit", "Deep.depth")] * 4,
        ("exit", "Deep.main"),
    ]


VECTOR_DRIVER = """public class Vectors {{
    static void call(String fn, String file, int line, boolean raises) {{
        final TelemetryInject.Call t = TelemetryInject.enter(fn, file, line);
        try {{
            if (raises) throw new IllegalStateException("vector " + fn);
        }} catch (Throwable e) {{
            TelemetryInject.error(t, e);
            throw e;
        }} finally {{
            TelemetryInject.exit(t);
        }}
    }}

    public static void main(String[] args) {{
{calls}
    }}
}}
"""


def test_runtime_passes_the_shared_vectors(jdk: tuple[str, str], tmp_path: Path) -> None:
    spec = language.get("java")
    cases = [*VECTORS["cases"], {"fn": "lone\ud800x\x01", "file": "f.java", "line": 1}]
    calls = []
    for case in cases:
        # The literals are made as the instrumentation makes them: JSON, ASCII-only.
        fn, file = (plan.string_literal(spec, case[k]) for k in ("fn", "file"))
        assert fn.isascii() and file.isascii()
        raises = str(case.get("raises", False)).lower()
        calls.append(
            f"        try {{ call({fn}, {file}, {case['line']}, {raises}); }}"
            " catch (IllegalStateException e) {}"
        )
    (tmp_path / "Vectors.java").write_text(VECTOR_DRIVER.format(calls="\n".join(calls)), "utf-8")
    for extra in plan.runtime_files(spec, "tel", "Vectors.java", {"package": ""}):
        (tmp_path / extra.path).write_text(extra.text, "utf-8")
    # The runtime and the inserted code are Java 8: compiled against Java 8's API here.
    classes = javac(jdk, tmp_path, tmp_path / "classes", "--release", "8", *STRICT)
    events_file = tmp_path / "events.jsonl"
    run = java(jdk, classes, "Vectors", cwd=tmp_path, events=events_file)
    assert run.returncode == 0, run.stderr
    events = read_events(events_file)
    check_vectors(events[:-2])
    assert [e["error"] for e in events if e["ev"] == "error"] == [
        f"java.lang.IllegalStateException: vector {c['fn']}" for c in cases if c.get("raises")
    ]
    # A lone surrogate has no UTF-8 form: it becomes U+FFFD, and the line stays valid JSON.
    assert [e["fn"] for e in events[-2:]] == ["lone\ufffdx\x01"] * 2


@pytest.fixture(scope="module")
def org_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """org.json's sources from their Maven Central source jar, unpacked."""
    group, artifact, version = ORG_JSON
    jar = (
        Path.home() / ".m2" / "repository" / group.replace(".", "/") / artifact / version
        / f"{artifact}-{version}-sources.jar"
    )  # fmt: skip
    if not jar.is_file():
        coords = f"-Dartifact={group}:{artifact}:{version}:jar:sources"
        proc = subprocess.run(
            [require("mvn"), "-q", "-B", "dependency:get", coords, "-Dtransitive=false"],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert proc.returncode == 0, f"mvn dependency:get {coords}:\n{proc.stdout}"
    root = tmp_path_factory.mktemp("orgjson") / "src"
    with zipfile.ZipFile(jar) as z:
        for name in z.namelist():
            if name.endswith(".java"):
                z.extract(name, root)
    return root


def test_a_real_library_compiles_and_behaves_the_same_instrumented(
    jdk: tuple[str, str], org_json: Path, tmp_path: Path
) -> None:
    original = tree(org_json)
    driver = tmp_path / "driver"
    driver.mkdir()
    shutil.copy2(FIXTURES / "JsonDriver.java", driver)

    def build_and_run(name: str, events: Path | None = None) -> subprocess.CompletedProcess[str]:
        lib = javac(jdk, org_json, tmp_path / name)
        proc = subprocess.run(
            [jdk[0], "-cp", str(lib), "-d", str(lib), "JsonDriver.java"],
            cwd=driver, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return java(jdk, lib, "JsonDriver", cwd=driver, events=events)

    plain = build_and_run("plain")
    assert plain.returncode == 0, plain.stderr
    assert "error Expected a ':' after a key" in plain.stdout
    report = json.loads(
        run_cli(org_json, "--in-place", "--json", "--cache-dir", tmp_path / "cache").stdout
    )
    assert report["failed"] == 0 and report["instrumented"] > 400
    assert (org_json / "org" / "json" / RUNTIME).is_file()
    events_file = tmp_path / "events.jsonl"
    run = build_and_run("instr", events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, plain.stderr)
    events = read_events(events_file)
    calls = check_pairs(events)
    for fn in (
        "JSONObject.JSONObject",
        "JSONTokener.nextValue",
        "JSONObject.similar",
        "XML.toString",
        "CDL.toJSONArray",
        "JSONArray.put",
        "JSONPointer.queryFrom",
        "JSONObject.quote",
    ):
        assert calls[fn] >= 1, fn
    assert ("JSONTokener.syntaxError" in calls) and any(
        fn == "JSONObject.JSONObject" and err.startswith("org.json.JSONException: Expected a ':'")
        for fn, err in errors_of(events)
    )
    again = run_cli(org_json, "--in-place", "--json", "--cache-dir", tmp_path / "cache")
    assert json.loads(again.stdout)["changed"] == 0
    run_cli("strip", org_json, "--in-place")
    assert tree(org_json) == original


# -- runtime guards (docs/probes.md, tests/vectors/guards.json) --------------------------------

GUARDS_DRIVER = """import java.util.*;

public class Guards {{
    static final String FILE = "Guards.java";

    static List<Object> list(Object... items) {{
        return new ArrayList<Object>(Arrays.asList(items));
    }}

    static Map<String, Object> map(Object... kv) {{
        Map<String, Object> m = new LinkedHashMap<String, Object>();
        for (int k = 0; k < kv.length; k += 2) m.put((String) kv[k], kv[k + 1]);
        return m;
    }}

    static void call(String fn, int line, long sleepMs) throws InterruptedException {{
        final TelemetryInject.Call t = TelemetryInject.enter(fn, FILE, line);
        try {{
            if (sleepMs > 0) Thread.sleep(sleepMs);
        }} catch (Throwable e) {{
            TelemetryInject.error(t, e);
            throw e;
        }} finally {{
            TelemetryInject.exit(t);
        }}
    }}

    static void loops(int runs, int iterations) {{
        for (int r = 0; r < runs; r++) {{
            final TelemetryInject.Loop l = TelemetryInject.loop("loops", FILE, "for", 40);
            for (int i = 0; i < iterations; i++) {{
                TelemetryInject.iter(l, "i", i);
            }}
        }}
    }}

    public static void main(String[] args) throws Exception {{
        switch (args[0]) {{
{cases}
            default:
                throw new IllegalArgumentException(args[0]);
        }}
    }}
}}
"""


def _java_value(spec: language.LanguageSpec, v: Any, arrays: bool) -> str:
    """A Java expression for a JSON value: boxed numbers, strings, Lists (or Object[]), Maps."""
    if v is None:
        return "(Object) null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v) if -(2**31) <= v < 2**31 else f"{v}L"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return plan.string_literal(spec, v)
    if isinstance(v, list):
        items = ", ".join(_java_value(spec, x, arrays) for x in v)
        return f"new Object[] {{{items}}}" if arrays else f"list({items})"
    assert isinstance(v, dict), v
    pairs = (
        f"{plan.string_literal(spec, k)}, {_java_value(spec, x, arrays)}" for k, x in v.items()
    )
    return f"map({', '.join(pairs)})"


def _guard_runs() -> list[tuple[str, int, bool]]:
    """(kind, case index, containers as arrays): container cases run as Lists and as arrays."""
    runs = []
    for kind in KINDS:
        for n, case in enumerate(guard_cases(kind)):
            runs.append((kind, n, False))
            if case.get("containers"):
                runs.append((kind, n, True))
    return runs


def _guard_case_code(
    spec: language.LanguageSpec, kind: str, case: dict[str, Any], arrays: bool
) -> str:
    if kind == "loops":
        return f"loops({case['runs']}, {case['iterations']});"
    if kind == "calls":
        return f'for (int k = 0; k < {case["calls"]}; k++) call("f", 20, 0);'
    if kind == "durations":
        return f'call("fast", 30, 0); call("slow", 31, {case["sleep_ms"]});'
    lines = [
        f'TelemetryInject.assign("values", FILE, {50 + k}, {plan.string_literal(spec, name)},'
        f" {_java_value(spec, value, arrays)});"
        for k, (name, value, _expected) in enumerate(case["values"])
    ]
    return " ".join(lines)


@pytest.fixture(scope="module")
def guards_driver(jdk: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One driver program: its argument names the guard case it runs."""
    spec = language.get("java")
    root = tmp_path_factory.mktemp("guards")
    cases = []
    for kind, n, arrays in _guard_runs():
        code = _guard_case_code(spec, kind, guard_cases(kind)[n], arrays)
        label = f"{kind}-{n}-{'arrays' if arrays else 'lists'}"
        cases.append(f'            case "{label}": {{ {code} break; }}')
    (root / "Guards.java").write_text(GUARDS_DRIVER.format(cases="\n".join(cases)), "utf-8")
    for extra in plan.runtime_files(spec, "tel", "Guards.java", {"package": ""}):
        (root / extra.path).write_text(extra.text, "utf-8")
    return javac(jdk, root, root / "classes", "--release", "8", *STRICT)


def guard_env(case_env: dict[str, str], events: Path) -> dict[str, str]:
    """The process's environment: no guard variable of ours but the case's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_INJECT")}
    return {**env, **case_env, "TELEMETRY_INJECT_OUT": str(events)}


@pytest.mark.parametrize(
    ("kind", "n", "arrays"),
    _guard_runs(),
    ids=[f"{k}-{n}{'-arrays' if a else ''}" for k, n, a in _guard_runs()],
)
def test_runtime_passes_every_guard_case(
    jdk: tuple[str, str], guards_driver: Path, tmp_path: Path, kind: str, n: int, arrays: bool
) -> None:
    case = guard_cases(kind)[n]
    events_file = tmp_path / "events.jsonl"
    label = f"{kind}-{n}-{'arrays' if arrays else 'lists'}"
    proc = subprocess.run(
        [jdk[1], "-cp", str(guards_driver), "Guards", label],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env=guard_env(case["env"], events_file),
    )  # fmt: skip
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    events = read_events(events_file)
    guard_check(kind, case, events)
    if case["env"].get("TELEMETRY_INJECT") == "off":
        assert not events_file.exists()


# -- loop, var and args probes ---------------------------------------------------------------

ALL_PROBES = ("--probes", "function,loop,var,args")
# Labelled break and continue, nested loops, braceless bodies (for, while's continue), do-while,
# enhanced for, a switch case group with declarations and a loop, lambdas with loops, varargs.
PROBES_PROGRAM = """package app;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntUnaryOperator;

public class Inventory {
    private final Map<String, Integer> stock = new LinkedHashMap<>();
    private int moves;

    public Inventory(String... names) {
        for (int i = 0; i < names.length; i++) stock.put(names[i], i + 1);
        moves = names.length;
    }

    int total() {
        int sum = 0;
        for (Map.Entry<String, Integer> e : stock.entrySet()) {
            if (e.getValue() == 2) continue;
            sum += e.getValue();
        }
        return sum;
    }

    static int firstPair(int[][] grid, int target) {
        int found = -1;
        outer:
        for (int r = 0; r < grid.length; r++) {
            for (int c = 0; c < grid[r].length; c++) {
                if (grid[r][c] == target) {
                    found = r * 10 + c;
                    break outer;
                }
                if (grid[r][c] < 0) continue outer;
            }
        }
        return found;
    }

    static String login(String user, String password) {
        String token = user + ":" + password.length();
        int attempts = 0;
        do {
            attempts++;
        } while (attempts < 3);
        return token + "/" + attempts;
    }

    static long churn(int n) {
        long acc = 0;
        int k = 0;
        while (k < n) {
            k++;
            if (k % 2 == 0)
                continue;
            acc += k;
        }
        return acc;
    }

    static String kind(int code) {
        String label;
        switch (code) {
            case 1:
                int doubled = code * 2;
                label = "one/" + doubled;
                break;
            case 2:
                StringBuilder b = new StringBuilder();
                for (int i = 0; i < 3; i++)
                    b.append(i);
                label = b.toString();
                break;
            default:
                label = "other";
        }
        return label;
    }

    static List<Integer> squares(List<Integer> xs) {
        List<Integer> out = new ArrayList<>();
        xs.forEach(x -> {
            int sq = x * x;
            for (int rep = 0; rep < 1; rep++) out.add(sq);
        });
        IntUnaryOperator twice = v -> {
            int t = v;
            for (int j = 0; j < 2; j++) { t = t * 2; }
            return t;
        };
        out.add(twice.applyAsInt(5));
        return out;
    }

    public static void main(String[] args) {
        Inventory inv = new Inventory("apple", "pear", "fig");
        System.out.println("total " + inv.total() + " moves " + inv.moves);
        System.out.println("pair " + firstPair(new int[][] {{1, -2, 3}, {4, 5, 6}}, 5));
        System.out.println("login " + login("ann", "hunter2"));
        System.out.println("churn " + churn(1000));
        for (int code = 1; code <= 3; code++) System.out.println("kind " + kind(code));
        System.out.println("squares " + squares(java.util.Arrays.asList(1, 2, 3)));
    }
}
"""


def _loops(events: list[dict[str, Any]], fn: str) -> list[tuple[int, int, Any]]:
    return [
        (e["line"], e["i"], e.get("vars")) for e in events if e["ev"] == "loop" and e["fn"] == fn
    ]


def _vars(events: list[dict[str, Any]], fn: str) -> list[tuple[str, Any]]:
    return [(e["name"], e["value"]) for e in events if e["ev"] == "var" and e["fn"] == fn]


def test_loop_var_and_args_probes_compile_run_and_report(
    jdk: tuple[str, str], tmp_path: Path
) -> None:
    src = tmp_path / "src"
    (src / "app").mkdir(parents=True)
    (src / "app" / "Inventory.java").write_text(PROBES_PROGRAM, "utf-8")
    original = tree(src)
    plain = java(jdk, javac(jdk, src, tmp_path / "plain", *STRICT), "app.Inventory", cwd=src)
    assert plain.returncode == 0, plain.stderr
    assert "pair 11\n" in plain.stdout and "kind 012\n" in plain.stdout
    out = tmp_path / "out"
    shutil.copytree(src, out)
    run_cli(out, "--in-place", *ALL_PROBES, "--jobs", "1", "--cache-dir", tmp_path / "cache")
    text = (out / "app" / "Inventory.java").read_text("utf-8")
    assert "TelemetryInject.loop(" in text and "TelemetryInject.assign(" in text
    classes = javac(jdk, out, tmp_path / "instr", *STRICT)  # not one warning more
    events_file = tmp_path / "events.jsonl"
    run = java(jdk, classes, "app.Inventory", cwd=out, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, "")
    events = read_events(events_file)
    check_pairs(events)
    source = src / "app" / "Inventory.java"

    def at(needle: str) -> int:
        return line_of(source, needle)

    # Nested loops with `continue outer` and `break outer`: each loop execution counts from 0.
    r_loop, c_loop = at("outer:"), at("for (int c = 0;")
    assert _loops(events, "Inventory.firstPair") == [
        (r_loop, 0, {"r": 0}), (c_loop, 0, {"c": 0}), (c_loop, 1, {"c": 1}),
        (r_loop, 1, {"r": 1}), (c_loop, 0, {"c": 0}), (c_loop, 1, {"c": 1}),
    ]  # fmt: skip
    assert _vars(events, "Inventory.firstPair") == [("found", -1), ("found", 11)]
    # Arguments, arrays walked; a parameter named like a secret is redacted, as is `token`.
    enter = {e["fn"]: e.get("args") for e in events if e["ev"] == "enter"}
    assert enter["Inventory.firstPair"] == {"grid": [[1, -2, 3], [4, 5, 6]], "target": 5}
    assert enter["Inventory.login"] == {"user": "ann", "password": "<redacted>"}
    assert enter["Inventory.Inventory"] == {"names": ["apple", "pear", "fig"]}
    assert enter["Inventory.squares.twice"] == {"v": 5}
    assert enter["Inventory.total"] is None  # no parameter, no args field
    assert _vars(events, "Inventory.login") == [("token", "<redacted>"), ("attempts", 0)]
    assert _loops(events, "Inventory.login") == [(at("do {"), i, None) for i in range(3)]
    # A braceless body got braces; the enhanced for's `continue` skipped the var line only.
    assert _loops(events, "Inventory.Inventory") == [
        (at("for (int i = 0; i < names.length"), i, {"i": i}) for i in range(3)
    ]
    each = at("for (Map.Entry")
    assert _loops(events, "Inventory.total") == [
        (each, 0, {"e": "apple=1"}), (each, 1, {"e": "pear=2"}), (each, 2, {"e": "fig=3"}),
    ]  # fmt: skip
    assert _vars(events, "Inventory.total") == [("sum", 0), ("sum", 1), ("sum", 4)]
    # A switch case group: its declaration and its braceless loop.
    assert _vars(events, "Inventory.kind") == [
        ("doubled", 2), ("label", "one/2"), ("b", ""), ("label", "012"), ("label", "other"),
    ]  # fmt: skip
    assert [i for _l, i, _v in _loops(events, "Inventory.kind")] == [0, 1, 2]
    # Loops in lambdas belong to the lambda (each call a new loop execution).
    assert (
        _loops(events, "Inventory.squares.<anonymous>")
        == [(at("for (int rep = 0;"), 0, {"rep": 0})] * 3
    )
    # `{ t = t * 2; }` shares its line with the braces: no var line there, the loop's line inline.
    assert _vars(events, "Inventory.squares.twice") == [("t", 5)]
    assert _loops(events, "Inventory.squares.twice") == [
        (at("for (int j = 0;"), 0, {"j": 0}), (at("for (int j = 0;"), 1, {"j": 1}),
    ]  # fmt: skip
    # A loop of 1000 iterations, sampled: the first 10, then every 100th.
    churn = at("while (k < n)")
    default = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100, 200, 300, 400, 500, 600, 700, 800, 900]
    assert [i for line, i, _v in _loops(events, "Inventory.churn") if line == churn] == default
    assert len(_vars(events, "Inventory.churn")) == 2 + 500  # acc and k, then acc on odd k
    sampled_file = tmp_path / "sampled.jsonl"
    env = {"TELEMETRY_INJECT_LOOP_FIRST": "2", "TELEMETRY_INJECT_LOOP_EVERY": "250"}
    sampled = java(jdk, classes, "app.Inventory", cwd=out, events=sampled_file, env=env)
    assert (sampled.returncode, sampled.stdout) == (0, plain.stdout)
    sampled_events = read_events(sampled_file)
    assert [i for _l, i, _v in _loops(sampled_events, "Inventory.churn")] == [0, 1, 250, 500, 750]
    assert len(_loops(sampled_events, "Inventory.firstPair")) == 6  # all under FIRST=2
    # Redaction follows TELEMETRY_INJECT_REDACT; the rate limit caps each var site.
    other_file = tmp_path / "other.jsonl"
    env = {"TELEMETRY_INJECT_REDACT": "attempt", "TELEMETRY_INJECT_RATE": "3"}
    other = java(jdk, classes, "app.Inventory", cwd=out, events=other_file, env=env)
    assert (other.returncode, other.stdout) == (0, plain.stdout)
    other_events = read_events(other_file)
    assert _vars(other_events, "Inventory.login") == [
        ("token", "ann:7"),
        ("attempts", "<redacted>"),
    ]
    assert _vars(other_events, "Inventory.churn") == [
        ("acc", 0),
        ("k", 0),
        ("acc", 1),
        ("acc", 4),
        ("acc", 9),
    ]
    # Off: not one event, the same output.
    off_file = tmp_path / "off.jsonl"
    off = java(
        jdk, classes, "app.Inventory", cwd=out, events=off_file, env={"TELEMETRY_INJECT": "off"}
    )
    assert (off.returncode, off.stdout, off.stderr) == (0, plain.stdout, "")
    assert not off_file.exists()
    # Again with every probe: nothing changes; strip restores every byte.
    again = run_cli(out, "--in-place", *ALL_PROBES, "--json", "--cache-dir", tmp_path / "cache")
    assert json.loads(again.stdout)["changed"] == 0
    run_cli("strip", out, "--in-place")
    assert tree(out) == original


def test_every_probe_on_the_example_and_edge_cases_compiles_behaves_the_same_and_strips(
    jdk: tuple[str, str], tmp_path: Path
) -> None:
    src = _edge_tree(tmp_path / "src", "\n")
    shutil.copytree(EXAMPLES / "java", src, dirs_exist_ok=True)
    original = tree(src)
    plain_classes = javac(jdk, src, tmp_path / "plain", *STRICT)
    out = tmp_path / "out"
    shutil.copytree(src, out)
    report = json.loads(
        run_cli(out, "--in-place", *ALL_PROBES, "--json", "--cache-dir", tmp_path / "cache").stdout
    )
    assert report["failures"] == []
    classes = javac(jdk, out, tmp_path / "instr", *STRICT)
    for main in ("Main", "edge.Edge"):
        plain = java(jdk, plain_classes, main, cwd=src)
        events_file = tmp_path / f"{main}.jsonl"
        run = java(jdk, classes, main, cwd=out, events=events_file)
        assert (run.returncode, run.stdout, run.stderr) == (
            plain.returncode,
            plain.stdout,
            plain.stderr,
        )
        events = read_events(events_file)
        check_pairs(events)
        kinds = Counter(e["ev"] for e in events)
        assert kinds["loop"] > 0 and kinds["var"] > 0, kinds
        args = {e["fn"]: e.get("args") for e in events if e["ev"] == "enter"}
        assert args.get("Cart.add", args.get("Edge.call")) is not None
    run_cli("strip", out, "--in-place")
    assert tree(out) == original


JAVA_VALUES_DRIVER = """import java.math.BigDecimal;
import java.util.*;

public class JavaValues {
    static final String FILE = "JavaValues.java";

    enum Color { RED }

    static class Thrower {
        @Override
        public String toString() {
            throw new IllegalStateException("no text");
        }
    }

    static class Selfish {
        @Override
        public String toString() {
            TelemetryInject.assign("Selfish.toString", FILE, 2, "self", this);
            return "selfish";
        }
    }

    static void v(String name, Object value) {
        TelemetryInject.assign("values", FILE, 1, name, value);
    }

    public static void main(String[] args) {
        final TelemetryInject.Call c = TelemetryInject.enter("f", FILE, 3, "apiKey", "k", "n", 1);
        v("ch", 'x');
        v("ints", new int[] {1, 2});
        v("chars", new char[] {'a'});
        v("nan", Double.NaN);
        v("inf", Double.POSITIVE_INFINITY);
        v("fl", 1.1f);
        v("big", 3000000000L);
        v("sh", (short) 7);
        v("dec", new BigDecimal("1.50"));
        Map<Integer, String> m = new LinkedHashMap<Integer, String>();
        m.put(1, "a");
        m.put(null, "b");
        v("keys", m);
        v("thrower", new Thrower());
        v("sb", new StringBuilder("sb"));
        v("color", Color.RED);
        char[] wide = new char[300];
        Arrays.fill(wide, 'w');
        v("wide", Collections.singletonList(new String(wide)));
        v("opt", Optional.of(3));
        v("set", new TreeSet<Integer>(Arrays.asList(3, 1)));
        v("s", new Selfish());
        v("password", "hunter2");
        final TelemetryInject.Loop l = TelemetryInject.loop("f", FILE, "for", 4);
        TelemetryInject.iter(l, "a", 1, "b", "two", "token", 3);
        TelemetryInject.exit(c);
    }
}
"""


def test_runtime_renders_java_values(jdk: tuple[str, str], tmp_path: Path) -> None:
    spec = language.get("java")
    (tmp_path / "JavaValues.java").write_text(JAVA_VALUES_DRIVER, "utf-8")
    for extra in plan.runtime_files(spec, "tel", "JavaValues.java", {"package": ""}):
        (tmp_path / extra.path).write_text(extra.text, "utf-8")
    classes = javac(jdk, tmp_path, tmp_path / "classes", "--release", "8", *STRICT)
    events_file = tmp_path / "events.jsonl"
    run = java(jdk, classes, "JavaValues", cwd=tmp_path, events=events_file)
    assert (run.returncode, run.stderr) == (0, "")
    events = read_events(events_file)
    assert events[0]["args"] == {"apiKey": "<redacted>", "n": 1}
    values = [(e["fn"], e["name"], e["value"]) for e in events if e["ev"] == "var"]
    # A toString that records `this` sees its type name, not itself again.
    selfish = ("Selfish.toString", "self", "JavaValues$Selfish")
    assert values == [
        ("values", "ch", "x"), ("values", "ints", [1, 2]), ("values", "chars", ["a"]),
        ("values", "nan", "NaN"), ("values", "inf", "Infinity"), ("values", "fl", 1.1),
        ("values", "big", 3000000000), ("values", "sh", 7), ("values", "dec", 1.5),
        ("values", "keys", {"1": "a", "null": "b"}),
        ("values", "thrower", "JavaValues$Thrower"), ("values", "sb", "sb"),
        ("values", "color", "RED"), ("values", "wide", ["w" * 200 + "\u2026"]),
        ("values", "opt", "Optional[3]"), ("values", "set", [1, 3]),
        selfish, ("values", "s", "selfish"), ("values", "password", "<redacted>"),
    ]  # fmt: skip
    loop = next(e for e in events if e["ev"] == "loop")
    assert loop["vars"] == {"a": 1, "b": "two", "token": "<redacted>"}
    # An empty TELEMETRY_INJECT_REDACT redacts nothing.
    plain_file = tmp_path / "plain.jsonl"
    env = {"TELEMETRY_INJECT_REDACT": ""}
    assert (
        java(jdk, classes, "JavaValues", cwd=tmp_path, events=plain_file, env=env).returncode == 0
    )
    plain = read_events(plain_file)
    assert plain[0]["args"] == {"apiKey": "k", "n": 1}
    assert [e["value"] for e in plain if e.get("name") == "password"] == ["hunter2"]
