"""Sandbox zygote: a warm process that forks one confined child per batch of scripts.

Started by ``sandbox.Sandbox`` as ``python -I -S -c BOOT`` with an empty environment and a
private temp dir as cwd; stdlib only. It enters a network namespace once, preloads the modules
scripts may use and compiles the script core, then serves requests from stdin: each batch goes
to a pre-forked, already confined and warmed child. The zygote enforces the per-job wall clock,
caps output, kills misbehaving children, and reports each result on stdout as it arrives.
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
import select
import shutil
import signal
import struct
import sys
import time
from types import CodeType
from typing import Any

from . import confine, seccomp, worker
from .worker import END, ERR, FAULT, HELLO, OK, READY

REQUEST = struct.Struct("!III")  # parent -> zygote: request id, number of jobs, batch length
REPLY = struct.Struct("!IIBI")  # zygote -> parent: request id, job index, kind, payload length
STARTUP_SECONDS = 5.0  # for a child still confining itself when its batch arrives
EXIT_SECONDS = 1.0  # for a child to exit after its last result (a finalizer could linger)
SLACK = 4096  # error lines and framing on top of the output cap
# Pipes this wide let a child stream a whole batch's results without waiting for the zygote
# to be scheduled (a 64 KiB pipe holds ~6 results of a 300-line function).
PIPE_BYTES = 1 << 20
JAIL_BYTES = 64 << 20  # all children's files together (RLIMIT_FSIZE only caps each file)


class _Child:
    """One forked child: a spare until it gets a batch (``rid`` >= 0), then busy until reaped."""

    def __init__(self, pid: int, results: int, jobs: int, tmp: str) -> None:
        self.pid = pid
        self.results = results  # read end of the child's result pipe
        self.jobs = jobs  # write end of its batch pipe; -1 once written
        self.tmp = tmp
        self.rid = -1
        self.count = 0
        self.next = 0  # index of the job running now
        self.deadline: float | None = None
        self.ready = False
        self.inbox = bytearray()
        self.outbox: memoryview | None = None
        self.status: int | None = None  # wait status once reaped
        self.eof = False
        self.reason = ""
        self.fault = False
        self.answered = False  # END sent: every result is in, its exit no longer matters

    @property
    def busy(self) -> bool:
        return self.rid >= 0 and not self.answered


def _widen(fd: int) -> None:
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:  # over /proc/sys/fs/pipe-max-size for an unprivileged user: default it is
        return


def death(status: int, cpu: int) -> str:
    """Why a child that had not finished its batch ended, in one line."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return f"exceeded its CPU time limit ({cpu} s)"
        if sig == signal.SIGSYS:
            return "made a forbidden system call"
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return f"killed by {name}"
    return f"script ended the process (exit status {os.WEXITSTATUS(status)})"


class Zygote:
    def __init__(self, config: dict[str, Any]) -> None:  # the JSON that sandbox.py sends
        self.limits: dict[str, int] = {k: int(v) for k, v in config["limits"].items()}
        self.wall = float(config["wall"])
        self.spares_wanted = int(config["spares"])
        self.disabled = frozenset(str(name) for name in config["disable"])
        self.base = os.getcwd()
        self.jail = os.path.join(self.base, "jail")  # the children's temp dirs go here
        os.mkdir(self.jail, 0o711)
        self.pid = os.getpid()
        self.namespaces = confine.isolate(
            self.jail, JAIL_BYTES, "netns" not in self.disabled, "tmpfs" not in self.disabled
        )
        for name in (*worker.ALLOWED_MODULES, "warnings"):
            __import__(name)
        if seccomp.supported():
            seccomp.program(0)  # assembled once here; each child only patches in its pid
        self.core = ""
        self.core_code: CodeType | None = None
        try:
            with open(str(config["core"]), encoding="utf-8") as f:
                self.core = f.read()
            self.core_code = compile(self.core, "<script core>", "exec")
        except (OSError, SyntaxError, ValueError):
            self.core = ""  # every script then compiles whole
        self.setup = worker.Setup(
            self.pid, self.limits, self.core, self.core_code, (os.path.dirname(os.__file__),),
            frozenset(), self.disabled,
        )  # fmt: skip
        self.hello_sent = False
        self.children: dict[int, _Child] = {}
        self.by_fd: dict[int, _Child] = {}
        self.spares: list[_Child] = []
        self.counter = 0
        self.inbox = bytearray()
        self.outbox: list[bytes] = []  # replies not yet written to the caller
        self.poll = select.poll()
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        _widen(0)  # requests from the caller
        _widen(1)  # replies to it
        self.poll.register(0, select.POLLIN)
        self.poll.register(self.wake_r, select.POLLIN)
        gc.collect()
        gc.freeze()  # keep the collector from touching (and so copying) the zygote's pages

    # --- children ---

    def spawn(self, spare: bool) -> _Child:
        self.counter += 1
        tmp = os.path.join(self.jail, f"c{self.counter}")
        os.mkdir(tmp, 0o700)  # handed to the child's uid by the child itself (see confine)
        jobs_r, jobs_w = os.pipe()
        results_r, results_w = os.pipe()
        for fd in (jobs_w, results_w):
            _widen(fd)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            worker.child_main(self.setup, jobs_r, results_w, tmp, spare)
        os.close(jobs_r)
        os.close(results_w)
        os.set_blocking(results_r, False)
        os.set_blocking(jobs_w, False)
        child = _Child(pid, results_r, jobs_w, tmp)
        self.children[pid] = child
        self.by_fd[results_r] = child
        self.poll.register(results_r, select.POLLIN)
        return child

    def kill(self, child: _Child, reason: str) -> None:
        if not child.reason:
            child.reason = reason
        child.deadline = None
        if child.status is None:  # not reaped, so the pid is still ours
            os.kill(child.pid, signal.SIGKILL)

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.children:
                self.children[pid].status = status

    def finish(self, child: _Child) -> None:
        if child.jobs >= 0:
            self._close(child.jobs)
            child.jobs = -1
        if child.busy:
            if child.fault:
                self.reply(child.rid, child.next, FAULT, child.reason)
            elif child.next >= child.count and not child.reason:
                self.reply(child.rid, child.count, END, "")
            else:
                reason = child.reason or death(child.status or 0, self.limits["cpu"])
                self.reply(child.rid, child.next, END, reason)
        elif child.fault and not self.hello_sent:
            self.hello({"error": child.reason})
        if child in self.spares:
            self.spares.remove(child)
        del self.children[child.pid]
        shutil.rmtree(child.tmp, ignore_errors=True)  # fd-based: never follows a planted symlink

    def _close(self, fd: int) -> None:
        if self.by_fd.pop(fd, None) is not None:
            self.poll.unregister(fd)
        os.close(fd)

    # --- protocol ---

    def reply(self, rid: int, index: int, kind: int, payload: bytes | str) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        self.outbox += (REPLY.pack(rid, index, kind, len(data)), data)

    def flush(self) -> None:
        """One write for everything this turn of the loop produced (often many results)."""
        out = memoryview(b"".join(self.outbox))
        self.outbox.clear()
        while out:
            out = out[os.write(1, out) :]

    def hello(self, layers: dict[str, object]) -> None:
        self.hello_sent = True
        info = {**self.namespaces, **layers, "python": sys.version.split()[0]}
        self.reply(0, 0, HELLO, json.dumps(info))

    def dispatch(self, rid: int, count: int, payload: bytes) -> None:
        while self.spares:
            child = self.spares.pop(0)
            if child.status is None and not child.eof:
                break
        else:
            try:
                child = self.spawn(spare=False)
            except OSError as exc:  # out of processes, memory or disk: not the scripts' fault
                self.reply(rid, 0, FAULT, f"sandbox could not start a child: {exc}")
                return
        child.rid, child.count = rid, count
        child.outbox = memoryview(worker.BATCH.pack(len(payload)) + payload)
        self.by_fd[child.jobs] = child
        self.poll.register(child.jobs, select.POLLOUT)
        child.deadline = time.monotonic() + (self.wall if child.ready else STARTUP_SECONDS)

    def top_up(self) -> None:
        try:
            while len(self.spares) < self.spares_wanted:
                self.spares.append(self.spawn(spare=True))
        except OSError as exc:  # no spare this time; dispatch forks on demand (and reports)
            print(f"sandbox: cannot fork a spare: {exc}", file=sys.stderr)

    def on_results(self, child: _Child) -> None:
        try:
            data = os.read(child.results, PIPE_BYTES)
        except BlockingIOError:
            return
        if not data:
            child.eof = True
            self._close(child.results)
            return
        if child.reason:
            return  # being killed; whatever else it says does not count
        child.inbox += data
        cap = self.limits["output"] + SLACK
        while len(child.inbox) >= worker.FRAME.size and not child.reason:
            index, kind, length = worker.FRAME.unpack_from(child.inbox)
            if not self.expected(child, index, kind):
                self.kill(child, "script corrupted the sandbox's result channel")
                return
            if length > cap:
                self.kill(child, f"output exceeds the {self.limits['output']} byte limit")
                return
            end = worker.FRAME.size + length
            if len(child.inbox) < end:
                return
            payload = bytes(child.inbox[worker.FRAME.size : end])
            del child.inbox[:end]
            self.on_frame(child, index, kind, payload)

    def expected(self, child: _Child, index: int, kind: int) -> bool:
        if kind == READY:
            return not child.ready
        if kind in (OK, ERR):
            return child.ready and child.rid >= 0 and index == child.next
        return kind == FAULT

    def on_frame(self, child: _Child, index: int, kind: int, payload: bytes) -> None:
        if kind == READY:
            child.ready = True
            if not self.hello_sent:
                layers = json.loads(payload)
                # Every later child must get the layers the first one got, or refuse to run.
                required = frozenset(k for k, v in layers.items() if v is True)
                self.setup = self.setup._replace(required=required)
                self.hello(layers)
            if child.rid >= 0:
                child.deadline = time.monotonic() + self.wall
        elif kind == FAULT:
            child.fault = True
            self.kill(child, payload.decode("utf-8", "replace"))
        else:
            self.reply(child.rid, index, kind, payload)
            child.next += 1
            child.deadline = time.monotonic() + self.wall if child.next < child.count else None
            if child.next == child.count:  # answer now, not after the exit and the reaping
                self.reply(child.rid, child.count, END, "")
                child.answered = True
                child.deadline = time.monotonic() + EXIT_SECONDS  # then it must go

    def on_request(self) -> bool:
        data = os.read(0, PIPE_BYTES)
        if not data:
            return False
        self.inbox += data
        while len(self.inbox) >= REQUEST.size:
            rid, count, length = REQUEST.unpack_from(self.inbox)
            if len(self.inbox) < REQUEST.size + length:
                break
            payload = bytes(self.inbox[REQUEST.size : REQUEST.size + length])
            del self.inbox[: REQUEST.size + length]
            self.dispatch(rid, count, payload)
        return True

    def on_writable(self, child: _Child) -> None:
        try:
            sent = os.write(child.jobs, child.outbox) if child.outbox is not None else 0
        except BlockingIOError:
            return
        except BrokenPipeError:
            sent = len(child.outbox or b"")
        child.outbox = child.outbox[sent:] if child.outbox is not None else None
        if not child.outbox:
            child.outbox = None
            self._close(child.jobs)
            child.jobs = -1

    # --- loop ---

    def serve(self) -> None:
        self.top_up()
        if not self.spares:  # one child anyway: its READY says which layers work (describe)
            self.spares.append(self.spawn(spare=True))
        while True:
            now = time.monotonic()
            for child in list(self.children.values()):
                if child.deadline is not None and now >= child.deadline:
                    self.kill(child, f"timed out after {self.wall} s")
            deadlines = [c.deadline for c in self.children.values() if c.deadline is not None]
            timeout = max(0, int((min(deadlines) - now) * 1000) + 1) if deadlines else None
            self.flush()  # e.g. the hello
            for fd, _ in self.poll.poll(timeout):
                if fd == 0:
                    if not self.on_request():
                        return self.shutdown()
                elif fd == self.wake_r:
                    while True:
                        try:
                            if not os.read(fd, 512):
                                break
                        except BlockingIOError:
                            break
                elif (owner := self.by_fd.get(fd)) is not None:
                    if fd == owner.results:
                        self.on_results(owner)
                    else:
                        self.on_writable(owner)
            self.reap()
            for child in list(self.children.values()):
                if child.eof and child.status is not None:
                    self.finish(child)
            self.flush()  # before forking a spare, which takes a while
            if not any(child.busy for child in self.children.values()):
                self.top_up()  # fork spares while idle, not while a batch waits on the zygote

    def shutdown(self) -> None:
        """The caller closed the pipe (or died): kill the children and leave nothing behind.

        Done here, not only by the caller, since a caller may end without running finalizers
        (multiprocessing workers leave through os._exit).
        """
        for child in list(self.children.values()):
            self.kill(child, "sandbox closed")
        for child in list(self.children.values()):
            if child.status is None:
                _, child.status = os.waitpid(child.pid, 0)
        if self.namespaces["tmpfs"]:
            confine.unmount(self.jail)
        shutil.rmtree(self.base, ignore_errors=True)


def main() -> None:
    Zygote(json.loads(sys.argv[1])).serve()
