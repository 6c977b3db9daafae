"""Cache stage: insertion scripts and their results, keyed by what makes them correct.

diskcache (SQLite, process-safe) under ``.telemetry_cache/`` at the project root. A script is
stored under its key (see ``scripts.cache_key``) with metadata; its result for a given set of
placeholder values is stored too, so a warm run executes nothing. A script is also a readable
file, ``scripts/<language>/<name>_<hash8>.py``, that a person can run by hand: written at once for
scripts a model wrote, and on first request (hover, ``cache export``) for template scripts, since
creating one file per function would cost more than instrumenting it (~1 ms here).

A whole file's entries are read with one query and written together (``*_many``, see
``store``). A template script is stored without the fixed core it ends with (a digest of the
core instead): a few hundred bytes rather than kilobytes.
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

from . import scripts
from .cache_shared import RedisShared
from .scripts import Script
from .store import Store

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


def result_key(key: str, params: tuple[tuple[str, str], ...]) -> str:
    return f"r:{key}:{_params_hash(params)}"


def readable_name(function: str, key: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", function).strip("_.")[:80] or "function"
    return f"{safe}_{key[:8]}.py"


class ScriptCache:
    """The local cache, optionally reading through to a shared one (see cache_shared)."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        shared: RedisShared | None = None,
        hold: bool = False,
    ) -> None:
        """``hold``: writes wait for a larger transaction (many files in a row; see store)."""
        self.directory = Path(directory)
        self.shared = shared
        self.warnings: list[str] = []
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._db = self._open()
            self._store = Store(self._db, hold)
            self._texts: dict[str, str] = {}
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
        self._store.close()
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
        hold, self._store.hold = self._store.hold, True
        try:
            yield
        finally:
            self._store.hold = hold
            if not hold:
                self._store.flush()

    def flush(self) -> None:
        self._store.flush()

    def peek(self, key: str) -> ScriptEntry | None:
        return self.peek_many([key]).get(key)

    def peek_many(self, keys: list[str]) -> dict[str, ScriptEntry]:
        """The entries there are for keys, hit counts included, in one query."""
        rows = self._store.get_many([*("s:" + k for k in keys), *("h:" + k for k in keys)])
        out = {}
        for key in keys:
            entry = _entry(rows.get("s:" + key), rows.get("h:" + key, 0))
            if entry is not None:
                out[key] = entry
        return out

    def lookup(self, key: str) -> ScriptEntry | None:
        """Like peek, reading through to the shared cache, and counts a hit."""
        return self.lookup_many([key]).get(key)

    def lookup_many(self, keys: list[str]) -> dict[str, ScriptEntry]:
        found = self.peek_many(keys)
        if self.shared is not None:
            for key in keys:
                if key not in found and (meta := self.shared.get(key)) is not None:
                    found[key] = self._keep(meta)
            for key in found:
                self.shared.hit(key)
        if found:
            self._store.incr_many(["h:" + k for k in found])
        return found

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
        rows = self._store.get_many(["h:" + local["key"]])
        self._store.set_many([("s:" + local["key"], local)])
        return ScriptEntry(hits=int(rows.get("h:" + local["key"], 0)), **local)

    def store(
        self,
        script: Script,
        function: str,
        language: str,
        attempts: int = 1,
        last_error: str = "",
    ) -> ScriptEntry:
        return self.store_many([(script, function, language)], attempts, last_error)[0]

    def store_many(
        self, items: list[tuple[Script, str, str]], attempts: int = 1, last_error: str = ""
    ) -> list[ScriptEntry]:
        """Store scripts (script, function, language) in one transaction."""
        now = time.time()
        entries, rows = [], []
        scripts_dir = os.path.join(self.directory, "scripts")
        for script, function, language in items:
            path = os.path.join(scripts_dir, language, readable_name(function, script.key))
            meta = {
                "key": script.key,
                "text": script.text,
                "source": script.source,
                "function": function,
                "language": language,
                "created": now,
                "path": path,
                "attempts": attempts,
                "last_error": last_error,
            }
            rows.append(("s:" + script.key, _compact(meta)))
            if self.shared is not None:
                self.shared.put(meta)
            entries.append(ScriptEntry(hits=0, **meta))  # type: ignore[arg-type]
        self._store.set_many(rows)
        for entry in entries:
            if entry.source != "template":
                self.materialize(entry)
        return entries

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
        for k in self._store.iterkeys():
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
        return self.results_many([(key, params)]).get(result_key(key, params))

    def results_many(self, wanted: list[tuple[str, tuple[tuple[str, str], ...]]]) -> dict[str, str]:
        """Cached outputs by ``result_key(key, params)``, in one query."""
        found = self._store.get_many([result_key(k, p) for k, p in wanted])
        return {k: v for k, v in found.items() if isinstance(v, str)}

    def store_result(self, key: str, params: tuple[tuple[str, str], ...], output: str) -> None:
        self._store.set_many([(result_key(key, params), output)])

    def store_results(self, items: list[tuple[str, tuple[tuple[str, str], ...], str]]) -> None:
        self._store.set_many([(result_key(k, p), out) for k, p, out in items])

    # -- whole files (see memo) ---------------------------------------------------------------

    def memo(self, key: str) -> Any:
        return self._store.get_many(["f:" + key]).get("f:" + key)

    def memo_texts(self, digests: list[str]) -> dict[str, str]:
        """Texts kept once by digest (runtime files), remembered in memory once read."""
        missing = [d for d in digests if d not in self._texts]
        if missing:
            found = self._store.get_many(["t:" + d for d in missing])
            self._texts.update((k[2:], v) for k, v in found.items() if isinstance(v, str))
        return {d: self._texts[d] for d in digests if d in self._texts}

    def keep_memo(self, key: str, value: dict[str, Any], texts: dict[str, str]) -> None:
        new = {d: t for d, t in texts.items() if d not in self._texts}
        self._texts.update(new)
        self._store.set_many([("f:" + key, value), *(("t:" + d, t) for d, t in new.items())])

    def count_hits(self, keys: list[str]) -> None:
        if keys:
            self._store.incr_many(["h:" + k for k in keys])

    def stats(self) -> dict[str, Any]:
        scripts = results = hits = 0
        for k in self._store.iterkeys():
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
            "bytes": self._store.volume(),
        }
        if self.shared is not None:
            stats["shared"] = self.shared.stats()
        return stats

    def clear(self) -> int:
        count = self._store.clear()
        self._texts.clear()
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


def _compact(meta: dict[str, Any]) -> dict[str, Any]:
    """A template script is kept without the fixed core it ends with (see scripts.split)."""
    prefix = scripts.split(meta["text"])
    if prefix is None:
        return meta
    return {**meta, "text": prefix, "core": scripts.core_digest()}


def _entry(meta: object, hits: object) -> ScriptEntry | None:
    if not isinstance(meta, dict):
        return None
    meta = dict(meta)  # may be the very dict waiting to be written
    core = meta.pop("core", None)
    if core is not None:
        if core != scripts.core_digest():
            return None  # made with another core: a miss, so it is made again
        meta["text"] += scripts.core_text()
    return ScriptEntry(hits=int(hits) if isinstance(hits, int) else 0, **meta)
