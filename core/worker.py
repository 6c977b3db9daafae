"""Sandbox worker: runs one batch of insertion scripts inside a confined, forked child.

Stdlib only (the zygote loads it without the package's dependencies). Each script is exec'd in
a fresh namespace and its ``instrument(text, params)`` called; each result is framed back as
soon as it exists, so a child that dies mid-batch still delivers everything before the culprit.
"""

from __future__ import annotations

import builtins
import fcntl
import gc
import json
import os
import select
import signal
import struct
import sys
from collections.abc import Sequence
from types import CodeType
from typing import NamedTuple, NoReturn

from . import confine

OK, ERR, END, FAULT, HELLO, READY = range(6)
FRAME = struct.Struct("!IBI")  # child -> zygote: job index, kind, payload length
BATCH = struct.Struct("!I")  # zygote -> child: length of the encoded batch (see encode_jobs)
_U32 = struct.Struct("!I")
SCRIPT_NAME = "__insertion__"  # not "__main__", so a script's command-line entry point stays off
ALLOWED_MODULES = ("sys", "re", "json", "string", "textwrap", "itertools", "functools", "math")
MAX_ERROR = 300


def split_core(script: str, core: str) -> str | None:
    """The script's own part when it is ``prefix + core`` and running them apart is equivalent.

    Generated scripts are a few lines of data followed by the fixed core; the zygote compiles
    the core once, so a job only compiles its prefix. Equivalent when the prefix is a complete
    module on its own (the caller checks that it compiles), ends a line, and has no
    ``__future__`` import (which would change how the core compiles).
    """
    if not core or not script.endswith(core):
        return None
    prefix = script[: len(script) - len(core)]
    if (prefix and not prefix.endswith("\n")) or "__future__" in prefix:
        return None
    return prefix


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line; never raises, whatever the exception's ``__str__`` does."""
    name = type(exc).__name__
    try:
        text = str(exc)
    except BaseException:
        text = ""
    if isinstance(exc, SyntaxError) and exc.lineno:
        text = f"{exc.msg} (line {exc.lineno})"
    text = " ".join(text.split())
    if len(text) > MAX_ERROR:
        text = text[: MAX_ERROR - 1] + "…"
    return f"{name}: {text}" if text else name


def run_one(
    script: str, text: str, params: Sequence[Sequence[str]], core: str, core_code: CodeType | None,
    output_bytes: int,
) -> tuple[int, bytes]:  # fmt: skip
    """Run one job; returns (OK, utf-8 output) or (ERR, one-line reason)."""
    namespace: dict[str, object] = {"__name__": SCRIPT_NAME}
    try:
        prefix = split_core(script, core) if core_code is not None else None
        code = None
        if prefix is not None:
            try:
                code = compile(prefix, "<script>", "exec")
            except SyntaxError:
                prefix = None  # e.g. a string opened in the prefix: judge the whole text
        if prefix is None or code is None:
            exec(compile(script, "<script>", "exec"), namespace)
        else:
            exec(code, namespace)
            exec(core_code, namespace)  # type: ignore[arg-type]
        instrument = namespace.get("instrument")
        if not callable(instrument):
            return ERR, b"script defines no instrument(text, params) function"
        out = instrument(text, {str(k): str(v) for k, v in params})
        if type(out) is not str:
            return ERR, f"instrument() returned {type(out).__name__}, not str".encode()
        data = out.encode("utf-8") if len(out) <= output_bytes else b""
        if len(out) > output_bytes or len(data) > output_bytes:
            return ERR, f"output exceeds the {output_bytes} byte limit".encode()
        return OK, data
    except MemoryError:
        return ERR, b"exceeded memory limit"
    except SystemExit as exc:
        return ERR, f"script exited (exit code {exc.code!r:.40})".encode()
    except BaseException as exc:
        return ERR, one_line(exc).encode("utf-8", "replace")


def send(fd: int, index: int, kind: int, payload: bytes) -> None:
    data = memoryview(FRAME.pack(index, kind, len(payload)) + payload)
    while data:
        data = data[os.write(fd, data) :]


def encode_jobs(jobs: Sequence[tuple[str, str, Sequence[tuple[str, str]]]]) -> bytes:
    """Length-prefixed UTF-8 fields: [count] then per job [pairs] script text k v k v ...

    Not JSON: a batch is mostly source text, and escaping it costs more than running it.
    ``surrogatepass`` carries lone surrogates through unchanged.
    """
    parts = [_U32.pack(len(jobs))]
    for script, text, params in jobs:
        parts.append(_U32.pack(len(params)))
        for field in (script, text, *(item for pair in params for item in pair)):
            data = field.encode("utf-8", "surrogatepass")
            parts += (_U32.pack(len(data)), data)
    return b"".join(parts)


def decode_jobs(data: bytes) -> list[tuple[str, str, list[tuple[str, str]]]]:
    view, pos = memoryview(data), 0

    def field() -> str:
        nonlocal pos
        (size,) = _U32.unpack_from(view, pos)
        pos += 4 + size
        return str(view[pos - size : pos], "utf-8", "surrogatepass")

    (count,) = _U32.unpack_from(view, 0)
    pos = 4
    jobs = []
    for _ in range(count):
        (pairs,) = _U32.unpack_from(view, pos)
        pos += 4
        script, text = field(), field()
        jobs.append((script, text, [(field(), field()) for _ in range(pairs)]))
    return jobs


def read_batch(fd: int) -> list[tuple[str, str, list[tuple[str, str]]]]:
    def exactly(n: int) -> bytes:
        chunks, need = [], n
        while need:
            chunk = os.read(fd, min(need, 1 << 20))
            if not chunk:
                raise EOFError("batch ended early")
            chunks.append(chunk)
            need -= len(chunk)
        return b"".join(chunks)

    (length,) = BATCH.unpack(exactly(BATCH.size))
    jobs = decode_jobs(exactly(length))
    os.close(fd)
    return jobs


class _Snapshot:
    """Shared module state a script may patch, restored after every job of a batch.

    Cheap insurance against accidental cross-job pollution (``builtins.len = ...``); scripts in
    one batch share an interpreter, so it is no wall against a deliberate attacker — the
    validator is (it rejects the introspection this needs).
    """

    def __init__(self) -> None:
        self.modules = dict(sys.modules)
        self.dicts = [(vars(builtins), dict(vars(builtins)))] + [
            (vars(sys.modules[name]), dict(vars(sys.modules[name])))
            for name in ALLOWED_MODULES
            if name != "sys" and name in sys.modules
        ]

    def restore(self) -> None:
        # Unconditional: comparing first would call whatever __eq__ a script planted.
        for live, saved in self.dicts:
            live.clear()
            live.update(saved)
        sys.modules.clear()
        sys.modules.update(self.modules)


def serve_batch(
    jobs_fd: int, results_fd: int, limits: dict[str, int], core: str, core_code: CodeType | None
) -> None:
    """Read the batch, run it job by job under a per-job CPU budget, frame each result back."""
    jobs = read_batch(jobs_fd)
    cpu = int(limits["cpu"])
    confine.cpu_budget(cpu, cpu * len(jobs) + 1)
    snapshot = _Snapshot()
    for index, (script, text, params) in enumerate(jobs):
        confine.cpu_budget(cpu)
        kind, payload = run_one(script, text, params, core, core_code, int(limits["output"]))
        send(results_fd, index, kind, payload)
        del payload
        snapshot.restore()
        if kind == ERR:
            gc.collect()  # a failed job may have left a large cycle behind (memory bombs)


WARM_TEXT = "def f(a, b):\n    x = a + b\n    for i in range(3):\n        x += i\n    return x\n"
WARM_PREFIX = (
    "OPS = [('line', 0, 0, '', '@probe({{fn}})'), ('inline', 1, 4, '', 'tick()')]\n"
    "LINE_MARKER = '  # m:{{stamp}}'\nINLINE_OPEN = '/*m{*/'\nINLINE_CLOSE = '/*}m*/'\n"
)


def warm(core: str, core_code: CodeType | None) -> None:
    """Run a representative job once, so its copy-on-write page faults happen while idle."""
    if core_code is not None:
        run_one(WARM_PREFIX + core, WARM_TEXT, [["fn", "f"]], core, core_code, 1 << 20)


class Setup(NamedTuple):
    """What a child takes from the zygote: limits, the compiled core, the layers it must get."""

    parent: int
    limits: dict[str, int]
    core: str
    core_code: CodeType | None
    readable: tuple[str, ...]  # directories it may read (the stdlib, for lazy imports)
    required: frozenset[str]  # layers that must apply, or the child refuses to run
    disabled: frozenset[str]


def child_main(setup: Setup, jobs_r: int, results_w: int, tmp: str, spare: bool) -> NoReturn:
    """A freshly forked child of the zygote: tidy fds, confine, warm up, run one batch, exit."""
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()  # own process group: kill(0, ...) reaches nobody else
        null = os.open(os.devnull, os.O_RDWR)
        # 0-2 /dev/null, 3 the batch, 4 the results. Park the fds above 9 first so placing them
        # cannot clobber one another.
        fds = (null, null, null, jobs_r, results_w)
        for target, fd in enumerate([fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in fds]):
            os.dup2(fd, target)
        os.closerange(5, 1 << 16)
        confine.die_with_parent()
        if os.getppid() != setup.parent:
            os._exit(0)
        limits = setup.limits
        layers = confine.confine(
            tmp, limits["memory"], limits["files"], limits["fsize"], setup.readable,
            setup.required, setup.disabled,
        )  # fmt: skip
        # Fault in the pages a job touches while idle, not on the clock; skipped when a batch is
        # already waiting, since then warming would only delay it.
        if spare and not select.select([3], [], [], 0)[0]:
            warm(setup.core, setup.core_code)
        send(4, 0, READY, json.dumps(layers).encode())
        serve_batch(3, 4, limits, setup.core, setup.core_code)
        os._exit(0)
    except BaseException as exc:
        try:
            send(4, 0, FAULT, f"sandbox setup failed: {one_line(exc)}".encode())
        finally:
            os._exit(70)
