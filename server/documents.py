"""Open documents: bytes, line index and a tree-sitter tree kept current incrementally.

Every ``didChange`` range is converted to bytes (``convert``), applied to the tree with
``Tree.edit`` and the text is reparsed with the edited old tree. Where the result has syntax
errors, tree-sitter's error recovery can differ from a fresh parse (tree-sitter#4001), so such a
version is parsed afresh, on first use: the tree a feature sees always equals a fresh parse.
Each version is an immutable ``Snapshot``; its analysis (functions, markers, staleness) is
computed once, on first use, so requests from other threads never see a document change.
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


class Snapshot:
    """One version of a document. Its text never changes; its tree is a private copy."""

    __slots__ = (
        "_analysis",
        "_full",
        "_lock",
        "_suspect",
        "_tree",
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
        tree: ts.Tree | None,
        spec: LanguageSpec | None,
        location: Location,
        encoding: str,
        trusted: bool = True,
    ) -> None:
        self.uri, self.version, self.source, self.lines = uri, version, source, lines
        self.spec, self.location, self.encoding = spec, location, encoding
        self._tree = tree
        # An incremental parse with errors, or one from such a tree (it may have reused a
        # subtree a fresh parse would not make): a fresh parse is the truth, made on first use.
        suspect = not trusted or (tree is not None and tree.root_node.has_error)
        self._suspect = suspect and tree is not None and spec is not None
        self._analysis: Analysis | None = None
        self._full = False  # _analysis came from a full analysis, not a shifted one
        self._lock = threading.Lock()
        # An earlier version's analysis and the edit since: the index is shifted, not redone,
        # when the edit allows it (see index.reuse).
        self.base: Analysis | None = None
        self.delta: Delta | None = None

    @property
    def relpath(self) -> str:
        return self.location.relpath

    @property
    def tree(self) -> ts.Tree | None:
        if self._suspect and self.spec is not None:
            self._tree = self.spec.parser().parse(self.source)
            self._suspect = False
        return self._tree

    @property
    def exact_tree(self) -> ts.Tree | None:
        """The tree if it is known to equal a fresh parse (no reparse forced)."""
        return None if self._suspect else self._tree

    def analysis(self, full: bool = False) -> Analysis | None:
        """The core analysis of this version (None for unsupported languages). ``full``: one
        the engine can plan with (its tree nodes included), never a shifted one."""
        if self.spec is None or self._tree is None:
            return None
        with self._lock:
            tree = self.tree
            assert tree is not None
            if self._analysis is None and not full and self.base and self.delta:
                self._analysis = reuse(self.base, self.delta, self.source, tree)
            if self._analysis is None or (full and not self._full):
                self._analysis = analyze_mod.analyze(self.spec, self.source, tree)
                self._full = True
            self.base = self.delta = None  # let the old version go
            return self._analysis

    @property
    def analyzed(self) -> Analysis | None:
        return self._analysis

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
        self._parser = spec.parser() if spec is not None else None
        source = text.encode("utf-8")
        tree = self._parser.parse(source) if self._parser is not None else None
        self.snapshot = Snapshot(
            uri, version, source, convert.LineIndex.of(source), tree, spec, location, encoding
        )

    def apply(self, changes: Sequence[lsp.TextDocumentContentChangeEvent], version: int) -> None:
        snap = self.snapshot
        source, lines = snap.source, snap.lines
        exact = snap.exact_tree is not None  # the old tree equals a fresh parse
        tree = snap._tree.copy() if snap._tree is not None else None  # the old one stays intact
        fresh = False
        delta: Delta | None = None
        for change in changes:
            new_bytes = change.text.encode("utf-8")
            if isinstance(change, lsp.TextDocumentContentChangeWholeDocument):
                source, lines, fresh = new_bytes, convert.LineIndex.of(new_bytes), True
                continue
            start, end = convert.byte_range(source, lines, change.range, snap.encoding)
            new_source = source[:start] + new_bytes + source[end:]
            if tree is not None and not fresh:
                new_end = start + len(new_bytes)
                tree.edit(
                    start,
                    end,
                    new_end,
                    convert.point_at(source, start),
                    convert.point_at(source, end),
                    convert.point_at(new_source, new_end),
                )
            lines = lines.after_edit(new_source, start, end, len(new_bytes))
            source = new_source
            step = Delta.edit(start, end, start + len(new_bytes))
            delta = step if delta is None else delta.then(step)
        if self._parser is not None:
            edited = tree
            if fresh or edited is None:
                tree, exact = self._parser.parse(source), True
            else:
                tree = self._parser.parse(source, edited)
                for r in edited.changed_ranges(tree):  # syntax that changed beyond the text
                    delta = delta.widen(r.start_byte, r.end_byte) if delta else None
        new = Snapshot(
            snap.uri, version, source, lines, tree, snap.spec, snap.location, snap.encoding, exact
        )
        if not fresh and delta is not None and exact and new.exact_tree is not None:
            if snap.analyzed is not None:
                new.base, new.delta = snap.analyzed, delta
            elif snap.base is not None and snap.delta is not None:
                new.base, new.delta = snap.base, snap.delta.then(delta)
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
