"""The shifted function index equals a fresh analysis after every edit, for every language
that has one here; and it is actually used when typing inside function bodies."""

from __future__ import annotations

import random
from dataclasses import fields

import pytest
from lsprotocol import types as lsp
from telemetry_inject.core import analyze, language
from telemetry_inject.server import convert
from telemetry_inject.server.documents import Document, Location

SOURCES = {
    "python": (
        "a.py",
        "try: from . import _telemetry_utils as _tel  # telemetry-inject\n"
        "except ImportError: import _telemetry_utils as _tel  # telemetry-inject\n"
        '"""Doc."""\n\n\n'
        "class Shop:\n"
        '    @_tel.probe("Shop.add", "a.py", 3)  # telemetry-inject:0badc0de\n'
        "    def add(self, item, n=1):\n"
        "        total = n * 2\n"
        "        def inner(x):\n"
        "            return x + total  # 😀\n"
        "        return inner(item)\n\n"
        "    async def get(self):\n"
        "        '''Docstring.'''\n"
        "        return [i for i in range(3)]\n\n\n"
        "def top(a, b):\n    if a:\n        return b\r\n    return a\n\n\n"
        "def outer():\n    class Local:\n        def m(self):\n            return 1\n"
        "    return Local().m()\n",
    ),
    "javascript": (
        "a.js",
        'const note = "😀"; function twice(x) { return x * 2; }\n'
        "class Cart {\n  add(item) {\n    const n = item.n;\n    return n + 1;\n  }\n}\n"
        "const f = (a) => {\n  if (a) {\n    return a;\n  }\n  return 0;\n};\n"
        "function outer() {\n  class Local {\n    m() {\n      return 1;\n    }\n  }\n"
        "  return new Local().m();\n}\n",
    ),
    "go": (
        "a.go",
        'package main\n\nimport "fmt"\n\ntype shop struct{ n int }\n\n'
        "func (s *shop) add(n int) int {\n\ts.n += n\n\treturn s.n\n}\n\n"
        'func main() {\n\tf := func() int { return 1 }\n\tfmt.Println(f(), "😀")\n}\n',
    ),
}
TYPING = ["x", " ", "1", "😀", " + 1", "()", "name.attr"]  # what typing mostly is
BREAKING = ["(", ")", "{", "}", ":", "\n", "\n    ", "\t", "def ", "return ", "'", '"', "yield ",
            "class K:", "#", "//", "function g() {}", "telemetry-inject", ";", "\\"]  # fmt: skip


def compare(doc: Document) -> bool:
    """The document's analysis equals a fresh one; True when it was shifted, not recomputed."""
    snap = doc.snapshot
    assert snap.spec is not None
    got = snap.analysis()
    shifted = not snap._full
    want = analyze.analyze(snap.spec, snap.source)
    assert got is not None
    for f in fields(want):
        if f.name not in ("tree", "body_nodes"):
            assert getattr(got, f.name) == getattr(want, f.name), f.name
    return shifted


@pytest.mark.parametrize("lang", sorted(SOURCES))
def test_shifted_index_equals_fresh_analysis(lang: str) -> None:
    name, text = SOURCES[lang]
    spec = language.get(lang)
    for seed in range(8):
        rnd = random.Random(seed)
        doc = Document(f"file:///{name}", 0, text, spec, Location(None, None, name))
        compare(doc)
        for version in range(1, 40):
            source = doc.snapshot.source
            fresh = analyze.analyze(spec, source)  # where the bodies are, independently
            inside = [i for f in fresh.functions for i in range(f.body.start + 1, f.body.end)]
            start = (
                rnd.choice(inside)
                if inside and rnd.random() < 0.8
                else rnd.randrange(len(source) + 1)
            )
            end = min(len(source), start + rnd.choice([0, 0, 0, 1, 4]))
            if not _boundary(source, start) or not _boundary(source, end):
                continue  # inside a character: no client sends that
            rng = convert.range_at(source, doc.snapshot.lines, start, end)
            benign = rnd.random() < 0.6
            new = rnd.choice(TYPING if benign else BREAKING)
            doc.apply([lsp.TextDocumentContentChangePartial(range=rng, text=new)], version)
            look = rnd.random()
            if look < 0.6:  # else the next edit composes with this one
                compare(doc)
            elif look < 0.8:  # parsed, not analysed: the next version widens this delta
                assert doc.snapshot.tree is not None


@pytest.mark.parametrize("lang", sorted(SOURCES))
def test_typing_in_a_body_shifts_the_index(lang: str) -> None:
    """Typing in a body is the common case: where the result parses without errors (else the
    tree is parsed afresh and so is the index), the index is shifted, not recomputed."""
    name, text = SOURCES[lang]
    spec = language.get(lang)
    rnd = random.Random(1)
    clean = shifted = 0
    for _ in range(80):
        doc = Document(f"file:///{name}", 0, text, spec, Location(None, None, name))
        doc.snapshot.analysis()
        fresh = analyze.analyze(spec, doc.snapshot.source)
        where = rnd.choice(_mid_body(fresh))
        if not _boundary(doc.snapshot.source, where):
            continue
        for version, piece in enumerate(rnd.choice(TYPING), 1):
            source = doc.snapshot.source
            rng = convert.range_at(source, doc.snapshot.lines, where, where)
            doc.apply([lsp.TextDocumentContentChangePartial(range=rng, text=piece)], version)
            where += len(piece.encode())
            had_errors = doc.snapshot.exact_tree is None
            was_shifted = compare(doc)
            if not had_errors:
                clean += 1
                shifted += was_shifted
    assert clean >= 20, f"only {clean} edits parsed cleanly: the test lost its subject"
    # Not all: typing into a nested class's name renames its methods, a full analysis.
    assert shifted >= 0.7 * clean, f"only {shifted} of {clean} clean edits were shifted"


def _mid_body(a: analyze.Analysis) -> list[int]:
    """Offsets past the indentation, below the first line of every body holding them (not in
    a nested signature): where typing changes a statement, not the block structure."""
    out = []
    for p in range(len(a.source)):
        row = a.source.count(b"\n", 0, p)
        line = a.row_text(row)
        if p - a.line_starts[row] <= len(line) - len(line.lstrip()):
            continue
        holders = [f for f in a.functions if a.line_starts[f.span.start_row] <= p <= f.span.end]
        if holders and all(f.body.start_row < row and p < f.body.end for f in holders):
            out.append(p)
    return out


def _boundary(source: bytes, offset: int) -> bool:
    return offset >= len(source) or (source[offset] & 0xC0) != 0x80


def test_versions_parsed_but_not_analysed_still_shift_the_index() -> None:
    """Requests that need only the tree (or none) between two analyses: the index is still
    shifted from the last analysis, over every version since, and equals a fresh one."""
    name, text = SOURCES["python"]
    doc = Document(f"file:///{name}", 0, text, language.get("python"), Location(None, None, name))
    doc.snapshot.analysis()
    where = text.encode().index(b"return b") + len(b"return b")
    for version, (piece, parse) in enumerate([("x", True), ("y", False), ("_z", True)], 1):
        source = doc.snapshot.source
        rng = convert.range_at(source, doc.snapshot.lines, where, where)
        doc.apply([lsp.TextDocumentContentChangePartial(range=rng, text=piece)], version)
        where += len(piece)
        if parse:
            assert doc.snapshot.exact_tree is not None
    assert compare(doc)  # shifted, and equal to a fresh analysis
