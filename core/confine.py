"""Kernel confinement for sandbox children: namespaces, rlimits, uid drop, Landlock, seccomp.

Stdlib only (ctypes over raw syscalls, since ``os.unshare`` needs Python 3.12), because the
sandbox's zygote loads this file without the package's dependencies. Every layer is optional:
what the kernel refuses is reported, and only a layer the caller *requires* is fatal.
"""

from __future__ import annotations

import ctypes
import math
import os
import resource
import struct
from collections.abc import Callable, Iterable
from typing import TypeVar

from . import seccomp

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

T = TypeVar("T")
NOBODY = 65534
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 1 << 14, 1 << 18
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38

# Landlock (linux/landlock.h); these syscall numbers are the same on every architecture.
_LL_CREATE, _LL_ADD_RULE, _LL_RESTRICT = 444, 445, 446
_LL_VERSION = 1
_LL_RULE_PATH_BENEATH = 1
_FS_EXECUTE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 2, 1 << 3
_FS_MAKE_CHAR, _FS_MAKE_BLOCK, _FS_IOCTL_DEV = 1 << 6, 1 << 11, 1 << 15
_NET_ALL = (1 << 0) | (1 << 1)  # bind and connect TCP
_SCOPE_ALL = (1 << 0) | (1 << 1)  # abstract unix sockets and signals outside the domain


class ConfineError(Exception):
    """A required confinement layer could not be applied."""


def _check(result: int, what: str, soft: bool = False) -> int:
    if result < 0 and not soft:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def isolate(jail: str, jail_bytes: int, network: bool, tmpfs: bool) -> dict[str, bool]:
    """Once, in the zygote (children inherit it for free): a network namespace with no
    interfaces, and a private mount namespace with a size-capped tmpfs at ``jail``, where the
    children's temp dirs live, so writing files cannot fill the host's disk.

    Root unshares directly; anyone else first enters a user namespace mapping only their own ids.
    """
    done = {"netns": False, "tmpfs": False}
    try:
        if os.geteuid() != 0 and (network or tmpfs):
            uid, gid = os.geteuid(), os.getegid()
            _check(_libc.unshare(CLONE_NEWUSER), "unshare(user)")
            for name, text in (("uid_map", f"{uid} {uid} 1"), ("setgroups", "deny")):
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
            with open("/proc/self/gid_map", "w") as f:
                f.write(f"{gid} {gid} 1")
    except OSError:
        return done
    if network:
        done["netns"] = _check(_libc.unshare(CLONE_NEWNET), "unshare(net)", soft=True) == 0
    if tmpfs and _check(_libc.unshare(CLONE_NEWNS), "unshare(mount)", soft=True) == 0:
        # Private first, so the tmpfs never propagates back into the caller's mount namespace.
        private = _libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) == 0
        options = f"size={jail_bytes},nr_inodes=4096,mode=0711".encode()
        flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
        done["tmpfs"] = (
            private and _libc.mount(b"tmpfs", jail.encode(), b"tmpfs", flags, options) == 0
        )
    return done


def unmount(path: str) -> None:
    _libc.umount2(path.encode(), 2)  # MNT_DETACH; best effort, on the way out


def landlock_abi() -> int:
    abi = _libc.syscall(_LL_CREATE, None, 0, _LL_VERSION)
    return abi if abi > 0 else 0


def set_rlimits(memory: int, open_files: int, file_bytes: int) -> None:
    """Everything but CPU, which the batch loop sets per job (see ``cpu_budget``)."""
    for res, value in (
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_NOFILE, open_files),
        (resource.RLIMIT_FSIZE, file_bytes),
        (resource.RLIMIT_NPROC, 0),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_MEMLOCK, 0),
        (resource.RLIMIT_MSGQUEUE, 0),
    ):
        resource.setrlimit(res, (value, value))


def cpu_budget(seconds: int, hard_seconds: int | None = None) -> None:
    """Allow ``seconds`` more CPU from now (SIGXCPU), and at most ``hard_seconds`` (SIGKILL).

    The hard limit can only go down once the uid is dropped, so it is set per batch.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = math.ceil(usage.ru_utime + usage.ru_stime)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard_seconds is not None:
        hard = (
            used + hard_seconds
            if hard == resource.RLIM_INFINITY
            else min(hard, used + hard_seconds)
        )
    soft = used + seconds if hard == resource.RLIM_INFINITY else min(used + seconds, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def die_with_parent() -> None:
    _check(_libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0), "prctl(PDEATHSIG)")


def drop_uid() -> bool:
    """Become nobody when root; drop every capability either way (a user namespace grants some)."""
    dropped = False
    if os.geteuid() == 0:
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
        dropped = True
    header = struct.pack("=Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = ctypes.create_string_buffer(24)  # two zeroed __user_cap_data_struct
    _check(_libc.capset(header, data), "capset")
    return dropped


def no_new_privs() -> None:
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def landlock_ruleset(abi: int, writable: str, readable: Iterable[str]) -> int:
    """A ruleset fd: full access beneath ``writable``, read-only beneath ``readable``, nothing else.

    Also denies TCP bind/connect (ABI 4) and signals and abstract sockets across the domain
    (ABI 6). Built before the uid drop so it can open directories nobody cannot reach.
    """
    fs = (1 << {1: 13, 2: 14, 3: 15, 4: 15}.get(abi, 16)) - 1
    attr = _RulesetAttr(fs, _NET_ALL if abi >= 4 else 0, _SCOPE_ALL if abi >= 6 else 0)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = _check(_libc.syscall(_LL_CREATE, ctypes.byref(attr), size, 0), "landlock_create")
    try:
        write = fs & ~(_FS_EXECUTE | _FS_MAKE_CHAR | _FS_MAKE_BLOCK | _FS_IOCTL_DEV)
        rules = [(writable, write)] + [
            (path, _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR) for path in readable
        ]
        for path, access in rules:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = _PathBeneath(access, fd)
                _check(
                    _libc.syscall(
                        _LL_ADD_RULE, ruleset, _LL_RULE_PATH_BENEATH, ctypes.byref(rule), 0
                    ),
                    "landlock_add_rule",
                )
            finally:
                os.close(fd)
    except BaseException:
        os.close(ruleset)
        raise
    return ruleset


def landlock_restrict(ruleset: int) -> None:
    try:
        _check(_libc.syscall(_LL_RESTRICT, ruleset, 0), "landlock_restrict_self")
    finally:
        os.close(ruleset)


def confine(
    tmp: str, memory: int, open_files: int, file_bytes: int, readable: Iterable[str],
    required: Iterable[str] = (), disabled: Iterable[str] = (),
) -> dict[str, bool | str]:  # fmt: skip
    """Apply every available layer to this (freshly forked, single-threaded) process.

    Order matters: the Landlock ruleset is built while still privileged, the uid is dropped,
    no_new_privs allows unprivileged Landlock and seccomp, and seccomp comes last because it
    forbids most of what the earlier steps need. A layer in ``required`` that fails raises
    ConfineError; any other failure is recorded as False.
    """
    need, off = set(required), set(disabled)
    layers: dict[str, bool | str] = {}

    def attempt(name: str, step: Callable[[], T]) -> T | None:
        if name in off:
            layers[name] = False
            return None
        try:
            result = step()
        except OSError as exc:
            if name in need:
                raise ConfineError(f"{name}: {exc}") from exc
            layers[name] = False
            return None
        layers[name] = True
        return result

    os.chdir(tmp)
    if os.geteuid() == 0 and "uid_drop" not in off:
        # Given away only after entering it: root without CAP_DAC_OVERRIDE (a trimmed
        # container) cannot enter a 0700 folder it no longer owns.
        os.chown(".", NOBODY, NOBODY)
    attempt("rlimits", lambda: set_rlimits(memory, open_files, file_bytes))
    abi = landlock_abi()
    ruleset = attempt("landlock", lambda: landlock_ruleset(abi, tmp, readable) if abi else _no())
    layers["uid_drop"] = attempt("uid_drop", drop_uid) is True
    if not layers["uid_drop"] and "uid_drop" in need:
        raise ConfineError("uid_drop: no longer root")
    no_new_privs()
    if ruleset is not None:
        attempt("landlock", lambda: landlock_restrict(ruleset))
        layers["landlock_abi"] = str(abi)
    pid = os.getpid()
    attempt(
        "seccomp", lambda: seccomp.install(seccomp.program(pid)) if seccomp.supported() else _no()
    )
    return layers


def _no() -> int:
    raise OSError(0, "not available on this kernel or architecture")
