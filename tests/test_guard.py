"""`check` keeps instrumentation out of commits; `check --stale` and `update` keep it current."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from helpers import EXAMPLES, ROOT, run_cli, run_program
from telemetry import check_pairs, read_events

LANGUAGES = sorted(
    p.parent.name
    for p in (ROOT / "core" / "languages").glob("*/language.toml")
    if (EXAMPLES / p.parent.name).is_dir()  # tsx shares the typescript example
)
# Languages whose bundled example can be edited by the generic body edit below.
EDITS = {"python": ("return item.total * 9 // 10", "return item.total * 8 // 10")}


def _example(language: str, tmp_path: Path) -> Path:
    src = EXAMPLES / language
    dst = tmp_path / language
    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize("language", LANGUAGES)
def test_check_finds_instrumentation_and_strip_clears_it(language: str, tmp_path: Path) -> None:
    tree = _example(language, tmp_path)
    clean = run_cli("check", tree, check=False)
    assert clean.returncode == 0 and clean.stdout == ""
    run_cli(tree, "--in-place", "--cache-dir", tmp_path / "cache")
    dirty = run_cli("check", tree, check=False)
    assert dirty.returncode == 1
    assert ": instrumented" in dirty.stdout and "telemetry runtime file" in dirty.stdout
    assert "fix with: telemetry-inject strip --in-place" in dirty.stderr
    run_cli("strip", tree, "--in-place")
    assert run_cli("check", tree, check=False).returncode == 0


def test_stale_functions_are_found_and_updated(tmp_path: Path) -> None:
    tree = _example("python", tmp_path)
    run_cli(tree, "--in-place", "--cache-dir", tmp_path / "cache")
    assert run_cli("check", "--stale", tree, check=False).returncode == 0
    cart = tree / "shop" / "cart.py"
    old, new = EDITS["python"]
    cart.write_text(cart.read_text().replace(old, new))
    stale = run_cli("check", "--stale", tree, check=False)
    assert stale.returncode == 1
    assert stale.stdout.splitlines() == [
        "shop/cart.py:39: Cart.subtotal: stale instrumentation",
        "shop/cart.py:40: Cart.subtotal.discounted: stale instrumentation",
    ]
    out = run_cli("update", tree, "--in-place", "--cache-dir", tmp_path / "cache")
    assert "2 stale functions instrumented again" in out.stdout
    assert run_cli("check", "--stale", tree, check=False).returncode == 0
    run = run_program([sys.executable, "main.py"], tree, events=tmp_path / "e.jsonl")
    assert run.returncode == 0
    assert check_pairs(read_events(tmp_path / "e.jsonl"))["Cart.subtotal.discounted"] == 4
    # the updated file still strips back to the edited source, byte for byte
    run_cli("strip", tree, "--in-place")
    expected = (EXAMPLES / "python" / "shop" / "cart.py").read_text().replace(old, new)
    assert cart.read_text() == expected


def _edit_one_function(tree: Path) -> tuple[Path, str, str]:
    """Put a comment line at the top of the last instrumented function's body; returns
    (file, that function's qualified name, the edited original text)."""
    from telemetry_inject.core import language
    from telemetry_inject.core.analyze import analyze
    from telemetry_inject.core.strip import strip_text

    for path in sorted(tree.rglob("*")):
        spec = language.for_path(path.name)
        if spec is None or not path.is_file() or "telemetry_inject" in path.name.lower():
            continue
        source = path.read_bytes()
        analysis = analyze(spec, source)
        done = [f for f in analysis.functions if f.instrumented and f.depth == 0]
        if not done:
            continue
        f = done[-1]
        # the line after the body's last line break before its end: inside the body
        cut = source.rindex(b"\n", f.body.start, f.body.end) + 1
        comment = f"{spec.line_comment} edited{spec.line_comment_end}\n".encode()
        edited = source[:cut] + f.body_indent.encode() + comment + source[cut:]
        path.write_bytes(edited)
        return path, str(f.id), strip_text(spec, edited.decode())
    raise AssertionError(f"no instrumented function under {tree}")


@pytest.mark.parametrize("language", LANGUAGES)
def test_stale_and_update_in_every_language(language: str, tmp_path: Path) -> None:
    tree = _example(language, tmp_path)
    run_cli(tree, "--in-place", "--cache-dir", tmp_path / "cache")
    assert run_cli("check", "--stale", tree, check=False).returncode == 0
    path, name, expected = _edit_one_function(tree)
    stale = run_cli("check", "--stale", tree, check=False)
    assert stale.returncode == 1 and f": {name}: stale instrumentation" in stale.stdout
    run_cli("update", tree, "--in-place", "--cache-dir", tmp_path / "cache")
    assert run_cli("check", "--stale", tree, check=False).returncode == 0
    assert run_cli("check", tree, check=False).returncode == 1  # still instrumented
    run_cli("strip", tree, "--in-place")
    assert path.read_text() == expected
