"""TypeScript end to end: instrument projects with the CLI, compile them with the project-local
tsc (tests/toolchains) under strict settings and several module systems, run them with node,
and check their output, events, idempotency and byte-exact removal."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from guards import cases as guard_cases
from guards import check as guard_check
from helpers import EXAMPLES, ROOT, require, run_cli, run_program
from telemetry import VECTORS, check_pairs, check_vectors, read_events
from telemetry_inject.core import analyze, language, plan
from test_javascript import (
    STAMP,
    _guard_runs,
    errors_of,
    first,
    guard_env,
    line_of,
    npm_package,
    tree,
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


def test_example_behaves_the_same_and_reports_every_call(
    node: str, tsc: Tsc, instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    src = EXAMPLES / "typescript"
    plain_dir = tmp_path / "plain"
    shutil.copytree(src, plain_dir, ignore=shutil.ignore_patterns("dist"))
    out = instrument_copy(src)
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
    for fn, (path, needle) in where.items():
        event = first(events, fn)
        assert (event["file"], event["line"]) == (
            path.relative_to(src).as_posix(),
            line_of(path, needle),
        ), fn
    # Derived constructors enter after their super() call, as TypeScript requires.
    text = (out / "src" / "shapes.ts").read_text("utf-8")
    assert '    super("circle");\n    const __tel_s = __tel.enter("Circle.constructor"' in text


def test_example_builds_as_commonjs_instruments_once_and_strips_back(
    node: str, tsc: Tsc, instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    src = EXAMPLES / "typescript"
    out = instrument_copy(src)
    cjs = tmp_path / "cjs"  # no package.json above it: node loads CommonJS
    for project, dist in ((src, tmp_path / "plain"), (out, cjs)):
        tsc("-p", project, "--module", "commonjs", "--moduleResolution", "node10",
            "--outDir", dist)  # fmt: skip
    assert (cjs / "_telemetry_utils.js").read_text("utf-8").count("require(") == 1
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
    for query in ("functions.scm", "scopes.scm"):  # TSX is TypeScript's data on another grammar
        assert tsx.find(query) == ts.find(query)
    tsx = language.for_path("view.tsx")
    assert tsx is not None and tsx.name == "tsx"
    ts = language.for_path("a.d.ts")
    assert ts is not None and "*.d.ts" in ts.exclude


def test_a_real_typescript_project_behaves_the_same(node: str, tsc: Tsc, tmp_path: Path) -> None:
    """immer, compiled from the TypeScript sources in its npm package."""
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
    report = json.loads(
        run_cli(work, "--in-place", "--json", "--jobs", "2", "--cache-dir", tmp_path / "c").stdout
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
    again = run_cli(work, "--in-place", "--json", "--cache-dir", tmp_path / "c")
    assert json.loads(again.stdout)["changed"] == 0
    run_cli("strip", work, "--in-place")
    assert tree(work) == original
