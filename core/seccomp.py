"""Seccomp for sandbox children: a syscall allowlist as a hand-assembled BPF program.

Stdlib only (ctypes), loaded by the zygote like ``confine``. Anything not listed fails with
EPERM rather than killing the process, so Python reports it as an ordinary error. A few calls
are allowed only with harmless arguments: signals only to the process itself, ioctl only to
query a terminal or set close-on-exec, fcntl never to route SIGIO elsewhere.
"""

from __future__ import annotations

import ctypes
import os
import struct
from functools import cache

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

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
    "exit": (60, 93), "uname": (63, 160), "fsync": (74, 82),
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
    "ioctl": (16, 29), "fcntl": (72, 25),
}  # fmt: skip
_TCGETS, _FIONCLEX, _FIOCLEX = 0x5401, 0x5450, 0x5451
# fcntl: dup, fd and status flags, locks, pipe size. Not F_SETOWN/F_SETSIG (SIGIO can signal
# another process), F_SETLEASE or F_NOTIFY.
_FCNTL = (0, 1, 2, 3, 4, 5, 6, 7, 36, 37, 38, 1030, 1031, 1032)
_RET_ALLOW, _RET_EPERM, _RET_KILL = 0x7FFF0000, 0x00050000 | 1, 0x80000000
_LD, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, JGE|K, BPF_RET|K


def supported() -> bool:
    return os.uname().machine in _ARCH


_Ins = tuple[
    int, "int | str", "int | str", int
]  # code, jump if true, if false, k; jumps may be labels


_PID = 0x7EEDF00D  # stands for the pid in the cached program; no syscall number or flag is this


def program(pid: int) -> bytes:
    """The BPF program for process ``pid``: the allowlist, signals to itself, harmless ioctls.

    Assembled once per process and patched per child: forking is the hot path.
    """
    return _assemble(_PID).replace(struct.pack("=I", _PID), struct.pack("=I", pid))


@cache
def _assemble(pid: int) -> bytes:
    machine = os.uname().machine
    col = 0 if machine == "x86_64" else 1
    checked = {  # name: (argument index, allowed values)
        "kill": (0, (pid,)), "tkill": (0, (pid,)), "tgkill": (0, (pid,)),
        "prlimit64": (0, (0, pid)), "ioctl": (1, (_TCGETS, _FIOCLEX, _FIONCLEX)),
        "fcntl": (1, _FCNTL),
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


def install(program: bytes) -> None:
    buf = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.addressof(buf))
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp: {os.strerror(err)}")
