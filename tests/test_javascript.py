"""JavaScript end to end: instrument programs and real npm packages with the CLI, run them with
node, and check their output, events, idempotency and byte-exact removal."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import EXAMPLES, ROOT, require, run_cli, run_program
from telemetry import VECTORS, check_pairs, check_vectors, read_events
from telemetry_inject.core import analyze, language, plan

FIXTURES = ROOT / "tests" / "fixtures" / "javascript"
# npm tarballs outlive the test run, so reruns do not touch the registry.
NPM_CACHE = ROOT / "tests" / ".cache" / "npm"
RUNTIME = "_telemetry_utils.cjs"
STAMP = re.compile(r"telemetry-inject:[0-9a-f]{8}")
IMPORT = 'import __tel from "./_telemetry_utils.cjs";  // telemetry-inject\n'
REQUIRE = (
    'var __tel = typeof require === "function" ? require("./_telemetry_utils.cjs") : '
    "/** @type {any} */ (globalThis).__telemetryInjectV2 || "
    "{ enter: Function.prototype, fail: Function.prototype, "
    "exit: Function.prototype };  // telemetry-inject\n"
)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def line_of(path: Path, needle: str) -> int:
    for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(f"{needle!r} not in {path}")


def first(events: list[dict[str, Any]], fn: str) -> dict[str, Any]:
    return next(e for e in events if e["fn"] == fn)


def errors_of(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["fn"], e["error"]) for e in events if e["ev"] == "error"]


def npm_package(spec: str, dest: Path) -> Path:
    """`npm pack` a package once into the cache, then unpack it under dest; returns its root."""
    name, _, version = spec.rpartition("@")
    tarball = NPM_CACHE / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
    if not tarball.is_file():
        NPM_CACHE.mkdir(parents=True, exist_ok=True)
        staging = dest / ".npm-pack"
        staging.mkdir(parents=True)
        proc = subprocess.run(
            [require("npm"), "pack", spec, "--silent", "--pack-destination", str(staging)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, f"npm pack {spec}: {proc.stderr}"
        os.replace(staging / tarball.name, tarball)  # atomic: parallel workers may race
        shutil.rmtree(staging)
    root = dest / name.replace("/", "-")
    with tarfile.open(tarball) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(root, filter="data")
        else:  # pragma: no cover - Python < 3.10.12
            tar.extractall(root)
    return root / "package"


@pytest.fixture(scope="module")
def node() -> str:
    return require("node")


def test_example_behaves_the_same_and_reports_every_call(
    node: str, instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    src = EXAMPLES / "javascript"
    plain = run_program([node, "main.mjs"], src)
    assert plain.returncode == 0, plain.stderr
    out = instrument_copy(src)
    # ESM files import the one CommonJS runtime; CommonJS files require it.
    head = {name: (out / name).read_text("utf-8") for name in ("main.mjs", "shop/cart.js")}
    assert IMPORT in head["main.mjs"]
    assert head["shop/cart.js"].startswith('"use strict";\n// The cart')
    assert REQUIRE in head["shop/cart.js"]
    assert (out / RUNTIME).is_file() and (out / "shop" / RUNTIME).is_file()
    events_file = tmp_path / "events.jsonl"
    run = run_program([node, "main.mjs"], out, events=events_file)
    assert run.returncode == 0, run.stderr
    assert (run.stdout, run.stderr) == (plain.stdout, plain.stderr)
    assert "this in strict: undefined sloppy: object" in run.stdout  # directives still first
    events = read_events(events_file)
    calls = check_pairs(events)
    expected = {
        "main": 1, "checkout": 1, "<anonymous>": 1, "Cart.constructor": 1, "Cart.add": 4,
        "Cart.#reserve": 3, "OutOfStock.constructor": 1, "Cart.log": 3, "Cart.count": 1,
        "Cart.lines": 1, "Cart.subtotal": 1, "Cart.subtotal.discounted": 2, "Cart.settle": 1,
        "Cart.withTax": 1, "money": 1, "table": 1, "inventory.take": 3, "inventory.price": 2,
        "inventory.left": 3, "inventory.names": 1, "inventory.findPair": 1, "strictThis": 1,
        "sloppyThis": 1,
    }  # fmt: skip
    assert dict(calls) == expected
    # The exception is recorded where it is thrown and in each frame it leaves, then caught.
    thrown = "OutOfStock: pear"
    assert errors_of(events) == [("Cart.#reserve", thrown), ("Cart.add", thrown)]
    cart, inventory, main = src / "shop/cart.js", src / "shop/inventory.cjs", src / "main.mjs"
    where = {
        "Cart.add": (cart, "  add(name, qty) {"),
        "Cart.#reserve": (cart, "  #reserve(name"),
        "Cart.log": (cart, "  log = (what)"),
        "Cart.subtotal.discounted": (cart, "const discounted ="),
        "Cart.withTax": (cart, "static withTax("),
        "inventory.price": (inventory, "price: function"),
        "inventory.left": (inventory, "left: (name)"),
        "<anonymous>": (src / "shop" / "format.mjs", "export default function"),
        "checkout": (main, "async function checkout("),
    }
    for fn, (path, needle) in where.items():
        event = first(events, fn)
        assert (event["file"], event["line"]) == (
            path.relative_to(src).as_posix(),
            line_of(path, needle),
        ), fn
    # An async function's exit comes after everything it awaited.
    order = [(e["ev"], e["fn"]) for e in events]
    assert order.index(("exit", "Cart.settle")) > order.index(("exit", "Cart.withTax"))
    assert len({e["pid"] for e in events}) == 1


def test_events_go_to_stderr_by_default_and_off_is_silent(
    node: str, instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    out = instrument_copy(EXAMPLES / "javascript")
    default = run_program([node, "main.mjs"], out)
    assert default.returncode == 0
    stream = tmp_path / "stderr.jsonl"
    stream.write_text(default.stderr, "utf-8")
    assert check_pairs(read_events(stream))["Cart.add"] == 4
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_INJECT")}
    for value in ("off", "0", "FALSE", "no"):
        events_file = tmp_path / f"off-{value}.jsonl"
        env.update(TELEMETRY_INJECT=value, TELEMETRY_INJECT_OUT=str(events_file))
        off = subprocess.run([node, "main.mjs"], cwd=out, env=env, capture_output=True, text=True)
        assert (off.returncode, off.stdout, off.stderr) == (0, default.stdout, "")
        assert not events_file.exists()


def test_instrumenting_again_changes_nothing_and_strip_restores_every_byte(
    instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    src = EXAMPLES / "javascript"
    out = instrument_copy(src)
    assert tree(out) != tree(src)
    again = run_cli(out, "--in-place", "--json", "--jobs", "1", "--cache-dir", tmp_path / "cache")
    report = json.loads(again.stdout)
    assert (report["changed"], report["instrumented"], report["failures"]) == (0, 0, [])
    run_cli("strip", out, "--in-place")
    assert tree(out) == tree(src)  # runtime files removed too


VECTOR_DRIVER = """
const vectors = JSON.parse(readFileSync(process.argv[2], "utf8")).cases;
for (const v of vectors) {
  try {
    const s = tel.enter(v.fn, v.file, v.line);
    try {
      if (v.raises) throw new Error("vector " + v.fn);
    } catch (e) { tel.fail(s, e); throw e; } finally { tel.exit(s); }
  } catch {}
}
"""


@pytest.mark.parametrize(
    ("name", "imports"),
    [
        ("driver.cjs", 'const tel = require("./_telemetry_utils.cjs");\n'
                       'const { readFileSync } = require("fs");\n'),
        ("driver.mjs", 'import tel from "./_telemetry_utils.cjs";\n'
                       'import { readFileSync } from "node:fs";\n'),
    ],
    ids=["commonjs", "esm"],
)  # fmt: skip
def test_runtime_passes_the_shared_vectors(
    node: str, tmp_path: Path, name: str, imports: str
) -> None:
    for extra in plan.runtime_files(language.get("javascript"), "tel", name, {}):
        (tmp_path / extra.path).write_text(extra.text, "utf-8")
    (tmp_path / name).write_text(imports + VECTOR_DRIVER, "utf-8")
    events_file = tmp_path / "events.jsonl"
    vectors = str(ROOT / "tests" / "vectors" / "events.json")
    run = run_program([node, name, vectors], tmp_path, events=events_file)
    assert run.returncode == 0, run.stderr
    events = read_events(events_file)
    check_vectors(events)
    raising = [c["fn"] for c in VECTORS["cases"] if c["raises"]]
    assert [e["error"] for e in events if e["ev"] == "error"] == [
        f"Error: vector {fn}" for fn in raising
    ]


EXITS = """
function work(how) {
  if (how === "throw") throw new TypeError("uncaught " + how);
  if (how === "reject") return Promise.reject(new RangeError("rejected"));
  if (how === "exit") process.exit(3);
  return how;
}
process.on("exit", function onExit() {
  work("late");
});
work("first");
work(process.argv[2]);
"""


def test_buffered_events_are_written_however_the_process_ends(
    node: str, instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "exits.js").write_text(EXITS, "utf-8")
    out = instrument_copy(src)
    for how, code, crash, still_open in (
        ("return", 0, "", []),
        ("throw", 1, "TypeError: uncaught throw", []),
        ("reject", 1, "RangeError: rejected", []),
        ("exit", 3, "", ["work"]),  # process.exit() runs no finally blocks
    ):
        plain = run_program([node, "exits.js", how], src)
        events_file = tmp_path / f"{how}.jsonl"
        run = run_program([node, "exits.js", how], out, events=events_file)
        assert (run.returncode, plain.returncode) == (code, code)
        assert (crash in run.stderr, crash in plain.stderr) == (True, True)
        events = read_events(events_file)
        enters = [e["fn"] for e in events if e["ev"] == "enter"]
        # The exit listener's own call comes after the runtime's flush and is written too.
        assert enters == ["work", "work", "onExit", "work"], how
        for e in events:
            if e["ev"] == "exit":
                enters.remove(e["fn"])
        assert enters == still_open, how
        assert errors_of(events) == ([("work", crash)] if how == "throw" else []), how


def _edge_dir(tmp: Path, eol: str) -> Path:
    root = tmp / f"edge{len(eol)}"
    root.mkdir(parents=True)
    text = (FIXTURES / "edge.input.js").read_text("utf-8").replace("\n", eol)
    (root / "edge.js").write_bytes(text.encode("utf-8"))
    return root


@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_edge_cases_match_the_golden_file_and_run_the_same(
    node: str, tmp_path: Path, eol: str
) -> None:
    src, out = _edge_dir(tmp_path / "src", eol), _edge_dir(tmp_path / "out", eol)
    plain = run_program([node, "edge.js"], src)
    assert plain.returncode == 0, plain.stderr
    run_cli(out, "--in-place", "--jobs", "1", "--cache-dir", tmp_path / "cache")
    golden = (FIXTURES / "edge.expected.js").read_text("utf-8").replace("\n", eol)
    got = (out / "edge.js").read_bytes().decode("utf-8")
    if eol != "\n":  # stamps hash the original text, EOLs included
        got, golden = (STAMP.sub("STAMP", t) for t in (got, golden))
    assert got == golden
    events_file = tmp_path / "events.jsonl"
    run = run_program([node, "edge.js"], out, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, plain.stderr)
    events = read_events(events_file)
    calls = check_pairs(events)
    expected = {
        "afterUnicode": 1, "one": 1, "empty": 1, "emptyLines": 1, "block": 1, "directive": 1,
        "withComment": 1, "labelled": 1, "hoisted": 1, "hoisted.helper": 1, "Child.make": 1,
        "Child.constructor": 1, "Base.constructor": 1, "Child.bump": 1, "Child.twice": 2,
        "Child.reveal": 1, "Child.#secret": 1, "main.<anonymous>": 5, "numbers": 1, "ticks": 1,
        "failing": 1, "thrower": 1, "defaults": 1, "api.run": 1, "api.nested.deep": 1,
        "変換": 1, "main": 1,
    }  # fmt: skip
    assert dict(calls) == expected  # expression-bodied arrows (expr) are left alone
    assert errors_of(events) == [("failing", "RangeError: late"), ("thrower", "string: a string")]
    source = FIXTURES / "edge.input.js"
    for fn, needle in {
        "afterUnicode": "function afterUnicode()",
        "emptyLines": "function emptyLines()",
        "block": "const block =",
        "hoisted.helper": "function helper()",
        "Child.bump": "bump = () =>",
        "Child.constructor": "  constructor() {",
        "変換": "function 変換(",
        "main": "async function main()",
    }.items():
        assert first(events, fn)["line"] == line_of(source, needle), fn
    run_cli("strip", out, "--in-place")
    assert tree(out) == tree(src)


def test_module_system_decides_the_import(node: str, tmp_path: Path) -> None:
    """One runtime file serves .mjs, .cjs, and .js as ES module or CommonJS."""
    src = tmp_path / "src"
    (src / "esm").mkdir(parents=True)
    (src / "esm" / "package.json").write_text('{"type": "module"}', "utf-8")
    (src / "esm" / "lib.js").write_text("export function twice(x) {\n  return 2 * x;\n}\n")
    # An ES module by its package, with no import or export: top-level await tells.
    (src / "esm" / "tla.js").write_text(
        "const n = await Promise.resolve(3);\nfunction show(x) {\n  return x * 2;\n}\n"
        "console.log(show(n));\n"
    )
    (src / "plain.mjs").write_text("function inc(x) { return x + 1; }\nconsole.log(inc(1));\n")
    (src / "old.cjs").write_text("module.exports = function dec(x) {\n  return x - 1;\n};\n")
    (src / "main.js").write_text(
        '"use strict";\nconst dec = require("./old.cjs");\n'
        "async function main() {\n"
        '  const { twice } = await import("./esm/lib.js");\n'
        "  console.log(twice(dec(5)));\n}\nmain();\n"
    )
    out = tmp_path / "out"
    shutil.copytree(src, out)
    run_cli(out, "--in-place", "--jobs", "1", "--cache-dir", tmp_path / "cache")
    assert (out / "esm" / "lib.js").read_text("utf-8").startswith(IMPORT)
    assert (out / "esm" / "tla.js").read_text("utf-8").startswith(IMPORT)
    assert (out / "plain.mjs").read_text("utf-8").startswith(IMPORT)
    assert (out / "old.cjs").read_text("utf-8").startswith(REQUIRE)
    assert (out / "main.js").read_text("utf-8").startswith('"use strict";\n' + REQUIRE)
    events_file = tmp_path / "events.jsonl"
    for script, printed in (("main.js", "8\n"), ("plain.mjs", "2\n"), ("esm/tla.js", "6\n")):
        assert run_program([node, script], src).stdout == printed
        run = run_program([node, script], out, events=events_file)
        assert (run.returncode, run.stdout) == (0, printed), run.stderr
    calls = check_pairs(read_events(events_file))
    assert dict(calls) == {"main": 1, "dec": 1, "twice": 1, "inc": 1, "show": 1}


SCRIPT = "function square(x) {\n  return x * x;\n}\nconsole.log(square(7));\n"
LOADER = """
const fs = require("fs");
if (process.argv[2] === "with-runtime") require("./lib/_telemetry_utils.cjs");
new Function(fs.readFileSync(__dirname + "/lib/script.js", "utf8"))();
"""


def test_a_script_run_without_require_still_works(node: str, tmp_path: Path) -> None:
    """Files that are scripts run by `new Function` (no `require`): recorded when a runtime is
    loaded, silently not recorded when none is, never broken."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "script.js").write_text(SCRIPT, "utf-8")
    run_cli(tmp_path / "lib", "--in-place", "--jobs", "1", "--cache-dir", tmp_path / "cache")
    (tmp_path / "loader.js").write_text(LOADER, "utf-8")
    for how, calls in (("bare", {}), ("with-runtime", {"square": 1})):
        events_file = tmp_path / f"{how}.jsonl"
        run = run_program([node, "loader.js", how], tmp_path, events=events_file)
        assert (run.returncode, run.stdout) == (0, "49\n"), run.stderr
        assert dict(check_pairs(read_events(events_file))) == calls


def test_bodies_that_would_clash_in_a_block_are_skipped_and_still_run(
    node: str, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy2(FIXTURES / "redeclared.js", src / "redeclared.js")
    out = tmp_path / "out"
    shutil.copytree(src, out)
    proc = run_cli(out, "--in-place", "--json", "-v", "--cache-dir", tmp_path / "c")
    report = json.loads(proc.stdout)
    skipped = dict(
        line.split(": ", 1)[1].split(": skipped: ") for line in report["skipped_functions"]
    )
    assert sorted(skipped) == ["a", "b", "c"]
    assert "SyntaxError" in skipped["a"] and "declared twice" in skipped["c"]
    plain = run_program([node, "redeclared.js"], src)
    events_file = tmp_path / "events.jsonl"
    run = run_program([node, "redeclared.js"], out, events=events_file)
    assert (run.returncode, run.stdout) == (0, plain.stdout) == (0, "number function 2 3\n")
    assert dict(check_pairs(read_events(events_file))) == {"c.z": 1, "d": 1, "d.inner": 1}


def test_a_bundle_on_one_line_is_instrumented_and_runs(node: str, tmp_path: Path) -> None:
    """Minified code: hundreds of functions on one line, each wrapped at both ends in place."""
    chain = "".join(f"function f{i}(x){{return f{i - 1}(x)+1}}" for i in range(1, 300))
    bundle = f'"use strict";function f0(x){{return x}}{chain}console.log(f299(0));'
    src = tmp_path / "src"
    src.mkdir()
    (src / "bundle.js").write_text(bundle, "utf-8")  # no final newline either
    out = tmp_path / "out"
    shutil.copytree(src, out)
    report = json.loads(
        run_cli(out, "--in-place", "--json", "--jobs", "1", "--cache-dir", tmp_path / "c").stdout
    )
    assert (report["instrumented"], report["failures"]) == (300, [])
    text = (out / "bundle.js").read_text("utf-8")
    assert text.count("\n") == 1  # the import line; the bundle stays one line
    events_file = tmp_path / "events.jsonl"
    run = run_program([node, "bundle.js"], out, events=events_file)
    assert (run.returncode, run.stdout) == (0, "299\n"), run.stderr
    calls = check_pairs(read_events(events_file))
    assert len(calls) == 300 and set(calls.values()) == {1}
    run_cli("strip", out, "--in-place")
    assert tree(out) == tree(src)


@pytest.mark.parametrize(
    ("source", "import_before"),
    [
        ('"use strict";\n/** @param {number} x */\nfunction f(x) {}\n', "/** @param"),
        ("// header\n\n// @ts-ignore\nconst a = require('x');\n", "// @ts-ignore"),
        ("/* eslint-disable-next-line */\nvar x = 1;\n", "/* eslint-disable-next-line"),
        ("/** @jsx h */\nimport h from 'h';\n", "import h"),  # a file pragma stays first
        ("// @ts-nocheck\n/* license */\nconst a = 1;\n", "const a"),
        ('#!/usr/bin/env node\n"use strict"; // trailing\nf();\n', "f();"),
    ],
    ids=["jsdoc", "ts-ignore", "eslint", "jsx-pragma", "ts-nocheck", "shebang-directive"],
)
def test_imports_go_above_comments_that_belong_to_the_first_statement(
    source: str, import_before: str
) -> None:
    analysis = analyze.analyze(language.get("javascript"), source.encode("utf-8"))
    assert source.splitlines()[analysis.prologue_row].startswith(import_before)


NAMES = [
    ("decl", 2, False, False), ("fe", 3, False, False), ("inner", 4, False, False),
    ("arrow", 5, True, False), ("gen", 7, False, True), ("agen", 8, True, True),
    ("obj.prop", 9, False, False), ("this.q", 10, False, False), ("K.#priv", 12, False, False),
    ("K.s", 13, False, False), ("K.g", 14, False, False), ("K.g#1", 15, False, False),
    ("K.m", 16, True, True), ("K.field", 17, False, False), ("K.#pf", 18, False, False),
    ("K.constructor", 19, False, False), ("o.key", 21, False, False), ("o.k2", 21, False, False),
    ("o.k3", 21, False, False), ("o.k4", 21, False, False), ("o.<anonymous>", 21, False, False),
    ("o.nest.deep", 21, False, False), ("module.exports.exp", 22, False, False),
    ("<anonymous>", 23, False, False), ("<anonymous>#1", 24, False, False),
    ("lv", 25, False, False), ("<anonymous>#2", 26, False, False), ("ex", 27, False, False),
    ("C.m", 28, False, False), ("outer", 29, False, False), ("outer.inner", 30, False, False),
    ("outer.arrowIn", 31, False, False), ("outer.arrowIn.<anonymous>", 32, False, False),
    ("multi", 35, False, False), ("<anonymous>#3", 39, True, False),
]  # fmt: skip


def test_functions_found_and_named() -> None:
    """Bound names win over anonymity; expression-bodied arrows (expr, line 6) are left alone."""
    source = (FIXTURES / "names.js").read_bytes()
    functions = analyze.analyze(language.get("javascript"), source).functions
    assert [(str(f.id), f.line, f.is_async, f.is_generator) for f in functions] == NAMES


def test_jsx_files_are_instrumented_and_strip_back(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    jsx = (
        "import React from 'react';\n"
        "export function App({ items }) {\n"
        "  const onClick = (e) => { e.preventDefault(); };\n"
        "  return <ul onClick={onClick}>{items.map((i) => <li key={i}>{i}</li>)}</ul>;\n"
        "}\n"
    )
    (src / "App.jsx").write_text(jsx, "utf-8")
    out = tmp_path / "out"
    shutil.copytree(src, out)
    run_cli(out, "--in-place", "--jobs", "1", "--cache-dir", tmp_path / "cache")
    text = (out / "App.jsx").read_text("utf-8")
    assert text.startswith(IMPORT)
    assert '__tel.enter("App", "App.jsx", 2)' in text
    assert '__tel.enter("App.onClick", "App.jsx", 3)' in text
    spec = language.for_path("App.jsx")
    assert spec is not None and spec.name == "javascript"
    assert not analyze.parse(spec, text.encode("utf-8")).root_node.has_error
    run_cli("strip", out, "--in-place")
    assert tree(out) == tree(src)


PACKAGES = {
    "lodash": "lodash@4.17.21",
    "semver": "semver@7.7.3",
    "marked": "marked@15.0.12",
    "uglify-js": "uglify-js@3.19.3",
}


def test_real_npm_packages_behave_the_same(node: str, tmp_path: Path) -> None:
    """lodash (one 17k-line UMD file), semver (CommonJS modules, classes, a CLI with a shebang),
    marked (ES module and CommonJS builds) and uglify-js (whose files are scripts that it
    concatenates and runs with `new Function`), from the registry, used as their users do."""
    work = tmp_path / "work"
    work.mkdir()
    for name, spec in PACKAGES.items():
        root = npm_package(spec, tmp_path / "npm")
        if name == "lodash":
            (work / name).mkdir()
            shutil.copy2(root / "lodash.js", work / name / "lodash.js")
        else:
            shutil.copytree(root, work / name)
    original = tree(work)
    shutil.copy2(FIXTURES / "npm_drive.mjs", work / "drive.mjs")
    cli = [node, "semver/bin/semver.js", "-r", ">=1.2 <2", "1.2.3", "0.9.0", "1.9.9", "2.0.0"]
    plain = run_program([node, "drive.mjs"], work)
    plain_cli = run_program(cli, work)
    assert plain.returncode == 0 and plain_cli.returncode == 0, plain.stderr + plain_cli.stderr
    (work / "drive.mjs").unlink()
    report = json.loads(
        run_cli(work, "--in-place", "--json", "--jobs", "2", "--cache-dir", tmp_path / "c").stdout
    )
    assert report["failures"] == []
    assert report["instrumented"] > 1000
    after = tree(work)
    assert after["marked/marked.min.js"] == original["marked/marked.min.js"]  # minified: excluded
    assert after["semver/bin/semver.js"].startswith(b"#!/usr/bin/env node\n")
    shutil.copy2(FIXTURES / "npm_drive.mjs", work / "drive.mjs")
    events_file = tmp_path / "events.jsonl"
    run = run_program([node, "drive.mjs"], work, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, plain.stderr)
    events = read_events(events_file)
    calls = check_pairs(events)
    for fn in (
        "<anonymous>.runInContext.chunk", "<anonymous>.runInContext.baseMerge",
        "SemVer.constructor", "SemVer.inc", "Range.parseRange", "parseOptions",
        "Marked.parseMarkdown.parse2", "__Parser.parse", "__Lexer.lex", "_Tokenizer.heading",
    ):  # fmt: skip
        assert calls[fn] >= 1, fn
    assert {"lodash/lodash.js", "semver/classes/semver.js", "marked/lib/marked.esm.js",
            "marked/lib/marked.cjs"} <= {e["file"] for e in events}  # fmt: skip
    assert ("SemVer.constructor", "TypeError: Invalid Version: not-a-version") in errors_of(events)
    assert any(e[1] == "TypeError: nope" for e in errors_of(events))  # inside _.attempt
    # uglify-js's files, concatenated and run by `new Function`, report through the runtime
    # its instrumented loader brought in.
    assert calls["minify"] >= 2 and calls["parse"] >= 2
    assert ("parse", "JS_Parse_Error: Name expected") in errors_of(events)
    assert "uglify-js/lib/parse.js" in {e["file"] for e in events}
    run = run_program(cli, work, events=tmp_path / "cli.jsonl")
    assert (run.returncode, run.stdout) == (0, plain_cli.stdout)
    assert check_pairs(read_events(tmp_path / "cli.jsonl"))["main"] == 1
    (work / "drive.mjs").unlink()
    again = run_cli(work, "--in-place", "--json", "--cache-dir", tmp_path / "c")
    assert json.loads(again.stdout)["changed"] == 0
    run_cli("strip", work, "--in-place")
    assert tree(work) == original
