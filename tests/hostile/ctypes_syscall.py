"""Raw system calls through ctypes: setuid(0), unshare, ptrace, mount, and turning seccomp off."""

import ctypes


def instrument(text, params):
    libc = ctypes.CDLL(None, use_errno=True)
    calls = {
        "setuid(0)": lambda: libc.setuid(0),
        "unshare(NEWUSER)": lambda: libc.unshare(0x10000000),
        "ptrace(ATTACH, 1)": lambda: libc.ptrace(16, 1, 0, 0),
        "mount(tmpfs)": lambda: libc.mount(b"none", b".", b"tmpfs", 0, None),
        "prctl(SET_SECCOMP, 0)": lambda: libc.prctl(22, 0, 0, 0, 0),
        "socket(AF_INET)": lambda: libc.socket(2, 1, 0),
        "syscall(socket)": lambda: libc.syscall(41, 2, 1, 0),
        "memfd_create": lambda: libc.memfd_create(b"x", 0),
    }
    report = []
    for name, call in calls.items():
        result = call()
        report.append(
            f"{'PWNED ' if result >= 0 else ''}{name} = {result} errno {ctypes.get_errno()}"
        )
    return "\n".join(report)
