"""Open documents: bytes, line index and a tree-sitter tree kept current incrementally.

A ``didChange`` costs the size of the edit, not of the file: every range is converted to
bytes (``convert``) and applied to a private copy of the last tree with ``Tree.edit``; the
reparse with that edited tree waits for the first request that needs the tree. A burst of
keystrokes between two requests is so one parse, however many notifications it took. Where
the result has syntax errors, tree-sitter's error recovery can differ from a fresh parse
(tree-sitter#4001), so such a version is parsed afresh, on first use: the tree a feature sees
always equals a fresh parse. Each version is an immutable ``Snapshot``; its tree and analysis
(functions, markers, staleness) are computed once, on first use, so requests from other
threads never see a document change.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import tree_sitter as ts
from lsprotocol import types as lsp
from telemetry_inject.core import analyze as analyze_mod
from telemetry_inject.core import language
from telemetry_inject.core.analyze import Analysis
from telemetry_inject.core.language import LanguageSpec

from . import convert
from .index import Delta, reuse


@dataclass(frozen=True, slots=True)
class Location:
    """Where a document lives: its file (if any), the folder events and runtime files are
    relative to (the workspace root holding it, else its own folder), and its path from there."""

    path: Path | None
    base: Path | None
    relpath: str


@dataclass(frozen=True, slots=True)
class _Parsed:
    """A snapshot's tree once parsed; one object, so other threads read it whole."""

    tree: ts.Tree
    suspect: bool  # may differ from a fresh parse (see the module docstring)
    shiftable: bool  # an exact incremental parse: the index may be shifted (index.reuse)


class Snapshot:
    """One version of a document. Its text never changes; its tree is private, parsed on
    first use from ``edited`` (an older tree with the edits since applied; None: afresh)."""

    __slots__ = (
        "_analysis",
        "_edited",
        "_full",
        "_lock",
        "_parsed",
        "_trusted",
        "base",
        "delta",
        "encoding",
        "lines",
        "location",
        "source",
        "spec",
        "uri",
        "version",
    )

    def __init__(
        self,
        uri: str,
        version: int,
        source: bytes,
        lines: convert.LineIndex,
        spec: LanguageSpec | None,
        location: Location,
        encoding: str,
        edited: ts.Tree | None = None,
        trusted: bool = True,
    ) -> None:
        self.uri, self.version, self.source, self.lines = uri, version, source, lines
        self.spec, self.location, self.encoding = spec, location, encoding
        self._edited = edited
        # Whether the tree edited came from one equal to a fresh parse (one with errors may
        # have made subtrees a fresh parse would not, and the new parse may reuse them).
        self._trusted = trusted
        self._parsed: _Parsed | None = None
        self._analysis: Analysis | None = None
        self._full = False  # _analysis came from a full analysis, not a shifted one
        self._lock = threading.RLock()
        # An earlier version's analysis and the edit since: the index is shifted, not redone,
        # when the edit allows it (see index.reuse). The delta holds the text edits; what
        # changed in syntax besides is added from the trees on use (``_widened``).
        self.base: Analysis | None = None
        self.delta: Delta | None = None

    @property
    def relpath(self) -> str:
        return self.location.relpath

    def _parse(self) -> _Parsed | None:
        """This version's tree, parsed once (incrementally where there is an edited tree)."""
        parsed = self._parsed
        if parsed is not None or self.spec is None:
            return parsed
        with self._lock:
            if self._parsed is None:
                parser = self.spec.parser()  # one per parse: snapshots parse on any thread
                edited = self._edited
                if edited is None:
                    self._parsed = _Parsed(parser.parse(self.source), False, False)
                else:
                    tree = parser.parse(self.source, edited)
                    exact = self._trusted and not tree.root_node.has_error
                    self._parsed = _Parsed(tree, not exact, exact)
            return self._parsed

    @property
    def tree(self) -> ts.Tree | None:
        parsed = self._parse()
        if parsed is None or not parsed.suspect:
            return parsed.tree if parsed is not None else None
        assert self.spec is not None
        with self._lock:
            parsed = self._parsed
            assert parsed is not None
            if parsed.suspect:
                parsed = _Parsed(self.spec.parser().parse(self.source), False, False)
                self._parsed = parsed
            return parsed.tree

    @property
    def exact_tree(self) -> ts.Tree | None:
        """The tree if it is known to equal a fresh parse (parsed incrementally if need be,
        never afresh)."""
        parsed = self._parse()
        return None if parsed is None or parsed.suspect else parsed.tree

    def _widened(self) -> Delta | None:
        """The delta since base, with what the last parse changed in syntax beyond the text."""
        parsed, edited, delta = self._parsed, self._edited, self.delta
        if parsed is None or edited is None or delta is None:
            return None
        for r in edited.changed_ranges(parsed.tree):
            delta = delta.widen(r.start_byte, r.end_byte)
        return delta

    def analysis(self, full: bool = False) -> Analysis | None:
        """The core analysis of this version (None for unsupported languages). ``full``: one
        the engine can plan with (its tree nodes included), never a shifted one."""
        if self.spec is None:
            return None
        with self._lock:
            tree = self.tree
            assert tree is not None and self._parsed is not None
            if (
                self._analysis is None
                and not full
                and self.base is not None
                and self._parsed.shiftable
            ):
                delta = self._widened()
                if delta is not None:
                    self._analysis = reuse(self.base, delta, self.source, tree)
            if self._analysis is None or (full and not self._full):
                self._analysis = analyze_mod.analyze(self.spec, self.source, tree)
                self._full = True
            self.base = self.delta = self._edited = None  # let the old versions go
            return self._analysis

    @property
    def analyzed(self) -> Analysis | None:
        return self._analysis

    def successor(self) -> tuple[ts.Tree | None, bool, Analysis | None, Delta | None]:
        """What the next version starts from: a copy of this version's tree (parsed, else the
        edited one waiting), whether it is trusted, and the analysis (and delta since) that
        the next version's index may be shifted from."""
        edited = self._edited  # read before _parsed: analysis drops it only once parsed
        base, delta = self.base, self.delta
        parsed = self._parsed
        if parsed is not None:
            if self._analysis is not None:
                return parsed.tree.copy(), not parsed.suspect, self._analysis, None
            widened = self._widened() if base is not None and parsed.shiftable else None
            if widened is not None:  # None too when an analysis just let base go
                return parsed.tree.copy(), not parsed.suspect, base, widened
            return parsed.tree.copy(), not parsed.suspect, None, None
        if edited is None:  # a fresh parse, still to be made: so is the next one
            return None, True, None, None
        return edited.copy(), self._trusted, base, delta

    # Conversions against this version's text, in the client's position encoding.
    def offset(self, pos: lsp.Position) -> int:
        return convert.offset_at(self.source, self.lines, pos, self.encoding)

    def position(self, offset: int) -> lsp.Position:
        return convert.position_at(self.source, self.lines, offset, self.encoding)

    def range(self, start: int, end: int) -> lsp.Range:
        return convert.range_at(self.source, self.lines, start, end, self.encoding)

    def byte_range(self, rng: lsp.Range) -> tuple[int, int]:
        return convert.byte_range(self.source, self.lines, rng, self.encoding)


class Document:
    def __init__(
        self,
        uri: str,
        version: int,
        text: str,
        spec: LanguageSpec | None,
        location: Location,
        encoding: str = convert.UTF16,
    ) -> None:
        source = text.encode("utf-8")
        self.snapshot = Snapshot(
            uri, version, source, convert.LineIndex.of(source), spec, location, encoding
        )

    def apply(self, changes: Sequence[lsp.TextDocumentContentChangeEvent], version: int) -> None:
        """The next version: text, line index and the edited tree; O(edit) but for one copy
        of the bytes. The parse waits for the first use of the tree."""
        snap = self.snapshot
        source, lines = snap.source, snap.lines
        tree, trusted, base, delta = snap.successor()
        for change in changes:
            new_bytes = change.text.encode("utf-8")
            if isinstance(change, lsp.TextDocumentContentChangeWholeDocument):
                source, lines = new_bytes, convert.LineIndex.of(new_bytes)
                tree, trusted, base, delta = None, True, None, None
                continue
            start, end = convert.byte_range(source, lines, change.range, snap.encoding)
            new_end = start + len(new_bytes)
            new_source = source[:start] + new_bytes + source[end:]
            new_lines = lines.after_edit(new_source, start, end, len(new_bytes))
            if tree is not None:
                tree.edit(
                    start,
                    end,
                    new_end,
                    lines.point(source, start),
                    lines.point(source, end),
                    new_lines.point(new_source, new_end),
                )
            source, lines = new_source, new_lines
            if base is not None:
                step = Delta.edit(start, end, new_end)
                delta = step if delta is None else delta.then(step)
        new = Snapshot(
            snap.uri, version, source, lines, snap.spec, snap.location, snap.encoding, tree, trusted
        )
        if base is not None and delta is not None:
            new.base, new.delta = base, delta
        self.snapshot = new


class DocumentStore:
    """Open documents by URI, and which one the user touched last (for commands without
    arguments, as sent from a command palette)."""

    def __init__(self) -> None:
        self._docs: dict[str, Document] = {}
        self._active: str | None = None

    def open(
        self,
        uri: str,
        language_id: str,
        version: int,
        text: str,
        location: Location,
        encoding: str,
    ) -> Document:
        spec = language.for_path(location.relpath) or language.all_languages().get(language_id)
        doc = Document(uri, version, text, spec, location, encoding)
        self._docs[uri] = doc
        self._active = uri
        return doc

    def change(
        self, uri: str, version: int, changes: Sequence[lsp.TextDocumentContentChangeEvent]
    ) -> None:
        doc = self._docs.get(uri)
        if doc is not None:
            doc.apply(changes, version)
            self._active = uri

    def close(self, uri: str) -> None:
        self._docs.pop(uri, None)
        if self._active == uri:
            self._active = next(reversed(self._docs), None)

    def get(self, uri: str) -> Snapshot | None:
        doc = self._docs.get(uri)
        return doc.snapshot if doc is not None else None

    def touch(self, uri: str) -> None:
        if uri in self._docs:
            self._active = uri

    def active(self) -> Snapshot | None:
        """The document last opened, edited or asked about; else the only open one."""
        if self._active in self._docs:
            return self._docs[self._active].snapshot
        if len(self._docs) == 1:
            return next(iter(self._docs.values())).snapshot
        return None

    def __len__(self) -> int:
        return len(self._docs)
