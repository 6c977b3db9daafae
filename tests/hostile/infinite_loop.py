"""Infinite loop: never returns (stopped by the CPU limit or the wall clock)."""


def instrument(text, params):
    while True:
        pass
