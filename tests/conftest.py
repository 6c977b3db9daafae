"""Shared fixtures. Helper functions live in helpers.py (a conftest is not importable by name:
every folder of tests may have its own)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import run_cli


@pytest.fixture
def instrument_copy(tmp_path: Path) -> Callable[[Path], Path]:
    """Copy a source tree, instrument the copy in place with the CLI, return the copy."""

    def go(src: Path, *extra: str) -> Path:
        dst = tmp_path / "instrumented" / src.name
        shutil.copytree(src, dst)
        run_cli(dst, "--in-place", "--jobs", "1", "--cache-dir", tmp_path / "cache", *extra)
        return dst

    return go
