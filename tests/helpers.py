"""Helpers every test module imports: the real CLI, programs run with telemetry on, toolchains."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CLI = [sys.executable, "-m", "telemetry_inject.server.cli"]


def run_cli(
    *args: str | Path,
    cwd: Path | None = None,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The real `telemetry-inject` command, as a user runs it."""
    # A developer's own settings (a team key, a model endpoint) must not leak into tests.
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_INJECT")}
    full_env.update(env or {})
    proc = subprocess.run(
        [*CLI, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300, env=full_env
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"telemetry-inject {args} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def run_program(
    cmd: list[str],
    cwd: Path,
    events: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run a program; with `events`, telemetry goes to that file."""
    full_env = dict(os.environ)
    full_env.pop("TELEMETRY_INJECT_OUT", None)
    full_env.pop("TELEMETRY_INJECT", None)
    full_env.update(env or {})
    if events is not None:
        full_env["TELEMETRY_INJECT_OUT"] = str(events)
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, env=full_env, timeout=timeout
    )


def require(tool: str) -> str:
    """Path of a toolchain binary; .ci/run installs them all, so a missing one is a failure."""
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not installed; run .ci/run (or its install step) first")
    return path


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root by relative path: what strip must restore byte for byte."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the first line of path holding needle."""
    for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(f"{needle!r} not in {path}")
