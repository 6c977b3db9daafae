"""Connect to the test's Unix sockets: a world-connectable path and an abstract name."""

import ctypes
import struct


def instrument(text, params):
    libc = ctypes.CDLL(None, use_errno=True)
    report = []
    for name in (params["unix_path"].encode(), b"\0" + params["abstract"].encode()):
        fd = libc.socket(1, 1, 0)  # AF_UNIX, SOCK_STREAM
        if fd < 0:
            report.append(f"socket errno {ctypes.get_errno()}")
            continue
        addr = struct.pack("<H", 1) + name + bytes(108 - len(name))
        if libc.connect(fd, addr, len(addr)) == 0:
            libc.write(fd, b"PWNED", 5)
            report.append(f"PWNED connected to {name!r}")
        else:
            report.append(f"connect errno {ctypes.get_errno()}")
    return "\n".join(report)
