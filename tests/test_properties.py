"""Engine properties on mutated real files in every language: whatever the input (broken code
included), strip gives back the input exactly and the output has no more syntax errors than the
input; where the input parses, instrumenting is idempotent. Every probe is on (function, loop,
var, args, return). (Where it does not, tree-sitter's
error recovery may read the instrumented text differently, so a function skipped for being in
an error region can be taken on a second run.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telemetry_inject.core import language
from telemetry_inject.core.analyze import parse
from telemetry_inject.core.engine import Engine, Options
from telemetry_inject.core.reconstruct import error_count
from telemetry_inject.core.types import PROBES

SOURCES = sorted(
    p
    for p in EXAMPLES.rglob("*")
    if p.is_file() and language.for_path(p.name) is not None and "node_modules" not in p.parts
)
JUNK = ["}", "{", "(", ")", "def", "function", "fn", "end", "\t", " ", ";", '"', "'", "\\",
        "/*", "*/", "#", "//", "😀", "é", "\r\n", "\n", "<?php", "return", "=>", ":"]  # fmt: skip


@pytest.fixture(scope="module")
def engine() -> Engine:
    eng = Engine(Options(probes=frozenset(PROBES)))
    yield eng
    eng.close()


@st.composite
def mutated(draw: st.DrawFn, path: Path) -> bytes:
    lines = path.read_text("utf-8").splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 3))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        j = draw(st.integers(i, min(len(lines), i + 6)))
        kind = draw(st.sampled_from(["delete", "duplicate", "junk", "crlf"]))
        if kind == "delete":
            del lines[i:j]
        elif kind == "duplicate":
            lines[i:i] = lines[i:j]
        elif kind == "junk":
            col = draw(st.integers(0, len(lines[i])))
            bit = "".join(draw(st.lists(st.sampled_from(JUNK), min_size=1, max_size=4)))
            lines[i] = lines[i][:col] + bit + lines[i][col:]
        else:
            lines[i:j] = [line.replace("\n", "\r\n") for line in lines[i:j]]
    return "".join(lines).encode("utf-8")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_instrument_strip_round_trip_on_mutations(path: Path, engine: Engine) -> None:
    spec = language.for_path(path.name)
    assert spec is not None
    relpath = path.relative_to(EXAMPLES).as_posix()

    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    @given(mutated(path))
    def check(source: bytes) -> None:
        once = engine.instrument(source, relpath, spec)
        assert engine.strip(once.new_text.encode(), relpath, spec).new_text.encode() == source
        before = error_count(parse(spec, source))
        assert error_count(parse(spec, once.new_text.encode())) <= before
        if before == 0:
            twice = engine.instrument(once.new_text.encode(), relpath, spec)
            assert twice.new_text == once.new_text

    check()
