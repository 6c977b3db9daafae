"""Cache stage: insertion scripts and their results, keyed by what makes them correct.

diskcache (SQLite, process-safe) under ``.telemetry_cache/`` at the project root. A script is
stored under its key (see ``scripts.cache_key``) with metadata; its result for a given set of
placeholder values is stored too, so a warm run executes nothing. A script is also a readable
file, ``scripts/<language>/<name>_<hash8>.py``, that a person can run by hand: written at once for
scripts a model wrote, and on first request (hover, ``cache export``) for template scripts, since
creating one file per function would cost more than instrumenting it (~1 ms here).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import diskcache

from .cache_shared import RedisShared
from .scripts import Script

DEFAULT_DIR = ".telemetry_cache"


class CacheError(Exception):
    """The cache directory cannot be used; the message says what to do."""


@dataclass(frozen=True, slots=True)
class ScriptEntry:
    key: str
    text: str
    source: str  # "template" or the model's name
    function: str
    language: str
    created: float
    hits: int
    path: str  # the readable copy
    attempts: int = 1
    last_error: str = ""


def _params_hash(params: tuple[tuple[str, str], ...]) -> str:
    h = hashlib.sha256()
    for k, v in params:
        h.update(f"{k}\0{v}\0".encode())
    return h.hexdigest()[:24]


def readable_name(function: str, key: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", function).strip("_.")[:80] or "function"
    return f"{safe}_{key[:8]}.py"


class ScriptCache:
    """The local cache, optionally reading through to a shared one (see cache_shared)."""

    def __init__(
        self, directory: str | os.PathLike[str], shared: RedisShared | None = None
    ) -> None:
        self.directory = Path(directory)
        self.shared = shared
        self.warnings: list[str] = []
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._db = self._open()
        except Exception as exc:  # sqlite3 and OS errors alike
            raise CacheError(
                f"cannot use cache directory {self.directory}: {exc} "
                "(choose another with --cache-dir)"
            ) from exc

    def _open(self) -> diskcache.Cache:
        try:
            return diskcache.Cache(str(self.directory), size_limit=2**31)
        except sqlite3.DatabaseError as exc:
            # The cache only holds derived data: set a damaged one aside and start afresh.
            aside = self.directory.with_name(f"{self.directory.name}.damaged-{int(time.time())}")
            os.replace(self.directory, aside)
            self.directory.mkdir(parents=True)
            self.warnings.append(f"cache {self.directory} was damaged ({exc}); moved to {aside}")
            return diskcache.Cache(str(self.directory), size_limit=2**31)

    def close(self) -> None:
        self._db.close()
        if self.shared is not None:
            self.shared.close()

    def drain_warnings(self) -> list[str]:
        out, self.warnings = self.warnings, []
        if self.shared is not None and self.shared.warnings:
            out, self.shared.warnings = out + self.shared.warnings, []
        return out

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group many writes into one transaction (much faster for a whole file)."""
        with self._db.transact():
            yield

    def peek(self, key: str) -> ScriptEntry | None:
        meta = self._db.get("s:" + key)
        if not isinstance(meta, dict):
            return None
        return ScriptEntry(hits=int(self._db.get("h:" + key, 0)), **meta)

    def lookup(self, key: str) -> ScriptEntry | None:
        """Like peek, reading through to the shared cache, and counts a hit."""
        entry = self.peek(key)
        if entry is None and self.shared is not None:
            meta = self.shared.get(key)
            if meta is not None:
                entry = self._keep(meta)
        if entry is not None:
            self._db.incr("h:" + key)
            if self.shared is not None:
                self.shared.hit(key)
        return entry

    def _keep(self, meta: dict[str, Any]) -> ScriptEntry:
        """Store an entry from elsewhere locally (so the next lookup works offline)."""
        folder = self.directory / "scripts" / str(meta["language"])
        local = {
            "key": str(meta["key"]),
            "text": str(meta["text"]),
            "source": str(meta.get("source", "template")),
            "function": str(meta.get("function", "")),
            "language": str(meta["language"]),
            "created": float(meta.get("created", time.time())),
            "path": str(folder / readable_name(str(meta.get("function", "")), str(meta["key"]))),
            "attempts": int(meta.get("attempts", 1)),
            "last_error": str(meta.get("last_error", "")),
        }
        self._db.set("s:" + local["key"], local)
        return ScriptEntry(hits=int(self._db.get("h:" + local["key"], 0)), **local)

    def store(
        self,
        script: Script,
        function: str,
        language: str,
        attempts: int = 1,
        last_error: str = "",
    ) -> ScriptEntry:
        folder = self.directory / "scripts" / language
        path = folder / readable_name(function, script.key)
        meta = {
            "key": script.key,
            "text": script.text,
            "source": script.source,
            "function": function,
            "language": language,
            "created": time.time(),
            "path": str(path),
            "attempts": attempts,
            "last_error": last_error,
        }
        self._db.set("s:" + script.key, meta)
        if self.shared is not None:
            self.shared.put(meta)
        entry = ScriptEntry(hits=0, **meta)  # type: ignore[arg-type]
        if script.source != "template":
            self.materialize(entry)
        return entry

    def materialize(self, entry: ScriptEntry) -> Path | None:
        """Write the readable copy of a script if it is not there yet; None if it cannot be."""
        path = Path(entry.path)
        if path.is_file():
            return path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(entry.text, encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            return None  # the readable copy is a convenience; the cache entry is what counts
        return path

    def _entries(self) -> Iterator[ScriptEntry]:
        seen = set()
        for k in self._db.iterkeys():
            if isinstance(k, str) and k.startswith("s:"):
                entry = self.peek(k[2:])
                if entry is not None:
                    seen.add(entry.key)
                    yield entry
        if self.shared is not None:
            for meta in self.shared.entries():
                if meta["key"] not in seen:
                    yield self._keep(meta)

    def export(self, folder: Path) -> int:
        """Write every script as a readable file under folder/<language>/, plus index.jsonl."""
        folder.mkdir(parents=True, exist_ok=True)
        rows = []
        for entry in self._entries():
            target = folder / entry.language / Path(entry.path).name
            self.materialize(replace(entry, path=str(target)))
            row = {k: getattr(entry, k) for k in ("key", "source", "function", "language")}
            rows.append(json.dumps({**row, "file": target.relative_to(folder).as_posix()}))
        (folder / "index.jsonl").write_text("".join(r + "\n" for r in rows), encoding="utf-8")
        return len(rows)

    def import_(self, folder: Path) -> int:
        """Load scripts written by export (they are validated and sandboxed when used)."""
        index = folder / "index.jsonl"
        if not index.is_file():
            raise CacheError(f"{folder} has no index.jsonl; make it with 'cache export'")
        count = 0
        with self.batch():
            for line in index.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                text = (folder / row["file"]).read_text(encoding="utf-8")
                meta = self._keep({**row, "text": text})
                if self.shared is not None:
                    self.shared.put(asdict(meta))
                count += 1
        return count

    def result(self, key: str, params: tuple[tuple[str, str], ...]) -> str | None:
        value = self._db.get(f"r:{key}:{_params_hash(params)}")
        return value if isinstance(value, str) else None

    def store_result(self, key: str, params: tuple[tuple[str, str], ...], output: str) -> None:
        self._db.set(f"r:{key}:{_params_hash(params)}", output)

    def stats(self) -> dict[str, Any]:
        scripts = results = hits = 0
        for k in self._db.iterkeys():
            if not isinstance(k, str):
                continue
            if k.startswith("s:"):
                scripts += 1
            elif k.startswith("r:"):
                results += 1
            elif k.startswith("h:"):
                hits += int(self._db.get(k, 0))
        stats: dict[str, Any] = {
            "directory": str(self.directory),
            "scripts": scripts,
            "results": results,
            "hits": hits,
            "bytes": int(self._db.volume()),
        }
        if self.shared is not None:
            stats["shared"] = self.shared.stats()
        return stats

    def clear(self) -> int:
        count = int(self._db.clear())
        if self.shared is not None:
            count += self.shared.clear()
        scripts = self.directory / "scripts"
        if scripts.is_dir():
            for path in sorted(scripts.rglob("*"), reverse=True):
                if path.is_file():
                    path.unlink()
                elif path.is_dir():
                    path.rmdir()
        return count
