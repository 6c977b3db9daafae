"""Ruby end to end: instrument programs with the CLI, run them with the real interpreter (and
`-w`), and check their output, events, idempotency and byte-exact removal; the files of Debian
ruby-* packages must still work the same instrumented."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from guards import KINDS, cases, check
from helpers import EXAMPLES, ROOT, line_of, require, run_cli, run_program, tree
from telemetry import (
    VECTORS,
    check_off,
    check_pairs,
    check_vectors,
    check_where,
    first,
    read_events,
)
from telemetry_inject.core import analyze, language, plan

FIXTURES = ROOT / "tests" / "fixtures" / "ruby"
CACHE = ROOT / "tests" / ".cache" / "ruby"
RUNTIME = "_telemetry_utils.rb"
# Pure-Ruby libraries nobody here wrote, from Debian: their lib directory inside the package.
PACKAGES = {
    "ruby-diff-lcs": "usr/share/rubygems-integration/all/gems/diff-lcs-*/lib",
    "ruby-mustache": "usr/lib/ruby/vendor_ruby",
}


@pytest.fixture(scope="module")
def ruby() -> Callable[..., subprocess.CompletedProcess[str]]:
    exe = require("ruby")

    def run(*args: str, cwd: Path, events: Path | None = None) -> subprocess.CompletedProcess[str]:
        return run_program([exe, "-w", *args], cwd, events=events)

    return run


Ruby = Callable[..., subprocess.CompletedProcess[str]]


def instrument(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """The CLI run from the program's directory, so events name files relative to it."""
    return run_cli(".", "--in-place", "--jobs", "1", "--no-cache", *extra, cwd=root)


def test_example_behaves_the_same_and_reports_every_call(ruby: Ruby, tmp_path: Path) -> None:
    src = EXAMPLES / "ruby"
    plain = ruby("main.rb", cwd=src)
    assert (plain.returncode, plain.stderr) == (0, ""), plain.stderr
    out = tmp_path / "ruby"
    shutil.copytree(src, out)
    report = json.loads(instrument(out, "--json", "-v").stdout)
    assert report["failures"] == []
    assert (out / RUNTIME).is_file() and (out / "shop" / RUNTIME).is_file()
    events_file = tmp_path / "events.jsonl"
    run = ruby("main.rb", cwd=out, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, "")
    events = read_events(events_file)
    calls = check_pairs(events)
    expected = {
        "main": 1, "square": 4, "squares": 1, "safe_checkout": 2, "Shop.Cart.initialize": 2,
        "Shop.Cart.add": 3, "Shop.Cart.reserve": 3, "Shop.Cart.names": 3, "Shop.Cart.subtotal": 1,
        "Shop.Cart.checkout": 2, "Shop.Cart.owner=": 1, "Shop.Cart.==": 1, "Shop.Cart.history": 1,
        "Shop.Cart.describe": 1, "Shop.total": 4, "Shop.currency": 1,
    }  # fmt: skip
    assert calls == Counter(expected)
    # One-line and endless methods have no line for the entry: skipped, with the reason.
    endless = line_of(src / "shop" / "cart.rb", "def discounted(")
    assert sorted(n.split(": skipped: ")[0] for n in report["skipped_functions"]) == [
        "main.rb:8: noop", f"shop/cart.rb:{endless}: Shop.Cart.discounted"
    ]  # fmt: skip
    errors = [(e["fn"], e["error"]) for e in events if e["ev"] == "error"]
    assert errors == [
        ("Shop.Cart.reserve", "Shop::OutOfStock: add plum: out of stock"),
        ("Shop.Cart.add", "Shop::OutOfStock: add plum: out of stock"),
        ("Shop.Cart.checkout", "Shop::EmptyCart: checkout of an empty cart"),
    ]
    cart, main = src / "shop" / "cart.rb", src / "main.rb"
    where = {
        "Shop.Cart.add": (cart, "def add("),
        "Shop.Cart.describe": (cart, "def self.describe("),
        "Shop.currency": (cart, "def currency"),
        "Shop.Cart.owner=": (cart, "def owner=("),
        "main": (main, "def main"),
    }
    check_where(events, src, where)
    assert len({e["pid"] for e in events}) == 1
    # Events go to stderr without TELEMETRY_INJECT_OUT; any of the off values silences them.
    default = ruby("main.rb", cwd=out)
    stream = tmp_path / "stderr.jsonl"
    stream.write_text(default.stderr, "utf-8")
    assert check_pairs(read_events(stream)) == Counter(expected)
    check_off(
        lambda events, env: run_program(["ruby", "main.rb"], out, events=events, env=env),
        plain.stdout,
        tmp_path,
    )
    # Instrumenting again changes nothing; strip restores every byte, runtime files included.
    again = json.loads(instrument(out, "--json").stdout)
    assert (again["changed"], again["instrumented"], again["failures"]) == (0, 0, [])
    run_cli("strip", ".", "--in-place", "--no-cache", cwd=out)
    assert tree(out) == tree(src)


VECTOR_DRIVER = r"""
require_relative "_telemetry_utils"
require "json"

# What an instrumented method does, with fn, file and line arriving at run time.
def call(fn, file, line, raises)
  _tel = ::TelemetryInject.enter(fn, file, line); begin; begin
  raise ArgumentError, "vector #{fn}" if raises
  ; end; rescue ::Exception => _tel_e; ::TelemetryInject.error(_tel, _tel_e); raise
  ensure; ::TelemetryInject.exit(_tel); end
end

if ARGV[1]
  call("bad\xFFname\x01".b, "odd\x01\x7F.rb", 1, false)
else
  JSON.parse(File.read(ARGV[0]))["cases"].each do |c|
    call(c["fn"], c["file"], c["line"], c["raises"])
  rescue ArgumentError
    nil
  end
end
"""


def test_runtime_passes_the_shared_vectors(ruby: Ruby, tmp_path: Path) -> None:
    spec = language.get("ruby")
    for extra in plan.runtime_files(spec, "tel", "driver.rb", {}):
        (tmp_path / extra.path).write_text(extra.text, "utf-8")
    (tmp_path / "driver.rb").write_text(VECTOR_DRIVER, "utf-8")
    vectors = str(ROOT / "tests" / "vectors" / "events.json")
    events_file = tmp_path / "events.jsonl"
    run = ruby("driver.rb", vectors, cwd=tmp_path, events=events_file)
    assert (run.returncode, run.stderr) == (0, "")
    events = read_events(events_file)
    check_vectors(events)
    raising = [c["fn"] for c in VECTORS["cases"] if c["raises"]]
    assert [e["error"] for e in events if e["ev"] == "error"] == [
        f"ArgumentError: vector {fn}" for fn in raising
    ]
    # Bytes that are not UTF-8 and control characters still make valid JSON.
    odd = tmp_path / "odd.jsonl"
    assert ruby("driver.rb", vectors, "odd", cwd=tmp_path, events=odd).returncode == 0
    assert [(e["fn"], e["file"]) for e in read_events(odd)] == [
        ("bad\ufffdname\x01", "odd\x01\x7f.rb")
    ] * 2


GUARD_DRIVER = r"""
require_relative "_telemetry_utils"
require "json"

# A loop as the loop probe instruments it: its state before it, a sampled call per iteration.
def run_loop(n)
  __tel_l1_1 = ::TelemetryInject.loop("run_loop", "driver.rb", 6, "while")
  i = 0
  while i < n
    ::TelemetryInject.iter(__tel_l1_1, "i" => i) if __tel_l1_1.tick
    i += 1
  end
end

# A method as the function probe instruments it.
def call(fn, sleep_ms = 0)
  _tel = ::TelemetryInject.enter(fn, "driver.rb", 15, "sleep_ms" => sleep_ms); begin; begin
  sleep(sleep_ms / 1000.0) if sleep_ms.positive?
  ; end; rescue ::Exception => _tel_e; ::TelemetryInject.error(_tel, _tel_e); raise
  ensure; ::TelemetryInject.exit(_tel); end
end

kind, path = ARGV
c = JSON.parse(File.read(path))
case kind
when "loops" then c["runs"].times { run_loop(c["iterations"]) }
when "calls" then c["calls"].times { call("work") }
when "durations"
  call("fast")
  call("slow", c["sleep_ms"])
when "values"
  c["values"].each_with_index do |(name, value, _expected), k|
    ::TelemetryInject.var("values", "driver.rb", k + 1, name, value)
  end
end
"""


def guard_env(case: dict[str, Any], events: Path) -> dict[str, str]:
    """The case's environment alone: no guard variable of the caller's leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_INJECT")}
    return {**env, **case["env"], "TELEMETRY_INJECT_OUT": str(events)}


GUARD_CASES = [(kind, n) for kind in KINDS for n in range(len(cases(kind)))]


@pytest.mark.parametrize(("kind", "n"), GUARD_CASES, ids=[f"{k}-{n}" for k, n in GUARD_CASES])
def test_runtime_passes_the_guard_vectors(kind: str, n: int, tmp_path: Path) -> None:
    spec = language.get("ruby")
    for extra in plan.runtime_files(spec, "tel", "driver.rb", {}):
        (tmp_path / extra.path).write_text(extra.text, "utf-8")
    (tmp_path / "driver.rb").write_text(GUARD_DRIVER, "utf-8")
    case = cases(kind)[n]
    (tmp_path / "case.json").write_text(json.dumps(case), "utf-8")
    events_file = tmp_path / "events.jsonl"
    run = subprocess.run(
        [require("ruby"), "-w", "driver.rb", kind, "case.json"],
        cwd=tmp_path, env=guard_env(case, events_file), capture_output=True, text=True,
    )  # fmt: skip
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    events = read_events(events_file)
    check(kind, case, events)
    for e in events:
        if e["ev"] == "enter":  # the args probe's field, with its value rendered
            assert e["args"] == {"sleep_ms": case.get("sleep_ms", 0) if e["fn"] == "slow" else 0}


CRASH = """def inner(xs)
  xs.fetch(5)
end

def outer
  inner([1, 2, 3])
end

puts "before"
$stdout.flush
puts outer
"""


def test_an_uncaught_exception_is_recorded_and_ends_the_program_the_same_way(
    ruby: Ruby, tmp_path: Path
) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    for root in (src, out):
        root.mkdir()
        (root / "crash.rb").write_text(CRASH, "utf-8")
    instrument(out)
    plain = ruby("crash.rb", cwd=src)
    events_file = tmp_path / "events.jsonl"
    run = ruby("crash.rb", cwd=out, events=events_file)
    assert run.returncode == plain.returncode == 1
    assert run.stdout == plain.stdout == "before\n"

    # The same exception, message and frames; only line numbers moved.
    def norm(text: str) -> str:
        return re.sub(r"crash\.rb:\d+", "crash.rb:N", text)

    assert "index 5 outside of array bounds" in plain.stderr
    assert norm(run.stderr) == norm(plain.stderr)
    events = read_events(events_file)
    check_pairs(events)
    assert [(e["ev"], e["fn"]) for e in events if e["ev"] != "enter"] == [
        ("error", "inner"), ("exit", "inner"), ("error", "outer"), ("exit", "outer")
    ]  # fmt: skip
    assert {e["error"] for e in events if e["ev"] == "error"} == {
        "IndexError: index 5 outside of array bounds: -3...3"
    }


FORK = """def work(tag)
  tag
end

def main
  work(:parent_before)
  pid = fork { work(:child) }
  Process.wait(pid)
  work(:parent_after)
end

main
"""


def test_a_forked_child_writes_only_its_own_events(ruby: Ruby, tmp_path: Path) -> None:
    (tmp_path / "fork.rb").write_text(FORK, "utf-8")
    instrument(tmp_path)
    events_file = tmp_path / "events.jsonl"
    assert ruby("fork.rb", cwd=tmp_path, events=events_file).returncode == 0
    events = read_events(events_file)
    check_pairs([e for e in events if e["fn"] == "work"])
    by_pid = Counter((e["pid"], e["fn"], e["ev"]) for e in events)
    parent = next(e["pid"] for e in events if e["fn"] == "main")
    child = {e["pid"] for e in events} - {parent}
    assert len(child) == 1
    assert by_pid[(parent, "work", "enter")] == 2
    assert by_pid[(child.pop(), "work", "enter")] == 1
    assert sum(1 for e in events if e["fn"] == "main") == 2  # enter and exit, written once


RACTOR = """def double(x)
  x * 2
end

Warning[:experimental] = false
puts double(1)
puts Ractor.new { double(21) }.take
"""


def test_a_non_main_ractor_runs_instrumented_methods_without_events(
    ruby: Ruby, tmp_path: Path
) -> None:
    (tmp_path / "ractor.rb").write_text(RACTOR, "utf-8")
    instrument(tmp_path)
    events_file = tmp_path / "events.jsonl"
    run = ruby("ractor.rb", cwd=tmp_path, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, "2\n42\n", "")
    assert check_pairs(read_events(events_file)) == Counter({"double": 1})


def test_file_names_are_never_interpolated(ruby: Ruby, tmp_path: Path) -> None:
    name = "we#{ird}#@x#$y.rb"
    (tmp_path / name).write_text("def f\n  1\nend\nputs f\n", "utf-8")
    instrument(tmp_path)
    events_file = tmp_path / "events.jsonl"
    run = ruby(name, cwd=tmp_path, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, "1\n", "")
    assert {e["file"] for e in read_events(events_file)} == {name}


def _edge(root: Path, eol: str) -> Path:
    root.mkdir(parents=True)
    text = (FIXTURES / "edge.input.rb").read_text("utf-8").replace("\n", eol)
    (root / "edge.rb").write_bytes(text.encode("utf-8"))
    return root / "edge.rb"


@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_edge_cases_match_the_golden_file_and_run_the_same(
    ruby: Ruby, tmp_path: Path, eol: str
) -> None:
    src, out = _edge(tmp_path / "src", eol), _edge(tmp_path / "out", eol)
    plain = ruby("edge.rb", cwd=src.parent)
    assert (plain.returncode, plain.stderr) == (0, ""), plain.stderr
    report = json.loads(instrument(out.parent, "--json", "-v").stdout)
    golden = (FIXTURES / "edge.expected.rb").read_text("utf-8").replace("\n", eol)
    got = out.read_bytes().decode("utf-8")
    if eol != "\n":  # stamps hash the original text, EOLs included
        got, golden = (re.sub(r"telemetry-inject:[0-9a-f]{8}", "STAMP", t) for t in (got, golden))
    assert got == golden
    assert sorted(n.split(": skipped: ")[0] for n in report["skipped_functions"]) == [
        "edge.rb:10: endless", "edge.rb:8: one_line"
    ]  # fmt: skip
    events_file = tmp_path / "events.jsonl"
    run = ruby("edge.rb", cwd=out.parent, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, "")  # -w: no warnings
    events = read_events(events_file)
    calls = check_pairs(events)
    expected = {
        "main": 1, "empty": 1, "empty_lines": 1, "one": 204, "params_over_lines": 1,
        "no_parens": 1, "early": 2, "own_clauses": 2, "retries": 1, "heredoc": 1, "yields": 2,
        "unicodé": 1, "must_positive": 1, "thrower": 1, "Outer.Inner.Base.greet": 2,
        "Outer.Inner.Base.==": 1, "Outer.Inner.Base.value=": 1, "Outer.Inner.Base.[]": 1,
        "Outer.Inner.Base.build": 1, "Outer.Inner.Base.singleton": 1,
        "Outer.Inner.Base.hidden": 1, "Outer.Inner.Base.call_hidden": 1,
        "Outer.Inner.Child.greet": 1, "Outer.Inner.Child.reopened": 1, "double": 1,
        "OBJ.special": 1,
    }  # fmt: skip
    assert calls == Counter(expected)
    errors = [(e["fn"], e["error"]) for e in events if e["ev"] == "error"]
    assert errors == [("must_positive", "ArgumentError: negative: -3")]  # rescued ones: none
    source = FIXTURES / "edge.input.rb"
    for fn, needle in {
        "unicodé": "def unicodé",
        "params_over_lines": "def params_over_lines(",
        "Outer.Inner.Base.singleton": "def singleton",
        "Outer.Inner.Base.hidden": "private def hidden",
        "OBJ.special": "def OBJ.special",
    }.items():
        assert first(events, fn)["line"] == line_of(source, needle), fn
    # exit runs at_exit, which writes everything; exit! runs nothing, and the buffer is lost.
    exit_file = tmp_path / "exit.jsonl"
    assert ruby("edge.rb", "exit", cwd=out.parent, events=exit_file).returncode == 3
    assert check_pairs(read_events(exit_file)) == Counter(expected)
    bang = tmp_path / "bang.jsonl"
    assert ruby("edge.rb", "exit!", cwd=out.parent, events=bang).returncode == 4
    assert not bang.exists()
    run_cli("strip", out.parent, "--in-place", "--no-cache")
    assert out.read_bytes() == src.read_bytes()
    assert not (out.parent / RUNTIME).exists()


def test_methods_found_named_and_skipped_with_reasons() -> None:
    spec = language.get("ruby")
    source = b"""class A::B
  def one_line; 1; end
  def endless = 1
  def self.endless_too(x) = x
  def lambda_holder
    ->(x) { x }
  end
end
def OBJ.x
end
"""
    found = plan.plan(analyze.analyze(spec, source), "tel", "a.rb")
    assert [str(f.function.id) for f in found.functions] == ["A.B.lambda_holder", "OBJ.x"]
    reasons = {str(o.id): o.reason.split(" ")[1] for o in found.skipped}
    assert reasons == {
        "A.B.one_line": "body",
        "A.B.endless": "endless",
        "A.B.endless_too": "endless",
    }


DRIVE = """require "diff/lcs"
require "diff/lcs/hunk"
require "mustache"
a = %w[a b c e h j l m n p]
b = %w[b c d e f j k l m r s t]
p Diff::LCS.lcs(a, b)
Diff::LCS.diff(a, b).each { |h| h.each { |c| puts c.inspect } }
p Diff::LCS.patch(a, Diff::LCS.diff(a, b)) == b
p Diff::LCS.sdiff("abcd", "acbd").map(&:to_a)
old = Diff::LCS::Hunk.new(a, b, Diff::LCS.diff(a, b).first, 1, 0)
puts old.diff(:unified)
class Page < Mustache
  self.template = "Hi {{name}}!{{#items}} <{{.}}>{{/items}}{{^none}} none{{/none}} {{{raw}}}"
end
puts Page.render(name: "ada & bob", items: [1, 2], raw: "<b>")
puts Mustache.render("{{#a}}{{b.c}}{{/a}}", a: { b: { c: "deep" } })
begin
  Mustache.render("{{#open}}", {})
rescue Mustache::Parser::SyntaxError => e
  puts "syntax error: #{e.message.lines.first}"
end
"""


@pytest.fixture(scope="module")
def packages() -> dict[str, Path]:
    """The lib directories of Debian ruby-* packages (apt-get download, dpkg-deb -x)."""
    debs = CACHE / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for name, lib in PACKAGES.items():
        if not list(debs.glob(f"{name}_*.deb")):
            subprocess.run(["apt-get", "download", name], cwd=debs, check=True, capture_output=True)
        root = debs / name
        if not root.exists():
            deb = next(debs.glob(f"{name}_*.deb"))
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        out[name] = next(root.glob(lib))
    return out


def test_debian_ruby_libraries_behave_the_same_instrumented(
    ruby: Ruby, packages: dict[str, Path], tmp_path: Path
) -> None:
    plain, inst = tmp_path / "plain", tmp_path / "inst"
    for name, lib in packages.items():
        shutil.copytree(lib, plain / name)
        shutil.copytree(lib, inst / name)
    (tmp_path / "drive.rb").write_text(DRIVE, "utf-8")
    report = json.loads(instrument(inst, "--json").stdout)
    assert report["failures"] == [] and report["instrumented"] > 150
    before = ruby(*(f"-I{plain / n}" for n in PACKAGES), "drive.rb", cwd=tmp_path)
    assert before.returncode == 0 and "syntax error: Unclosed section" in before.stdout
    events_file = tmp_path / "events.jsonl"
    after = ruby(*(f"-I{inst / n}" for n in PACKAGES), "drive.rb", cwd=tmp_path, events=events_file)
    assert (after.returncode, after.stdout, after.stderr) == (0, before.stdout, before.stderr)
    calls = check_pairs(read_events(events_file))
    for fn in ("lcs", "Diff.LCS.Hunk.diff", "Diff.LCS.Change.to_a", "Mustache.Parser.compile"):
        assert calls[fn] >= 1, fn
    run_cli("strip", inst, "--in-place", "--no-cache")
    assert tree(inst) == tree(plain)


PROBES = "function,loop,var,args"


def test_loop_var_and_args_probes_record_and_change_nothing(ruby: Ruby, tmp_path: Path) -> None:
    source = FIXTURES / "probes.rb"
    src, out = tmp_path / "src", tmp_path / "out"
    for root in (src, out):
        root.mkdir()
        shutil.copy(source, root / "probes.rb")
    plain = ruby("probes.rb", cwd=src)
    assert (plain.returncode, plain.stderr) == (0, ""), plain.stderr
    report = json.loads(instrument(out, "--json", "--probes", PROBES).stdout)
    assert report["failures"] == [] and report["instrumented"] == 7
    text = (out / "probes.rb").read_text("utf-8")
    # next, break, redo and retry, nested while/until, for, loop do, the each family, modifier
    # loops, heredocs and implicit return values: the same output, and no warning under -w.
    events_file = tmp_path / "events.jsonl"
    run = ruby("probes.rb", cwd=out, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, "")
    events = read_events(events_file)
    check_pairs(events)

    def at(needle: str) -> int:
        return line_of(source, needle)

    def iterations(needle: str) -> list[tuple[str, int, dict[str, Any] | None]]:
        line = at(needle)
        return [
            (e["kind"], e["i"], e.get("vars"))
            for e in events
            if e.get("line") == line and e["ev"] == "loop"
        ]

    assert iterations("prices.each do |name, price|") == [
        ("each", 0, {"name": "apple", "price": 3}), ("each", 1, {"name": "bad", "price": -1}),
        ("each", 2, {"name": "pear", "price": 4}),
    ]  # fmt: skip
    # Nested while/until left by `break`: each execution of the inner loop counts from 0.
    assert [i for _k, i, _v in iterations("while i < n")] == [0, 1, 2, 3]
    assert [i for _k, i, _v in iterations("until j == n")] == [
        i for n in (2, 3, 4, 4) for i in range(n)
    ]
    assert iterations("for w, k in") == [
        ("for", 0, {"w": "x", "k": 0}), ("for", 1, {"w": "y", "k": 1})
    ]  # fmt: skip
    assert iterations("words.each_with_index {") == [
        ("each", 0, {"w": "x", "k": 0}), ("each", 1, {"w": "y", "k": 1})
    ]  # fmt: skip
    assert iterations("3.times { |t|") == []  # a one-line block: no line for the call
    assert iterations("loop do") == [("loop", 0, None), ("loop", 1, None)]
    # redo runs the block's body again: one more iteration.
    assert iterations("1.upto(2) do |u|") == [
        ("each", 0, {"u": 1}), ("each", 1, {"u": 2}), ("each", 2, {"u": 2})
    ]  # fmt: skip
    assert iterations("each_pair do |key, val|") == [
        ("each", 0, {"key": "a", "val": 1}), ("each", 1, {"key": "b", "val": 2})
    ]  # fmt: skip
    assert [i for _k, i, _v in iterations("n.times do |i|")] == [*range(10), 100, 200]
    # Variables: values after each assignment at its original line; a body's last statement
    # (its value), heredocs and modifier loops get no line.
    var = [(e["fn"], e["line"], e["name"], e["value"]) for e in events if e["ev"] == "var"]
    assert [v for v in var if v[0] == "grid" and v[2] == "found"][-1] == (
        "grid", at("found += i * j"), "found", 25
    )  # fmt: skip
    assert ("main", at("sum, skipped = totals("), "skipped", 1) in var
    assert [v[3] for v in var if v[2] == "tries"] == [0, 1, 2]  # retry
    assert ("forms", at('password = "hunter2"'), "password", "<redacted>") in var
    assert [v for v in var if v[2] in ("text", "acc") or v[1] == at("z += 1")] == [
        ("hot", at("acc = 0"), "acc", 0)
    ]  # fmt: skip
    assert [v[3] for v in var if v[2] == "y"] == [2, 4]  # in a map block, not after its value
    assert [v for v in var if v[2] == "count"] == [("forms", at("count = 0"), "count", 0)]
    # Arguments from the method's binding: positional, keyword, redacted by name.
    enter = {e["fn"]: e.get("args") for e in events if e["ev"] == "enter"}
    assert enter["totals"] == {"prices": {"apple": 3, "bad": -1, "pear": 4}, "token": "<redacted>"}
    assert enter["forms"] == {"words": ["x", "y"], "limit": 2} and enter["main"] is None
    # Sampling from the environment; off writes nothing; the output never changes.
    sampled = tmp_path / "sampled.jsonl"
    env = {"TELEMETRY_INJECT_LOOP_FIRST": "2", "TELEMETRY_INJECT_LOOP_EVERY": "50"}
    run = run_program([require("ruby"), "-w", "probes.rb"], out, events=sampled, env=env)
    assert (run.returncode, run.stdout, run.stderr) == (0, plain.stdout, "")
    loops = [e for e in read_events(sampled) if e["ev"] == "loop"]
    assert [e["i"] for e in loops if e["fn"] == "hot"] == [0, 1, 50, 100, 150, 200]
    assert max(e["i"] for e in loops if e["fn"] != "hot") == 1
    off = tmp_path / "off.jsonl"
    run = run_program(["ruby", "probes.rb"], out, events=off, env={"TELEMETRY_INJECT": "off"})
    assert (run.returncode, run.stdout, off.exists()) == (0, plain.stdout, False)
    # Instrumenting again changes nothing; strip restores every byte.
    again = json.loads(instrument(out, "--json", "--probes", PROBES).stdout)
    assert (again["changed"], again["failures"]) == (0, [])
    assert (out / "probes.rb").read_text("utf-8") == text
    run_cli("strip", ".", "--in-place", "--no-cache", cwd=out)
    assert tree(out) == tree(src)


def test_debian_ruby_libraries_behave_the_same_with_every_probe(
    ruby: Ruby, packages: dict[str, Path], tmp_path: Path
) -> None:
    plain, inst = tmp_path / "plain", tmp_path / "inst"
    for name, lib in packages.items():
        shutil.copytree(lib, plain / name)
        shutil.copytree(lib, inst / name)
    (tmp_path / "drive.rb").write_text(DRIVE, "utf-8")
    report = json.loads(instrument(inst, "--json", "--probes", PROBES).stdout)
    assert report["failures"] == [] and report["instrumented"] > 150
    before = ruby(*(f"-I{plain / n}" for n in PACKAGES), "drive.rb", cwd=tmp_path)
    assert before.returncode == 0
    events_file = tmp_path / "events.jsonl"
    after = ruby(*(f"-I{inst / n}" for n in PACKAGES), "drive.rb", cwd=tmp_path, events=events_file)
    assert (after.returncode, after.stdout, after.stderr) == (0, before.stdout, before.stderr)
    events = read_events(events_file)
    check_pairs(events)
    kinds = Counter(e["ev"] for e in events)
    assert kinds["loop"] > 20 and kinds["var"] > 100, kinds
    assert any(e.get("args") for e in events if e["ev"] == "enter")
    run_cli("strip", inst, "--in-place", "--no-cache")
    assert tree(inst) == tree(plain)


MORE_GUARDS = r"""
require_relative "_telemetry_utils"
require "set"

Point = Struct.new(:x, :y)

def call(fn, raises)
  _tel = ::TelemetryInject.enter(fn, "more.rb", 5, binding); begin; begin
  raise ArgumentError, "no" * 150 if raises
  ; end; rescue ::Exception => _tel_e; ::TelemetryInject.error(_tel, _tel_e); raise
  ensure; ::TelemetryInject.exit(_tel); end
end

10.times do |k|
  ::TelemetryInject.var("sites", "more.rb", 12, "a", k)
  ::TelemetryInject.var("sites", "more.rb", 13, "b", k)
end
call("quick", false)
begin
  call("raises", true)
rescue ArgumentError
  nil
end
state = ::TelemetryInject.loop("loops", "more.rb", 20, "each")
%w[t1 t2].each do |token|
  ::TelemetryInject.iter(state, "token" => token, "n" => 1) if state.tick
end
v = ::TelemetryInject.var("values", "more.rb", 24, "set", Set[1, 2])
::TelemetryInject.var("values", "more.rb", 25, "sym", :ok)
::TelemetryInject.var("values", "more.rb", 26, "inf", -Float::INFINITY)
::TelemetryInject.var("values", "more.rb", 27, "point", Point.new(1, "z" * 300))
::TelemetryInject.var("values", "more.rb", 28, "keys", { 1 => :a, nil => [] })
puts v.size
"""


def test_runtime_rate_per_site_errors_outlive_min_duration_and_values(
    ruby: Ruby, tmp_path: Path
) -> None:
    spec = language.get("ruby")
    for extra in plan.runtime_files(spec, "tel", "more.rb", {}):
        (tmp_path / extra.path).write_text(extra.text, "utf-8")
    (tmp_path / "more.rb").write_text(MORE_GUARDS, "utf-8")
    events_file = tmp_path / "events.jsonl"
    env = {"TELEMETRY_INJECT_RATE": "3", "TELEMETRY_INJECT_MIN_DURATION_US": "50000"}
    run = subprocess.run(
        [require("ruby"), "-w", "more.rb"], cwd=tmp_path, capture_output=True, text=True,
        env={**guard_env({"env": env}, events_file)},
    )  # fmt: skip
    assert (run.returncode, run.stdout, run.stderr) == (0, "2\n", "")  # var returns the value
    events = read_events(events_file)
    # RATE var events per site (not per function); a call that raised keeps its exit.
    assert [e["value"] for e in events if e["ev"] == "var" and e["line"] == 12] == [0, 1, 2]
    assert [e["value"] for e in events if e["ev"] == "var" and e["line"] == 13] == [0, 1, 2]
    calls = [(e["ev"], e["fn"]) for e in events if e["ev"] in ("enter", "error", "exit")]
    assert calls == [("enter", "quick"), ("enter", "raises"), ("error", "raises"),
                     ("exit", "raises")]  # fmt: skip
    assert [e["vars"] for e in events if e["ev"] == "loop"] == [{"token": "<redacted>", "n": 1}] * 2
    # MAX_LEN cuts values, not error messages.
    assert [e["error"] for e in events if e["ev"] == "error"] == ["ArgumentError: " + "no" * 150]
    values = {e["name"]: e["value"] for e in events if e["fn"] == "values"}
    assert values["set"] == [1, 2] and values["sym"] == "ok" and values["inf"] == "-Infinity"
    assert values["point"].startswith('#<struct Point x=1, y="zzz') and len(values["point"]) == 201
    assert values["keys"] == {"1": "a", "nil": []}


RECURSIVE = """class Node
  def initialize(name)
    @name = name
  end

  def inspect
    me = self
    label = "node " + @name
    [me.object_id, label].last
  end
end

def build
  node = Node.new("a")
  node.inspect
end

puts build
"""


def test_an_inspect_that_is_instrumented_runs_silently_while_a_value_is_rendered(
    ruby: Ruby, tmp_path: Path
) -> None:
    (tmp_path / "rec.rb").write_text(RECURSIVE, "utf-8")
    instrument(tmp_path, "--probes", PROBES)
    events_file = tmp_path / "events.jsonl"
    run = ruby("rec.rb", cwd=tmp_path, events=events_file)
    assert (run.returncode, run.stdout, run.stderr) == (0, "node a\n", "")
    events = read_events(events_file)
    check_pairs(events)
    # `node` is rendered by Node#inspect, whose own `me = self` would render it again: the
    # calls made while rendering write nothing; the direct call writes its events.
    assert [(e["ev"], e["fn"]) for e in events if e["ev"] in ("enter", "exit")] == [
        ("enter", "build"), ("enter", "Node.initialize"), ("exit", "Node.initialize"),
        ("enter", "Node.inspect"), ("exit", "Node.inspect"), ("exit", "build"),
    ]  # fmt: skip
    var = {e["name"]: e["value"] for e in events if e["ev"] == "var"}
    assert var["node"] == "node a" and var["label"] == "node a"
