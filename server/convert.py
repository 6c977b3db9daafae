"""The one bridge between LSP and core: positions (UTF-16 by default) ↔ UTF-8 byte offsets,
tree-sitter points, and core edits/outcomes ↔ lsprotocol types.

LSP lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r``; a position's character counts code
units of the negotiated encoding (UTF-16 unless the client offered otherwise). Core counts
UTF-8 bytes and tree-sitter rows end at ``\\n`` only. Nothing else in the server does this
arithmetic.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lsprotocol import types as lsp
from telemetry_inject.core.types import Edit, Span

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"
_EOL = re.compile(rb"\r\n|\r|\n")
_LONE_CR = re.compile(rb"\r(?!\n)")
_CHUNK = 128  # line starts per chunk: an edit rebuilds one or two, and shifts the rest


class LineIndex:
    """Byte offset where each LSP line starts (line 0 at 0), kept in chunks so that an edit
    costs the lines it touches plus one add per chunk, not one per line of the file.

    Chunk ``c`` holds the starts of lines ``firsts[c]`` onwards, relative to ``bases[c]``
    (its first start). Immutable: ``after_edit`` shares the untouched chunks.
    """

    __slots__ = ("_bases", "_chunks", "_firsts", "lone_cr")

    def __init__(
        self,
        bases: list[int],
        chunks: list[tuple[int, ...]],
        firsts: list[int],
        lone_cr: bool,
    ) -> None:
        self._bases, self._chunks, self._firsts = bases, chunks, firsts
        # Whether a line ends at a lone \r: only then do LSP lines and tree-sitter rows differ.
        self.lone_cr = lone_cr

    @classmethod
    def of(cls, source: bytes) -> LineIndex:
        lines = source.splitlines(keepends=True)  # bytes split at \r\n, \r and \n only
        starts = [0, *itertools.accumulate(map(len, lines))]
        if lines and not lines[-1].endswith((b"\n", b"\r")):
            starts.pop()  # the end of the text, not the start of a line
        return cls(*_chunked(starts, 0), _LONE_CR.search(source) is not None)

    @property
    def starts(self) -> tuple[int, ...]:
        """Every line start, in order (materialised: for tests and small texts)."""
        return tuple(b + s for b, c in zip(self._bases, self._chunks, strict=True) for s in c)

    def __len__(self) -> int:
        return self._firsts[-1] + len(self._chunks[-1])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LineIndex):
            return NotImplemented
        return self.starts == other.starts and self.lone_cr == other.lone_cr

    def __repr__(self) -> str:
        return f"LineIndex(lines={len(self)}, lone_cr={self.lone_cr})"

    def start(self, line: int) -> int:
        c = bisect.bisect_right(self._firsts, line) - 1
        return self._bases[c] + self._chunks[c][line - self._firsts[c]]

    def line_of(self, offset: int) -> int:
        """The line holding a byte offset (a line break belongs to the line it ends)."""
        c = max(bisect.bisect_right(self._bases, offset) - 1, 0)
        return self._firsts[c] + bisect.bisect_right(self._chunks[c], offset - self._bases[c]) - 1

    def point(self, source: bytes, offset: int) -> tuple[int, int]:
        """Tree-sitter point of an offset: (rows counted by ``\\n``, byte column)."""
        if self.lone_cr:
            return point_at(source, offset)
        line = self.line_of(offset)  # every line ends at \n or \r\n: lines are rows
        return line, offset - self.start(line)

    def after_edit(self, new_source: bytes, start: int, end: int, new_len: int) -> LineIndex:
        """The index of new_source = old[:start] + inserted(new_len bytes) + old[end:].

        Only the edited lines are rescanned: a line start depends on the two bytes before it
        (``\\r\\n`` or not), so starts at least two bytes past the edit just shift; so do the
        chunks after the edited ones.
        """
        delta = new_len - (end - start)
        first = self.line_of(max(start - 1, 0))
        lo = self.start(first)
        hi = end + delta + 2
        tail_from = self.line_of(end + 1) + 1  # the first line starting at end + 2 or later
        middle = [
            m.end() for m in _EOL.finditer(new_source, lo, min(hi, len(new_source))) if m.end() < hi
        ]
        bases, chunks, firsts = self._bases, self._chunks, self._firsts
        ci = bisect.bisect_right(firsts, first) - 1
        cj = bisect.bisect_right(firsts, tail_from - 1) - 1
        head = [bases[ci] + s for s in chunks[ci][: first - firsts[ci] + 1]]
        tail = [bases[cj] + delta + s for s in chunks[cj][tail_from - firsts[cj] :]]
        rebuilt = head + middle + tail
        if len(rebuilt) < _CHUNK // 2 and cj + 1 < len(chunks):  # too small: take in the next
            cj += 1
            rebuilt += [bases[cj] + delta + s for s in chunks[cj]]
        new_bases, new_chunks, new_firsts = _chunked(rebuilt, firsts[ci])
        lines = len(rebuilt) - (firsts[cj] + len(chunks[cj]) - firsts[ci])  # lines added
        return LineIndex(
            [*bases[:ci], *new_bases, *(b + delta for b in bases[cj + 1 :])],
            [*chunks[:ci], *new_chunks, *chunks[cj + 1 :]],
            [*firsts[:ci], *new_firsts, *(f + lines for f in firsts[cj + 1 :])],
            _has_lone_cr(new_source, max(start - 1, 0), start + new_len)
            if not self.lone_cr
            else _LONE_CR.search(new_source) is not None,
        )

    def line_bounds(self, source: bytes, line: int) -> tuple[int, int]:
        """Bytes of a line's text, its line break excluded."""
        start = self.start(line)
        end = self.start(line + 1) if line + 1 < len(self) else len(source)
        while end > start and source[end - 1 : end] in (b"\n", b"\r"):
            end -= 1
        return start, end


def _chunked(starts: list[int], first: int) -> tuple[list[int], list[tuple[int, ...]], list[int]]:
    """Starts (absolute, of lines first...) cut into even chunks of at most _CHUNK."""
    n = max(1, -(-len(starts) // _CHUNK))
    bounds = [len(starts) * i // n for i in range(n + 1)]
    bases, chunks, firsts = [], [], []
    for a, b in itertools.pairwise(bounds):
        base = starts[a]
        bases.append(base)
        chunks.append(tuple(s - base for s in starts[a:b]))
        firsts.append(first + a)
    return bases, chunks, firsts


def _has_lone_cr(source: bytes, lo: int, hi: int) -> bool:
    """Whether a \\r in source[lo:hi] is not followed by \\n (past hi too)."""
    i = source.find(b"\r", lo, hi)
    while i >= 0:
        if source[i + 1 : i + 2] != b"\n":
            return True
        i = source.find(b"\r", i + 1, hi)
    return False


def _units(text: str, encoding: str) -> int:
    if encoding == UTF16:
        return len(text.encode("utf-16-le")) // 2
    if encoding == UTF8:
        return len(text.encode("utf-8"))
    return len(text)


def offset_at(source: bytes, index: LineIndex, pos: lsp.Position, encoding: str = UTF16) -> int:
    """Byte offset of a position; past the end of a line means its end, past the last line
    the end of the text (as the protocol asks). Never splits a character."""
    if pos.line >= len(index):
        return len(source)
    start, end = index.line_bounds(source, pos.line)
    line = source[start:end]
    if line.isascii():
        return start + min(pos.character, len(line))
    text = line.decode("utf-8", "replace")
    if encoding == UTF16:
        units = text.encode("utf-16-le")[: 2 * pos.character]
        prefix = units.decode("utf-16-le", "ignore")  # a half surrogate pair is dropped
    elif encoding == UTF8:
        prefix = line[: pos.character].decode("utf-8", "ignore")
    else:
        prefix = text[: pos.character]
    return start + len(prefix.encode("utf-8"))


def position_at(
    source: bytes, index: LineIndex, offset: int, encoding: str = UTF16
) -> lsp.Position:
    offset = max(0, min(offset, len(source)))
    line = index.line_of(offset)
    prefix = source[index.start(line) : offset]
    if prefix.isascii() or encoding == UTF8:
        return lsp.Position(line, len(prefix))
    return lsp.Position(line, _units(prefix.decode("utf-8", "replace"), encoding))


def range_at(
    source: bytes, index: LineIndex, start: int, end: int, encoding: str = UTF16
) -> lsp.Range:
    return lsp.Range(
        position_at(source, index, start, encoding), position_at(source, index, end, encoding)
    )


def span_range(source: bytes, index: LineIndex, span: Span, encoding: str = UTF16) -> lsp.Range:
    return range_at(source, index, span.start, span.end, encoding)


def byte_range(
    source: bytes, index: LineIndex, rng: lsp.Range, encoding: str = UTF16
) -> tuple[int, int]:
    start = offset_at(source, index, rng.start, encoding)
    end = offset_at(source, index, rng.end, encoding)
    return (start, end) if start <= end else (end, start)


def point_at(source: bytes, offset: int) -> tuple[int, int]:
    """Tree-sitter point: (rows counted by ``\\n``, byte column). O(offset): with a line
    index at hand, ``LineIndex.point`` is O(log lines)."""
    row = source.count(b"\n", 0, offset)
    return row, offset - (source.rfind(b"\n", 0, offset) + 1)


def text_edits(
    source: bytes, index: LineIndex, edits: Iterable[Edit], encoding: str = UTF16
) -> list[lsp.TextEdit]:
    return [lsp.TextEdit(range_at(source, index, e.start, e.end, encoding), e.text) for e in edits]


@dataclass(frozen=True, slots=True)
class NewFile:
    """A file the edit creates (the language runtime), absent on disk."""

    uri: str
    text: str


def workspace_edit(
    uri: str,
    version: int | None,
    edits: Sequence[lsp.TextEdit],
    new_files: Sequence[NewFile],
    document_changes: bool,
) -> lsp.WorkspaceEdit:
    """documentChanges (versioned edit, CreateFile + its text) when the client takes them;
    else plain ``changes`` for the document alone (the caller writes new files itself)."""
    if not document_changes:
        return lsp.WorkspaceEdit(changes={uri: list(edits)})
    changes: list[lsp.TextDocumentEdit | lsp.CreateFile | lsp.RenameFile | lsp.DeleteFile] = []
    if edits:
        doc = lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
        changes.append(lsp.TextDocumentEdit(text_document=doc, edits=list(edits)))
    for f in new_files:
        changes.append(
            lsp.CreateFile(uri=f.uri, options=lsp.CreateFileOptions(ignore_if_exists=True))
        )
        start = lsp.Position(0, 0)
        changes.append(
            lsp.TextDocumentEdit(
                text_document=lsp.OptionalVersionedTextDocumentIdentifier(uri=f.uri, version=None),
                edits=[lsp.TextEdit(lsp.Range(start, start), f.text)],
            )
        )
    return lsp.WorkspaceEdit(document_changes=changes)


def compose(removals: Sequence[Edit], insertions: Sequence[Edit]) -> list[Edit]:
    """Edits against the original text that equal applying ``removals`` (against the original)
    and then ``insertions`` (pure insertions against the result), merged where they meet."""
    out: list[Edit] = []
    shift = 0  # bytes removed before the current point
    i = 0
    ins = sorted(insertions, key=lambda e: e.start)
    for r in sorted(removals, key=lambda e: e.start):
        here = r.start - shift  # where the removal collapses to in the intermediate text
        while i < len(ins) and ins[i].start < here:
            out.append(Edit(ins[i].start + shift, ins[i].start + shift, ins[i].text))
            i += 1
        text = r.text
        while i < len(ins) and ins[i].start == here:
            text += ins[i].text
            i += 1
        out.append(Edit(r.start, r.end, text))
        shift += (r.end - r.start) - len(r.text.encode("utf-8"))
    out.extend(Edit(e.start + shift, e.start + shift, e.text) for e in ins[i:])
    return _merge_adjacent(out)


def _merge_adjacent(edits: list[Edit]) -> list[Edit]:
    merged: list[Edit] = []
    for e in edits:
        if merged and merged[-1].end == e.start and merged[-1].start != merged[-1].end:
            prev = merged[-1]
            merged[-1] = Edit(prev.start, e.end, prev.text + e.text)
        else:
            merged.append(e)
    return merged


def trim(source: bytes, edits: Iterable[Edit]) -> list[Edit]:
    """Shrink replacements to what differs (common prefix and suffix kept); drop no-ops."""
    out: list[Edit] = []
    for e in edits:
        old = source[e.start : e.end].decode("utf-8")
        new = e.text
        if old == new:
            continue
        head = 0
        limit = min(len(old), len(new))
        while head < limit and old[head] == new[head]:
            head += 1
        tail = 0
        while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
            tail += 1
        start = e.start + len(old[:head].encode("utf-8"))
        end = e.end - len(old[len(old) - tail :].encode("utf-8"))
        text = new[head : len(new) - tail]
        # A position cannot sit inside a \r\n line break: widen to take it whole.
        if start > 0 and source[start - 1 : start + 1] == b"\r\n":
            start, text = start - 1, "\r" + text
        if source[end - 1 : end + 1] == b"\r\n":
            end, text = end + 1, text + "\n"
        out.append(Edit(start, end, text))
    return out


def apply_edits(source: bytes, edits: Iterable[Edit]) -> bytes:
    """Core edits (non-overlapping, against source) applied; for tests and composition checks."""
    parts: list[bytes] = []
    last = 0
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        parts += [source[last : e.start], e.text.encode("utf-8")]
        last = e.end
    parts.append(source[last:])
    return b"".join(parts)
