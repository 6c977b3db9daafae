"""Open documents: bytes, line index and a tree-sitter tree kept current incrementally.

Every ``didChange`` range is converted to bytes (``convert``), applied to the tree with
``Tree.edit`` and the text is reparsed with the edited old tree. Each version is an immutable
``Snapshot``; its analysis (functions, markers, staleness) is computed once, on first use, so
requests from other threads never see a document change under them.
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


@dataclass(frozen=True, slots=True)
class Location:
    """Where a document lives: its file (if any), the folder events and runtime files are
    relative to (the workspace root holding it, else its own folder), and its path from there."""

    path: Path | None
    base: Path | None
    relpath: str


class Snapshot:
    """One version of a document. Never mutated once built (the tree is a private copy)."""

    __slots__ = (
        "_analysis",
        "_lock",
        "encoding",
        "lines",
        "location",
        "source",
        "spec",
        "tree",
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
    ) -> None:
        self.uri, self.version, self.source, self.lines = uri, version, source, lines
        self.tree, self.spec, self.location, self.encoding = tree, spec, location, encoding
        self._analysis: Analysis | None = None
        self._lock = threading.Lock()

    @property
    def relpath(self) -> str:
        return self.location.relpath

    def analysis(self) -> Analysis | None:
        """The core analysis of this version (None for unsupported languages)."""
        if self.spec is None or self.tree is None:
            return None
        with self._lock:
            if self._analysis is None:
                self._analysis = analyze_mod.analyze(self.spec, self.source, self.tree)
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
        tree = snap.tree.copy() if snap.tree is not None else None  # old snapshot stays intact
        fresh = False
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
        if self._parser is not None:
            tree = (
                self._parser.parse(source)
                if fresh or tree is None
                else self._parser.parse(source, tree)
            )
        self.snapshot = Snapshot(
            snap.uri, version, source, lines, tree, snap.spec, snap.location, snap.encoding
        )


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
