"""Engine contracts on real text: structure, idempotency, round trips, cache keys, containment."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from telemetry_inject.core import language
from telemetry_inject.core.analyze import analyze
from telemetry_inject.core.engine import Engine, Options, is_stale
from telemetry_inject.core.sandbox import Limits
from telemetry_inject.core.scripts import Script
from telemetry_inject.core.types import Status

PY = b'''#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Module docstring."""
from __future__ import annotations

import os

CONSTANT = "caf\xc3\xa9 \xf0\x9f\x98\x80"  # non-ASCII before the functions


class Greeter:
    def __init__(self, name):
        self.name = name

    @classmethod
    def make(cls):
        return cls("x")

    def greet(self):
        def shout(text):
            return text.upper()
        return shout(f"hi {self.name}")


def broken_later(): return 1
'''


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = Engine(Options(cache_dir=tmp_path / "cache", limits=Limits(wall_seconds=2.0)))
    yield eng
    eng.close()


def _instrument(engine: Engine, source: bytes, path: str = "pkg/mod.py"):
    return engine.instrument(source, path, language.for_path(path))


def test_structure_and_prologue(engine: Engine) -> None:
    out = _instrument(engine, PY)
    text = out.new_text
    ast.parse(text)
    lines = text.splitlines()
    # shebang, coding line, docstring and the __future__ import stay first
    assert lines[:4] == PY.decode().splitlines()[:4]
    assert lines[4] == ""
    assert lines[5].startswith("try: from . import _telemetry_utils")
    assert lines[7] == "import os"
    assert {str(f.id) for f in out.functions} == {
        "Greeter.__init__",
        "Greeter.make",
        "Greeter.greet",
        "Greeter.greet.shout",
        "broken_later",
    }
    assert all(f.status is Status.INSTRUMENTED for f in out.functions)
    # the decorator goes below @classmethod, so it wraps the plain function
    i = lines.index("    @classmethod")
    assert lines[i + 1].lstrip().startswith('@_tel.probe("Greeter.make", "pkg/mod.py", 16)')
    # edits are pure insertions, one per insertion point
    assert all(e.start == e.end and e.text for e in out.edits)
    assert len(out.edits) == 6


def test_idempotent_and_strip_restores_bytes(engine: Engine) -> None:
    once = _instrument(engine, PY)
    twice = _instrument(engine, once.new_text.encode())
    assert twice.new_text == once.new_text
    assert twice.stats["skipped"] == 5 and twice.stats["instrumented"] == 0
    stripped = engine.strip(once.new_text.encode(), "pkg/mod.py")
    assert stripped.new_text.encode() == PY


def test_crlf_and_tabs_round_trip(engine: Engine) -> None:
    src = (
        b"def a(x):\r\n\tif x:\r\n\t\treturn 1\r\n\treturn 2\r\n\r\n"
        b"class K:\r\n\tdef m(self): pass\r\n"
    )
    out = _instrument(engine, src, "k.py")
    assert "\r\n" in out.new_text and "\n" not in out.new_text.replace("\r\n", "")
    assert '\t@_tel.probe("K.m"' in out.new_text
    assert engine.strip(out.new_text.encode(), "k.py").new_text.encode() == src


def test_original_lines_survive_partial_instrumentation(engine: Engine) -> None:
    src = PY
    only_greet = engine.instrument(
        src, "m.py", language.for_path("m.py"), select=lambda f: f.name == "greet"
    )
    rest = engine.instrument(only_greet.new_text.encode(), "m.py", language.for_path("m.py"))
    full = _instrument(engine, src, "m.py")
    # line numbers baked in refer to the original file, whatever was inserted above
    for line in full.new_text.splitlines():
        if "_tel.probe(" in line:
            assert line in rest.new_text


def test_syntax_errors_are_skipped_not_spread(engine: Engine) -> None:
    src = b"def good():\n    return 1\n\ndef bad(:\n    return 2\n"
    out = _instrument(engine, src, "e.py")
    status = {str(f.id): f.status for f in out.functions}
    assert status.get("good") is Status.INSTRUMENTED
    assert '@_tel.probe("good"' in out.new_text
    assert out.new_text.count("telemetry-inject:") == 1


def test_cache_hits_on_unchanged_and_misses_on_changed_body(engine: Engine) -> None:
    first = _instrument(engine, PY)
    assert {f.cache for f in first.functions} == {"miss"}
    second = _instrument(engine, PY)
    assert {f.cache for f in second.functions} == {"hit"}
    edited = PY.replace(b'return cls("x")', b'return cls("y")')
    third = _instrument(engine, edited)
    cache = {str(f.id): f.cache for f in third.functions}
    assert cache.pop("Greeter.make") == "miss"
    assert set(cache.values()) == {"hit"}
    # the key covers the exact function text: the edited function got a new key
    keys = {str(f.id): f.key for f in first.functions}
    assert {str(f.id): f.key for f in third.functions}["Greeter.make"] != keys["Greeter.make"]
    entry = engine.cache.peek(keys["Greeter.greet"])
    assert entry is not None and entry.source == "template" and entry.hits >= 1
    readable = engine.cache.materialize(entry)
    assert readable is not None and readable.read_text() == entry.text


def test_hover_status_and_staleness(engine: Engine) -> None:
    spec = language.get("python")
    out = _instrument(engine, PY)
    analysis = analyze(spec, out.new_text.encode())
    make = next(f for f in analysis.functions if f.name == "make")
    assert make.instrumented and not is_stale(analysis, make)
    status = engine.script_status(analysis, make, "pkg/mod.py")
    assert status.entry is not None and status.key == status.entry.key
    edited = out.new_text.replace('cls("x")', 'cls("z")').encode()
    analysis = analyze(spec, edited)
    make = next(f for f in analysis.functions if f.name == "make")
    assert is_stale(analysis, make)


def test_poisoned_cache_is_rejected_and_contained(engine: Engine) -> None:
    first = _instrument(engine, PY)
    keys = {str(f.id): f.key for f in first.functions}
    engine.cache.clear()
    hostile = "def instrument(text, params):\n    return open('/etc/passwd').read()\n"
    engine.cache.store(Script(keys["Greeter.make"], hostile, "template"), "Greeter.make", "python")
    looping = "def instrument(text, params):\n    while True:\n        pass\n"
    engine.cache.store(
        Script(keys["Greeter.greet"], looping, "template"), "Greeter.greet", "python"
    )
    out = _instrument(engine, PY)
    by = {str(f.id): f for f in out.functions}
    assert by["Greeter.make"].status is Status.FAILED
    assert "rejected" in by["Greeter.make"].reason and "open" in by["Greeter.make"].reason
    assert by["Greeter.greet"].status is Status.FAILED
    assert "time" in by["Greeter.greet"].reason
    for name in ("Greeter.__init__", "Greeter.greet.shout", "broken_later"):
        assert by[name].status is Status.INSTRUMENTED
    ast.parse(out.new_text)


def test_a_script_that_deletes_text_is_refused(engine: Engine) -> None:
    first = _instrument(engine, PY)
    key = next(f.key for f in first.functions if str(f.id) == "broken_later")
    engine.cache.clear()
    eraser = "def instrument(text, params):\n    return text.replace('return 1', 'return 2')\n"
    engine.cache.store(Script(key, eraser, "template"), "broken_later", "python")
    out = _instrument(engine, PY)
    failed = [f for f in out.functions if f.status is Status.FAILED]
    assert [str(f.id) for f in failed] == ["broken_later"]
    assert "return 1" in out.new_text
