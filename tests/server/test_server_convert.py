"""Edit composition and trimming: what "Update instrumentation" sends must equal stripping the
old telemetry and inserting the new, as few bytes as possible, never splitting a CRLF."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp
from telemetry_inject.core.types import Edit
from telemetry_inject.server import convert


def test_compose_removal_then_insertion_at_same_place_is_one_replacement() -> None:
    src = b"import t  # m\n@probe(1)  # m:aa\ndef f():\n    pass\n"
    line = len(b"import t  # m\n")
    removals = [Edit(line, line + len(b"@probe(1)  # m:aa\n"), "")]
    stripped = convert.apply_edits(src, removals)
    insertions = [Edit(line, line, "@probe(2)  # m:bb\n")]
    composed = convert.compose(removals, insertions)
    assert convert.apply_edits(src, composed) == convert.apply_edits(stripped, insertions)
    trimmed = convert.trim(src, composed)
    assert convert.apply_edits(src, trimmed) == convert.apply_edits(stripped, insertions)
    (e,) = trimmed  # only the changed middle of the marker line
    assert (src[e.start : e.end], e.text) == (b"1)  # m:aa", "2)  # m:bb")


def test_trim_drops_no_ops_and_keeps_crlf_whole() -> None:
    src = b"a\r\nb\r\n"
    assert convert.trim(src, [Edit(0, 3, "a\r\n")]) == []
    (e,) = convert.trim(src, [Edit(0, 6, "a\r\nc\r\n")])
    assert (e.start, e.end, e.text) == (3, 4, "c")
    (e,) = convert.trim(src, [Edit(0, 3, "a\n")])  # CRLF -> LF: the \r goes, widened to CRLF
    assert convert.apply_edits(src, [e]) == b"a\nb\r\n"
    assert src[e.start - 1 : e.start + 1] != b"\r\n" and src[e.end - 1 : e.end + 1] != b"\r\n"


pieces = st.text(alphabet=st.sampled_from(list("ab\n\r😀é")), max_size=6)


@settings(deadline=None)  # timings vary on a shared machine; correctness does not
@given(st.text(alphabet=st.sampled_from(list("ab\n\r😀é")), min_size=1, max_size=30), st.data())
def test_compose_equals_sequential(text: str, data: st.DataObject) -> None:
    src = text.encode()
    cuts = sorted(data.draw(st.sets(st.integers(0, len(text)), max_size=6)))
    removals = [
        Edit(len(text[:a].encode()), len(text[:b].encode()), "")
        for a, b in zip(cuts[::2], cuts[1::2], strict=False)
    ]
    stripped = convert.apply_edits(src, removals)
    left = stripped.decode()
    spots = sorted(data.draw(st.sets(st.integers(0, len(left)), max_size=4)))
    insertions = [
        Edit(len(left[:i].encode()), len(left[:i].encode()), data.draw(pieces)) for i in spots
    ]
    want = convert.apply_edits(stripped, insertions)
    composed = convert.compose(removals, insertions)
    assert convert.apply_edits(src, composed) == want
    assert convert.apply_edits(src, convert.trim(src, composed)) == want


def test_workspace_edit_shapes() -> None:
    edit = [lsp.TextEdit(lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)), "x")]
    new = [convert.NewFile("file:///w/_rt.py", "rt")]
    plain = convert.workspace_edit("file:///w/a.py", 3, edit, new, document_changes=False)
    assert plain.changes == {"file:///w/a.py": edit} and plain.document_changes is None
    full = convert.workspace_edit("file:///w/a.py", 3, edit, new, document_changes=True)
    assert full.document_changes is not None
    kinds = [type(c).__name__ for c in full.document_changes]
    assert kinds == ["TextDocumentEdit", "CreateFile", "TextDocumentEdit"]
    assert full.document_changes[0].text_document.version == 3


LINE_PIECES = ["a", "\n", "\r", "\r\n", "é\n\n", "", "\r\r\n\n", "xyz"]


@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(st.sampled_from(LINE_PIECES), max_size=40),
    edits=st.lists(
        st.tuples(
            st.floats(0, 1),
            st.sampled_from([0, 0, 1, 3, 10, 40]),
            st.lists(st.sampled_from(LINE_PIECES), max_size=3),
        ),
        max_size=10,
    ),
)
def test_line_index_after_edits_equals_a_fresh_one(
    text: list[str], edits: list[tuple[float, int, list[str]]]
) -> None:
    """Chunks of four lines, so that edits cross chunks, empty them and fill them; lone CRs
    come and go (tree-sitter points must then count rows by \\n only)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(convert, "_CHUNK", 4)
        source = "".join(text).encode()
        index = convert.LineIndex.of(source)
        for where, length, pieces in edits:
            start = int(where * len(source))
            end = min(len(source), start + length)
            new = "".join(pieces).encode()
            new_source = source[:start] + new + source[end:]
            index = index.after_edit(new_source, start, end, len(new))
            source = new_source
            assert index == convert.LineIndex.of(source)
            assert index.starts == (0, *(m.end() for m in convert._EOL.finditer(source)))
            assert index.lone_cr == (convert._LONE_CR.search(source) is not None)
            for offset in range(len(source) + 1):
                assert index.point(source, offset) == convert.point_at(source, offset)
                assert index.line_of(offset) == len([s for s in index.starts if s <= offset]) - 1
