"""A small program: a function, a class with a nested function, one that raises."""

import sys


def add(a, b):
    return a + b


class Greeter:
    def greet(self, name):
        def shout(text):
            return text.upper()

        return shout("hi " + name)


def fail():
    raise ValueError("boom")


if __name__ == "__main__":
    print(add(1, 2), Greeter().greet("ann"))
    try:
        fail()
    except ValueError as exc:
        print("caught", exc, file=sys.stderr)
