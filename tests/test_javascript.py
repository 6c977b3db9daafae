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

FIXTURES = ROOT / "tests" / "fixtures" / "javascript"
# npm tarballs outlive the test run, so reruns do not touch the registry.
NPM_CACHE = ROOT / "tests" / ".cache" / "npm"
RUNTIME = "_telemetry_utils.cjs"
STAMP = re.compile(r"telemetry-inject:[0-9a-f]{8}")
IMPORT = 'import __tel from "./_telemetry_utils.cjs";  // telemetry-inject\n'
REQUIRE = (
    'var __tel = typeof require === "function" ? require("./_telemetry_utils.cjs") : '
    "/** @type {any} */ (globalThis).__telemetryInjectV2 || "
    "{ enter: Function.prototype, fail: Function.prototype, exit: Function.prototype, "
    "loop: Function.prototype, iter: Function.prototype, value: Function.prototype };"
    "  // telemetry-inject\n"
)


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


@pytest.mark.parametrize("probes", ["function", "function,loop,var,args"])
def test_example_behaves_the_same_and_reports_every_call(
    node: str, instrument_copy: Callable[..., Path], tmp_path: Path, probes: str
) -> None:
    src = EXAMPLES / "javascript"
    plain = run_program([node, "main.mjs"], src)
    assert plain.returncode == 0, plain.stderr
    out = instrument_copy(src, "--probes", probes)
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
    check_where(events, src, where)
    # An async function's exit comes after everything it awaited.
    order = [(e["ev"], e["fn"]) for e in events]
    assert order.index(("exit", "Cart.settle")) > order.index(("exit", "Cart.withTax"))
    assert len({e["pid"] for e in events}) == 1
    kinds = {e["ev"] for e in events}
    assert ({"loop", "var"} <= kinds) == (probes != "function")
    assert ("args" in first(events, "Cart.add")) == (probes != "function")


def test_events_go_to_stderr_by_default_and_off_is_silent(
    node: str, instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    out = instrument_copy(EXAMPLES / "javascript")
    default = run_program([node, "main.mjs"], out)
    assert default.returncode == 0
    stream = tmp_path / "stderr.jsonl"
    stream.write_text(default.stderr, "utf-8")
    assert check_pairs(read_events(stream))["Cart.add"] == 4
    check_off(
        lambda events, env: run_program([node, "main.mjs"], out, events=events, env=env),
        default.stdout,
        tmp_path,
    )


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


# -- runtime guards (docs/probes.md, tests/vectors/guards.json) --------------------------------

GUARDS_DRIVER = """\
"use strict";
const tel = require("./_telemetry_utils.cjs");
const { readFileSync } = require("fs");

const FILE = "guards.js";
const { kind, guard, collections } = JSON.parse(readFileSync(process.argv[2], "utf8"));

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function call(fn, line, ms) {
  const s = tel.enter(fn, FILE, line);
  try {
    if (ms > 0) sleep(ms);
  } catch (e) {
    tel.fail(s, e);
    throw e;
  } finally {
    tel.exit(s);
  }
}

// Arrays as Sets and objects as Maps: the other containers a JavaScript value can be.
function collection(v) {
  if (Array.isArray(v)) return new Set(v.map(collection));
  if (v !== null && typeof v === "object") {
    return new Map(Object.entries(v).map(([k, x]) => [k, collection(x)]));
  }
  return v;
}

if (kind === "loops") {
  for (let r = 0; r < guard.runs; r++) {
    const l = tel.loop("loops", FILE, 40, "for");
    for (let i = 0; i < guard.iterations; i++) tel.iter(l, "i", i);
  }
} else if (kind === "calls") {
  for (let k = 0; k < guard.calls; k++) call("f", 20, 0);
} else if (kind === "durations") {
  call("fast", 30, 0);
  call("slow", 31, guard.sleep_ms);
} else {
  guard.values.forEach(([name, value], k) => {
    tel.value("values", FILE, 50 + k, name, collections ? collection(value) : value);
  });
}
"""


def _guard_runs() -> list[tuple[str, int, bool]]:
    """(kind, case index, collections): container cases also run as Sets and Maps."""
    runs = []
    for kind in KINDS:
        for n, case in enumerate(guard_cases(kind)):
            runs.append((kind, n, False))
            if case.get("containers"):
                runs.append((kind, n, True))
    return runs


def guard_env(case_env: dict[str, str], events: Path) -> dict[str, str]:
    """The process's environment: no guard variable of ours but the case's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_INJECT")}
    return {**env, **case_env, "TELEMETRY_INJECT_OUT": str(events)}


@pytest.fixture(scope="module")
def guards_driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("guards")
    for extra in plan.runtime_files(language.get("javascript"), "tel", "guards.js", {}):
        (root / extra.path).write_text(extra.text, "utf-8")
    (root / "guards.js").write_text(GUARDS_DRIVER, "utf-8")
    return root


@pytest.mark.parametrize(
    ("kind", "n", "collections"),
    _guard_runs(),
    ids=[f"{k}-{n}{'-collections' if c else ''}" for k, n, c in _guard_runs()],
)
def test_runtime_passes_every_guard_case(
    node: str, guards_driver: Path, tmp_path: Path, kind: str, n: int, collections: bool
) -> None:
    case = guard_cases(kind)[n]
    spec = tmp_path / "case.json"
    spec.write_text(json.dumps({"kind": kind, "guard": case, "collections": collections}))
    events_file = tmp_path / "events.jsonl"
    proc = subprocess.run(
        [node, "guards.js", str(spec)], cwd=guards_driver, capture_output=True, text=True,
        timeout=120, env=guard_env(case["env"], events_file),
    )  # fmt: skip
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    events = read_events(events_file)
    guard_check(kind, case, events)
    if case["env"].get("TELEMETRY_INJECT") == "off":
        assert not events_file.exists()


# Values beyond the shared vectors: JavaScript's own containers and objects. `/*T*/` is where
# the TypeScript copy of this driver has a type.
VALUES_DRIVER = """
const cycle/*T*/ = {};
cycle["self"] = cycle;
// Code that runs while a value is read records nothing: it is not the program's own call,
// even when it reports through another copy of the runtime (`other`, in another folder).
class Loud extends Map<string, number> {
  override entries() {
    other.exit(other.enter("Loud.entries", "values.js", 3));
    return super.entries();
  }
}
const values/*V*/ = [
  ["separators", "a\\u2028b\\u2029c\\u0085"],
  ["map", new Map<unknown, unknown>([["k", 1], [2, "two"]])],
  ["set", new Set<unknown>([1, "a"])],
  ["getter", { get g(): number { throw new Error("a getter ran"); }, plain: 1 }],
  ["error", new RangeError("bad")],
  ["date", new Date(0)],
  ["fn", function named(): void {}],
  ["nan", NaN],
  ["inf", -Infinity],
  ["big", BigInt("12345678901234567890")],
  ["undef", undefined],
  ["user", { name: "u", password: "p", apiToken: "t" }],
  ["typed", new Uint8Array([1, 2])],
  ["promise", Promise.resolve(1)],
  ["cycle", cycle],
  ["symbol", Symbol("s")],
  ["proxy", new Proxy({ a: 1 }, { get(): never { throw new Error("a trap ran"); } })],
  ["loud", new Loud([["a", 1]])],
];
for (const [name, value] of values) tel.value("values", "values.js", 1, name, value);
"""
VALUES_EXPECTED = [
    ("separators", "a\u2028b\u2029c\u0085"),
    ("map", {"k": 1, "2": "two"}),
    ("set", [1, "a"]),
    ("getter", {"g": "[Getter]", "plain": 1}),  # never run
    ("error", "RangeError: bad"),
    ("date", "1970-01-01T00:00:00.000Z"),
    ("fn", "[Function: named]"),
    ("nan", "NaN"),
    ("inf", "-Infinity"),
    ("big", 12345678901234567890),
    ("undef", None),
    ("user", {"name": "u", "password": "<redacted>", "apiToken": "<redacted>"}),  # keys too
    ("typed", [1, 2]),
    ("promise", "Promise"),
    ("cycle", {"self": {"self": {"self": "\u2026"}}}),
    ("symbol", "Symbol(s)"),
    ("proxy", "Proxy"),  # its traps are not run
    ("loud", {"a": 1}),
]


def check_values(events_file: Path) -> None:
    """The var events of VALUES_DRIVER, one per line even where a string holds U+2028."""
    raw = events_file.read_bytes()
    assert not any(sep.encode() in raw for sep in ("\u0085", "\u2028", "\u2029"))
    events = read_events(events_file)
    assert [(e["name"], e["value"]) for e in events] == VALUES_EXPECTED


def test_values_of_every_kind_render_as_documented(node: str, tmp_path: Path) -> None:
    for folder in (tmp_path, tmp_path / "sub"):
        folder.mkdir(exist_ok=True)
        for extra in plan.runtime_files(language.get("javascript"), "tel", "values.js", {}):
            (folder / extra.path).write_text(extra.text, "utf-8")
    types = r"<unknown, unknown>|<unknown>|<string, number>|: (number|void|never)|override "
    driver = re.sub(types + r"|/\*[TV]\*/", "", VALUES_DRIVER)
    imports = (
        'const tel = require("./_telemetry_utils.cjs");\n'
        'const other = require("./sub/_telemetry_utils.cjs");\n'
    )
    (tmp_path / "values.js").write_text(imports + driver)
    events_file = tmp_path / "events.jsonl"
    run = run_program([node, "values.js"], tmp_path, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    check_values(events_file)


# -- loop, var and args probes (docs/probes.md) ------------------------------------------------

PROBES = "function,loop,var,args"
SHOP = """\
"use strict";
// A small order pipeline: loops of every form, assignments and parameters.

function login(user, password, { retries = 2, token } = {}) {
  let attempts = 0;
  while (attempts < retries) {
    attempts++;
    if (password.length > 3) break;
  }
  const session = user + ":" + token;
  return { user, session, attempts };
}

function total(items, ...discounts) {
  let sum = 0;
  for (const { price, qty } of items) sum += price * qty;
  for (let i = 0; i < discounts.length; i++)
    sum -= discounts[i];
  let rounded = Math.round(sum * 100) / 100;
  return rounded;
}

function grid(rows, cols) {
  const cells = [];
  rows: for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (c > r) continue rows;
      if (r * c > 6) break rows;
      cells.push(`${r}${c}`);
    }
  }
  return cells.join(",");
}

function countdown(n) {
  const seen = [];
  do {
    seen.push(n);
    n -= 1;
  } while (n > 0);
  var last = seen[seen.length - 1];
  return [seen.length, last];
}

function tally(record) {
  let keys = "";
  for (const key in record) {
    if (key === "skip") continue;
    keys += key;
  }
  let [first, second] = Object.values(record);
  [first, second] = [second, first];
  return `${keys} ${first} ${second}`;
}

function busy(n) {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += i % 7;
  }
  return acc;
}

function* evens(limit) {
  for (let k = 0; k <= limit; k += 2) yield k;
}

async function drain(source) {
  const got = [];
  for await (const chunk of source) {
    got.push(chunk);
  }
  return got;
}

function shadowed(xs) {
  let out = 0;
  for (const x of xs) {
    const x2 = x * 2;
    out += x2;
  }
  for (let i = 0; i < 2; i++) { let i = 10; out += i; }
  return out;
}

async function main() {
  const who = login("ann", "hunter2", { token: "t0k" });
  console.log(who.user, who.attempts);
  console.log(total([{ price: 2.5, qty: 2 }, { price: 1, qty: 3 }], 1, 0.5));
  console.log(grid(4, 4));
  console.log(countdown(3));
  console.log(tally({ a: 1, skip: 2, b: 3 }));
  console.log(busy(250));
  console.log([...evens(6)]);
  console.log(await drain((async function* () { yield "x"; yield "y"; })()));
  console.log(shadowed([1, 2, 3]));
}

main();
"""
SHOP_OUTPUT = """\
ann 1
6.5
00,10,11,20,21,22,30,31,32
[ 3, 1 ]
ab 2 1
745
[ 0, 2, 4, 6 ]
[ 'x', 'y' ]
32
"""


def loop_runs(events: list[dict[str, Any]], fn: str, line: int) -> list[list[Any]]:
    """The loop events of one loop, split into its executions: [[(i, vars), ...], ...]."""
    runs: list[list[Any]] = []
    for e in events:
        if e["ev"] == "loop" and (e["fn"], e["line"]) == (fn, line):
            if e["i"] == 0:
                runs.append([])
            runs[-1].append((e["i"], e.get("vars")))
    return runs


def var_values(events: list[dict[str, Any]], fn: str) -> list[tuple[int, str, Any]]:
    return [
        (e["line"], e["name"], e["value"]) for e in events if e["ev"] == "var" and e["fn"] == fn
    ]


def test_loop_var_and_args_probes_run_the_same_and_strip_back(node: str, tmp_path: Path) -> None:
    """Every loop form (for, for-of with destructuring, for-in, while, do-while, for await,
    labelled loops left with continue/break label, nested and braceless loops, a generator's
    loop), assignments and parameters: the program prints the same, the events say what ran."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "shop.js").write_text(SHOP, "utf-8")
    plain = run_program([node, "shop.js"], src)
    assert (plain.returncode, plain.stdout, plain.stderr) == (0, SHOP_OUTPUT, "")
    out = tmp_path / "out"
    shutil.copytree(src, out)
    cache = tmp_path / "cache"
    run_cli(out, "--in-place", "--probes", PROBES, "--jobs", "1", "--cache-dir", cache)
    text = (out / "shop.js").read_text("utf-8")
    assert not analyze.parse(language.get("javascript"), text.encode()).root_node.has_error
    source = src / "shop.js"

    def at(needle: str) -> int:
        return line_of(source, needle)

    # The labelled loop's state is declared before its label; braceless bodies get braces.
    assert re.search(r'const __tel_l0_1 = __tel.loop\("grid".*\n  rows: for', text)
    assert "/*}telemetry-inject*/sum -= discounts[i];" in text
    assert "{ let i = 10; out += i; }" in text  # redeclares its loop variable: left alone

    events_file = tmp_path / "events.jsonl"
    run = run_program([node, "shop.js"], out, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, SHOP_OUTPUT, "")
    events = read_events(events_file)
    check_pairs(events)
    assert {e["kind"] for e in events if e["ev"] == "loop"} == {
        "for", "for_of", "for_in", "while", "do"
    }  # fmt: skip
    # Parameters, destructured ones by their plain names, secrets redacted.
    assert first(events, "login")["args"] == {
        "user": "ann", "password": "<redacted>", "retries": 2, "token": "<redacted>"
    }  # fmt: skip
    assert first(events, "total")["args"] == {
        "items": [{"price": 2.5, "qty": 2}, {"price": 1, "qty": 3}], "discounts": [1, 0.5]
    }  # fmt: skip
    assert "args" not in first(events, "main")
    # Loops: kind, line (the label's for a labelled loop), iteration and variables.
    assert loop_runs(events, "total", at("for (const { price, qty }")) == [
        [(0, {"price": 2.5, "qty": 2}), (1, {"price": 1, "qty": 3})]
    ]
    assert loop_runs(events, "total", at("for (let i = 0; i < discounts")) == [
        [(0, {"i": 0}), (1, {"i": 1})]
    ]
    rows = loop_runs(events, "grid", at("rows: for"))
    assert rows == [[(r, {"r": r}) for r in range(4)]]
    cols = loop_runs(events, "grid", at("for (let c = 0"))
    assert [[i for i, _ in run] for run in cols] == [[0, 1], [0, 1, 2], [0, 1, 2, 3], [0, 1, 2, 3]]
    assert loop_runs(events, "countdown", at("  do {")) == [[(0, None), (1, None), (2, None)]]
    assert loop_runs(events, "tally", at("for (const key in")) == [
        [(0, {"key": "a"}), (1, {"key": "skip"}), (2, {"key": "b"})]
    ]
    assert loop_runs(events, "evens", at("for (let k = 0")) == [
        [(i, {"k": 2 * i}) for i in range(4)]
    ]
    assert loop_runs(events, "drain", at("for await")) == [
        [(0, {"chunk": "x"}), (1, {"chunk": "y"})]
    ]
    assert loop_runs(events, "login", at("while (attempts")) == [[(0, None)]]
    busy = at("for (let i = 0; i < n; i++)")
    sampled = [*range(10), 100, 200]
    assert loop_runs(events, "busy", busy) == [[(i, {"i": i}) for i in sampled]]
    assert not any(e["ev"] == "loop" and e["line"] == at("let i = 10") for e in events)
    # Variables: after each assignment, with the value it left.
    assert var_values(events, "tally") == [
        (at('let keys = ""'), "keys", ""), (at("keys += key"), "keys", "a"),
        (at("keys += key"), "keys", "ab"), (at("let [first"), "first", 1),
        (at("let [first"), "second", 2), (at("  [first, second] = ["), "first", 2),
        (at("  [first, second] = ["), "second", 1),
    ]  # fmt: skip
    assert var_values(events, "countdown") == [
        (at("const seen"), "seen", []), (at("n -= 1"), "n", 2), (at("n -= 1"), "n", 1),
        (at("n -= 1"), "n", 0), (at("var last"), "last", 1),
    ]  # fmt: skip
    assert var_values(events, "login") == [
        (at("let attempts"), "attempts", 0), (at("attempts++"), "attempts", 1),
        (at("const session"), "session", "<redacted>"),
    ]  # fmt: skip
    assert var_values(events, "total")[-1] == (at("let rounded"), "rounded", 6.5)
    assert len(var_values(events, "busy")) == 1 + 250  # variables are not sampled

    # Sampling from the environment; off writes nothing and changes nothing.
    sampling = {"TELEMETRY_INJECT_LOOP_FIRST": "3", "TELEMETRY_INJECT_LOOP_EVERY": "50"}
    events_file = tmp_path / "sampled.jsonl"
    run = run_program([node, "shop.js"], out, events=events_file, env=sampling)
    assert (run.returncode, run.stdout) == (0, SHOP_OUTPUT)
    events = read_events(events_file)
    assert loop_runs(events, "busy", busy) == [
        [(i, {"i": i}) for i in (0, 1, 2, 50, 100, 150, 200)]
    ]
    assert [i for i, _ in loop_runs(events, "grid", at("for (let c = 0"))[-1]] == [0, 1, 2]
    off = run_program([node, "shop.js"], out, events=tmp_path / "off.jsonl",
                      env={"TELEMETRY_INJECT": "off"})  # fmt: skip
    assert (off.returncode, off.stdout, off.stderr) == (0, SHOP_OUTPUT, "")
    assert not (tmp_path / "off.jsonl").exists()

    again = run_cli(out, "--in-place", "--json", "--probes", PROBES, "--cache-dir", cache)
    assert json.loads(again.stdout)["changed"] == 0
    run_cli("strip", out, "--in-place")
    assert tree(out) == tree(src)


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


@pytest.mark.parametrize("probes", ["function", PROBES], ids=["functions", "every-probe"])
def test_real_npm_packages_behave_the_same(node: str, tmp_path: Path, probes: str) -> None:
    """lodash (one 17k-line UMD file), semver (CommonJS modules, classes, a CLI with a shebang),
    marked (ES module and CommonJS builds) and uglify-js (whose files are scripts that it
    concatenates and runs with `new Function`), from the registry, used as their users do;
    with function probes only, and with loops, variables and arguments too."""
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
    cache = tmp_path / "c"
    report = json.loads(
        run_cli(
            work, "--in-place", "--json", "--jobs", "2", "--probes", probes, "--cache-dir", cache
        ).stdout
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
    if probes != "function":  # loops and assignments in every package, parameters by name
        for kind in ("loop", "var"):
            files = {e["file"].split("/")[0] for e in events if e["ev"] == kind}
            assert files == {"lodash", "semver", "marked", "uglify-js"}, kind
        assert {"version", "options"} <= set(first(events, "SemVer.constructor")["args"])
    run = run_program(cli, work, events=tmp_path / "cli.jsonl")
    assert (run.returncode, run.stdout) == (0, plain_cli.stdout)
    assert check_pairs(read_events(tmp_path / "cli.jsonl"))["main"] == 1
    (work / "drive.mjs").unlink()
    again = run_cli(work, "--in-place", "--json", "--probes", probes, "--cache-dir", cache)
    assert json.loads(again.stdout)["changed"] == 0
    run_cli("strip", work, "--in-place")
    assert tree(work) == original
