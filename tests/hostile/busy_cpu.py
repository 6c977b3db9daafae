"""Busy CPU that ignores SIGXCPU, so the soft CPU limit alone cannot stop it."""

import signal


def instrument(text, params):
    signal.signal(signal.SIGXCPU, signal.SIG_IGN)
    x = 1
    while True:
        x = x * 48271 % 2147483647
