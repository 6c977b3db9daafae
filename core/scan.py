"""Scan stage: the source files under the given paths, with a reason for each one left out."""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

from . import language, strip

VENDORED = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "vendor",
        "third_party",
        "site-packages",
        ".venv",
        "venv",
        "__pycache__",
        ".telemetry_cache",
        ".tox",
        ".mypy_cache",
    }
)
MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Found:
    path: Path
    relpath: str  # as events name the file
    skip: str = ""  # why it is left out; empty when it is to be processed


def scan(paths: list[Path], base: Path, max_bytes: int = MAX_BYTES) -> Iterator[Found]:
    """Walk paths; honour .gitignore files; classify every file met."""
    for top in paths:
        if top.is_file():
            yield _classify(top, _rel(top, base), max_bytes)
            continue
        yield from _walk(top, base, max_bytes)


def _rel(path: Path, base: Path) -> str:
    try:
        # Resolve the folder only: a symlinked file is named by its link, not its target.
        return (path.parent.resolve() / path.name).relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.name


def _walk(top: Path, base: Path, max_bytes: int) -> Iterator[Found]:
    specs: list[tuple[Path, pathspec.PathSpec]] = []
    base_resolved = base.resolve()
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        here = Path(dirpath)
        ignore_file = here / ".gitignore"
        if ignore_file.is_file():
            try:
                lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
                specs.append((here, pathspec.PathSpec.from_lines("gitwildmatch", lines)))
            except OSError:
                pass
        kept = []
        for d in sorted(dirnames):
            if d in VENDORED or _ignored(specs, here / d, is_dir=True):
                continue
            kept.append(d)
        dirnames[:] = kept
        prefix: str | None = None  # the folder's relpath, resolved once for all its files
        for name in sorted(filenames):
            if language.for_path(name) is None:
                continue
            path = here / name
            if specs and _ignored(specs, path, is_dir=False):
                continue
            if prefix is None:
                try:
                    rel_dir = here.resolve().relative_to(base_resolved).as_posix()
                    prefix = "" if rel_dir == "." else rel_dir + "/"
                except ValueError:
                    prefix = ""
            yield _classify(path, prefix + name, max_bytes)


def _ignored(specs: list[tuple[Path, pathspec.PathSpec]], path: Path, is_dir: bool) -> bool:
    for root, spec in specs:
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            continue
        if spec.match_file(rel + "/" if is_dir else rel):
            return True
    return False


def _classify(path: Path, relpath: str, max_bytes: int) -> Found:
    spec = language.for_path(path.name)
    if spec is None:
        return Found(path, relpath, "unsupported file type")
    if any(fnmatch.fnmatch(path.name, pat) for pat in spec.exclude):
        return Found(path, relpath, f"excluded for {spec.name}")
    try:
        st = os.lstat(path)
    except OSError:
        return Found(path, relpath, "not a regular file")
    if stat.S_ISLNK(st.st_mode):
        return Found(path, relpath, "symbolic link")
    if not stat.S_ISREG(st.st_mode):
        return Found(path, relpath, "not a regular file")
    try:
        size = st.st_size
        if size > max_bytes:
            return Found(path, relpath, f"larger than {max_bytes // (1024 * 1024)} MiB")
        with path.open("rb") as fh:
            head = fh.read(8192)
    except OSError:
        return Found(path, relpath)  # reading it again reports the error as a failure
    if b"\0" in head:
        return Found(path, relpath, "binary")
    # Only a file carrying the generated-by header is ours: a user's file of the same name is not.
    if strip.is_runtime_file(head.decode("utf-8", "replace")):
        return Found(path, relpath, "telemetry runtime")
    return Found(path, relpath)
