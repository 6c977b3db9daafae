"""Cache stage, storage: diskcache's table read and written in bulk.

diskcache has no bulk calls, and one ``get``/``set`` per function costs 0.1-0.5 ms here — more
than everything else a function needs. A ``Store`` reads many keys with one query and writes
many rows in one transaction, in diskcache's own table and encoding, so every entry stays
readable through diskcache's API. With ``hold``, writes wait in memory (read back from there)
and go out together every ``FLUSH_ROWS`` rows, at ``flush`` and at ``close``: a transaction per
file costs ~1-4 ms here (its commit), more than the file's rows.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import diskcache

CHUNK = 400  # keys per query, under SQLite's limit on bound parameters
FLUSH_ROWS = 4000
_COLUMNS = (
    "key, raw, store_time, expire_time, access_time, access_count, tag, size, mode, filename, value"
)
_UPSERT = (
    f"INSERT INTO Cache({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(key, raw) DO UPDATE"
    " SET store_time = excluded.store_time, expire_time = NULL, access_time = excluded.access_time,"
    " access_count = 0, tag = NULL, size = excluded.size, mode = excluded.mode, filename = NULL,"
    " value = excluded.value"
)


class Store:
    def __init__(self, db: diskcache.Cache, hold: bool = False) -> None:
        self.db = db
        self.hold = hold
        self._rows: dict[str, Any] = {}  # written, not yet in the table
        self._counts: Counter[str] = Counter()  # increments not yet in the table
        self._lock = threading.Lock()

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        """Values of the keys there are (counters include increments not yet written)."""
        out: dict[str, Any] = {}
        with self._lock:
            rows, counts = self._rows, self._counts
            rest = [k for k in keys if k not in rows]
            out.update((k, rows[k]) for k in keys if k in rows)
            pending = {k: counts[k] for k in keys if k in counts}
        if rest:
            out.update(self._select(rest))
        for key, extra in pending.items():
            value = out.get(key, 0)
            out[key] = (value if isinstance(value, int) else 0) + extra
        return out

    def _select(self, keys: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        con, disk, now = self.db._con, self.db.disk, time.time()
        for i in range(0, len(keys), CHUNK):
            part = keys[i : i + CHUNK]
            query = (
                "SELECT key, mode, filename, value FROM Cache WHERE raw = 1 AND key IN "
                f"({','.join('?' * len(part))}) AND (expire_time IS NULL OR expire_time > ?)"
            )
            for key, mode, filename, value in con.execute(query, (*part, now)):
                try:
                    out[key] = disk.fetch(mode, filename, value, False)
                except OSError:  # its file was removed meanwhile: a miss
                    continue
        return out

    def set_many(self, items: list[tuple[str, Any]]) -> None:
        """Set keys to values (replacing what is there, as diskcache's ``set``)."""
        with self._lock:
            self._rows.update(items)
            full = len(self._rows) + len(self._counts) >= FLUSH_ROWS
        if full or not self.hold:
            self.flush()

    def incr_many(self, keys: list[str]) -> None:
        """Add one to each counter (a missing counter starts at zero)."""
        with self._lock:
            self._counts.update(keys)
            full = len(self._rows) + len(self._counts) >= FLUSH_ROWS
        if full or not self.hold:
            self.flush()

    def flush(self) -> None:
        """Write what waits, in one transaction."""
        with self._lock:
            rows, self._rows = self._rows, {}
            counts, self._counts = self._counts, Counter()
        if rows or counts:
            self._write(list(rows.items()), counts)

    def _write(self, items: list[tuple[str, Any]], counts: Counter[str]) -> None:
        now, disk, con = time.time(), self.db.disk, self.db._con
        rows, large = [], []
        for key, value in items:
            size, mode, filename, db_value = disk.store(value, False, key=key)
            if filename is not None:  # too large for the table: diskcache's path keeps its file
                disk.remove(filename)
                large.append((key, value))
                continue
            rows.append((key, 1, now, None, now, 0, None, size, mode, None, db_value))
        keys = [row[0] for row in rows]
        old_files: list[str] = []
        with self.db.transact(retry=True):
            for i in range(0, len(keys), CHUNK):
                part = keys[i : i + CHUNK]
                query = (
                    "SELECT filename FROM Cache WHERE raw = 1 AND filename IS NOT NULL AND key IN "
                    f"({','.join('?' * len(part))})"
                )
                old_files += [name for (name,) in con.execute(query, part)]
            con.executemany(_UPSERT, rows)
            for key, value in large:
                self.db.set(key, value, retry=True)
            con.executemany(
                f"INSERT OR IGNORE INTO Cache({_COLUMNS}) VALUES (?,1,?,NULL,?,0,NULL,0,1,NULL,0)",
                [(key, now, now) for key in counts],
            )
            con.executemany(
                "UPDATE Cache SET value = value + ? WHERE raw = 1 AND key = ?",
                [(n, key) for key, n in counts.items()],
            )
        for name in old_files:  # replaced values' files, once nothing refers to them
            disk.remove(name)
        if self.db.volume() > self.db.size_limit:
            self.db.cull(retry=True)

    def iterkeys(self) -> Iterator[Any]:
        self.flush()
        return self.db.iterkeys()

    def volume(self) -> int:
        self.flush()
        return int(self.db.volume())

    def clear(self) -> int:
        with self._lock:
            self._rows, self._counts = {}, Counter()
        return int(self.db.clear())

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.db.close()
