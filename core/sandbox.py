"""Sandbox stage: run untrusted insertion scripts in confined children of a warm zygote.

One zygote process per ``Sandbox`` (started on first use) forks a child per batch; the child
drops to nobody, gets rlimits, Landlock (writes only in its own temp dir) and a seccomp
allowlist, inside a network namespace with no interfaces (see ``zygote``, ``worker``,
``confine``). ``run`` sends a whole batch to one child; when the child dies or times out, the
jobs it had not finished are re-run (the one it was on alone, the rest as a new batch) so
only the guilty script fails. Layers the kernel refuses are reported by ``describe``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import weakref
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .worker import END, ERR, FAULT, HELLO, OK, encode_jobs
from .zygote import REPLY, REQUEST, STARTUP_SECONDS

_PACKAGE = "_telemetry_sandbox"
# Loads zygote.py and its two stdlib-only siblings by path: works from a source tree, a wheel or
# an editable install alike, and never runs core/__init__.py or needs site-packages (-S).
_BOOT = (
    "import sys, types\n"
    f"p = types.ModuleType({_PACKAGE!r}); p.__path__ = [sys.argv[2]]; sys.modules[p.__name__] = p\n"
    f"from {_PACKAGE}.zygote import main\n"
    "main()\n"
)
_HERE = Path(__file__).resolve().parent
_CORE = _HERE / "script_core.py.txt"
LAYERS = ("seccomp", "landlock", "netns", "uid_drop", "rlimits", "tmpfs")


@dataclass(frozen=True)
class Limits:
    """Per job: CPU, wall clock and output; per child: memory, open files, size of any file."""

    cpu_seconds: int = 1
    memory_bytes: int = 256 << 20
    wall_seconds: float = 2.0
    output_bytes: int = 1 << 20
    open_files: int = 16
    file_bytes: int = 1 << 20


@dataclass(frozen=True)
class Job:
    script: str
    text: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class JobResult:
    ok: bool
    output: str = ""
    error: str = ""  # one line, e.g. "timed out after 2.0 s", "ValueError: ..."


@dataclass
class _Pending:
    results: dict[int, JobResult] = field(default_factory=dict)
    reason: str = ""
    fault: bool = False  # the sandbox failed, not a script: no retry would help
    lost: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class _Lost(Exception):
    """The zygote died or stopped answering."""


class _Zygote:
    """Parent-side handle: the process, a reader thread, and the requests in flight."""

    def __init__(self, limits: Limits, spares: int, disable: Iterable[str]) -> None:
        self.base = tempfile.mkdtemp(prefix="telemetry-sandbox-")
        os.chmod(self.base, 0o711)  # children (as nobody) must reach their own dirs inside
        config = {
            "limits": {
                "cpu": limits.cpu_seconds,
                "memory": limits.memory_bytes,
                "output": limits.output_bytes,
                "files": limits.open_files,
                "fsize": limits.file_bytes,
            },
            "wall": limits.wall_seconds,
            "spares": spares,
            "disable": sorted(disable),
            "core": str(_CORE),
        }
        self.log_path = os.path.join(self.base, "zygote.log")
        python = sys.executable or shutil.which("python3") or "python3"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [python, "-I", "-S", "-c", _BOOT, json.dumps(config), str(_HERE)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=self.base,
                env={},
                start_new_session=True,  # signals to the caller's process group skip it
            )
        self.write_lock = threading.Lock()
        self.table_lock = threading.Lock()  # never held while blocking on the pipe
        self.pending: dict[int, _Pending] = {}
        self.next_rid = 1
        self.hello: dict[str, object] = {}
        self.started = threading.Event()
        self.dead = False
        self.reader = threading.Thread(target=self._read, name="sandbox-reader", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        out: IO[bytes] = self.proc.stdout  # type: ignore[assignment]
        try:
            while len(header := out.read(REPLY.size)) == REPLY.size:
                rid, index, kind, length = REPLY.unpack(header)
                text = out.read(length).decode("utf-8", "replace")
                if kind == HELLO:
                    self.hello = json.loads(text)
                    self.started.set()
                    continue
                with self.table_lock:
                    pending = self.pending.get(rid)
                if pending is None:
                    continue
                if kind in (OK, ERR):
                    pending.results[index] = JobResult(
                        kind == OK, *((text, "") if kind == OK else ("", text))
                    )
                elif kind in (END, FAULT):
                    pending.reason, pending.fault = text, kind == FAULT
                    pending.done.set()
        except (OSError, ValueError):
            pass
        finally:
            self.dead = True
            self.started.set()
            with self.table_lock:
                for pending in self.pending.values():
                    pending.lost = True
                    pending.done.set()

    def request(self, jobs: Sequence[Job], timeout: float) -> _Pending:
        payload = encode_jobs([(job.script, job.text, job.params) for job in jobs])
        pending = _Pending()
        with self.table_lock:
            rid, self.next_rid = self.next_rid, self.next_rid + 1
            self.pending[rid] = pending
        try:
            with self.write_lock:
                if self.dead:
                    raise _Lost(self.why())
                stdin: IO[bytes] = self.proc.stdin  # type: ignore[assignment]
                stdin.write(REQUEST.pack(rid, len(jobs), len(payload)) + payload)
                stdin.flush()
            if not pending.done.wait(timeout):
                self.stop()
                raise _Lost("sandbox stopped responding")
            if pending.lost:
                raise _Lost(self.why())
            return pending
        except (OSError, ValueError) as exc:
            raise _Lost(self.why() or str(exc)) from exc
        finally:
            with self.table_lock:
                self.pending.pop(rid, None)

    def why(self) -> str:
        """The zygote's last word (a traceback's final line), if it left one."""
        try:
            lines = Path(self.log_path).read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""

    def stop(self) -> None:
        self.dead = True
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()  # EOF: the zygote kills its children and exits
            self.proc.wait(timeout=2)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        if threading.current_thread() is not self.reader:
            self.reader.join(timeout=2)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        shutil.rmtree(self.base, ignore_errors=True)


class Sandbox:
    """Runs jobs in confined children. Thread-safe; the zygote starts lazily, restarts if it dies.

    ``spares`` is how many confined, warmed children wait for work (0 forks on demand);
    ``disable`` switches layers off (``LAYERS``), for tests and benchmarks.
    """

    def __init__(
        self, limits: Limits | None = None, *, spares: int = 1, disable: Iterable[str] = ()
    ) -> None:
        self.limits = limits or Limits()
        self._spares = spares
        self._disable = frozenset(disable)
        self._lock = threading.Lock()
        self._zygote: _Zygote | None = None
        self._finalizer: weakref.finalize[[], Sandbox] | None = None
        self._gate = threading.BoundedSemaphore(max(2, os.cpu_count() or 1))

    def _worker(self) -> _Zygote:
        with self._lock:
            if self._zygote is None or self._zygote.dead:
                self._stop_locked()
                self._zygote = _Zygote(self.limits, self._spares, self._disable)
                # Stops the zygote when this Sandbox is collected or the interpreter exits.
                self._finalizer = weakref.finalize(self, self._zygote.stop)
            return self._zygote

    def _stop_locked(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        self._zygote, self._finalizer = None, None

    def run(self, jobs: Sequence[Job]) -> list[JobResult]:
        """Results in the order of ``jobs``; a script's failure is its result, not an exception."""
        jobs = list(jobs)
        results: list[JobResult | None] = [None] * len(jobs)
        todo = deque([list(range(len(jobs)))] if jobs else [])
        while todo:
            batch = todo.popleft()
            outcome = self._attempt([jobs[i] for i in batch])
            missing = []
            for k, i in enumerate(batch):
                if k in outcome.results:
                    results[i] = outcome.results[k]
                else:
                    missing.append(i)
            if not missing:
                continue
            reason = outcome.reason or "the sandbox returned no result"
            if outcome.fault or len(batch) == 1:
                for i in missing:
                    results[i] = JobResult(False, error=reason)
            else:
                # The job the child was on is the suspect: confirm alone; the rest go on together.
                todo.append(missing[:1])
                if len(missing) > 1:
                    todo.append(missing[1:])
        return [r if r is not None else JobResult(False, error="not run") for r in results]

    def _attempt(self, jobs: Sequence[Job]) -> _Pending:
        timeout = self.limits.wall_seconds * (len(jobs) + 1) + STARTUP_SECONDS + 5
        why = ""
        for _ in range(2):  # a zygote that died is restarted once per attempt
            try:
                zygote = self._worker()
                with self._gate:
                    return zygote.request(jobs, timeout)
            except _Lost as exc:
                why = str(exc)
            except OSError as exc:
                return _Pending(reason=f"sandbox unavailable: {exc}", fault=True)
        return _Pending(reason=f"sandbox worker died: {why or 'no reason given'}", fault=True)

    def describe(self) -> dict[str, bool | str]:
        """Which isolation layers are active in the children (starting the zygote if needed)."""
        try:
            zygote = self._worker()
        except OSError as exc:
            return {**dict.fromkeys(LAYERS, False), "error": f"sandbox unavailable: {exc}"}
        zygote.started.wait(STARTUP_SECONDS * 2)
        hello = zygote.hello
        info: dict[str, bool | str] = {name: hello.get(name) is True for name in LAYERS}
        for key in ("landlock_abi", "python", "error"):
            if key in hello:
                info[key] = str(hello[key])
        if not hello:
            info["error"] = zygote.why() or "the sandbox did not start"
        return info

    def close(self) -> None:
        with self._lock:
            self._stop_locked()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
