"""Python end to end: instrument real programs with the CLI, run them, check output and events."""

from __future__ import annotations

import shutil
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import EXAMPLES, run_cli, run_program
from telemetry import check_pairs, check_vectors, read_events

STDLIB = Path(sysconfig.get_paths()["stdlib"])
# Pure-Python stdlib modules nobody here wrote, plus a package (relative imports, C speedups).
STDLIB_FILES = [
    "textwrap.py",
    "fractions.py",
    "statistics.py",
    "difflib.py",
    "shlex.py",
    "calendar.py",
    "colorsys.py",
    "string.py",
]
EXERCISE = r"""
import calendar, colorsys, difflib, fractions, json, shlex, statistics, string, textwrap
print(textwrap.fill("the quick brown fox jumps over the lazy dog " * 3, width=30))
print(textwrap.dedent("    a\n      b\n"))
f = fractions.Fraction(3, 4) + fractions.Fraction(5, 6)
print(f, f.limit_denominator(5), fractions.Fraction("1.25"))
print(statistics.mean([1, 2, 3, 4]), statistics.median([5, 1, 3]))
print(statistics.pstdev([2, 4, 4, 4, 5, 5, 7, 9]))
print("".join(difflib.unified_diff(["a\n", "b\n"], ["a\n", "c\n"], "x", "y")))
print(shlex.split("ls -l 'a b' \"c d\""), shlex.quote("it's"))
print(calendar.TextCalendar().formatmonth(2024, 2))
print(colorsys.rgb_to_hsv(0.2, 0.4, 0.4))
print(string.Template("$who likes $what").substitute(who="tim", what="pie"), string.capwords("a b"))
print(json.dumps({"b": [1, 2.5, None], "a": "ü"}, sort_keys=True, indent=1))
print(json.loads('{"x": [1, {"y": "z"}]}'))
try:
    fractions.Fraction(1, 0)
except ZeroDivisionError as exc:
    print("caught", exc)
"""


def _line_of(path: Path, needle: str) -> int:
    for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(f"{needle!r} not in {path}")


def test_example_behaves_the_same_and_reports_every_call(
    instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    src = EXAMPLES / "python"
    plain = run_program([sys.executable, "main.py"], src)
    assert plain.returncode == 0, plain.stderr
    out = instrument_copy(src)
    events_file = tmp_path / "events.jsonl"
    run = run_program([sys.executable, "main.py"], out, events=events_file)
    assert run.returncode == 0, run.stderr
    assert run.stdout == plain.stdout
    events = read_events(events_file)
    calls = check_pairs(events)
    assert calls["main"] == 1
    assert calls["checkout"] == 2
    assert calls["Cart.add"] == 3  # including the early return
    assert calls["Cart.subtotal.discounted"] == 4
    assert calls["Cart.lines"] == 1 and calls["Cart.pay"] == 1 and calls["Cart.tax"] == 1
    assert calls["Item.total"] >= 2  # a property
    errors = [e for e in events if e["ev"] == "error"]
    assert [(e["fn"], e["error"]) for e in errors] == [("Cart.reserve", "OutOfStock: apple")]
    cart = src / "shop" / "cart.py"
    by_fn = {e["fn"]: e for e in events}
    assert by_fn["Cart.add"]["line"] == _line_of(cart, "def add(")
    assert by_fn["Cart.subtotal.discounted"]["line"] == _line_of(cart, "def discounted(")
    assert by_fn["Cart.add"]["file"] == "shop/cart.py"
    assert by_fn["main"]["line"] == _line_of(src / "main.py", "def main(")
    assert (out / "shop" / "_telemetry_utils.py").is_file()


def test_telemetry_off_is_silent(instrument_copy: Callable[..., Path], tmp_path: Path) -> None:
    out = instrument_copy(EXAMPLES / "python")
    events_file = tmp_path / "events.jsonl"
    run = run_program(
        [sys.executable, "main.py"], out, events=events_file, env={"TELEMETRY_INJECT": "off"}
    )
    assert run.returncode == 0
    assert not events_file.exists()


@pytest.fixture
def stdlib_copy(tmp_path: Path) -> Path:
    lib = tmp_path / "stdlib"
    lib.mkdir()
    for name in STDLIB_FILES:
        shutil.copy2(STDLIB / name, lib / name)
    shutil.copytree(STDLIB / "json", lib / "json", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "exercise.py").write_text(EXERCISE, "utf-8")
    return lib


def test_stdlib_modules_behave_the_same(stdlib_copy: Path, tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "-c",
        f"import sys; sys.path.insert(0, {str(stdlib_copy)!r}); "
        f"exec(open({str(tmp_path / 'exercise.py')!r}).read())",
    ]
    plain = run_program(cmd, tmp_path)
    assert plain.returncode == 0, plain.stderr
    originals = {p: p.read_bytes() for p in stdlib_copy.rglob("*.py")}
    run_cli(stdlib_copy, "--in-place", "--cache-dir", tmp_path / "cache")
    instrumented = run_program(cmd, tmp_path, events=tmp_path / "events.jsonl")
    assert instrumented.returncode == 0, instrumented.stderr
    assert instrumented.stdout == plain.stdout
    events = read_events(tmp_path / "events.jsonl")
    calls = check_pairs(events)
    assert calls["TextWrapper.wrap"] >= 1 and calls["fill"] == 1
    assert calls["Fraction.limit_denominator"] == 1
    assert any(fn.startswith("JSONEncoder.") for fn in calls)  # the package, via relative import
    errors = [e for e in events if e["ev"] == "error"]
    assert any(e["fn"] == "Fraction.__new__" and "ZeroDivisionError" in e["error"] for e in errors)
    # Instrumenting again changes nothing; strip restores every byte and removes the runtime.
    again = run_cli(stdlib_copy, "--in-place", "--json", "--cache-dir", tmp_path / "cache")
    assert '"changed": 0' in again.stdout
    run_cli("strip", stdlib_copy, "--in-place")
    assert {p: p.read_bytes() for p in stdlib_copy.rglob("*.py")} == originals


def test_shared_vectors(tmp_path: Path) -> None:
    runtime = Path(__file__).parent.parent / "core/languages/python/runtime/_telemetry_utils.py"
    shutil.copy2(runtime, tmp_path / "_telemetry_utils.py")
    driver = tmp_path / "driver.py"
    driver.write_text(
        "import json, sys\nimport _telemetry_utils as tel\n"
        "for case in json.load(open(sys.argv[1], encoding='utf-8'))['cases']:\n"
        "    @tel.probe(case['fn'], case['file'], case['line'])\n"
        "    def f(raises=case['raises']):\n"
        "        if raises:\n            raise RuntimeError('boom')\n"
        "    try:\n        f()\n    except RuntimeError:\n        pass\n",
        "utf-8",
    )
    vectors = Path(__file__).parent / "vectors" / "events.json"
    run = run_program(
        [sys.executable, str(driver), str(vectors)], tmp_path, events=tmp_path / "ev.jsonl"
    )
    assert run.returncode == 0, run.stderr
    check_vectors(read_events(tmp_path / "ev.jsonl"))
