"""Incremental sync: after any sequence of didChange edits (UTF-16 positions; CRLF, lone CR,
tabs, emoji, combining characters; edits that break and repair the syntax) the document's
bytes equal the text and its incrementally parsed tree equals a fresh parse."""

from __future__ import annotations

import re

import pytest
import tree_sitter as ts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp
from pygls.workspace import Workspace
from telemetry_inject.core import analyze, language
from telemetry_inject.server import convert
from telemetry_inject.server.actions import offers
from telemetry_inject.server.app import create_server
from telemetry_inject.server.documents import Document, Location

PY = language.get("python")
SEED = 'def f(x):\n\tif x:\r\n\t\treturn "é😀"\n    return 1\r\n\nclass C:\n    def m(self): pass\n'
PIECES = [
    "def g(a, b):\n    return a\n",
    "\r\n",
    "\n",
    "\r",
    "\t",
    "    ",
    "😀",
    "𝔘",
    "e\u0301",
    "中文",
    "(",
    ")",
    ":",
    "'",
    '"',
    "#",
    "x",
    " ",
    "pass",
    "return",
    "if y:",
    "class K:",
    "\\",
    "@d\n",
]
_EOL = re.compile(r"\r\n|\r|\n")


def lsp_position(text: str, index: int) -> lsp.Position:
    """Oracle, on str only: LSP line and UTF-16 column of character index."""
    line, start = 0, 0
    for m in _EOL.finditer(text):
        if m.end() > index:
            break
        line, start = line + 1, m.end()
    return lsp.Position(line, len(text[start:index].encode("utf-16-le")) // 2)


def char_offsets(text: str) -> list[int]:
    """Positions a client can name: not inside a \\r\\n pair."""
    return [
        i for i in range(len(text) + 1) if not (0 < i < len(text) and text[i - 1 : i + 1] == "\r\n")
    ]


def same_tree(a: ts.Node, b: ts.Node) -> None:
    assert str(a) == str(b)
    ca, cb = a.walk(), b.walk()
    while True:
        na, nb = ca.node, cb.node
        assert na is not None and nb is not None
        key = lambda n: (n.type, n.start_byte, n.end_byte, n.start_point, n.end_point, n.is_missing)  # noqa: E731
        assert key(na) == key(nb)
        da, db = ca.goto_first_child(), cb.goto_first_child()
        assert da == db
        if da:
            continue
        while not ca.goto_next_sibling():
            assert not cb.goto_next_sibling()
            if not ca.goto_parent():
                assert not cb.goto_parent()
                return
            assert cb.goto_parent()
        assert cb.goto_next_sibling()


def check(doc: Document, text: str) -> None:
    snap = doc.snapshot
    assert snap.source == text.encode("utf-8")
    assert snap.lines == convert.LineIndex.of(snap.source)
    assert snap.tree is not None
    same_tree(snap.tree.root_node, PY.parser().parse(snap.source).root_node)


def new_doc(text: str) -> Document:
    return Document("file:///w/a.py", 0, text, PY, Location(None, None, "a.py"))


edits = st.lists(
    st.tuples(
        st.floats(0, 1),
        st.floats(0, 1),
        st.lists(st.sampled_from(PIECES), max_size=3),
        st.booleans(),  # look at the tree after this version (else the next builds on it)
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=edits, batch=st.booleans())
def test_incremental_tree_equals_fresh_parse(edits: list, batch: bool) -> None:
    text = SEED
    doc = new_doc(text)
    version = 0
    pending: list[lsp.TextDocumentContentChangeEvent] = []
    for a, b, pieces, look in edits:
        spots = char_offsets(text)
        i, j = sorted((spots[int(a * (len(spots) - 1))], spots[int(b * (len(spots) - 1))]))
        new = "".join(pieces)
        rng = lsp.Range(lsp_position(text, i), lsp_position(text, j))
        pending.append(lsp.TextDocumentContentChangePartial(range=rng, text=new))
        text = text[:i] + new + text[j:]
        if not batch:  # one change per didChange, or all in one didChange
            version += 1
            doc.apply(pending, version)
            pending = []
            if look:
                check(doc, text)
    if pending:
        doc.apply(pending, version + 1)
    check(doc, text)


def test_whole_document_change_then_partial() -> None:
    doc = new_doc(SEED)
    full = lsp.TextDocumentContentChangeWholeDocument(text="def a():\n    pass\n")
    part = lsp.TextDocumentContentChangePartial(
        range=lsp.Range(lsp.Position(0, 4), lsp.Position(0, 5)), text="bb"
    )
    doc.apply([full, part], 1)
    check(doc, "def bb():\n    pass\n")


def test_old_snapshot_unchanged_by_later_edits() -> None:
    doc = new_doc(SEED)
    before = doc.snapshot
    text_before = str(before.tree.root_node)
    doc.apply(
        [
            lsp.TextDocumentContentChangePartial(
                range=lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)), text="x = (\n"
            )
        ],
        1,
    )
    assert str(before.tree.root_node) == text_before
    assert before.analysis() is before.analysis()  # computed once per version
    assert [f.name for f in before.analysis().functions] == ["f", "m"]


@pytest.mark.parametrize(
    ("text", "pos", "offset"),
    [
        ("a😀b\n", lsp.Position(0, 3), 5),  # after the emoji: 2 UTF-16 units, 4 bytes
        ("a😀b\n", lsp.Position(0, 2), 1),  # inside the surrogate pair: before the emoji
        ("é\r\nx", lsp.Position(1, 0), 4),
        ("ab\r\ncd", lsp.Position(0, 99), 2),  # past the line end: its end, not the EOL
        ("ab\rcd", lsp.Position(1, 1), 4),  # a lone CR ends a line
        ("ab", lsp.Position(5, 0), 2),  # past the last line: the end
    ],
)
def test_offset_at(text: str, pos: lsp.Position, offset: int) -> None:
    source = text.encode()
    assert convert.offset_at(source, convert.LineIndex.of(source), pos) == offset


@settings(deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab\t\r\n😀é中\u0301")), max_size=40), st.data())
def test_position_round_trip(text: str, data: st.DataObject) -> None:
    source = text.encode()
    index = convert.LineIndex.of(source)
    i = data.draw(st.sampled_from(char_offsets(text)))
    offset = len(text[:i].encode())
    pos = convert.position_at(source, index, offset)
    assert pos == lsp_position(text, i)
    assert convert.offset_at(source, index, pos) == offset
    line_start = max((m.end() for m in _EOL.finditer(text, 0, i)), default=0)
    for enc, width in (("utf-8", lambda s: len(s.encode())), ("utf-32", len)):
        p = convert.position_at(source, index, offset, enc)
        assert (p.line, p.character) == (pos.line, width(text[line_start:i]))
        assert convert.offset_at(source, index, p, enc) == offset


def test_a_typing_burst_is_one_parse_with_the_tree_and_index_of_one_by_one_parses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """didChange parses nothing; the first use of the tree parses once for every change since
    (a transient syntax error among them included), and the tree, the index (shifted, not
    recomputed) and the actions offered equal those of parsing after every keystroke."""
    text = SEED + "\ndef g(a):\n    total = a\n    return total\n"
    where = text.index("return total") + len("return total")
    keys = [" + 1", "0", "\r\n", "    x = (", "a", ")"]  # " +" and "x = (" do not parse
    one_by_one, burst = new_doc(text), new_doc(text)
    for doc in (one_by_one, burst):
        doc.snapshot.analysis()
    parses = 0
    real_parser = type(PY).parser

    def counting_parser(spec: language.LanguageSpec) -> ts.Parser:
        nonlocal parses
        parses += 1
        return real_parser(spec)

    monkeypatch.setattr(type(PY), "parser", counting_parser)
    version = 0
    for key in keys:
        for ch in key if key != "\r\n" else [key]:
            version += 1
            change = lsp.TextDocumentContentChangePartial(
                range=lsp.Range(lsp_position(text, where), lsp_position(text, where)), text=ch
            )
            text, where = text[:where] + ch + text[where:], where + len(ch)
            one_by_one.apply([change], version)
            one_by_one.snapshot.analysis()
            before = parses
            burst.apply([change], version)
            assert parses == before  # the notification parsed nothing
    before = parses
    assert burst.snapshot.exact_tree is not None  # no error at the burst's end: exact
    assert parses == before + 1  # one incremental parse for the whole burst
    check(burst, text)
    check(one_by_one, text)
    got, want = burst.snapshot.analysis(), one_by_one.snapshot.analysis()
    assert got is not None and want is not None
    assert not burst.snapshot._full  # shifted from the analysis before the burst
    assert got.functions == want.functions == analyze.analyze(PY, burst.snapshot.source).functions
    assert got.line_starts == want.line_starts
    for offset in range(0, len(burst.snapshot.source), 7):
        assert offers(got, offset, offset) == offers(want, offset, offset)


def test_document_notifications_reach_the_store_and_pygls_keeps_no_copy() -> None:
    """pygls' own document copy costs O(file) per didChange; the server has its own."""
    server = create_server()
    server.protocol._workspace = Workspace(None)  # as initialize makes it
    uri = "file:///w/a.py"

    def notify(method: str, params: object) -> None:
        for handler, args, _ in server.protocol.fm.builtin_features[method](params):
            handler(*args)

    item = lsp.TextDocumentItem(uri, "python", 1, "def f():\n    pass\n")
    notify(lsp.TEXT_DOCUMENT_DID_OPEN, lsp.DidOpenTextDocumentParams(item))
    rng = lsp.Range(lsp.Position(0, 4), lsp.Position(0, 5))
    change = lsp.TextDocumentContentChangePartial(range=rng, text="g")
    doc = lsp.VersionedTextDocumentIdentifier(2, uri)
    notify(lsp.TEXT_DOCUMENT_DID_CHANGE, lsp.DidChangeTextDocumentParams(doc, [change]))
    snap = server.documents.get(uri)
    assert snap is not None and (snap.version, snap.source) == (2, b"def g():\n    pass\n")
    assert server.workspace.text_documents == {}
    notify(
        lsp.TEXT_DOCUMENT_DID_CLOSE, lsp.DidCloseTextDocumentParams(lsp.TextDocumentIdentifier(uri))
    )
    assert len(server.documents) == 0
