"""Poison the interpreter for the scripts after it in the same batch: patch builtins,
replace a module in sys.modules, monkeypatch str-handling helpers."""

import builtins
import json
import sys


def instrument(text, params):
    builtins.len = lambda obj: 0
    builtins.sorted = lambda *a, **k: []
    json.dumps = lambda *a, **k: "PWNED"
    sys.modules["textwrap"] = json
    return text
