"""Calls a tiny function N times; prints nanoseconds per call (loop included)."""

import sys
import time


def tiny(x):
    return x + 1


def run(n):
    t0 = time.perf_counter_ns()
    x = 0
    for _ in range(n):
        x = tiny(x)
    return time.perf_counter_ns() - t0, x


if __name__ == "__main__":
    n = int(sys.argv[1])
    ns, x = run(n)
    assert x == n
    print(ns / n)
