"""PHP end to end: instrument programs with the CLI, lint and run them with the real interpreter,
and check their output, events, idempotency and byte-exact removal; the files of a Debian php-*
package must still work the same instrumented."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import EXAMPLES, ROOT, line_of, require, run_cli, run_program, tree
from telemetry import (
    check_off,
    check_pairs,
    check_where,
    first,
    read_events,
)
from telemetry_inject.core import analyze, language

FIXTURES = ROOT / "tests" / "fixtures" / "php"
CACHE = ROOT / "tests" / ".cache" / "php"
RUNTIME = "_telemetry_utils.php"
REQUIRE = "require_once __DIR__ . '/_telemetry_utils.php';  // telemetry-inject"

Php = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def php() -> Php:
    exe = require("php")

    def run(*args: str, cwd: Path, events: Path | None = None) -> subprocess.CompletedProcess[str]:
        return run_program([exe, *args], cwd, events=events)

    return run


def instrument(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """The CLI run from the program's directory, so events name files relative to it."""
    return run_cli(".", "--in-place", "--jobs", "1", "--no-cache", *extra, cwd=root)


def lint(php: Php, root: Path) -> None:
    for path in sorted(root.rglob("*.php")):
        result = php("-l", str(path), cwd=root)
        assert result.returncode == 0, result.stdout + result.stderr


def test_example_behaves_the_same_and_reports_every_call(php: Php, tmp_path: Path) -> None:
    src = EXAMPLES / "php"
    plain = php("main.php", cwd=src)
    assert (plain.returncode, plain.stderr) == (0, ""), plain.stderr
    out = tmp_path / "php"
    shutil.copytree(src, out)
    report = json.loads(instrument(out, "--json").stdout)
    assert report["failures"] == []
    lint(php, out)
    assert (out / RUNTIME).is_file() and (out / "src" / RUNTIME).is_file()
    # Readable by whoever can read the code that requires it (a web server's user, say).
    assert (out / RUNTIME).stat().st_mode & 0o777 == (out / "main.php").stat().st_mode & 0o777
    events_file = tmp_path / "events.jsonl"
    run = php("main.php", cwd=out, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, "")
    events = read_events(events_file)
    calls = check_pairs(events)
    expected = {
        "main": 1, "noop": 1, "square": 4, "squares": 1, "safe_checkout": 2,
        "main.<anonymous>": 2, "Cart.__construct": 2, "Cart.add": 3, "Cart.reserve": 3,
        "Cart.names": 1, "Cart.names.<anonymous>": 1, "Cart.subtotal": 1, "Cart.checkout": 2,
        "Cart.describe": 1, "Labelled.label": 1, "Cart.history": 1,
    }  # fmt: skip
    assert calls == Counter(expected)
    errors = [(e["fn"], e["error"]) for e in events if e["ev"] == "error"]
    assert errors == [
        ("Cart.reserve", "Shop\\OutOfStock: add plum: out of stock"),
        ("Cart.add", "Shop\\OutOfStock: add plum: out of stock"),
        ("Cart.checkout", "Shop\\EmptyCart: checkout of an empty cart"),
    ]
    cart, main = src / "src" / "Cart.php", src / "main.php"
    where = {
        "Cart.__construct": (cart, "public function __construct("),
        "Cart.describe": (cart, "public static function describe("),
        "Labelled.label": (cart, "public function label()"),
        "main.<anonymous>": (main, "array_map(function"),
        "squares": (main, "function squares("),
    }
    check_where(events, src, where)
    assert len({e["pid"] for e in events}) == 1
    # Events go to stderr without TELEMETRY_INJECT_OUT; any of the off values silences them.
    default = php("main.php", cwd=out)
    stream = tmp_path / "stderr.jsonl"
    stream.write_text(default.stderr, "utf-8")
    assert check_pairs(read_events(stream)) == Counter(expected)
    check_off(
        lambda events, env: run_program(["php", "main.php"], out, events=events, env=env),
        plain.stdout,
        tmp_path,
    )
    again = json.loads(instrument(out, "--json").stdout)
    assert (again["changed"], again["instrumented"], again["failures"]) == (0, 0, [])
    run_cli("strip", ".", "--in-place", "--no-cache", cwd=out)
    assert tree(out) == tree(src)


CRASH = """<?php
function inner(array $xs): int
{
    throw new RuntimeException('boom ' . count($xs));
}

function outer(): int
{
    return inner([1, 2, 3]);
}

echo "before\\n";
echo outer();
"""


def test_an_uncaught_exception_is_recorded_and_ends_the_program_the_same_way(
    php: Php, tmp_path: Path
) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    for root in (src, out):
        root.mkdir()
        (root / "crash.php").write_text(CRASH, "utf-8")
    instrument(out)
    plain = php("crash.php", cwd=src)
    events_file = tmp_path / "events.jsonl"
    run = php("crash.php", cwd=out, events=events_file)
    assert run.returncode == plain.returncode == 255
    assert run.stdout == plain.stdout

    def norm(text: str) -> str:
        return re.sub(r"crash\.php(:|\(| on line )\d+", r"crash.php\1N", text.replace("out", "src"))

    assert "Uncaught RuntimeException: boom 3" in plain.stdout + plain.stderr
    assert norm(run.stderr) == norm(plain.stderr)
    events = read_events(events_file)
    check_pairs(events)
    assert [(e["ev"], e["fn"]) for e in events if e["ev"] != "enter"] == [
        ("error", "inner"), ("exit", "inner"), ("error", "outer"), ("exit", "outer")
    ]  # fmt: skip
    assert {e["error"] for e in events if e["ev"] == "error"} == {"RuntimeException: boom 3"}


def _edge(root: Path, eol: str) -> Path:
    root.mkdir(parents=True)
    text = (FIXTURES / "edge.input.php").read_text("utf-8").replace("\n", eol)
    (root / "edge.php").write_bytes(text.encode("utf-8"))
    return root / "edge.php"


@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_edge_cases_match_the_golden_file_and_run_the_same(
    php: Php, tmp_path: Path, eol: str
) -> None:
    src, out = _edge(tmp_path / "src", eol), _edge(tmp_path / "out", eol)
    plain = php("edge.php", cwd=src.parent)
    assert (plain.returncode, plain.stderr) == (0, ""), plain.stderr
    assert plain.stdout.startswith("doc kept\n")
    instrument(out.parent)
    golden = (FIXTURES / "edge.expected.php").read_text("utf-8").replace("\n", eol)
    got = out.read_bytes().decode("utf-8")
    if eol != "\n":  # stamps hash the original text, EOLs included
        got, golden = (re.sub(r"telemetry-inject:[0-9a-f]{8}", "STAMP", t) for t in (got, golden))
    assert got == golden
    lint(php, out.parent)
    events_file = tmp_path / "events.jsonl"
    run = php("edge.php", cwd=out.parent, events=events_file)
    # The first class keeps its docblock (reflection reads it): the require went above it.
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, "")
    events = read_events(events_file)
    calls = check_pairs(events)
    expected = {
        "main": 1, "empty_body": 1, "empty_lines": 1, "one": 200, "early": 2, "by_ref": 1,
        "counter": 2, "generator": 1, "must_positive": 1, "unicodé": 1, "defines_inner": 1,
        "defines_inner.inner": 1, "Base.make": 1, "Base.__construct": 1, "Base.describe": 1,
        "Square.name": 1, "Square.area": 1, "Square.__toString": 1, "Loud.shout": 1,
        "Suit.label": 1, "main.<anonymous>": 3, "main.hello": 1,
    }  # fmt: skip
    assert calls == Counter(expected)
    errors = [(e["fn"], e["error"]) for e in events if e["ev"] == "error"]
    assert errors == [("must_positive", "InvalidArgumentException: negative: -3")]
    source = FIXTURES / "edge.input.php"
    for fn, needle in {
        "unicodé": "function unicodé()",
        "by_ref": "function &by_ref(",
        "Loud.shout": "public function shout(",
        "empty_lines": "function empty_lines()",
        "main.hello": "public function hello()",
    }.items():
        assert first(events, fn)["line"] == line_of(source, needle), fn
    # exit() runs no finally blocks, but the shutdown function writes everything recorded.
    exit_file = tmp_path / "exit.jsonl"
    assert php("edge.php", "exit", cwd=out.parent, events=exit_file).returncode == 3
    exited = read_events(exit_file)
    opened = Counter(e["fn"] for e in exited if e["ev"] == "enter")
    opened.subtract(Counter(e["fn"] for e in exited if e["ev"] == "exit"))
    assert +opened == Counter({"main": 1})
    run_cli("strip", out.parent, "--in-place", "--no-cache")
    assert out.read_bytes() == src.read_bytes()
    assert not (out.parent / RUNTIME).exists()


SHAPES = {
    # Braced namespaces allow no code outside them: the require gets a global block.
    "braced.php": "<?php\nnamespace A {\n    function f() { return 1; }\n}\n"
    'namespace {\n    echo A\\f(), "\\n";\n}\n',
    # A shebang line is text before <?php that PHP's CLI skips.
    "script.php": '#!/usr/bin/env php\n<?php\nfunction g() { return 2; }\necho g(), "\\n";\n',
    # HTML first: every line before <?php is output, so the file is left alone.
    "page.php": "<p><?php function h() { return 3; } echo h(); ?></p>\n",
    # A name with `$` and `{$`: the literal in the entry line must not interpolate.
    "we$ird{$x}.php": '<?php\nfunction k() { return 4; }\necho k(), "\\n";\n',
}


def test_file_shapes_get_a_require_that_works_or_none(php: Php, tmp_path: Path) -> None:
    for name, text in SHAPES.items():
        (tmp_path / name).write_text(text, "utf-8")
    report = json.loads(instrument(tmp_path, "--json", "-v").stdout)
    braced = (tmp_path / "braced.php").read_text("utf-8")
    assert braced.startswith(
        "<?php\nnamespace { require_once __DIR__ . '/_telemetry_utils.php'; }  // telemetry-inject"
    )
    assert (
        (tmp_path / "script.php")
        .read_text("utf-8")
        .startswith("#!/usr/bin/env php\n<?php\n" + REQUIRE)
    )
    assert (tmp_path / "page.php").read_text("utf-8") == SHAPES["page.php"]
    assert any(
        n.startswith("page.php:1: h: skipped: starts with HTML")
        for n in report["skipped_functions"]
    )
    lint(php, tmp_path)
    events_file = tmp_path / "events.jsonl"
    outputs = [php(name, cwd=tmp_path, events=events_file).stdout for name in SHAPES]
    assert outputs == ["1\n", "2\n", "<p>3</p>\n", "4\n"]
    events = read_events(events_file)
    assert check_pairs(events) == Counter({"f": 1, "g": 1, "k": 1})
    assert {e["file"] for e in events if e["fn"] == "k"} == {"we$ird{$x}.php"}


def test_functions_found_and_bodiless_ones_left_out() -> None:
    spec = language.get("php")
    source = b"""<?php
interface I { public function m(); }
abstract class A { abstract function a(); function b() { return fn() => 1; } }
$c = function () use ($x) { return $x; };
"""
    found = [str(f.id) for f in analyze.analyze(spec, source).functions]
    assert found == ["A.b", "<anonymous>"]


MARKDOWN = """# Title

Some *emphasis*, **strong**, `code` and a [link](http://example.com "t").

- one
- two
  1. nested

> quote

```php
echo 1;
```

| a | b |
|---|---|
| 1 | 2 |

<div>html</div> & \\*escaped\\*
"""


@pytest.fixture(scope="module")
def parsedown() -> Path:
    """Parsedown.php from Debian's php-parsedown package (apt-get download, dpkg-deb -x)."""
    debs = CACHE / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    if not list(debs.glob("php-parsedown_*.deb")):
        subprocess.run(["apt-get", "download", "php-parsedown"], cwd=debs, check=True)
    root = debs / "php-parsedown"
    if not root.exists():
        deb = next(debs.glob("php-parsedown_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root / "usr" / "share" / "php" / "Parsedown"


def test_a_debian_php_library_behaves_the_same_instrumented(
    php: Php, parsedown: Path, tmp_path: Path
) -> None:
    plain, inst = tmp_path / "plain", tmp_path / "inst"
    shutil.copytree(parsedown, plain)
    shutil.copytree(parsedown, inst)
    report = json.loads(instrument(inst, "--json").stdout)
    assert report["failures"] == [] and report["instrumented"] > 40
    lint(php, inst)
    (tmp_path / "input.md").write_text(MARKDOWN, "utf-8")
    drive = (
        "<?php require $argv[1] . '/Parsedown.php';"
        " $p = new Parsedown(); $p->setSafeMode(true);"
        ' echo $p->text(file_get_contents($argv[2])), "\\n", $p->line(\'*x* <b>\'), "\\n";'
    )
    (tmp_path / "drive.php").write_text(drive, "utf-8")
    before = php("drive.php", str(plain), "input.md", cwd=tmp_path)
    assert before.returncode == 0 and "<h1>Title</h1>" in before.stdout
    events_file = tmp_path / "events.jsonl"
    after = php("drive.php", str(inst), "input.md", cwd=tmp_path, events=events_file)
    assert (after.returncode, after.stdout, after.stderr) == (0, before.stdout, before.stderr)
    calls = check_pairs(read_events(events_file))
    for fn in ("Parsedown.text", "Parsedown.lines", "Parsedown.blockTable", "Parsedown.inlineLink"):
        assert calls[fn] >= 1, fn
    run_cli("strip", inst, "--in-place", "--no-cache")
    assert tree(inst) == tree(plain)


def test_a_debian_php_library_behaves_the_same_with_every_probe(
    php: Php, parsedown: Path, tmp_path: Path
) -> None:
    plain, inst = tmp_path / "plain", tmp_path / "inst"
    shutil.copytree(parsedown, plain)
    shutil.copytree(parsedown, inst)
    report = json.loads(instrument(inst, "--json", "--probes", "function,loop,var,args").stdout)
    assert report["failures"] == [] and report["instrumented"] > 40
    lint(php, inst)
    (tmp_path / "input.md").write_text(MARKDOWN, "utf-8")
    drive = (
        "<?php require $argv[1] . '/Parsedown.php';"
        ' echo (new Parsedown())->text(file_get_contents($argv[2])), "\\n";'
    )
    (tmp_path / "drive.php").write_text(drive, "utf-8")
    before = php("drive.php", str(plain), "input.md", cwd=tmp_path)
    assert before.returncode == 0 and "<h1>Title</h1>" in before.stdout
    events_file = tmp_path / "events.jsonl"
    after = php("drive.php", str(inst), "input.md", cwd=tmp_path, events=events_file)
    assert (after.returncode, after.stdout, after.stderr) == (0, before.stdout, before.stderr)
    events = read_events(events_file)
    check_pairs(events)
    kinds = Counter(e["ev"] for e in events)
    assert kinds["loop"] > 20 and kinds["var"] > 100, kinds
    assert all("args" in e for e in events if e["ev"] == "enter" and e["fn"] == "Parsedown.text")
    run_cli("strip", inst, "--in-place", "--no-cache")
    assert tree(inst) == tree(plain)


PROBES = "function,loop,var,args"


def loops_at(events: list[dict[str, Any]], line: int) -> list[dict[str, Any]]:
    return [e for e in events if e["ev"] == "loop" and e["line"] == line]


def test_loop_var_and_args_probes_record_and_change_nothing(php: Php, tmp_path: Path) -> None:
    source = FIXTURES / "probes.php"
    src, out = tmp_path / "src", tmp_path / "out"
    for root in (src, out):
        root.mkdir()
        shutil.copy(source, root / "probes.php")
    plain = php("probes.php", cwd=src)
    assert (plain.returncode, plain.stderr) == (0, ""), plain.stderr
    report = json.loads(instrument(out, "--json", "--probes", PROBES).stdout)
    assert report["failures"] == [] and report["instrumented"] == 8
    lint(php, out)
    text = (out / "probes.php").read_text("utf-8")
    # continue 2 / break 2, braceless bodies (now braced), alternative syntax, generators,
    # references and closures: the program prints exactly what it printed.
    events_file = tmp_path / "events.jsonl"
    run = php("probes.php", cwd=out, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, "")
    events = read_events(events_file)
    check_pairs(events)

    def at(needle: str) -> int:
        return line_of(source, needle)

    def iterations(needle: str) -> list[tuple[int, dict[str, Any] | None]]:
        return [(e["i"], e.get("vars")) for e in loops_at(events, at(needle))]

    assert {e["kind"] for e in loops_at(events, at("as $name => $price"))} == {"foreach"}
    assert iterations("as $name => $price") == [
        (0, {"name": "apple", "price": 3}), (1, {"name": "bad", "price": -1}),
        (2, {"name": "pear", "price": 4}),
    ]  # fmt: skip
    # Nested loops left by `continue 2` and `break 2`: each execution counts from 0.
    outer = [e for e in events if e["ev"] == "loop" and e["fn"] == "grid" and "i" in e["vars"]]
    inner = [e for e in events if e["ev"] == "loop" and e["fn"] == "grid" and "j" in e["vars"]]
    assert [e["vars"]["i"] for e in outer] == [0, 1, 2, 3]
    assert [(e["i"], e["vars"]["j"]) for e in inner] == [
        (j, j) for n in (2, 3, 4, 4) for j in range(n)
    ]
    assert iterations("foreach ($xs as $x) $n") == [(i, {"x": i + 1}) for i in range(3)]
    assert iterations("while ($k-- > 0)") == [(0, None), (1, None), (2, None)]
    assert iterations("foreach ($pairs as [$a, $b])") == [
        (0, {"a": "x", "b": "y"}), (1, {"a": "z", "b": "w"})
    ]  # fmt: skip
    assert iterations("as $key => list($c, $d)") == [
        (0, {"key": 0, "c": "x", "d": "y"}), (1, {"key": 1, "c": "z", "d": "w"})
    ]  # fmt: skip
    assert iterations("foreach ($copy as &$pair)") == [
        (0, {"pair": ["x", "y"]}), (1, {"pair": ["z", "w"]})
    ]  # fmt: skip
    assert iterations("do {") == [(0, None), (1, None), (2, None)]
    assert iterations("for ($i = 0; $i < 2; $i++):") == []  # the alternative syntax: left alone
    hot = [e for e in events if e["ev"] == "loop" and e["fn"] == "hot"]
    assert [e["i"] for e in hot] == [*range(10), 100, 200]  # sampled: first 10, every 100th
    closure = [e for e in events if e["ev"] == "loop" and e["fn"] == "main.<anonymous>"]
    assert [e["vars"]["sq"] for e in closure] == [0, 1, 4, 9]
    # Variables: values after each assignment, at the assignment's original line.
    var = [(e["fn"], e["line"], e["name"], e["value"]) for e in events if e["ev"] == "var"]
    sums = [v for v in var if v[0] == "totals" and v[2] == "sum"]
    assert sums == [
        ("totals", at("$sum = 0;"), "sum", 0), ("totals", at("$sum += $price;"), "sum", 3),
        ("totals", at("$sum += $price;"), "sum", 7),
    ]  # fmt: skip
    assert ("main", at("[$sum, $skipped] = totals("), "skipped", 1) in var
    assert ("main", at("$squares = function"), "squares", "Closure") in var
    assert ("shapes", at("$password = 'hunter2';"), "password", "<redacted>") in var
    assert sum(1 for v in var if v[0] == "hot") == 1 + 250  # var events are not sampled
    # Arguments: rendered, the token redacted by its name.
    enter = {e["fn"]: e.get("args") for e in events if e["ev"] == "enter"}
    assert enter["totals"] == {"prices": {"apple": 3, "bad": -1, "pear": 4}, "token": "<redacted>"}
    assert enter["braceless"] == {"xs": [1, 2, 3]} and enter["main"] is None
    # Sampling from the environment; off writes nothing; the output never changes.
    sampled = tmp_path / "sampled.jsonl"
    env = {"TELEMETRY_INJECT_LOOP_FIRST": "2", "TELEMETRY_INJECT_LOOP_EVERY": "50"}
    run = run_program([require("php"), "probes.php"], out, events=sampled, env=env)
    assert (run.returncode, run.stdout) == (0, plain.stdout)
    loops = [e for e in read_events(sampled) if e["ev"] == "loop"]
    assert [e["i"] for e in loops if e["fn"] == "hot"] == [0, 1, 50, 100, 150, 200]
    assert max(e["i"] for e in loops if e["fn"] != "hot") == 1
    off = tmp_path / "off.jsonl"
    run = run_program(
        [require("php"), "probes.php"], out, events=off, env={"TELEMETRY_INJECT": "off"}
    )
    assert (run.returncode, run.stdout, off.exists()) == (0, plain.stdout, False)
    # Instrumenting again changes nothing; strip restores every byte.
    again = json.loads(instrument(out, "--json", "--probes", PROBES).stdout)
    assert (again["changed"], again["failures"]) == (0, [])
    assert (out / "probes.php").read_text("utf-8") == text
    run_cli("strip", ".", "--in-place", "--no-cache", cwd=out)
    assert tree(out) == tree(src)
