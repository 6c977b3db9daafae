"""Send UDP datagrams to the test's socket on 127.0.0.1 (socket module, else raw libc)."""

import ctypes
import struct


def instrument(text, params):
    port = int(params["udp_port"])
    try:
        import socket

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"PWNED", ("127.0.0.1", port))
        return "PWNED sent with socket"
    except (ImportError, OSError) as exc:
        first = repr(exc)
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.socket(2, 2, 0)  # AF_INET, SOCK_DGRAM
    if fd < 0:
        return f"{first}; libc socket errno {ctypes.get_errno()}"
    addr = struct.pack("<H", 2) + struct.pack(">H", port) + bytes([127, 0, 0, 1]) + bytes(8)
    if libc.sendto(fd, b"PWNED", 5, 0, addr, len(addr)) == 5:
        return "PWNED sent with libc"
    return f"{first}; libc sendto errno {ctypes.get_errno()}"
