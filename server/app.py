"""The language server object: documents, settings, the engine, and what the client can do.

Handlers live in ``features/``; this module only holds shared state and helpers. Engine work
runs on one worker thread (the engine and its sandbox are used serially), analyses on another
(newest first); nothing that can take long runs on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.uris import from_fs_path, to_fs_path
from telemetry_inject.core import language
from telemetry_inject.core.analyze import Analysis
from telemetry_inject.core.cache import CacheError
from telemetry_inject.core.config import ConfigError
from telemetry_inject.core.engine import Engine

from . import convert
from .actions import Change
from .documents import Document, DocumentStore, Location, Snapshot
from .settings import Settings

NAME = "telemetry-inject"
VERSION = "0.1.0"
log = logging.getLogger(NAME)
T = TypeVar("T")


class _Protocol(LanguageServerProtocol):
    """pygls' protocol without its own copy of each open document: the server keeps its own
    (``documents``), and pygls' re-splits the whole text on every didChange, an O(file) cost
    per keystroke on the event loop. Document notifications go straight to the features."""

    def _to_feature(self, method: str, params: Any) -> Iterator[Any]:
        if (handler := self.fm.features.get(method)) is not None:
            yield handler, (params,), None

    @lsp_method(lsp.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: lsp.DidOpenTextDocumentParams) -> Iterator[Any]:
        yield from self._to_feature(lsp.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: lsp.DidChangeTextDocumentParams
    ) -> Iterator[Any]:
        yield from self._to_feature(lsp.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: lsp.DidCloseTextDocumentParams) -> Iterator[Any]:
        yield from self._to_feature(lsp.TEXT_DOCUMENT_DID_CLOSE, params)


class TelemetryServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            NAME,
            VERSION,
            text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
            protocol_cls=_Protocol,
        )
        self.documents = DocumentStore()
        self.settings = Settings()
        self.initial_settings: dict[str, Any] = {}  # from initializationOptions
        self.pending_problems: list[str] = []  # settings problems, told once initialized
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        self._engine_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engine")
        # Analyses run one at a time, newest wins: typing fast never piles them up.
        self._analysis_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="analysis")

    # -- workspace ---------------------------------------------------------------------------

    def roots(self) -> list[Path]:
        try:
            ws = self.workspace
        except RuntimeError:
            return []
        paths = [to_fs_path(f.uri) for f in ws.folders.values()]
        if ws.root_path:
            paths.append(ws.root_path)
        return [Path(p) for p in paths if p]

    def root(self) -> Path | None:
        roots = self.roots()
        return roots[0] if roots else None

    def locate(self, uri: str) -> Location:
        """Base folder and relative path (as events name the file) of a document."""
        fs = to_fs_path(uri) if uri.startswith("file:") else None
        if fs is None:
            return Location(None, None, uri.rsplit("/", 1)[-1] or "untitled")
        path = Path(fs)
        for root in sorted(self.roots(), key=lambda p: len(str(p)), reverse=True):
            try:
                return Location(path, root, path.relative_to(root).as_posix())
            except ValueError:
                continue
        return Location(path, path.parent, path.name)

    @property
    def encoding(self) -> str:
        try:
            kind = self.workspace.position_encoding or convert.UTF16
        except RuntimeError:
            return convert.UTF16
        return str(getattr(kind, "value", kind))  # str() of the enum is its name

    def snapshot(self, uri: str) -> Snapshot | None:
        """The open document, or the file on disk when it is not open (version None)."""
        snap = self.documents.get(uri)
        if snap is not None:
            return snap
        loc = self.locate(uri)
        if loc.path is None or not loc.path.is_file():
            return None
        try:
            text = loc.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        spec = language.for_path(loc.relpath)
        return Document(uri, -1, text, spec, loc, self.encoding).snapshot

    @staticmethod
    def version_of(snap: Snapshot) -> int | None:
        return None if snap.version < 0 else snap.version

    @staticmethod
    def uri_of(path: Path) -> str:
        return from_fs_path(str(path)) or path.as_uri()

    # -- engine ------------------------------------------------------------------------------

    def engine(self) -> Engine:
        with self._engine_lock:
            if self._engine is None:
                project = True
                try:
                    options = self.settings.options(self.root())
                except ConfigError as exc:
                    self.notify(f"{exc} (the file is ignored)", lsp.MessageType.Warning)
                    project, options = False, self.settings.options(self.root(), project=False)
                try:
                    self._engine = Engine(options)
                except CacheError as exc:
                    self.notify(f"{exc}; working without a script cache", lsp.MessageType.Warning)
                    self._engine = Engine(
                        self.settings.options(self.root(), cache=False, project=project)
                    )
            return self._engine

    def apply_settings(self, settings: Settings, problems: list[str]) -> None:
        for problem in problems:
            self.notify(problem, lsp.MessageType.Warning)
        if settings == self.settings and self._engine is not None:
            return
        self.settings = settings
        with self._engine_lock:
            old, self._engine = self._engine, None
        if old is not None:
            self._engine_thread.submit(old.close)

    async def analysis(self, snap: Snapshot) -> Analysis | None:
        """The snapshot's analysis, off the event loop; None when a newer version of the
        document arrived meanwhile (the editor asks again for that one)."""

        def job() -> Analysis | None:
            current = self.documents.get(snap.uri)
            if current is not None and current.version != snap.version:
                return None
            return snap.analysis()

        return await asyncio.get_running_loop().run_in_executor(self._analysis_thread, job)

    async def run_engine(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking engine work on the engine thread, in order."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._engine_thread, fn, *args)

    def close(self) -> None:
        with self._engine_lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            self._engine_thread.submit(engine.close).result(timeout=10)
        self._engine_thread.shutdown(wait=False)
        self._analysis_thread.shutdown(wait=False)

    # -- client ------------------------------------------------------------------------------

    def capability(self, path: str, default: Any = None) -> Any:
        value: Any = self.client_capabilities
        for part in path.split("."):
            value = getattr(value, part, None)
            if value is None:
                return default
        return value

    def creates_files(self) -> bool:
        """Whether workspace edits may carry CreateFile (else the server writes runtimes)."""
        ops = self.capability("workspace.workspace_edit.resource_operations", []) or []
        return bool(self.capability("workspace.workspace_edit.document_changes", False)) and (
            lsp.ResourceOperationKind.Create in ops
        )

    def workspace_edit(self, change: Change) -> lsp.WorkspaceEdit:
        snap = change.snapshot
        edits = convert.text_edits(snap.source, snap.lines, change.edits, snap.encoding)
        new_files = [convert.NewFile(self.uri_of(p), text) for p, text in change.new_files]
        return convert.workspace_edit(
            snap.uri,
            self.version_of(snap),
            edits,
            new_files if self.creates_files() else [],
            bool(self.capability("workspace.workspace_edit.document_changes", False)),
        )

    def write_new_files(self, change: Change) -> list[Path]:
        """Write the runtime files an edit needs, for clients that cannot create files;
        atomically, and never over an existing file."""
        written = []
        for path, text in change.new_files:
            if path.exists():
                continue
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            try:
                tmp.write_text(text, encoding="utf-8")
                os.replace(tmp, path)
                written.append(path)
            except OSError as exc:
                self.notify(f"cannot write {path}: {exc.strerror or exc}", lsp.MessageType.Error)
        return written

    def notify(self, message: str, kind: lsp.MessageType = lsp.MessageType.Info) -> None:
        """Tell the user (showMessage) and keep it in the log."""
        self.log(message, kind)
        self.window_show_message(lsp.ShowMessageParams(type=kind, message=message))

    def log(self, message: str, kind: lsp.MessageType = lsp.MessageType.Log) -> None:
        """stderr and window/logMessage; never stdout, which carries the protocol."""
        level = {
            lsp.MessageType.Error: logging.ERROR,
            lsp.MessageType.Warning: logging.WARNING,
            lsp.MessageType.Info: logging.INFO,
        }.get(kind, logging.DEBUG)
        log.log(level, "%s", message)
        with contextlib.suppress(Exception):  # no client connected yet
            self.window_log_message(lsp.LogMessageParams(type=kind, message=message))


def create_server() -> TelemetryServer:
    from .features import code_actions, commands, configuration, hover, sync

    server = TelemetryServer()
    for feature in (sync, configuration, code_actions, commands, hover):
        feature.register(server)
    return server
