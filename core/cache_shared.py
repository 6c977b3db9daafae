"""Shared script cache on Redis, for a team or a CI fleet: signed entries, never trusted blindly.

Only scripts are shared (results are recomputed locally in the sandbox, so a shared entry can
never put text in a file directly). Every entry carries an HMAC-SHA256 over its content made
with the team's key; entries without a valid signature are rejected with a clear warning.
Scripts that pass are still validated and sandboxed like any other. If Redis goes away, the
cache says so once and carries on with the local cache alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from typing import Any

PREFIX = "telemetry-inject:"
SECRET_ENV = "TELEMETRY_INJECT_CACHE_SECRET"
SIGNED_FIELDS = ("key", "text", "source", "function", "language")


class SharedCacheError(Exception):
    """The shared cache cannot be set up; the message says what to do."""


class RedisShared:
    def __init__(
        self, url: str, secret: bytes | None = None, ttl_seconds: int = 30 * 86400
    ) -> None:
        try:
            import redis
        except ImportError:
            raise SharedCacheError(
                "a Redis cache needs the redis client: pip install 'telemetry-inject[redis]'"
            ) from None
        secret = secret if secret is not None else os.environ.get(SECRET_ENV, "").encode()
        if not secret:
            raise SharedCacheError(
                f"a shared cache signs its entries: set {SECRET_ENV} to your team's key"
            )
        self._secret = secret
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self.url = url
        self.ttl = ttl_seconds
        self.down = False
        self.warnings: list[str] = []
        try:
            self._r = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        except ValueError as exc:
            raise SharedCacheError(f"bad cache URL {url!r}: {exc}") from None

    def sign(self, meta: dict[str, Any]) -> str:
        payload = json.dumps([str(meta.get(k, "")) for k in SIGNED_FIELDS]).encode("utf-8")
        return hmac.new(self._secret, payload, hashlib.sha256).hexdigest()

    def _failed(self, exc: BaseException) -> None:
        if not self.down:
            self.down = True
            self.warnings.append(
                f"shared cache {self.url} is unreachable ({type(exc).__name__}); "
                "continuing with the local cache"
            )

    def get(self, key: str) -> dict[str, Any] | None:
        """A verified entry, or None (absent, unreachable, or rejected with a warning)."""
        if self.down:
            return None
        try:
            raw = self._r.get(PREFIX + "s:" + key)
        except self._errors as exc:
            self._failed(exc)
            return None
        if raw is None:
            return None
        try:
            meta = json.loads(raw)
            sig = meta.pop("sig", "")
        except (ValueError, AttributeError):
            self.warnings.append(f"shared cache entry {key[:8]} is not an entry; rejected")
            return None
        name = meta.get("function", key[:8])
        if not sig:
            self.warnings.append(f"shared cache entry for {name} is unsigned; rejected")
            return None
        if not hmac.compare_digest(str(sig), self.sign(meta)) or meta.get("key") != key:
            self.warnings.append(
                f"shared cache entry for {name} has a bad signature (tampered with, or "
                f"written with another key); rejected"
            )
            return None
        return meta

    def put(self, meta: dict[str, Any]) -> None:
        if self.down:
            return
        signed = {**{k: meta[k] for k in meta if k != "path"}, "sig": self.sign(meta)}
        try:
            self._r.set(PREFIX + "s:" + meta["key"], json.dumps(signed), ex=self.ttl)
        except self._errors as exc:
            self._failed(exc)

    def hit(self, key: str) -> None:
        if self.down:
            return
        try:
            self._r.incr(PREFIX + "h:" + key)
            self._r.expire(PREFIX + "h:" + key, self.ttl)
        except self._errors as exc:
            self._failed(exc)

    def _keys(self, kind: str) -> Iterator[str]:
        for raw in self._r.scan_iter(match=PREFIX + kind + ":*", count=500):
            yield (raw.decode() if isinstance(raw, bytes) else raw)[len(PREFIX) + len(kind) + 1 :]

    def entries(self) -> Iterator[dict[str, Any]]:
        for key in self._keys("s"):
            meta = self.get(key)
            if meta is not None:
                yield meta

    def stats(self) -> dict[str, Any]:
        try:
            scripts = sum(1 for _ in self._keys("s"))
            hits = sum(int(self._r.get(PREFIX + "h:" + k) or 0) for k in self._keys("h"))
        except self._errors as exc:
            return {"url": self.url, "reachable": False, "error": type(exc).__name__}
        return {"url": self.url, "reachable": True, "scripts": scripts, "hits": hits}

    def clear(self) -> int:
        try:
            keys = [PREFIX + "s:" + k for k in self._keys("s")]
            keys += [PREFIX + "h:" + k for k in self._keys("h")]
            return int(self._r.delete(*keys)) if keys else 0
        except self._errors as exc:
            self._failed(exc)
            return 0

    def close(self) -> None:
        with contextlib.suppress(*self._errors):
            self._r.close()
