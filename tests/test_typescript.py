"""TypeScript end to end: instrument projects with the CLI, compile them with the project-local
tsc (tests/toolchains) under strict settings and several module systems, run them with node,
and check their output, events, idempotency and byte-exact removal."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from guards import cases as guard_cases
from guards import check as guard_check
from helpers import EXAMPLES, ROOT, line_of, require, run_cli, run_program, tree
from telemetry import (
    VECTORS,
    check_pairs,
    check_vectors,
    check_where,
    errors_of,
    first,
    read_events,
)
from telemetry_inject.core import analyze, language, plan
from test_javascript import (
    PROBES,
    STAMP,
    VALUES_DRIVER,
    _guard_runs,
    check_values,
    guard_env,
    loop_runs,
    npm_package,
    var_values,
)

FIXTURES = ROOT / "tests" / "fixtures" / "typescript"
TOOLCHAINS = ROOT / "tests" / "toolchains"
TSC = TOOLCHAINS / "node_modules" / ".bin" / "tsc"
NODE_TYPES = TOOLCHAINS / "node_modules" / "@types"
RUNTIME = "_telemetry_utils.ts"
# The flags a demanding project turns on: inserted code and the runtime must pass them all.
STRICTEST = {
    "strict": True,
    "noUnusedLocals": True,
    "noUnusedParameters": True,
    "noImplicitReturns": True,
    "noImplicitOverride": True,
    "noUncheckedIndexedAccess": True,
    "noPropertyAccessFromIndexSignature": True,
    "exactOptionalPropertyTypes": True,
}
ENV_D_TS = "declare const console: { log(...values: unknown[]): void };\n"

Tsc = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def node() -> str:
    return require("node")


@pytest.fixture(scope="module")
def tsc(node: str) -> Tsc:
    """The pinned TypeScript compiler; fails with its diagnostics when compilation fails."""
    if not TSC.is_file():
        pytest.fail("tsc is missing; run: npm install --prefix tests/toolchains")

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        proc = run_program([node, str(TSC), *map(str, args)], ROOT)
        if proc.returncode != 0:
            raise AssertionError(f"tsc {' '.join(map(str, args))}\n{proc.stdout}{proc.stderr}")
        return proc

    return run


def _project(root: Path, options: dict[str, object], files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    # skipLibCheck: lib .d.ts files are not what is tested, and checking them costs a second.
    config = {"compilerOptions": {"lib": ["es2022"], "types": [], "skipLibCheck": True, **options}}
    (root / "tsconfig.json").write_text(json.dumps(config, indent=1), "utf-8")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(text.encode("utf-8"))
    return root


def _sources(root: Path) -> dict[str, bytes]:
    return {k: v for k, v in tree(root).items() if not k.startswith("dist/")}


@pytest.mark.parametrize("probes", ["function", "function,loop,var,args"])
def test_example_behaves_the_same_and_reports_every_call(
    node: str, tsc: Tsc, instrument_copy: Callable[..., Path], tmp_path: Path, probes: str
) -> None:
    src = EXAMPLES / "typescript"
    plain_dir = tmp_path / "plain"
    shutil.copytree(src, plain_dir, ignore=shutil.ignore_patterns("dist"))
    out = instrument_copy(src, "--probes", probes)
    assert (out / "src" / "env.d.ts").read_bytes() == (src / "src" / "env.d.ts").read_bytes()
    main = (out / "src" / "main.ts").read_text("utf-8")
    assert main.startswith("#!/usr/bin/env node\n// Entry point")
    assert 'import * as __tel from "./_telemetry_utils.js";  // telemetry-inject\n' in main
    tsc("-b", plain_dir, out)  # nodenext, "type": "module": ES modules, strictest flags
    plain = run_program([node, "dist/main.js"], plain_dir)
    assert plain.returncode == 0, plain.stderr
    events_file = tmp_path / "events.jsonl"
    run = run_program([node, "dist/main.js"], out, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, plain.stderr)
    events = read_events(events_file)
    calls = check_pairs(events)
    expected = {
        "main": 1, "report": 1, "Shape.constructor": 4, "Circle.constructor": 2,
        "Rect.constructor": 2, "Shape.describe": 3, "Circle.area": 1, "Rect.area": 2,
        "Rect.isSquare": 2, "Rect.#ratio": 2, "Circle.radius": 2, "Parse.num": 4,
        "Parse.ParseError.constructor": 1, "Queue.push": 1, "Queue.mapAsync": 1,
        "main.<anonymous>": 3, "Queue.drain": 1, "h": 5, "Row": 2, "List": 1,
    }  # fmt: skip
    assert dict(calls) == expected
    assert errors_of(events) == [
        ("Circle.radius", "RangeError: radius is read-only"),
        ("Parse.num", 'ParseError: cannot parse "oops"'),
    ]
    shapes, parse = src / "src" / "shapes.ts", src / "src" / "parse.ts"
    where = {
        "Circle.constructor": (shapes, "constructor(private readonly r"),
        "Rect.#ratio": (shapes, "#ratio(): number"),
        "Rect.area": (shapes, "override area(): number { return this.#w"),
        "Parse.num": (parse, "export function num(text: string, fallback?"),
        "Row": (src / "src" / "view.tsx", "export function Row("),
        "List": (src / "src" / "view.tsx", "export const List ="),
        "main.<anonymous>": (src / "src" / "main.ts", "queue.mapAsync(async (x) => {"),
    }
    check_where(events, src, where)
    # Derived constructors enter after their super() call, as TypeScript requires.
    text = (out / "src" / "shapes.ts").read_text("utf-8")
    assert '    super("circle");\n    const __tel_s = __tel.enter("Circle.constructor"' in text
    kinds = {e["ev"] for e in events}
    assert ({"loop", "var"} <= kinds) == (probes != "function")
    assert ("args" in first(events, "Parse.num")) == (probes != "function")


def test_example_builds_as_commonjs_instruments_once_and_strips_back(
    node: str, tsc: Tsc, instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    src = EXAMPLES / "typescript"
    out = instrument_copy(src)
    cjs = tmp_path / "cjs"  # no package.json above it: node loads CommonJS
    for project, dist in ((src, tmp_path / "plain"), (out, cjs)):
        tsc("-p", project, "--module", "commonjs", "--moduleResolution", "node10",
            "--outDir", dist)  # fmt: skip
    # Node's own modules only: fs, and util (to leave Proxies unwalked).
    runtime_js = (cjs / "_telemetry_utils.js").read_text("utf-8")
    assert re.findall(r"require\((.*?)\)", runtime_js) == ['"node:fs"', '"node:util"']
    plain = run_program([node, "main.js"], tmp_path / "plain")
    events_file = tmp_path / "events.jsonl"
    run = run_program([node, "main.js"], cjs, events=events_file)
    assert (run.returncode, run.stdout) == (0, plain.stdout), run.stderr
    assert check_pairs(read_events(events_file))["Parse.num"] == 4
    again = run_cli(out, "--in-place", "--json", "--jobs", "1", "--cache-dir", tmp_path / "cache")
    report = json.loads(again.stdout)
    assert (report["changed"], report["instrumented"], report["failures"]) == (0, 0, [])
    run_cli("strip", out, "--in-place")
    assert _sources(out) == _sources(src)


VECTOR_DRIVER = """\
// @ts-ignore -- typed only where the project has @types/node
import * as nodeFs from "node:fs";
import * as tel from "./_telemetry_utils.js";

type Case = { fn: string; file: string; line: number; raises: boolean };
const fs = nodeFs as unknown as { readFileSync(path: string, encoding: string): string };
const argv = (globalThis as unknown as { process: { argv: string[] } }).process.argv;
const cases = (JSON.parse(fs.readFileSync(argv[2] ?? "", "utf8")) as { cases: Case[] }).cases;
for (const c of cases) {
  try {
    const s = tel.enter(c.fn, c.file, c.line);
    try {
      if (c.raises) throw new Error("vector " + c.fn);
    } catch (e) {
      tel.fail(s, e);
      throw e;
    } finally {
      tel.exit(s);
    }
  } catch {
    // expected for raising cases
  }
}
"""
MODULE_SETUPS = {
    "commonjs": ({"module": "commonjs", "target": "es2020"}, None),
    "nodenext-esm": ({"module": "nodenext", "target": "es2022"}, "module"),
    "nodenext-cjs": ({"module": "nodenext", "target": "es2022"}, "commonjs"),
    "es5": ({"module": "es2015", "target": "es5", "lib": ["es5"]}, "module"),
    "isolated": (
        {"module": "nodenext", "target": "es2022", "verbatimModuleSyntax": True,
         "isolatedDeclarations": True, "declaration": True, "erasableSyntaxOnly": True},
        "module",
    ),
    "types-node": (
        {"module": "commonjs", "target": "es2022", "types": ["node"],
         "typeRoots": [str(NODE_TYPES)], "esModuleInterop": True},
        None,
    ),
}  # fmt: skip


def test_runtime_compiles_everywhere_and_passes_the_shared_vectors(
    node: str, tsc: Tsc, tmp_path: Path
) -> None:
    """Strictest flags; CommonJS, nodenext (ESM and CommonJS packages), an ES5 target with
    ES5's library only, isolated declarations with verbatim module syntax, and a project with
    @types/node: one tsc run builds them all."""
    runtime = plan.runtime_files(language.get("typescript"), "tel", "driver.ts", {})
    assert [r.path for r in runtime] == [RUNTIME]
    roots = []
    for name, (options, package_type) in MODULE_SETUPS.items():
        files = {"driver.ts": VECTOR_DRIVER, RUNTIME: runtime[0].text}
        if package_type:
            files["package.json"] = json.dumps({"type": package_type})
        roots.append(_project(tmp_path / name, {**STRICTEST, **options}, files))
    tsc("-b", *roots)
    vectors = str(ROOT / "tests" / "vectors" / "events.json")
    raising = [c["fn"] for c in VECTORS["cases"] if c["raises"]]
    for root in roots:
        events_file = root / "events.jsonl"
        run = run_program([node, "driver.js", vectors], root, events=events_file)
        assert run.returncode == 0, f"{root.name}: {run.stderr}"
        events = read_events(events_file)
        check_vectors(events)
        assert [e["error"] for e in events if e["ev"] == "error"] == [
            f"Error: vector {fn}" for fn in raising
        ], root.name


# -- runtime guards (docs/probes.md, tests/vectors/guards.json) --------------------------------

GUARDS_DRIVER = """\
// @ts-ignore -- typed only where the project has @types/node
import * as nodeFs from "node:fs";
import * as tel from "./_telemetry_utils.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Value = Json | Set<Value> | Map<string, Value>;
interface Guard {
  runs: number;
  iterations: number;
  calls: number;
  sleep_ms: number;
  values: [string, Json, Json][];
}
const fs = nodeFs as unknown as { readFileSync(path: string, encoding: string): string };
const argv = (globalThis as unknown as { process: { argv: string[] } }).process.argv;
const spec = JSON.parse(fs.readFileSync(argv[2] ?? "", "utf8")) as {
  kind: string;
  guard: Guard;
  collections: boolean;
};
const FILE = "guards.ts";
const guard = spec.guard;

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function call(fn: string, line: number, ms: number): void {
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

// Arrays as Sets and objects as Maps: the other containers a value can be.
function collection(v: Json): Value {
  if (Array.isArray(v)) return new Set<Value>(v.map(collection));
  if (v !== null && typeof v === "object") {
    return new Map<string, Value>(Object.entries(v).map(([k, x]) => [k, collection(x)]));
  }
  return v;
}

if (spec.kind === "loops") {
  for (let r = 0; r < guard.runs; r++) {
    const l = tel.loop("loops", FILE, 40, "for");
    for (let i = 0; i < guard.iterations; i++) tel.iter(l, "i", i);
  }
} else if (spec.kind === "calls") {
  for (let k = 0; k < guard.calls; k++) call("f", 20, 0);
} else if (spec.kind === "durations") {
  call("fast", 30, 0);
  call("slow", 31, guard.sleep_ms);
} else {
  guard.values.forEach(([name, value], k) => {
    tel.value("values", FILE, 50 + k, name, spec.collections ? collection(value) : value);
  });
}
"""


@pytest.fixture(scope="module")
def guards_driver(tsc: Tsc, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The driver and the runtime, compiled once with the strictest flags."""
    runtime = plan.runtime_files(language.get("typescript"), "tel", "guards.ts", {})
    files = {"guards.ts": GUARDS_DRIVER, RUNTIME: runtime[0].text}
    options = {**STRICTEST, "module": "commonjs", "target": "es2022"}
    root = _project(tmp_path_factory.mktemp("guards") / "project", options, files)
    tsc("-p", root)
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


def test_values_of_every_kind_render_as_documented(node: str, tsc: Tsc, tmp_path: Path) -> None:
    """The JavaScript runtime's value cases, through the typed runtime compiled for ES2020."""
    runtime = plan.runtime_files(language.get("typescript"), "tel", "values.ts", {})
    driver = VALUES_DRIVER.replace("/*T*/", ": { [key: string]: unknown }").replace(
        "/*V*/", ": [string, unknown][]"
    )
    imports = (
        'import * as tel from "./_telemetry_utils.js";\n'
        'import * as other from "./sub/_telemetry_utils.js";\n'
    )
    files = {"values.ts": imports + driver, RUNTIME: runtime[0].text,
             f"sub/{RUNTIME}": runtime[0].text}  # fmt: skip
    options = {**STRICTEST, "module": "commonjs", "target": "es2020", "lib": ["es2020"]}
    root = _project(tmp_path / "values", options, files)
    tsc("-p", root)
    events_file = tmp_path / "events.jsonl"
    run = run_program([node, "values.js"], root, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    check_values(events_file)


def test_edge_cases_match_the_golden_file_compile_and_run_the_same(
    node: str, tsc: Tsc, tmp_path: Path
) -> None:
    options = {**STRICTEST, "module": "commonjs", "target": "es2022", "outDir": "dist"}
    options["noUnusedParameters"] = False  # the decorator's context parameter
    source = FIXTURES / "edge.input.ts"
    projects: list[tuple[Path, Path, str]] = []
    for eol in ("\n", "\r\n"):
        text = source.read_text("utf-8").replace("\n", eol)
        files = {"edge.ts": text, "env.d.ts": ENV_D_TS}
        plain = _project(tmp_path / f"plain{len(eol)}", options, files)
        out = _project(tmp_path / f"out{len(eol)}", options, files)
        run_cli(out, "--in-place", "--jobs", "1", "--cache-dir", tmp_path / "cache")
        golden = (FIXTURES / "edge.expected.ts").read_text("utf-8").replace("\n", eol)
        got = (out / "edge.ts").read_bytes().decode("utf-8")
        if eol != "\n":  # stamps hash the original text, EOLs included
            got, golden = (STAMP.sub("STAMP", t) for t in (got, golden))
        assert got == golden
        projects.append((plain, out, eol))
    tsc("-b", *(p for plain, out, _ in projects for p in (plain, out)))
    for plain, out, eol in projects:
        expected_run = run_program([node, "dist/edge.js"], plain)
        assert expected_run.returncode == 0, expected_run.stderr
        events_file = out / "events.jsonl"
        run = run_program([node, "dist/edge.js"], out, events=events_file)
        assert (run.returncode, run.stdout) == (0, expected_run.stdout), run.stderr
        events = read_events(events_file)
        calls = check_pairs(events)
        assert calls["Dog.constructor"] == 1 and calls["Animal.constructor"] == 1
        assert calls["Derived.constructor"] == calls["Plain.constructor"] == 1
        assert calls["countdown"] == 2 and calls["logged.<anonymous>"] == 1
        assert calls["Outer.Inner.deep"] == 1 and calls["handlers.hover"] == 1
        assert "expr" not in calls  # expression-bodied arrow
        assert errors_of(events) == [
            ("assertPositive", "RangeError: not positive: -1"),
            ("never", "Error: never returns"),
            ("late", "TypeError: late"),
        ]
        for fn, needle in {
            "afterUnicode": "function afterUnicode()",
            "Dog.trick": "  trick(): number {",
            "id": "const id = <T,>",
            "parse": "function parse(text: string, radix?",
            "変換": "function 変換(",
        }.items():
            assert first(events, fn)["line"] == line_of(source, needle), fn
        if eol == "\n":
            shutil.rmtree(out / "dist")
            (out / "events.jsonl").unlink()
            run_cli("strip", out, "--in-place")
            assert tree(out) == {k: v for k, v in tree(plain).items() if "dist/" not in k}


# -- loop, var and args probes (docs/probes.md) ------------------------------------------------

SHOP_TS = """\
// Orders with loops of every form, assignments and parameters, under the strictest flags.
import { table } from "./view.js";

type Line = { price: number; qty: number };

export class Ledger {
  private entries: number[] = [];
  constructor(private readonly owner: string, public limit?: number) {
    let note: string = owner.toUpperCase();
    note += "!";
    this.entries.push(note.length);
    console.log(this.owner);
  }
  add(this: Ledger, amount: number, round: (x: number) => number = Math.round): number {
    const kept = round(amount);
    this.entries.push(kept);
    return kept;
  }
}

function total(lines: Line[], ...discounts: number[]): number {
  let sum = 0;
  for (const { price, qty } of lines) sum += price * qty;
  for (let i = 0; i < discounts.length; i++)
    sum -= discounts[i] ?? 0;
  const rounded: number = Math.round(sum * 100) / 100;
  return rounded;
}

function grid(rows: number, cols: number): string {
  const cells: string[] = [];
  outer: for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (c > r) continue outer;
      if (r * c > 6) break outer;
      cells.push(`${r}${c}`);
    }
  }
  return cells.join(",");
}

function countdown(n: number): [number, number | undefined] {
  const seen: number[] = [];
  do {
    seen.push(n);
    n -= 1;
  } while (n > 0);
  let last = seen[seen.length - 1];
  return [seen.length, last];
}

function keysOf(record: Record<string, number>, apiKey?: string): string {
  let keys = "";
  for (const key in record) {
    if (key === "skip") continue;
    keys += key;
  }
  let count = 0;
  while (count < keys.length) count++;
  return `${keys} ${count} ${apiKey ?? "-"}`;
}

function busy(n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += i % 7;
  }
  return acc;
}

const pick = <T,>(items: readonly T[], wanted: (item: T) => boolean): T[] => {
  const found: T[] = [];
  for (const item of items as T[]) {
    if (wanted(item)) found.push(item);
  }
  return found;
};

function main(): void {
  const ledger = new Ledger("ann", 3);
  console.log(ledger.add(2.6), ledger.limit);
  console.log(total([{ price: 2.5, qty: 2 }, { price: 1, qty: 3 }], 1, 0.5));
  console.log(grid(4, 4));
  console.log(countdown(3));
  console.log(keysOf({ a: 1, skip: 2, b: 3 }, "k-123"));
  console.log(busy(250));
  console.log(pick([1, 2, 3, 4], (x) => x % 2 === 0));
  console.log(table([["a", 1], ["b", 2]]));
}

main();
"""
VIEW_TSX = """\
// TSX: parsed with the TSX grammar, instrumented with TypeScript's data.
import { h } from "./h.js";

export function table(rows: Array<[string, number]>): string {
  const cells: string[] = [];
  for (const [label, value] of rows) {
    cells.push(<td>{label}={value}</td>);
  }
  return <tr>{cells.join("")}</tr>;
}
"""
H_TS = """\
export function h(tag: string, _props: unknown, ...children: unknown[]): string {
  return `<${tag}>${children.join("")}</${tag}>`;
}
"""
JSX_D_TS = """
declare namespace JSX {
  type Element = string;
  interface IntrinsicElements {
    [tag: string]: { [attribute: string]: unknown };
  }
}
"""
SHOP_OUTPUT = """\
ann
3 3
6.5
00,10,11,20,21,22,30,31,32
[ 3, 1 ]
ab 2 k-123
745
[ 2, 4 ]
<tr><td>a=1</td><td>b=2</td></tr>
"""


def test_loop_var_and_args_probes_compile_strictly_run_the_same_and_strip_back(
    node: str, tsc: Tsc, tmp_path: Path
) -> None:
    """Loops of every form (for-of over destructuring and `as` casts, labelled loops left with
    continue/break label, braceless bodies, do-while, for-in, while), typed assignments and
    parameters (parameter properties, optional, rest, destructured, `this` and function-typed
    ones) in .ts and .tsx: compiled with the strictest flags, the program prints the same."""
    options = {**STRICTEST, "module": "commonjs", "target": "es2022", "rootDir": "src",
               "outDir": "dist", "jsx": "react", "jsxFactory": "h"}  # fmt: skip
    files = {"src/shop.ts": SHOP_TS, "src/view.tsx": VIEW_TSX, "src/h.ts": H_TS,
             "src/env.d.ts": ENV_D_TS + JSX_D_TS}  # fmt: skip
    plain = _project(tmp_path / "plain", options, files)
    out = _project(tmp_path / "out", options, files)
    cache = tmp_path / "cache"
    run_cli(out, "--in-place", "--probes", PROBES, "--jobs", "1", "--cache-dir", cache)
    view = (out / "src" / "view.tsx").read_text("utf-8")
    assert '__tel.iter(__tel_l0_1, "label", label, "value", value);' in view
    shop = (out / "src" / "shop.ts").read_text("utf-8")
    assert '__tel.enter("Ledger.add", "src/shop.ts", 14, "amount", amount, "round", round)' in shop
    tsc("-b", plain, out)
    expected = run_program([node, "dist/shop.js"], plain)
    assert (expected.returncode, expected.stdout, expected.stderr) == (0, SHOP_OUTPUT, "")
    events_file = tmp_path / "events.jsonl"
    run = run_program([node, "dist/shop.js"], out, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, SHOP_OUTPUT, "")
    events = read_events(events_file)
    check_pairs(events)
    source = out.parent / "source.ts"
    source.write_text(SHOP_TS, "utf-8")

    def at(needle: str) -> int:
        return line_of(source, needle)

    assert {e["kind"] for e in events if e["ev"] == "loop"} == {
        "for", "for_of", "for_in", "while", "do"
    }  # fmt: skip
    # Parameters: properties and optional ones by name, `this` and types left out, secrets
    # redacted, functions as text.
    assert first(events, "Ledger.constructor")["args"] == {"owner": "ann", "limit": 3}
    assert first(events, "Ledger.add")["args"] == {"amount": 2.6, "round": "[Function: round]"}
    assert first(events, "keysOf")["args"] == {
        "record": {"a": 1, "skip": 2, "b": 3}, "apiKey": "<redacted>"
    }  # fmt: skip
    assert first(events, "pick")["args"]["items"] == [1, 2, 3, 4]
    assert first(events, "table")["args"] == {"rows": [["a", 1], ["b", 2]]}
    assert loop_runs(events, "total", at("for (const { price, qty }")) == [
        [(0, {"price": 2.5, "qty": 2}), (1, {"price": 1, "qty": 3})]
    ]
    assert loop_runs(events, "total", at("for (let i = 0; i < discounts")) == [
        [(0, {"i": 0}), (1, {"i": 1})]
    ]
    assert loop_runs(events, "grid", at("outer: for")) == [[(r, {"r": r}) for r in range(4)]]
    cols = loop_runs(events, "grid", at("for (let c = 0"))
    assert [[i for i, _ in run] for run in cols] == [[0, 1], [0, 1, 2], [0, 1, 2, 3], [0, 1, 2, 3]]
    assert loop_runs(events, "countdown", at("  do {")) == [[(0, None), (1, None), (2, None)]]
    assert loop_runs(events, "keysOf", at("for (const key in")) == [
        [(0, {"key": "a"}), (1, {"key": "skip"}), (2, {"key": "b"})]
    ]
    assert loop_runs(events, "keysOf", at("while (count")) == [[(0, None), (1, None)]]
    assert loop_runs(events, "pick", at("for (const item of")) == [
        [(i, {"item": i + 1}) for i in range(4)]
    ]
    assert loop_runs(events, "table", 6) == [
        [(0, {"label": "a", "value": 1}), (1, {"label": "b", "value": 2})]
    ]
    busy = at("for (let i = 0; i < n; i++)")
    assert loop_runs(events, "busy", busy) == [[(i, {"i": i}) for i in [*range(10), 100, 200]]]
    assert var_values(events, "Ledger.constructor") == [
        (at("let note"), "note", "ANN"), (at('note += "!"'), "note", "ANN!")
    ]  # fmt: skip
    assert var_values(events, "countdown") == [
        (at("const seen"), "seen", []), (at("n -= 1"), "n", 2), (at("n -= 1"), "n", 1),
        (at("n -= 1"), "n", 0), (at("let last"), "last", 1),
    ]  # fmt: skip
    assert var_values(events, "total")[-1] == (at("const rounded"), "rounded", 6.5)
    assert var_values(events, "main")[0] == (
        at("const ledger"),
        "ledger",
        {"owner": "ann", "limit": 3, "entries": [4]},
    )

    sampling = {"TELEMETRY_INJECT_LOOP_FIRST": "2", "TELEMETRY_INJECT_LOOP_EVERY": "0"}
    events_file = tmp_path / "sampled.jsonl"
    run = run_program([node, "dist/shop.js"], out, events=events_file, env=sampling)
    assert (run.returncode, run.stdout) == (0, SHOP_OUTPUT)
    events = read_events(events_file)
    assert loop_runs(events, "busy", busy) == [[(0, {"i": 0}), (1, {"i": 1})]]
    assert len(loop_runs(events, "grid", at("for (let c = 0"))[-1]) == 2
    off = run_program([node, "dist/shop.js"], out, events=tmp_path / "off.jsonl",
                      env={"TELEMETRY_INJECT": "off"})  # fmt: skip
    assert (off.returncode, off.stdout, off.stderr) == (0, SHOP_OUTPUT, "")
    assert not (tmp_path / "off.jsonl").exists()

    shutil.rmtree(out / "dist")  # compiled JavaScript: not to be instrumented itself
    again = run_cli(out, "--in-place", "--json", "--probes", PROBES, "--cache-dir", cache)
    assert json.loads(again.stdout)["changed"] == 0
    run_cli("strip", out, "--in-place")
    assert tree(out / "src") == tree(plain / "src")


LEGACY_JS = """\
"use strict";
/** @param {number} x @returns {number} */
function twice(x) {
  return 2 * x;
}
module.exports = { twice };
"""


def test_module_flavours_checked_javascript_and_declaration_files(
    node: str, tsc: Tsc, tmp_path: Path
) -> None:
    """.mts (an ES module importing the runtime compiled as CommonJS), .cts and .ts in a
    CommonJS package under nodenext, with JavaScript (CommonJS and ESM) that tsc type-checks
    (allowJs, checkJs, strict); declaration files are left alone."""
    shapes_d_ts = "export interface Shape {\n  area(): number;\n}\n"
    files = {
        "package.json": '{"private": true}',
        "src/shapes.d.ts": shapes_d_ts,
        "src/lower.mts": "export function lower(s: string): string {\n  return s.toLowerCase();\n}",
        "src/upper.cts": "export function upper(s: string): string { return s.toUpperCase(); }\n",
        "src/legacy.js": LEGACY_JS,
        "src/shout.mjs": '/** @param {string} s */\nexport function shout(s) { return s + "!"; }\n',
        "src/main.ts": (
            'import { upper } from "./upper.cjs";\n'
            'import { twice } from "./legacy.js";\n'
            "async function main(): Promise<void> {\n"
            '  const { lower } = await import("./lower.mjs");\n'
            '  const { shout } = await import("./shout.mjs");\n'
            '  console.log(upper("a"), lower("B"), twice(21), shout("hi"));\n'
            "}\n"
            "void main();\n"
        ),
    }
    options = {**STRICTEST, "module": "nodenext", "target": "es2022", "rootDir": "src",
               "outDir": "dist", "allowJs": True, "checkJs": True, "types": ["node"],
               "typeRoots": [str(NODE_TYPES)]}  # fmt: skip
    src = _project(tmp_path / "src", options, files)
    out = tmp_path / "out"
    shutil.copytree(src, out)
    run_cli(out, "--in-place", "--jobs", "1", "--cache-dir", tmp_path / "cache")
    assert (out / "src" / "shapes.d.ts").read_text("utf-8") == shapes_d_ts
    assert (out / "src" / RUNTIME).is_file() and (out / "src" / "_telemetry_utils.cjs").is_file()
    tsc("-b", src, out)
    plain = run_program([node, "dist/main.js"], src)
    events_file = tmp_path / "events.jsonl"
    run = run_program([node, "dist/main.js"], out, events=events_file)
    assert (run.returncode, run.stdout) == (0, plain.stdout) == (0, "A b 42 hi!\n"), run.stderr
    calls = check_pairs(read_events(events_file))
    assert dict(calls) == {"main": 1, "upper": 1, "lower": 1, "twice": 1, "shout": 1}


NAMES = [
    ("decl", 2), ("arrow", 3), ("K.field", 5), ("K.#pf", 6), ("K.s", 7), ("K.g", 9),
    ("K.constructor", 10), ("K.m", 12), ("NS.inNs", 15), ("A.B.f", 16), ("over", 19),
    ("o.key", 20), ("o.k2", 20), ("c.m", 21), ("x", 23), ("g", 24),
]  # fmt: skip


def test_functions_found_and_named_the_same_in_tsx() -> None:
    """Signatures, overloads, abstract and ambient declarations have no body: not found."""
    source = (FIXTURES / "names.ts").read_bytes()
    for name in ("typescript", "tsx"):
        functions = analyze.analyze(language.get(name), source).functions
        assert [(str(f.id), f.line) for f in functions] == NAMES, name
    ts, tsx = language.get("typescript"), language.get("tsx")
    # TSX is TypeScript's data on another grammar.
    for query in ("functions.scm", "scopes.scm", "probes.scm"):
        assert tsx.find(query) is not None and tsx.find(query) == ts.find(query)
    assert tsx.query("probes") is not None  # TypeScript's probe query compiles for TSX too
    tsx = language.for_path("view.tsx")
    assert tsx is not None and tsx.name == "tsx"
    ts = language.for_path("a.d.ts")
    assert ts is not None and "*.d.ts" in ts.exclude


@pytest.mark.parametrize("probes", ["function", PROBES], ids=["functions", "every-probe"])
def test_a_real_typescript_project_behaves_the_same(
    node: str, tsc: Tsc, tmp_path: Path, probes: str
) -> None:
    """immer, compiled from the TypeScript sources in its npm package; with every probe, its
    drafts (Proxies) are shown as "Proxy", never walked, and what its Map and Set subclasses
    run while a value is read records nothing."""
    package = npm_package("immer@11.2.10", tmp_path / "npm")
    options = {
        "target": "es2020", "module": "commonjs", "moduleResolution": "node10", "strict": True,
        "rootDir": "src", "outDir": "out", "types": ["node"], "typeRoots": [str(NODE_TYPES)],
        "skipLibCheck": True,
    }  # fmt: skip
    roots = {}
    for name in ("plain", "instrumented"):
        root = _project(tmp_path / name, options, {})
        shutil.copytree(package / "src", root / "src")
        shutil.copy2(FIXTURES / "immer_drive.cjs", root / "drive.cjs")
        roots[name] = root
    work = roots["instrumented"] / "src"
    original = tree(work)
    cache = tmp_path / "c"
    report = json.loads(
        run_cli(
            work, "--in-place", "--json", "--jobs", "2", "--probes", probes, "--cache-dir", cache
        ).stdout
    )
    assert report["failures"] == [] and report["instrumented"] > 100
    assert tree(work)["types/globals.d.ts"] == original["types/globals.d.ts"]
    tsc("-b", *roots.values())
    plain = run_program([node, "drive.cjs"], roots["plain"])
    assert plain.returncode == 0, plain.stderr
    events_file = tmp_path / "events.jsonl"
    run = run_program([node, "drive.cjs"], roots["instrumented"], events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, plain.stderr)
    events = read_events(events_file)
    calls = check_pairs(events)
    for fn in ("Immer.produce", "Immer.produceWithPatches", "createProxy", "processResult",
               "finalize", "enablePatches.generatePatches_", "enableMapSet.DraftMap.set",
               "enableMapSet.DraftSet.add", "objectTraps.set", "current"):  # fmt: skip
        assert calls[fn] >= 1, fn
    assert {e["file"] for e in events} >= {"core/immerClass.ts", "plugins/patches.ts"}
    # The error is thrown by die() and leaves processResult and produce before it is caught.
    errors = errors_of(events)
    assert [fn for fn, _ in errors] == ["die", "processResult", "Immer.produce"]
    assert all("[Immer] An immer producer returned a new value" in why for _, why in errors)
    if probes != "function":
        assert {"loop", "var"} <= {e["ev"] for e in events}
        traps = [e for e in events if (e["ev"], e["fn"]) == ("enter", "objectTraps.get")]
        shown = [e["args"]["state"] for e in traps]
        assert shown and all(s["draft_"] == "Proxy" for s in shown if isinstance(s, dict))
    again = run_cli(work, "--in-place", "--json", "--probes", probes, "--cache-dir", cache)
    assert json.loads(again.stdout)["changed"] == 0
    run_cli("strip", work, "--in-place")
    assert tree(work) == original
