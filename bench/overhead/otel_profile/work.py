"""The function the otel profile instruments (see driver.py)."""


def tiny(x):
    return x + 1
