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
from collections.abc import Iterable

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

NOBODY = 65534
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

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


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def unshare_network() -> str:
    """Move this process into a fresh network namespace (no interfaces, not even up loopback).

    Done once in the zygote so children inherit it for free. Returns "" or why it failed.
    """
    try:
        if os.geteuid() == 0:
            _check(_libc.unshare(CLONE_NEWNET), "unshare")
            return ""
        uid, gid = os.geteuid(), os.getegid()
        _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNET), "unshare")
        for name, text in (("uid_map", f"{uid} {uid} 1"), ("setgroups", "deny")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"{gid} {gid} 1")
        return ""
    except OSError as exc:
        return str(exc)


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


# --- seccomp: an allowlist; anything else fails with EPERM (soft, so Python reports it) ---

_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
# name: (x86_64, aarch64); None where the architecture lacks the call.
_NR: dict[str, tuple[int | None, int | None]] = {
    "read": (0, 63), "write": (1, 64), "open": (2, None), "close": (3, 57), "stat": (4, None),
    "fstat": (5, 80), "lstat": (6, None), "poll": (7, None), "lseek": (8, 62), "mmap": (9, 222),
    "mprotect": (10, 226), "munmap": (11, 215), "brk": (12, 214), "rt_sigaction": (13, 134),
    "rt_sigprocmask": (14, 135), "rt_sigreturn": (15, 139), "pread64": (17, 67),
    "pwrite64": (18, 68), "readv": (19, 65), "writev": (20, 66), "access": (21, None),
    "select": (23, None), "sched_yield": (24, 124), "mremap": (25, 216), "madvise": (28, 233),
    "dup": (32, 23), "dup2": (33, None), "nanosleep": (35, 101), "getpid": (39, 172),
    "exit": (60, 93), "uname": (63, 160), "fcntl": (72, 25), "fsync": (74, 82),
    "fdatasync": (75, 83), "truncate": (76, 45), "ftruncate": (77, 46), "getcwd": (79, 17),
    "chdir": (80, 49), "fchdir": (81, 50), "rename": (82, None), "mkdir": (83, None),
    "rmdir": (84, None), "link": (86, None), "unlink": (87, None), "symlink": (88, None),
    "readlink": (89, None), "umask": (95, 166), "gettimeofday": (96, 169),
    "getrlimit": (97, 163), "getrusage": (98, 165), "sysinfo": (99, 179), "times": (100, 153),
    "getuid": (102, 174), "getgid": (104, 176), "geteuid": (107, 175), "getegid": (108, 177),
    "getppid": (110, 173), "getpgrp": (111, None), "getresuid": (118, 148),
    "getresgid": (120, 150), "getpgid": (121, 155), "getsid": (124, 156),
    "rt_sigpending": (127, 136), "rt_sigtimedwait": (128, 137), "rt_sigsuspend": (130, 133),
    "sigaltstack": (131, 132), "statfs": (137, 43), "fstatfs": (138, 44), "gettid": (186, 178),
    "futex": (202, 98), "sched_getaffinity": (204, 123), "getdents64": (217, 61),
    "set_tid_address": (218, 96), "clock_gettime": (228, 113), "clock_getres": (229, 114),
    "clock_nanosleep": (230, 115), "exit_group": (231, 94), "openat": (257, 56),
    "mkdirat": (258, 34), "newfstatat": (262, 79), "unlinkat": (263, 35), "renameat": (264, 38),
    "linkat": (265, 37), "symlinkat": (266, 36), "readlinkat": (267, 78), "faccessat": (269, 48),
    "pselect6": (270, 72), "ppoll": (271, 73), "set_robust_list": (273, 99), "dup3": (292, 24),
    "renameat2": (316, 276), "getrandom": (318, 278), "statx": (332, 291), "rseq": (334, 293),
    "faccessat2": (439, 439), "setrlimit": (160, 164),
}  # fmt: skip
# Allowed only with one argument equal to one of the given values (own pid, or "self").
_ARG_NR: dict[str, tuple[int | None, int | None]] = {
    "kill": (62, 129), "tkill": (200, 130), "tgkill": (234, 131), "prlimit64": (302, 261),
    "ioctl": (16, 29),
}  # fmt: skip
_TCGETS, _FIONCLEX, _FIOCLEX = 0x5401, 0x5450, 0x5451
_RET_ALLOW, _RET_EPERM, _RET_KILL = 0x7FFF0000, 0x00050000 | 1, 0x80000000
_LD, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, JGE|K, BPF_RET|K


def seccomp_supported() -> bool:
    return os.uname().machine in _ARCH


_Ins = tuple[
    int, "int | str", "int | str", int
]  # code, jump if true, if false, k; jumps may be labels


def seccomp_filter(pid: int) -> bytes:
    """The BPF program: the allowlist above, signals only to ``pid``, ioctl only TCGETS/FIOCLEX."""
    machine = os.uname().machine
    col = 0 if machine == "x86_64" else 1
    checked = {  # name: (argument index, allowed values)
        "kill": (0, (pid,)), "tkill": (0, (pid,)), "tgkill": (0, (pid,)),
        "prlimit64": (0, (0, pid)), "ioctl": (1, (_TCGETS, _FIOCLEX, _FIONCLEX)),
    }  # fmt: skip
    head: list[_Ins] = [
        (_LD, 0, 0, 4),  # seccomp_data.arch
        (_JEQ, 1, 0, _ARCH[machine]),
        (_RET, 0, 0, _RET_KILL),
        (_LD, 0, 0, 0),  # seccomp_data.nr
    ]
    if machine == "x86_64":
        head.append((_JGE, "@kill", 0, 0x40000000))  # the x32 ABI
    head += [(_JEQ, "@allow", 0, nr) for nr in sorted(n for n, _ in _numbers(_NR, col))]
    checks: list[_Ins] = []
    starts: dict[str, int] = {}
    for nr, name in _numbers(_ARG_NR, col):
        arg, values = checked[name]
        head.append((_JEQ, name, 0, nr))
        starts[name] = len(checks)
        checks += [
            (_LD, 0, 0, 16 + 8 * arg + 4),  # high half of the argument (little-endian)
            (_JEQ, 0, "@deny", 0),
            (_LD, 0, 0, 16 + 8 * arg),
            *[(_JEQ, "@allow", 0, value) for value in values],
            (_RET, 0, 0, _RET_EPERM),
        ]
    head.append((_RET, 0, 0, _RET_EPERM))
    labels = {name: len(head) + at for name, at in starts.items()}
    end = len(head) + len(checks)
    labels.update({"@allow": end, "@deny": end + 1, "@kill": end + 2})
    program = [
        *head,
        *checks,
        (_RET, 0, 0, _RET_ALLOW),
        (_RET, 0, 0, _RET_EPERM),
        (_RET, 0, 0, _RET_KILL),
    ]
    out = bytearray()
    for i, (code, jt, jf, k) in enumerate(program):
        jt = labels[jt] - i - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - i - 1 if isinstance(jf, str) else jf
        if not (0 <= jt < 256 and 0 <= jf < 256):
            raise OSError(0, "seccomp program too long for 8-bit jumps")
        out += struct.pack("=HBBI", code, jt, jf, k)
    return bytes(out)


def _numbers(table: dict[str, tuple[int | None, int | None]], col: int) -> list[tuple[int, str]]:
    return [(nr, name) for name, row in table.items() if (nr := row[col]) is not None]


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def seccomp_install(program: bytes) -> None:
    buf = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.addressof(buf))
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")


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

    def attempt(name: str, step: object) -> object:
        if name in off:
            layers[name] = False
            return None
        try:
            result = step() if callable(step) else None
        except OSError as exc:
            if name in need:
                raise ConfineError(f"{name}: {exc}") from exc
            layers[name] = False
            return None
        layers[name] = True
        return result

    os.chdir(tmp)
    attempt("rlimits", lambda: set_rlimits(memory, open_files, file_bytes))
    abi = landlock_abi()
    ruleset = attempt(
        "landlock", lambda: landlock_ruleset(abi, tmp, readable) if abi else _no("landlock")
    )
    layers["uid_drop"] = bool(attempt("uid_drop", drop_uid))
    if layers["uid_drop"] is False and "uid_drop" in need:
        raise ConfineError("uid_drop: not root")
    no_new_privs()
    if isinstance(ruleset, int):
        attempt("landlock", lambda: landlock_restrict(ruleset))
        layers["landlock_abi"] = str(abi)
    pid = os.getpid()
    attempt(
        "seccomp",
        lambda: seccomp_install(seccomp_filter(pid)) if seccomp_supported() else _no("seccomp"),
    )
    return layers


def _no(name: str) -> None:
    raise OSError(0, f"{name} is not available on this kernel or architecture")
