"""A team-shared script cache on a real redis-server: sharing, signatures, and losing the server."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import EXAMPLES, require, run_cli

SECRET = {"TELEMETRY_INJECT_CACHE_SECRET": "team-key-1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    server = subprocess.Popen(
        [
            require("redis-server"),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0", server
    server.terminate()
    server.wait(timeout=10)


def _run(tree: Path, cache_dir: Path, url: str, env: dict[str, str] | None = None) -> dict:
    proc = run_cli(
        tree,
        "--dry-run",
        "--json",
        "--jobs",
        "1",
        "--cache-dir",
        cache_dir,
        "--cache",
        url,
        env=env if env is not None else SECRET,
    )
    return json.loads(proc.stdout)


def test_two_machines_share_scripts(redis_url: tuple[str, object], tmp_path: Path) -> None:
    url, _server = redis_url
    first = _run(EXAMPLES / "python", tmp_path / "machine-a", url)
    assert first["instrumented"] == 10 and first["cache_hits"] == 0
    # a second machine with an empty local cache finds every script in the shared one
    second = _run(EXAMPLES / "python", tmp_path / "machine-b", url)
    assert second["cache_hits"] == 10 and second["warnings"] == []
    stats = json.loads(
        run_cli(
            "cache", "stats", "--cache-dir", tmp_path / "machine-b", "--cache", url, env=SECRET
        ).stdout
    )
    assert stats["shared"]["scripts"] == 10 and stats["shared"]["hits"] >= 10


def test_tampered_and_unsigned_entries_are_rejected(
    redis_url: tuple[str, object], tmp_path: Path
) -> None:
    import redis

    url, _server = redis_url
    _run(EXAMPLES / "python", tmp_path / "a", url)
    client = redis.Redis.from_url(url)
    keys = sorted(client.scan_iter(match="telemetry-inject:s:*"))
    entry = json.loads(client.get(keys[0]))
    entry["text"] = entry["text"].replace("OPS = [", "import os\nOPS = [")  # a planted change
    client.set(keys[0], json.dumps(entry))
    unsigned = json.loads(client.get(keys[1]))
    del unsigned["sig"]
    client.set(keys[1], json.dumps(unsigned))
    report = _run(EXAMPLES / "python", tmp_path / "b", url)
    assert report["instrumented"] == 10 and report["failed"] == 0  # rebuilt from templates
    assert report["cache_hits"] == 8
    assert sum("bad signature" in w for w in report["warnings"]) == 1
    assert sum("unsigned" in w for w in report["warnings"]) == 1
    # a writer with another key cannot plant scripts either
    other = _run(EXAMPLES / "python", tmp_path / "c", url, {"TELEMETRY_INJECT_CACHE_SECRET": "x"})
    assert other["cache_hits"] == 0 and len(other["warnings"]) >= 8


def test_no_secret_is_one_clear_line(redis_url: tuple[str, object], tmp_path: Path) -> None:
    url, _server = redis_url
    proc = run_cli(EXAMPLES / "python", "--dry-run", "--cache", url, check=False, env={})
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "telemetry-inject: error: a shared cache signs its entries: "
        "set TELEMETRY_INJECT_CACHE_SECRET to your team's key"
    )


def test_server_lost_between_files_of_one_run(
    redis_url: tuple[str, subprocess.Popen[bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from telemetry_inject.core import language
    from telemetry_inject.core.engine import Engine, Options

    url, server = redis_url
    monkeypatch.setenv("TELEMETRY_INJECT_CACHE_SECRET", "team-key-1")
    engine = Engine(Options(cache_dir=tmp_path / "local", cache_url=url))
    try:
        first = (EXAMPLES / "python" / "main.py").read_bytes()
        out = engine.instrument(first, "main.py", language.get("python"))
        assert out.stats["instrumented"] == 2 and out.warnings == ()
        server.terminate()
        server.wait(timeout=10)
        second = (EXAMPLES / "python" / "shop" / "cart.py").read_bytes()
        out = engine.instrument(second, "shop/cart.py", language.get("python"))
        assert out.stats["instrumented"] == 8 and out.stats["failed"] == 0
        assert len(out.warnings) == 1 and "unreachable" in out.warnings[0]
        again = engine.instrument(second, "shop/cart.py", language.get("python"))
        assert again.stats["cache_hits"] == 8 and again.warnings == ()  # local copy, said once
    finally:
        engine.close()


def test_redis_gone_before_the_run_loses_nothing(
    redis_url: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    url, server = redis_url
    tree = tmp_path / "tree"
    shutil.copytree(EXAMPLES / "python", tree)
    _run(tree, tmp_path / "warm", url)
    server.terminate()
    server.wait(timeout=10)
    proc = run_cli(
        tree,
        "--in-place",
        "--json",
        "--jobs",
        "1",
        "--cache-dir",
        tmp_path / "cold",
        "--cache",
        url,
        env=SECRET,
    )
    report = json.loads(proc.stdout)
    assert report["instrumented"] == 10 and report["failed"] == 0
    assert any("unreachable" in w and "local cache" in w for w in report["warnings"])
    assert run_cli("check", tree, check=False).returncode == 1  # the work was done
