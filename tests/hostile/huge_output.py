"""Huge output: return a 100 MB string to flood the caller."""


def instrument(text, params):
    return "x" * (100 << 20)
