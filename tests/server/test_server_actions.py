"""Which function a position is in, or on the signature of: the innermost whose region (its
marker lines above included) holds it, checked at every offset against the definition."""

from __future__ import annotations

import pytest
from telemetry_inject.core import analyze, language
from telemetry_inject.core.analyze import Analysis
from telemetry_inject.core.types import FunctionInfo
from telemetry_inject.server.actions import function_at, signature_at

SOURCES = {  # marker lines above definitions (part of their region), nesting, one-liners
    "python": (
        "import x\n\n"
        "class Shop:\n"
        '    @_tel.probe("Shop.add", "a.py", 3)  # telemetry-inject:0badc0de\n'
        "    def add(self, item, n=1):\n"
        "        def inner(x): return x\n"
        "        return inner(item)\n\n"
        "def top(a,\n        b):\n    return b\r\n"
    ),
    "javascript": (
        "function twice(x) { return x * 2; }\n"
        "class Cart {\n  add(item) {\n    const f = (a) => { return a; };\n"
        "    return f(item);\n  }\n}\n"
    ),
}


def innermost(analysis: Analysis, holds: list[bool]) -> FunctionInfo | None:
    """The deepest function that holds the position; the first of equal depth."""
    best = None
    for f, h in zip(analysis.functions, holds, strict=True):
        if h and (best is None or f.depth > best.depth):
            best = f
    return best


@pytest.mark.parametrize("lang", sorted(SOURCES))
def test_function_and_signature_at_every_offset(lang: str) -> None:
    text = SOURCES[lang]
    a = analyze.analyze(language.get(lang), text.encode())
    assert a.functions
    lo = {f.id: a.line_starts[a.region_start_row(f)] for f in a.functions}
    hi = {
        f.id: max(
            f.span.start + len(a.source[f.span.start : f.body.start].rstrip()), f.name_span.end
        )
        for f in a.functions
    }
    for p in range(len(a.source) + 1):
        for q in (p, min(p + 5, len(a.source))):
            holds = [lo[f.id] <= p and q <= f.span.end for f in a.functions]
            assert function_at(a, p, q) == innermost(a, holds), (p, q)
        on_signature = [lo[f.id] <= p <= hi[f.id] for f in a.functions]
        assert signature_at(a, p) == innermost(a, on_signature), p
