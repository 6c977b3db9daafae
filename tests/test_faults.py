"""Bad input and faults: odd files, huge files, no permission, no space, a damaged or shared
cache, a process killed mid-run. Each gives a clear message and loses nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest
from helpers import CLI, run_cli, run_program

PY = "def f(x):\n    return x * 2\n\n\nprint(f(21))\n"


def _snapshot(root: Path) -> dict[Path, bytes]:
    return {
        p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()
    }


def test_odd_files(tmp_path: Path) -> None:
    root = tmp_path / "odd"
    root.mkdir()
    (root / "bom.py").write_bytes(b"\xef\xbb\xbf" + PY.encode())
    (root / "bom.js").write_bytes(b'\xef\xbb\xbf"use strict";\nfunction g() { return 2; }\n')
    (root / "empty.py").write_bytes(b"")
    (root / "comments.py").write_text("# only a comment\n")
    (root / "crlf.py").write_bytes(PY.replace("\n", "\r\n").encode())
    (root / "noeol.py").write_text("def h():\n    return 3")
    (root / "dir.py").mkdir()
    os.mkfifo(root / "fifo.py")
    (root / "loop").symlink_to(root)
    (root / "dead.py").symlink_to(root / "nowhere.py")
    nested = "".join("    " * i + f"def n{i}():\n" for i in range(40)) + "    " * 40 + "return 0\n"
    (root / "nested.py").write_text(nested)
    (root / "broken.py").write_text("def ok():\n    return 1\n\ndef bad(:\n    pass\n")
    before = _snapshot(root)
    proc = run_cli(root, "--in-place", "-v", "--cache-dir", tmp_path / "c")
    assert "Traceback" not in proc.stderr
    assert "fifo.py: skipped: not a regular file" in proc.stderr
    assert "dead.py: skipped: symbolic link" in proc.stderr
    assert "broken.py:4: bad: skipped: contains a syntax error" in proc.stderr
    assert (root / "bom.py").read_bytes().startswith(b"\xef\xbb\xbf")
    for name in ("bom.py", "crlf.py", "noeol.py", "nested.py"):
        run = run_program([sys.executable, name], root, events=tmp_path / f"{name}.jsonl")
        assert run.returncode == 0, (name, run.stderr)
    assert not (tmp_path / "nested.py.jsonl").exists()  # defined, never called
    assert run_program([sys.executable, "bom.py"], root).stdout == "42\n"
    run_cli("strip", root, "--in-place")
    assert _snapshot(root) == before


def test_huge_and_long_files(tmp_path: Path) -> None:
    root = tmp_path / "big"
    root.mkdir()
    body = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(2000))
    data = "DATA = [\n" + "".join(f"    {i},\n" for i in range(190_000)) + "]\n"
    (root / "long.py").write_text(body + data + "print(f1999(1), len(DATA))\n")
    (root / "huge.py").write_text("X = 1\n" + "#" * (11 * 1024 * 1024) + "\n")
    before = _snapshot(root)
    proc = run_cli(root, "--in-place", "-v", "--json", "--cache-dir", tmp_path / "c")
    report = json.loads(proc.stdout)
    assert report["instrumented"] == 2000 and report["failed"] == 0
    assert "huge.py: skipped: larger than 10 MiB" in report["skipped_files"]
    run = run_program([sys.executable, "long.py"], root)
    assert run.stdout == "2000 190000\n"
    run_cli("strip", root, "--in-place")
    assert _snapshot(root) == before


def test_unreadable_file_is_reported_and_the_rest_done(tmp_path: Path) -> None:
    root = tmp_path / "perm"
    root.mkdir()
    (root / "ok.py").write_text(PY)
    (root / "secret.py").write_text(PY)
    os.chmod(root / "secret.py", 0)
    # Root reads anything; without the DAC capabilities it obeys permission bits like a user.
    drop = [
        "setpriv",
        "--bounding-set=-dac_override,-dac_read_search",
        "--inh-caps=-dac_override,-dac_read_search",
    ]
    proc = subprocess.run(
        [*drop, *CLI, str(root), "--in-place", "--no-cache"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "secret.py: cannot read: Permission denied" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "telemetry-inject" in (root / "ok.py").read_text()
    assert (root / "secret.py").read_text() == PY


@pytest.fixture
def small_fs(tmp_path: Path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(mnt)]).returncode:
        pytest.fail("cannot mount a tmpfs (these tests run as root, as CI does)")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_leaves_every_file_whole(small_fs: Path, tmp_path: Path) -> None:
    for i in range(4):
        (small_fs / f"m{i}.py").write_text(PY * 100)
    filler = small_fs / "filler"
    try:  # fill the disk to the last block
        with filler.open("wb") as fh:
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()
    except OSError:
        pass
    before = _snapshot(small_fs)
    proc = run_cli(small_fs, "--in-place", "--cache-dir", tmp_path / "c", check=False)
    assert proc.returncode == 1
    assert "No space left on device" in proc.stderr and "Traceback" not in proc.stderr
    after = _snapshot(small_fs)
    assert after == before  # nothing half-written
    assert not [p for p in small_fs.iterdir() if p.name.endswith(".tmp")]


def test_read_only_tree(small_fs: Path, tmp_path: Path) -> None:
    (small_fs / "a.py").write_text(PY)
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    proc = run_cli(small_fs, "--in-place", "--cache-dir", tmp_path / "c", check=False)
    assert proc.returncode == 1
    assert "a.py: cannot write: Read-only file system" in proc.stderr
    assert (small_fs / "a.py").read_text() == PY


def test_damaged_cache_is_set_aside(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(PY)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "cache.db").write_bytes(b"this is not a database" * 100)
    proc = run_cli(tmp_path / "a.py", "--in-place", "--cache-dir", cache)
    assert "warning: cache" in proc.stderr and "was damaged" in proc.stderr
    assert "telemetry-inject" in (tmp_path / "a.py").read_text()
    assert list(tmp_path.glob("cache.damaged-*"))


def test_cache_deleted_while_running(tmp_path: Path) -> None:
    from telemetry_inject.core import language
    from telemetry_inject.core.engine import Engine, Options

    engine = Engine(Options(cache_dir=tmp_path / "cache"))
    try:
        spec = language.get("python")
        assert engine.instrument(PY.encode(), "a.py", spec).stats["instrumented"] == 1
        shutil.rmtree(tmp_path / "cache")
        again = engine.instrument(PY.encode(), "b.py", spec)
        assert again.stats["instrumented"] == 1 and again.stats["failed"] == 0
    finally:
        engine.close()


def _stdlib_tree(dst: Path, count: int) -> Path:
    lib = Path(sysconfig.get_paths()["stdlib"])
    dst.mkdir(parents=True)
    for src in sorted(lib.glob("*.py"))[:count]:
        shutil.copy2(src, dst / src.name)
    return dst


def test_two_runs_share_one_cache(tmp_path: Path) -> None:
    trees = [_stdlib_tree(tmp_path / f"t{i}", 40) for i in range(2)]
    cache = tmp_path / "cache"
    procs = [
        subprocess.Popen(
            [*CLI, str(t), "--in-place", "--json", "--jobs", "1", "--cache-dir", str(cache)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for t in trees
    ]
    reports = [json.loads(p.communicate(timeout=600)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert reports[0]["instrumented"] == reports[1]["instrumented"] > 500
    assert _snapshot(trees[0]).values().__len__() == _snapshot(trees[1]).values().__len__()
    for a, b in zip(sorted(trees[0].iterdir()), sorted(trees[1].iterdir()), strict=True):
        assert a.read_bytes() == b.read_bytes()


def test_killed_mid_run_loses_nothing_and_a_rerun_finishes(tmp_path: Path) -> None:
    tree = _stdlib_tree(tmp_path / "tree", 120)
    original = _snapshot(tree)
    proc = subprocess.Popen(
        [*CLI, str(tree), "--in-place", "--jobs", "1", "--no-cache"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(2.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = 0
    for path, data in _snapshot(tree).items():
        if path.name.endswith(".tmp") or path.name == "_telemetry_utils.py":
            continue
        if data != original[path]:
            done += 1
            compile(data, str(path), "exec")  # whole, valid files only
    assert 0 < done < len(original)
    run_cli(tree, "--in-place", "--no-cache")
    run_cli("strip", tree, "--in-place")
    assert {p: d for p, d in _snapshot(tree).items() if not p.name.endswith(".tmp")} == original
