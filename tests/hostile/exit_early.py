"""End the process mid-batch without an error: os._exit(0) from inside instrument()."""

import os


def instrument(text, params):
    os._exit(0)
