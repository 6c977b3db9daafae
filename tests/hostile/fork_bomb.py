"""Fork bomb: every process keeps forking (bounded at 64 forks each, so a broken sandbox
cannot take the machine down with it); the children linger to hold process slots."""

import os
import time


def instrument(text, params):
    forked = 0
    for _ in range(64):
        pid = os.fork()
        if pid == 0:
            time.sleep(5)
            os._exit(0)
        forked += 1
    return f"PWNED forked {forked} processes"
