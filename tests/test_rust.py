"""Rust end to end: instrument crates with the CLI, build and run them with cargo and rustc, and
check their output, events, idempotency and byte-exact removal; real crates from crates.io must
still pass their own tests."""

from __future__ import annotations

import functools
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
from helpers import EXAMPLES, ROOT, line_of, require, run_cli, run_program
from telemetry import VECTORS, check_pairs, check_vectors, check_where, first, read_events
from telemetry_inject.core import analyze, language, plan

FIXTURES = ROOT / "tests" / "fixtures" / "rust"
# Builds happen at fixed paths under the cache, so cargo's target dirs are reused, not grown.
CACHE = ROOT / "tests" / ".cache" / "rust"
RUNTIME = ".telemetry_inject_rt.rs"
MOD_LINE = '#[path = ".telemetry_inject_rt.rs"] mod telemetry_inject_rt;  // telemetry-inject'
CRATES = {"strsim": "0.11.1", "itoa": "1.0.15"}  # std + edition 2015; no_std
ENV = {"RUST_BACKTRACE": "0", "CARGO_TERM_COLOR": "never"}

Cargo = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def cargo() -> Cargo:
    """cargo with a persistent target dir per crate; fails with its output when it fails."""
    exe = require("cargo")

    def run(*args: str, cwd: Path, target: str, events: Path | None = None, check: bool = True):
        env = {**ENV, "CARGO_TARGET_DIR": str(CACHE / "target" / target)}
        proc = run_program([exe, *args], cwd, events=events, env=env)
        if check and proc.returncode != 0:
            raise AssertionError(f"cargo {' '.join(args)} -> {proc.returncode}\n{proc.stderr}")
        return proc

    return run


def rustc(source: Path, out: Path, *flags: str) -> Path:
    """Compiled from its own directory, so panic messages name it the same wherever it is."""
    proc = subprocess.run(
        [require("rustc"), "--edition", "2021", "-o", str(out), *flags, source.name],
        cwd=source.parent,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return out


def workdir(name: str, src: Path | None = None) -> Path:
    """A fresh copy of src (or an empty dir) at a fixed path under the cache."""
    dst = CACHE / "work" / name
    shutil.rmtree(dst, ignore_errors=True)
    if src is None:
        dst.mkdir(parents=True)
    else:
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("target"))
    return dst


def instrument(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """The CLI run from the crate's root, so events name files as src/main.rs."""
    return run_cli(".", "--in-place", "--jobs", "1", "--no-cache", *extra, cwd=root)


def tree(root: Path) -> dict[str, bytes]:
    """The sources under root, without cargo's build output and lock file."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and "target" not in p.relative_to(root).parts and p.name != "Cargo.lock"
    }


def same_stderr(a: str, b: str) -> bool:
    """Panic messages name their line, which instrumentation moves; the thread's id differs."""

    def norm(s: str) -> str:
        return re.sub(r"thread '(\w+)' \(\d+\) panicked at ([^:]+):\d+:\d+", r"\1 \2", s)

    return norm(a) == norm(b)


@pytest.fixture(scope="module")
def example(cargo: Cargo) -> tuple[Path, Path]:
    """The example crate built as it is and instrumented: (plain binary, instrumented crate)."""
    plain = workdir("example-plain", EXAMPLES / "rust")
    cargo("build", "--offline", cwd=plain, target="example-plain")
    out = workdir("example", EXAMPLES / "rust")
    instrument(out)
    cargo("build", "--offline", cwd=out, target="example")
    return CACHE / "target" / "example-plain" / "debug" / "telemetry-demo", out


def test_example_behaves_the_same_and_reports_every_call(
    example: tuple[Path, Path], tmp_path: Path
) -> None:
    plain_exe, out = example
    src = EXAMPLES / "rust"
    plain = run_program([str(plain_exe)], src, env=ENV)
    assert plain.returncode == 0, plain.stderr
    assert (out / "src" / RUNTIME).is_file()
    # Both crate roots declare the runtime, the one without functions of its own too.
    for root in ("main.rs", "lib.rs"):
        assert (out / "src" / root).read_text("utf-8").count(MOD_LINE) == 1
    events_file = tmp_path / "events.jsonl"
    exe = CACHE / "target" / "example" / "debug" / "telemetry-demo"
    run = run_program([str(exe)], out, events=events_file, env=ENV)
    assert run.returncode == 0, run.stderr
    assert run.stdout == plain.stdout
    # Our panic hook hands over to the default one: the same message on stderr.
    assert "checkout of an empty cart" in plain.stderr
    assert same_stderr(run.stderr, plain.stderr)
    events = read_events(events_file)
    calls = check_pairs(events)
    expected = {
        "main": 1, "noop": 1, "square": 4, "squares": 1, "Cart.add": 3, "reserve": 3,
        "stock": 3, "OutOfStock.fmt": 1, "Cart.names": 1, "Cart.names.<anonymous>": 1,
        "Cart.subtotal": 1, "Cart.subtotal.discounted": 2, "Item.total": 4, "Cart.checkout": 2,
        "safe_checkout": 2, "safe_checkout.<anonymous>": 1, "main.<anonymous>": 2,
        "main.<anonymous>.<anonymous>": 2, "Stack.push": 4, "Stack.items": 1, "Stack.len": 1,
        "Stack.label": 1, "Cart.label": 1, "Describe.describe": 2,
    }  # fmt: skip
    assert calls == Counter(expected)
    assert "Stack.new" not in calls  # a const fn
    errors = [(e["fn"], e["error"]) for e in events if e["ev"] == "error"]
    assert errors == [("Cart.checkout", "panic: checkout of an empty cart")]
    cart, main, shop = (src / "src" / p for p in ("shop/cart.rs", "main.rs", "shop/mod.rs"))
    where = {
        "Cart.add": (cart, "pub fn add("),
        "Item.total": (cart, "pub fn total("),
        "Cart.subtotal.discounted": (cart, "fn discounted("),
        "Cart.names.<anonymous>": (cart, "names.sort_by("),
        "Describe.describe": (shop, "fn describe("),
        "main": (main, "fn main()"),
    }
    check_where(events, src, where)
    assert len({e["pid"] for e in events}) == 1


def test_events_go_to_stderr_by_default_and_off_is_silent(
    example: tuple[Path, Path], tmp_path: Path
) -> None:
    _plain, out = example
    exe = str(CACHE / "target" / "example" / "debug" / "telemetry-demo")
    default = run_program([exe], out, env=ENV)
    assert default.returncode == 0
    lines = [ln for ln in default.stderr.splitlines() if ln.startswith('{"ev":')]
    stream = tmp_path / "stderr.jsonl"
    stream.write_text("\n".join(lines) + "\n", "utf-8")
    assert check_pairs(read_events(stream))["Cart.add"] == 3
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_INJECT")}
    for value in ("off", "0", "FALSE", "no"):
        events_file = tmp_path / f"off-{value}.jsonl"
        env.update(ENV, TELEMETRY_INJECT=value, TELEMETRY_INJECT_OUT=str(events_file))
        off = subprocess.run([exe], cwd=out, env=env, capture_output=True, text=True)
        assert (off.returncode, off.stdout) == (0, default.stdout)
        assert '"ev"' not in off.stderr
        assert not events_file.exists()


def test_instrumenting_again_changes_nothing_and_strip_restores_every_byte(
    tmp_path: Path,
) -> None:
    src = EXAMPLES / "rust"
    out = tmp_path / "rust"
    shutil.copytree(src, out)
    instrument(out)
    assert tree(out) != tree(src)
    report = json.loads(instrument(out, "--json").stdout)
    assert (report["changed"], report["instrumented"], report["failures"]) == (0, 0, [])
    run_cli("strip", ".", "--in-place", "--no-cache", cwd=out)
    assert tree(out) == tree(src)  # the runtime file and both mod lines are gone too


def _raw(text: str) -> str:
    assert '"#' not in text
    return f'r#"{text}"#'


def vector_driver() -> str:
    """Each case as an instrumented function would run it, its constants compiled in."""
    calls = []
    for n, case in enumerate(VECTORS["cases"]):
        fn, file = json.dumps(case["fn"], ensure_ascii=False), json.dumps(case["file"])
        body = f'panic!("vector {{}}", {_raw(case["fn"])});' if case["raises"] else ""
        site = _raw(f'{fn},"file":{file},"line":{case["line"]}')
        calls.append(f"fn case{n}() {{ let _g = telemetry_inject_rt::enter({site}, &[]); {body} }}")
    runs = "".join(f"    let _ = std::panic::catch_unwind(case{n});\n" for n in range(len(calls)))
    odd = 'panic!("{}", "quote\\" back\\\\ nl\\n tab\\t ctl\\u{1} é");'
    odd_fn = (
        'fn odd() { let _g = telemetry_inject_rt::enter(r#""odd","file":"o.rs","line":1"#, &[]); '
    )
    return (
        f'#[path = "{RUNTIME}"] mod telemetry_inject_rt;\n'
        + "\n".join(calls)
        + f"\n{odd_fn}{odd} }}"
        + "\nfn main() {\n"
        + runs
        + "    if std::env::args().count() > 1 { let _ = std::panic::catch_unwind(odd); }\n}\n"
    )


def test_runtime_passes_the_shared_vectors(tmp_path: Path) -> None:
    spec = language.get("rust")
    for extra in plan.runtime_files(spec, "tel", "src/main.rs", {}):
        (tmp_path / Path(extra.path).name).write_text(extra.text, "utf-8")
    (tmp_path / "main.rs").write_text(vector_driver(), "utf-8")
    exe = str(rustc(tmp_path / "main.rs", tmp_path / "driver"))
    events_file = tmp_path / "events.jsonl"
    run = run_program([exe], tmp_path, events=events_file, env=ENV)
    assert run.returncode == 0, run.stderr
    events = read_events(events_file)
    check_vectors(events)
    raising = [c["fn"] for c in VECTORS["cases"] if c["raises"]]
    assert [e["error"] for e in events if e["ev"] == "error"] == [
        f"panic: vector {fn}" for fn in raising
    ]
    # A message with quotes, backslashes and control characters still makes valid JSON.
    odd = tmp_path / "odd.jsonl"
    assert run_program([exe, "odd"], tmp_path, events=odd, env=ENV).returncode == 0
    errors = [e["error"] for e in read_events(odd) if e["ev"] == "error"]
    assert errors[-1] == 'panic: quote" back\\ nl\n tab\t ctl\x01 é'


CRASH = """fn inner(xs: &[i32]) -> i32 {
    xs[xs.len() + 2]
}

fn outer() -> i32 { inner(&[1, 2, 3]) }

fn main() {
    println!("before");
    println!("{}", outer());
}
"""


@pytest.mark.parametrize("strategy", ["unwind", "abort"])
def test_an_uncaught_panic_is_recorded_and_crashes_the_same_way(
    tmp_path: Path, strategy: str
) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    for root in (src, out):
        root.mkdir()
        (root / "main.rs").write_text(CRASH, "utf-8")
    instrument(out)
    flags = ("-C", f"panic={strategy}")
    plain = run_program([str(rustc(src / "main.rs", tmp_path / "plain", *flags))], src, env=ENV)
    events_file = tmp_path / "events.jsonl"
    exe = str(rustc(out / "main.rs", tmp_path / "instr", *flags))
    run = run_program([exe], out, events=events_file, env=ENV)
    assert run.returncode == plain.returncode == (101 if strategy == "unwind" else -6)
    assert run.stdout == plain.stdout == "before\n"
    assert "index out of bounds: the len is 3 but the index is 5" in plain.stderr
    assert same_stderr(run.stderr, plain.stderr)
    events = read_events(events_file)
    if strategy == "abort":
        # No unwinding, no exits: the hook writes what was recorded before the process dies.
        assert [(e["ev"], e["fn"]) for e in events] == [
            ("enter", "main"), ("enter", "outer"), ("enter", "inner")
        ]  # fmt: skip
        return
    check_pairs(events)
    assert [(e["ev"], e["fn"]) for e in events if e["ev"] != "enter"] == [
        ("error", "inner"), ("exit", "inner"), ("error", "outer"), ("exit", "outer"),
        ("error", "main"), ("exit", "main"),
    ]  # fmt: skip
    assert {e["error"] for e in events if e["ev"] == "error"} == {
        "panic: index out of bounds: the len is 3 but the index is 5"
    }


def _edge(root: Path, eol: str) -> Path:
    text = (FIXTURES / "edge.input.rs").read_text("utf-8").replace("\n", eol)
    (root / "src").mkdir(parents=True)
    (root / "src" / "main.rs").write_bytes(text.encode("utf-8"))
    return root / "src" / "main.rs"


@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_edge_cases_match_the_golden_file_build_and_run(tmp_path: Path, eol: str) -> None:
    src, out = _edge(tmp_path / "src", eol), _edge(tmp_path / "out", eol)
    plain = run_program([str(rustc(src, tmp_path / "plain"))], src.parent, env=ENV)
    assert plain.returncode == 0, plain.stderr
    instrument(out.parent.parent)
    golden = (FIXTURES / "edge.expected.rs").read_text("utf-8").replace("\n", eol)
    got = out.read_bytes().decode("utf-8")
    if eol != "\n":  # stamps hash the original text, EOLs included
        got, golden = (re.sub(r"telemetry-inject:[0-9a-f]{8}", "STAMP", t) for t in (got, golden))
    assert got == golden
    exe = str(rustc(out, tmp_path / "instr", "-D", "warnings"))
    events_file = tmp_path / "events.jsonl"
    run = run_program([exe], out.parent, events=events_file, env=ENV)
    assert (run.returncode, run.stdout) == (0, plain.stdout)
    assert same_stderr(run.stderr, plain.stderr)
    events = read_events(events_file)
    calls = check_pairs(events)
    expected = {
        "main": 1, "empty": 1, "empty_lines": 1, "one": 205, "tail": 1, "parse_sum": 2,
        "unicodé": 1, "where_clause": 1, "Square.area": 1, "Shape.name": 1, "Square.fmt": 1,
        "Pair.swap": 1, "inner.call": 1, "inner.deeper.depth": 1, "must_positive": 1,
        "add_later": 1, "ready": 1, "block_on": 1, "block_on.noop": 1, "main.<anonymous>": 5,
    }  # fmt: skip
    assert calls == Counter(expected)
    errors = [(e["fn"], e["error"]) for e in events if e["ev"] == "error"]
    assert errors == [("must_positive", "panic: negative: -3")]
    source = FIXTURES / "edge.input.rs"
    for fn, needle in {
        "unicodé": "fn unicodé()",
        "Square.fmt": "fn fmt(&self",
        "inner.deeper.depth": "pub fn depth()",
        "empty_lines": "fn empty_lines()",
        "add_later": "async fn add_later(",
    }.items():
        assert first(events, fn)["line"] == line_of(source, needle), fn
    # process::exit leaves the open frames without exit events, but the main thread's buffer
    # is written: whole lines, in the order of a full run.
    exit_file = tmp_path / "exit.jsonl"
    assert run_program([exe, "exit"], out.parent, events=exit_file, env=ENV).returncode == 3
    exited = [(e["ev"], e["fn"]) for e in read_events(exit_file)]
    assert 0 < len(exited) < len(events)
    assert exited == [(e["ev"], e["fn"]) for e in events][: len(exited)]
    run_cli("strip", tmp_path / "out", "--in-place", "--no-cache")
    assert out.read_bytes() == src.read_bytes()
    assert not (out.parent / RUNTIME).exists()


def test_only_functions_with_bodies_outside_macros_are_found_and_const_fn_skipped() -> None:
    spec = language.get("rust")
    source = b"""const fn c() {}
pub(crate) const unsafe fn d() {}
trait T { fn decl(&self); fn dflt(&self) {} }
extern "C" { fn ext(); }
macro_rules! m { () => { fn in_macro() {} } }
impl<T> std::fmt::Debug for Wrap<T> { fn fmt(&self) { let f = |x: u8| { x }; let g = |y: u8| y; } }
impl Tr for u32 { fn on_primitive(&self) {} }
mod tests { fn it_works() {} }
"""
    found = plan.plan(analyze.analyze(spec, source), "tel", "src/lib.rs")
    assert [str(f.function.id) for f in found.functions] == [
        "T.dflt", "Wrap.fmt", "Wrap.fmt.<anonymous>", "u32.on_primitive", "tests.it_works"
    ]  # fmt: skip
    assert [(str(o.id), o.reason.split(" may")[0]) for o in found.skipped] == [
        ("c", "a const fn"), ("d", "a const fn")
    ]  # fmt: skip


CARGO_ROOTS = {
    "Cargo.toml": '[package]\nname = "roots"\nversion = "0.1.0"\nedition = "2021"\n',
    "src/lib.rs": "//! Only modules here.\n\npub mod util;\n",
    "src/util.rs": "pub fn twice(x: u32) -> u32 {\n    x * 2\n}\n",
    "src/bin/tool.rs": 'fn main() {\n    println!("{}", roots::util::twice(21));\n}\n',
    "tests/it.rs": "#[test]\nfn twice_works() {\n    assert_eq!(roots::util::twice(2), 4);\n}\n",
    "examples/demo.rs": 'fn main() {\n    println!("demo {}", roots::util::twice(1));\n}\n',
}


def test_every_cargo_target_gets_the_runtime_and_builds(cargo: Cargo, tmp_path: Path) -> None:
    root = workdir("roots")
    for name, text in CARGO_ROOTS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, "utf-8")
    before = tree(root)
    instrument(root)
    for crate_root in ("src/lib.rs", "src/bin/tool.rs", "tests/it.rs", "examples/demo.rs"):
        assert MOD_LINE in (root / crate_root).read_text("utf-8"), crate_root
        assert (root / crate_root).with_name(RUNTIME).is_file(), crate_root
    assert not (root / "src" / "util.rs").with_name("telemetry_inject_rt.rs").exists()
    cargo("build", "--offline", "--all-targets", cwd=root, target="roots")
    events_file = tmp_path / "events.jsonl"
    test = cargo("test", "--offline", cwd=root, target="roots", events=events_file)
    assert "test result: ok. 1 passed" in test.stdout
    calls = check_pairs(read_events(events_file))
    assert (calls["twice_works"], calls["twice"]) == (1, 1)
    run = cargo("run", "--offline", "--bin", "tool", cwd=root, target="roots", events=events_file)
    assert run.stdout == "42\n"
    assert check_pairs(read_events(events_file))["main"] == 1
    run_cli("strip", root, "--in-place", "--no-cache")
    assert tree(root) == before


@pytest.fixture(scope="module")
def crates(cargo: Cargo) -> dict[str, Path]:
    """Sources of real crates, fetched from crates.io into cargo's registry."""
    fetch = CACHE / "fetch"
    (fetch / "src").mkdir(parents=True, exist_ok=True)
    deps = "".join(f'{name} = "={version}"\n' for name, version in CRATES.items())
    manifest = f'[package]\nname = "fetch"\nversion = "0.0.0"\n\n[dependencies]\n{deps}'
    (fetch / "Cargo.toml").write_text(manifest, "utf-8")
    (fetch / "src" / "lib.rs").write_text("", "utf-8")
    cargo("fetch", cwd=fetch, target="fetch")
    home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    return {
        name: next((home / "registry" / "src").glob(f"*/{name}-{version}"))
        for name, version in CRATES.items()
    }


@pytest.mark.parametrize("name", sorted(CRATES))
def test_a_real_crate_passes_its_own_tests_instrumented(
    cargo: Cargo, crates: dict[str, Path], tmp_path: Path, name: str
) -> None:
    root = workdir(f"crate-{name}", crates[name])
    for path in root.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)
    original = tree(root)
    report = json.loads(instrument(root, "--json").stdout)
    assert report["failures"] == [] and report["instrumented"] > 0
    assert MOD_LINE in (root / "src" / "lib.rs").read_text("utf-8")
    cargo("fetch", cwd=root, target=f"crate-{name}")  # optional dependencies of the manifest
    events_file = tmp_path / "events.jsonl"
    result = cargo("test", "--offline", cwd=root, target=f"crate-{name}", events=events_file)
    assert "FAILED" not in result.stdout and "test result: ok" in result.stdout
    calls = check_pairs(read_events(events_file))
    wanted = {
        "strsim": ("levenshtein", "jaro_winkler", "tests.levenshtein_diff_short"),
        "itoa": ("Buffer.new", "Buffer.format", "udivmod_1e19"),  # its tests are macro-made
    }[name]
    assert all(calls[fn] >= 1 for fn in wanted), {fn: calls[fn] for fn in wanted}
    run_cli("strip", root, "--in-place", "--no-cache")
    assert tree(root) == original


def _rust_literal(value: Any) -> str:
    """A guard case's value as the Rust expression a program would hold."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i64"
    if isinstance(value, float):
        return f"{value!r}f64"
    if value is None:
        return "Option::<i64>::None"
    assert isinstance(value, str), value
    escaped = "".join(
        {"\\": "\\\\", '"': '\\"'}.get(c, c) if ord(c) >= 0x20 else f"\\u{{{ord(c):x}}}"
        for c in value
    )
    return f'"{escaped}"'


def guard_driver() -> str:
    """The tel profile's snippets as instrumented code holds them, one case per argument."""
    rt = "crate::telemetry_inject_rt"
    values = []
    for n, case in enumerate(guards.cases("values", containers=False)):
        lines = "".join(
            f"            let v{i} = {_rust_literal(value)};\n"
            f'            {rt}::var(r#""values""#, r#""guards.rs""#, 5, {json.dumps(name)}, '
            f"{rt}::val(&v{i}).tel());\n"
            for i, (name, value, _expected) in enumerate(case["values"])
        )
        values.append(f"        {n} => {{\n{lines}        }}\n")
    return f"""#[path = "{RUNTIME}"] mod telemetry_inject_rt;
use std::time::Duration;

fn fast() {{
    let _tel_guard = {rt}::enter(r#""fast","file":"guards.rs","line":1"#, &[]);
}}

fn slow(ms: u64) {{
    let _tel_guard =
        {rt}::enter(r#""slow","file":"guards.rs","line":2"#, &[("ms", {rt}::val(&ms).tel())]);
    std::thread::sleep(Duration::from_millis(ms));
}}

fn called() {{
    let _tel_guard = {rt}::enter(r#""called","file":"guards.rs","line":3"#, &[]);
}}

fn run_loop(n: u64) {{
    let __tel_l0_1 = {rt}::Loop::new(r#""run_loop""#, r#""guards.rs""#, 4, r#""for""#);
    for i in 0..n {{
        if __tel_l0_1.next() {{ __tel_l0_1.vars(&[("i", {rt}::val(&i).tel())]) }}
    }}
}}

fn values(case: u64) {{
    match case {{
{"".join(values)}        _ => unreachable!(),
    }}
}}

fn main() {{
    let args: Vec<String> = std::env::args().collect();
    let n = |i: usize| args[i].parse::<u64>().unwrap();
    match args[1].as_str() {{
        "loops" => (0..n(3)).for_each(|_| run_loop(n(2))),
        "calls" => (0..n(2)).for_each(|_| called()),
        "durations" => {{
            fast();
            slow(n(2));
        }}
        _ => values(n(2)),
    }}
}}
"""


@pytest.fixture(scope="module")
def guards_exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("guards")
    for extra in plan.runtime_files(language.get("rust"), "tel", "src/main.rs", {}):
        (root / Path(extra.path).name).write_text(extra.text, "utf-8")
    (root / "main.rs").write_text(guard_driver(), "utf-8")
    return rustc(root / "main.rs", root / "driver", "-D", "warnings")


def _guard_args(kind: str, index: int, case: dict[str, Any]) -> list[str]:
    if kind == "loops":
        return [str(case["iterations"]), str(case["runs"])]
    if kind == "calls":
        return [str(case["calls"])]
    if kind == "durations":
        return [str(case["sleep_ms"])]
    return [str(index)]


@pytest.mark.parametrize(
    ("kind", "index"),
    [(k, i) for k in guards.KINDS for i in range(len(guards.cases(k, containers=False)))],
)
def test_runtime_passes_every_guard_case(
    guards_exe: Path, tmp_path: Path, kind: str, index: int
) -> None:
    case = guards.cases(kind, containers=False)[index]
    events_file = tmp_path / "events.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_INJECT")}
    env.update(ENV, **case["env"], TELEMETRY_INJECT_OUT=str(events_file))
    run = subprocess.run(
        [str(guards_exe), kind, *_guard_args(kind, index, case)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (run.returncode, run.stderr) == (0, "")
    events = read_events(events_file)
    guards.check(kind, case, events)
    if kind == "durations" and not case["env"]:
        slow = next(e for e in events if e["ev"] == "enter" and e["fn"] == "slow")
        assert slow["args"] == {"ms": case["sleep_ms"]}


PROBES = FIXTURES / "probes.rs"
ALL_PROBES = ("--probes", "function,loop,var,args")


def _loops(events: list[dict[str, Any]], line: int) -> list[dict[str, Any]]:
    return [e for e in events if e["ev"] == "loop" and e["line"] == line]


def test_loop_var_and_args_probes_build_run_unchanged_and_strip_exactly(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "src").mkdir(parents=True)
    shutil.copy(PROBES, src / "src" / "main.rs")
    plain = run_program([str(rustc(src / "src" / "main.rs", tmp_path / "plain"))], src, env=ENV)
    assert plain.returncode == 0, plain.stderr
    out = tmp_path / "out"
    shutil.copytree(src, out)
    report = json.loads(instrument(out, "--json", *ALL_PROBES).stdout)
    assert report["failures"] == []
    text = (out / "src" / "main.rs").read_text("utf-8")
    assert "val(&buffer)" not in text  # Vec::new(): its type is known only later
    # Built with every warning an error: the inserted lines add none.
    exe = str(rustc(out / "src" / "main.rs", tmp_path / "instr", "-D", "warnings"))
    events_file = tmp_path / "events.jsonl"
    run = run_program([exe], out, events=events_file, env=ENV)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, "")
    events = read_events(events_file)
    check_pairs(events)
    line = functools.partial(line_of, PROBES)
    # Labelled loops, continue, labelled break and continue: every iteration that starts.
    outer, inner = _loops(events, line("'outer: for")), _loops(events, line("for (j, item)"))
    assert [e["i"] for e in outer] == [0, 1, 2]
    assert outer[0]["vars"]["order"].startswith('Order { id: 1, items: ["apple", "skip"')
    assert [(e["i"], e["vars"]["j"], e["vars"]["item"]) for e in inner] == [
        (0, 0, "apple"), (1, 1, "skip"), (2, 2, "pear"),
        (0, 0, "fig"), (1, 1, "kiwi"), (2, 2, "lime"), (3, 3, "plum"),
        (0, 0, "stop"),
    ]  # fmt: skip
    kinds = {
        "while n < limit": ("while", 4),
        "while let Some(top)": ("while_let", 3),
        "loop {": ("loop", 4),
        "for i in 0..3 { count": ("for", 3),  # the body on the loop's line
        "for c in 0..count": ("for", 7),  # in a match arm's block, left by break
    }
    for needle, (kind, count) in kinds.items():
        got = _loops(events, line(needle))
        assert [e["kind"] for e in got] == [kind] * count, needle
        assert [e["i"] for e in got] == list(range(count)), needle
    assert [e["vars"] for e in _loops(events, line("while let"))] == [
        {"top": 3}, {"top": 2}, {"top": 1}
    ]  # fmt: skip
    assert "vars" not in _loops(events, line("loop {"))[0]
    assert [e["vars"] for e in _loops(events, line("for (name, total)"))][:2] == [
        {"name": "apple", "total": 2.5}, {"name": "fig", "total": 1.0}
    ]  # fmt: skip
    # A closure passed to map: its own loop, counted per call, and its argument.
    doubling = _loops(events, line("for _ in 0..2"))
    assert [e["i"] for e in doubling] == [0, 1] * 4 and {e["fn"] for e in doubling} == {
        "summarize.<anonymous>"
    }
    closure_args = [e["args"] for e in events if e["ev"] == "enter" and e["line"] == line(".map(")]
    assert closure_args == [{"v": 0}, {"v": 2}, {"v": 4}, {"v": 6}]
    hot = line("for i in 0..250u64")
    assert [e["i"] for e in _loops(events, hot)] == [*range(10), 100, 200]
    # Variables: numbers and strings as JSON, other Debug types as their text.
    var = [(e["name"], e["value"]) for e in events if e["ev"] == "var"]
    assert ("count", 5) in var and ("popped", 6) in var and ("k", 4) in var
    assert ("stack", "[1, 2, 3]") in var and ("level", "many") in var
    assert ("evens", "[0, 4, 8, 12]") in var and ("missing", None) in var
    totals = [e["value"] for e in events if e["ev"] == "var" and e["name"] == "total"]
    assert totals[0] == 0 and totals[-1] == 31125 and len(totals) == 251
    # Arguments, with redaction by name; a type without Debug shows its name.
    login = next(e for e in events if e["ev"] == "enter" and e["fn"] == "login")
    assert login["args"] == {"user": "ada", "password": "<redacted>", "key": "main::Secret"}
    assert ("token", "<redacted>") in var and ("ok", True) in var
    # A value whose Debug calls instrumented code: that code is silent while the runtime
    # renders the value, and reports the calls the program makes. A Debug that panics is not
    # written, and the panic stays inside the runtime (stderr is unchanged above).
    assert ("price", "$12.34") in var and ("flaky", "<Debug panicked>") in var
    calls = check_pairs(events)
    assert (calls["Money.fmt"], calls["cents"]) == (1, 1)
    assert next(e for e in events if e["fn"] == "cents")["args"] == {"m": "$12.34"}
    # Sampling and the rate limit come from the environment; off writes nothing.
    sampled = tmp_path / "sampled.jsonl"
    env = {**ENV, "TELEMETRY_INJECT_LOOP_FIRST": "2", "TELEMETRY_INJECT_LOOP_EVERY": "50"}
    assert run_program([exe], out, events=sampled, env=env).stdout == plain.stdout
    assert [e["i"] for e in _loops(read_events(sampled), hot)] == [0, 1, 50, 100, 150, 200]
    limited = tmp_path / "limited.jsonl"
    env = {**ENV, "TELEMETRY_INJECT_RATE": "2"}
    assert run_program([exe], out, events=limited, env=env).stdout == plain.stdout
    limited_events = read_events(limited)
    # Two var events a second per site (the declaration's, then the loop's first two), two
    # calls of each function, each whole.
    assert [e["value"] for e in limited_events if e.get("name") == "total"] == [0, 0, 1]
    assert check_pairs(limited_events)["summarize.<anonymous>"] == 2
    off = tmp_path / "off.jsonl"
    env = {**ENV, "TELEMETRY_INJECT": "off"}
    assert run_program([exe], out, events=off, env=env).stdout == plain.stdout
    assert not off.exists()
    # Instrumenting again changes nothing; strip restores every byte.
    again = json.loads(instrument(out, "--json", *ALL_PROBES).stdout)
    assert (again["changed"], again["failures"]) == (0, [])
    run_cli("strip", ".", "--in-place", "--no-cache", cwd=out)
    assert tree(out) == tree(src)


@pytest.mark.parametrize("name", sorted(CRATES))
def test_a_real_crate_passes_its_own_tests_with_every_probe(
    cargo: Cargo, crates: dict[str, Path], tmp_path: Path, name: str
) -> None:
    root = workdir(f"probes-crate-{name}", crates[name])
    for path in root.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)
    original = tree(root)
    report = json.loads(instrument(root, "--json", *ALL_PROBES).stdout)
    assert report["failures"] == [] and report["instrumented"] > 0
    events_file = tmp_path / "events.jsonl"
    target = f"probes-crate-{name}"
    result = cargo("test", "--offline", cwd=root, target=target, events=events_file)
    assert "FAILED" not in result.stdout and "test result: ok" in result.stdout
    warnings = [w for w in result.stderr.splitlines() if w.startswith("warning")]
    assert all("no edition set" in w for w in warnings), warnings  # none from inserted lines
    events = read_events(events_file)
    check_pairs(events)
    var = Counter(e["fn"] for e in events if e["ev"] == "var")
    loops = Counter(e["fn"] for e in events if e["ev"] == "loop")
    if name == "strsim":  # edition 2015, loops over chars and matrices
        assert loops["generic_levenshtein"] > 0 and var["generic_levenshtein"] > 0
        enter = next(e for e in events if e["ev"] == "enter" and e["fn"] == "hamming")
        assert set(enter["args"]) == {"a", "b"}
    else:  # no_std
        assert var["Buffer.format"] > 0
    run_cli("strip", root, "--in-place", "--no-cache")
    assert tree(root) == original


VALUES = r"""
use std::borrow::Cow;
use std::rc::Rc;

#[derive(Debug)]
struct Point { x: i32, y: i32 }
#[derive(Clone)]
struct Opaque;

fn show<T: Clone>(t: T) -> T {
    let inner = t.clone();
    inner
}

fn main() {
    let small = 1.1f32;
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    let big = u128::MAX;
    let neg = i64::MIN;
    let ch = 'é';
    let unit = ();
    let cow: Cow<str> = Cow::Borrowed("cow");
    let boxed: Box<str> = "boxed".into();
    let shared = Rc::new(String::from("rc"));
    let some = Some(3u8);
    let nested: Option<Option<&str>> = Some(None);
    let point = Point { x: 1, y: -2 };
    let list = vec![Point { x: 0, y: 0 }];
    let opaque = Opaque;
    let long = "y".repeat(300);
    let refs = &&&7;
    let kept = show(opaque.clone());
    let _ = (long, refs, kept, point.x + point.y);
    let _ = (small, nan, inf, big, neg, ch, unit, cow, boxed, shared, some, nested, point, list);
}
"""


def test_values_of_every_kind_are_rendered_as_json_debug_text_or_type_name(
    tmp_path: Path,
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.rs").write_text(VALUES, "utf-8")
    instrument(tmp_path, "--probes", "var")
    exe = rustc(tmp_path / "src" / "main.rs", tmp_path / "values", "-D", "warnings")
    events_file = tmp_path / "events.jsonl"
    assert run_program([str(exe)], tmp_path, events=events_file, env=ENV).returncode == 0
    got = {e["name"]: e["value"] for e in read_events(events_file) if e["ev"] == "var"}
    assert got == {
        "small": 1.1, "nan": "NaN", "inf": "inf", "big": 2**128 - 1, "neg": -(2**63),
        "ch": "é", "unit": None, "cow": "cow", "boxed": "boxed", "shared": "rc", "some": 3,
        "nested": None, "point": "Point { x: 1, y: -2 }",
        "list": "[Point { x: 0, y: 0 }]", "opaque": "main::Opaque", "long": "y" * 200 + "…",
        "refs": 7, "kept": "main::Opaque",
        "inner": "main::Opaque",  # a generic T without a Debug bound: its type name
    }  # fmt: skip
