"""Sleep past the deadline: no CPU used, so only the wall clock can stop it."""

import time


def instrument(text, params):
    time.sleep(3600)
    return text
