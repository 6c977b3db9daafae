"""The command line as a user meets it: modes, reports, skipped files, bad input, the cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from helpers import EXAMPLES, run_cli, run_program

SRC = "def f(x):\n    return x + 1\n\n\nprint(f(1))\n"


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text(SRC)
    (root / "ignored").mkdir()
    (root / "ignored" / "b.py").write_text(SRC)
    (root / "node_modules" / "dep").mkdir(parents=True)
    (root / "node_modules" / "dep" / "c.py").write_text(SRC)
    (root / ".gitignore").write_text("ignored/\n")
    (root / "latin1.py").write_bytes(b"# caf\xe9\ndef g():\n    pass\n")
    (root / "blob.py").write_bytes(b"\x00\x01def h(): pass\n")
    (root / "notes.txt").write_text("not code")
    return root


def test_dry_run_prints_a_diff_and_writes_nothing(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    proc = run_cli(root, "--dry-run", "-v", "--cache-dir", tmp_path / "c", cwd=tmp_path)
    assert '+@_tel.probe("f", "proj/pkg/a.py", 1)  # telemetry-inject:' in proc.stdout
    assert "+++ new file: proj/pkg/_telemetry_utils.py" in proc.stdout
    assert "would change 1 of 1 files: 1 functions instrumented" in proc.stdout
    assert "latin1.py: skipped: not UTF-8" in proc.stderr
    assert "blob.py: skipped: binary" in proc.stderr
    everything = proc.stdout + proc.stderr
    assert "ignored/" not in everything and "node_modules" not in everything
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
    assert "Traceback" not in proc.stderr


def test_in_place_json_report_and_non_utf8(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    proc = run_cli(root, "--in-place", "--json", "--cache-dir", tmp_path / "c", cwd=root)
    report = json.loads(proc.stdout)
    assert report["instrumented"] == 1 and report["changed"] == 1 and report["failures"] == []
    assert "latin1.py: skipped: not UTF-8" in report["skipped_files"]
    assert (root / "latin1.py").read_bytes().startswith(b"# caf\xe9")
    run = run_program([sys.executable, "a.py"], root / "pkg", events=tmp_path / "e.jsonl")
    assert run.stdout == "2\n"
    assert '"fn":"f","file":"pkg/a.py","line":1' in (tmp_path / "e.jsonl").read_text()


def test_out_makes_a_runnable_copy_and_leaves_the_source(tmp_path: Path) -> None:
    src = EXAMPLES / "python"
    before = {p: p.read_bytes() for p in src.rglob("*.py")}
    run_cli(src, "--out", tmp_path / "out", "--cache-dir", tmp_path / "c")
    copy = tmp_path / "out" / "python"
    assert (copy / "shop" / "_telemetry_utils.py").is_file()
    assert "telemetry-inject" in (copy / "main.py").read_text()
    assert {p: p.read_bytes() for p in src.rglob("*.py")} == before
    run = run_program([sys.executable, "main.py"], copy, events=tmp_path / "e.jsonl")
    assert run.returncode == 0 and (tmp_path / "e.jsonl").stat().st_size > 0


def test_bad_input_gives_one_line(tmp_path: Path) -> None:
    missing = run_cli(tmp_path / "nope", "--in-place", check=False)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"telemetry-inject: error: {tmp_path / 'nope'}: no such file or directory"
    ]
    (tmp_path / "a.py").write_text(SRC)
    no_mode = run_cli(tmp_path / "a.py", check=False)
    assert no_mode.returncode == 2 and "--in-place" in no_mode.stderr
    assert len(no_mode.stderr.strip().splitlines()) == 1
    profile = run_cli(tmp_path / "a.py", "--dry-run", "--profile", "nope", check=False)
    assert profile.returncode == 2 and "no telemetry profile 'nope'" in profile.stderr
    assert "Traceback" not in missing.stderr + no_mode.stderr + profile.stderr


def test_cache_stats_and_clear(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    cache = tmp_path / "cache"
    run_cli(root, "--dry-run", "--cache-dir", cache)
    stats = json.loads(run_cli("cache", "stats", "--cache-dir", cache).stdout)
    # A template script's result is not kept: running it in-process costs less than a lookup.
    assert stats["scripts"] == 1 and stats["results"] == 0
    assert (
        "wrote 1 scripts" in run_cli("cache", "export", tmp_path / "x", "--cache-dir", cache).stdout
    )
    scripts = list((tmp_path / "x" / "python").glob("f_*.py"))
    assert len(scripts) == 1
    # a cached script is a standalone program a person can run by hand
    (tmp_path / "f.txt").write_text("def f(x):\n    return x + 1\n")
    by_hand = subprocess.run(
        [sys.executable, str(scripts[0]), 'fn="f"', 'file="a.py"', "line=1", "stamp=0000abcd"],
        stdin=(tmp_path / "f.txt").open(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert by_hand.stdout == (
        '@_tel.probe("f", "a.py", 1)  # telemetry-inject:0000abcd\ndef f(x):\n    return x + 1\n'
    )
    again = run_cli(root, "--dry-run", "--json", "--cache-dir", cache)
    assert json.loads(again.stdout)["cache_hits"] == 1
    assert "removed" in run_cli("cache", "clear", "--cache-dir", cache).stdout
    assert json.loads(run_cli("cache", "stats", "--cache-dir", cache).stdout)["scripts"] == 0


def test_strip_reverses_the_tree(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    run_cli(root, "--in-place", "--cache-dir", tmp_path / "c")
    assert (root / "pkg" / "_telemetry_utils.py").exists()
    proc = run_cli("strip", root, "--in-place")
    assert "removed 3 inserted lines/fragments and 1 runtime files" in proc.stdout
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
