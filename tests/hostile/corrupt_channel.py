"""Corrupt the sandbox's result channel: write forged bytes to every file descriptor that
might be the pipe back to the zygote, then close them."""

import os


def instrument(text, params):
    failures = []
    for fd in range(3, 32):
        try:
            os.write(fd, b"PWNED" * 20)
            os.close(fd)
        except OSError as exc:
            failures.append(exc)
    return text
