"""Process stage: many files through the engine in parallel, with progress and per-file results.

Files are spread over worker processes (both cores); each worker keeps one warm engine (one
sandbox zygote, one cache handle). A failure in one file or function is reported, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from multiprocessing.util import Finalize
from pathlib import Path

from . import language
from .engine import Engine, Options
from .strip import is_runtime_file
from .types import FileOutcome, Status


@dataclass(frozen=True)
class Task:
    path: str  # where to read
    relpath: str  # how events name it
    dest: str  # where to write (same as path for in-place); "" for a dry run
    mode: str = "instrument"  # or "strip", "update", "check"


@dataclass(frozen=True)
class TaskResult:
    task: Task
    outcome: FileOutcome | None
    error: str = ""  # the file was left as it was
    skipped: str = ""  # left alone on purpose (not UTF-8 ...), with the reason
    written: tuple[str, ...] = field(default_factory=tuple)
    changed: bool = False  # the file changed (its outcome comes back without the texts)


_engine: Engine | None = None


def _worker_init(options: Options) -> None:
    global _engine
    _engine = Engine(options)
    # A pool worker ends with os._exit: close (flush the cache's waiting writes) before that.
    Finalize(_engine, _engine.close, exitpriority=10)


def run_task(task: Task, engine: Engine | None = None) -> TaskResult:
    engine = engine or _engine
    assert engine is not None
    try:
        source = Path(task.path).read_bytes()
    except OSError as exc:
        return TaskResult(task, None, f"cannot read: {exc.strerror or exc}")
    try:
        source.decode("utf-8")
    except UnicodeDecodeError:
        return TaskResult(task, None, skipped="not UTF-8")
    spec = language.for_path(task.path)
    if spec is None:
        return TaskResult(task, None, "unsupported file type")
    try:
        if task.mode == "strip":
            outcome = engine.strip(source, task.relpath, spec)
        elif task.mode == "update":
            outcome = engine.update(source, task.relpath, spec)
        elif task.mode == "check":
            outcome = engine.inspect(source, task.relpath, spec)
        else:
            outcome = engine.instrument(source, task.relpath, spec)
    except Exception as exc:  # a bug must cost one file, not the run
        return TaskResult(task, None, f"internal error: {type(exc).__name__}: {exc}")
    if not task.dest:
        return TaskResult(task, outcome)
    try:
        written = _write_outcome(task, outcome)
    except OSError as exc:
        return TaskResult(task, outcome, f"cannot write: {exc.strerror or exc}")
    except RuntimeConflict as exc:
        return TaskResult(task, outcome, str(exc))
    # Written: the texts stay here (sending both back to the parent costs more than writing),
    # and so do the outcomes of functions instrumented with nothing to say (the stats count
    # them): pickled both ways, 11,000 of them cost ~0.2 s of CPU in a warm run.
    notable = tuple(o for o in outcome.functions if o.status is not Status.INSTRUMENTED or o.reason)
    slim = replace(outcome, old_text="", new_text="", edits=(), extra_files=(), functions=notable)
    return TaskResult(task, slim, written=written, changed=outcome.changed)


class RuntimeConflict(Exception):
    pass


def _write_outcome(task: Task, outcome: FileOutcome) -> tuple[str, ...]:
    dest = Path(task.dest)
    written: list[str] = []
    if outcome.changed or dest != Path(task.path):
        atomic_write(dest, outcome.new_text.encode("utf-8"), like=Path(task.path))
        written.append(str(dest))
    for extra in outcome.extra_files:
        target = dest.parent / Path(extra.path).name
        data = extra.text.encode("utf-8")
        if target.exists():
            current = target.read_bytes()
            if current == data:
                continue
            if not is_runtime_file(current.decode("utf-8", "replace")):
                raise RuntimeConflict(
                    f"{target} exists and is not a telemetry-inject runtime; rename it first"
                )
        atomic_write(target, data, like=Path(task.path))  # readable as the code that loads it
        written.append(str(target))
    return tuple(written)


def atomic_write(path: Path, data: bytes, like: Path | None = None) -> None:
    """Write via a temporary file in the same directory and rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # No fsync: the rename already means no file is ever seen half-written, even if this
        # process dies; an fsync per file (~5 ms here) would cost more than instrumenting it.
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        mode_source = like if like is not None and like.exists() else path
        if mode_source.exists():
            os.chmod(tmp, mode_source.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def run_batch(tasks: list[Task]) -> list[TaskResult]:
    """Several files in one pool call: one message each way instead of one per file."""
    return [run_task(task) for task in tasks]


BATCH_BYTES = 256 * 1024  # a pool call's share of source: small enough to keep both cores busy
BATCH_FILES = 32


def batches(tasks: list[Task], jobs: int) -> list[list[int]]:
    """Task indexes grouped for the pool, largest files first (so a huge file does not start
    last and leave a core idle at the end), each group up to BATCH_BYTES or BATCH_FILES."""
    sizes = []
    for task in tasks:
        try:
            sizes.append(os.stat(task.path).st_size)
        except OSError:
            sizes.append(0)
    order = sorted(range(len(tasks)), key=lambda i: -sizes[i])
    # Never fewer than ~8 groups per worker, so the last ones even out.
    budget = min(BATCH_BYTES, max(1, sum(sizes) // (jobs * 8)))
    out: list[list[int]] = []
    group: list[int] = []
    held = 0
    for i in order:
        if group and (held + sizes[i] > budget or len(group) >= BATCH_FILES):
            out.append(group)
            group, held = [], 0
        group.append(i)
        held += sizes[i]
    if group:
        out.append(group)
    return out


async def run_all(
    tasks: list[Task],
    options: Options,
    jobs: int,
    progress: Callable[[TaskResult], None] | None = None,
) -> list[TaskResult]:
    """Run tasks on up to `jobs` worker processes; results in task order."""
    options = replace(options, batch=True)
    if jobs <= 1 or len(tasks) <= 1:
        engine = Engine(options)
        try:
            results = []
            for task in tasks:
                result = await asyncio.to_thread(run_task, task, engine)
                if progress:
                    progress(result)
                results.append(result)
            return results
        finally:
            engine.close()
    loop = asyncio.get_running_loop()
    groups = batches(tasks, jobs)
    found: list[TaskResult | None] = [None] * len(tasks)
    with ProcessPoolExecutor(
        max_workers=min(jobs, len(groups)), initializer=_worker_init, initargs=(options,)
    ) as pool:

        async def one(group: list[int]) -> None:
            done = await loop.run_in_executor(pool, run_batch, [tasks[i] for i in group])
            for i, result in zip(group, done, strict=True):
                found[i] = result
                if progress:
                    progress(result)

        await asyncio.gather(*(one(g) for g in groups))
    return [r for r in found if r is not None]
