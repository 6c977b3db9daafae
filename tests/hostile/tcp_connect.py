"""Open a TCP connection to the test's listener on 127.0.0.1 (socket module, else raw libc)."""

import ctypes
import struct


def instrument(text, params):
    port = int(params["port"])
    try:
        import socket

        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PWNED")
        return "PWNED connected with socket"
    except (ImportError, OSError) as exc:
        first = repr(exc)
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.socket(2, 1, 0)  # AF_INET, SOCK_STREAM
    if fd < 0:
        return f"{first}; libc socket errno {ctypes.get_errno()}"
    addr = struct.pack("<H", 2) + struct.pack(">H", port) + bytes([127, 0, 0, 1]) + bytes(8)
    if libc.connect(fd, addr, len(addr)) == 0:
        libc.write(fd, b"PWNED", 5)
        return "PWNED connected with libc"
    return f"{first}; libc connect errno {ctypes.get_errno()}"
