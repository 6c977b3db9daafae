"""A small editor model around the pytest-lsp client: it holds open documents and applies
workspace edits the way an editor does (text in memory, then an incremental didChange; new
files on disk), computing positions on str only, independently of the server's convert."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Union
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import register_lsp_features

SERVER = [sys.executable, "-m", "telemetry_inject.server.cli", "lsp"]
_EOL = re.compile(r"\r\n|\r|\n")

# What each editor declares, as recorded by pytest-lsp; "bare" declares nothing optional.
EDITORS = {
    "vscode": "visual-studio-code",
    "neovim": "neovim@v0.7.0",
    "emacs": "emacs",
}


def capabilities(editor: str) -> lsp.ClientCapabilities:
    if editor == "bare":
        return lsp.ClientCapabilities()
    return client_capabilities(EDITORS[editor])


def _width(ch: str, encoding: str) -> int:
    if encoding == "utf-16":
        return 2 if ord(ch) > 0xFFFF else 1
    return len(ch.encode()) if encoding == "utf-8" else 1


def index_of(text: str, pos: lsp.Position, encoding: str = "utf-16") -> int:
    """str index of an LSP position, computed on str only."""
    starts = [0] + [m.end() for m in _EOL.finditer(text)]
    if pos.line >= len(starts):
        return len(text)
    start = starts[pos.line]
    end = starts[pos.line + 1] if pos.line + 1 < len(starts) else len(text)
    line = text[start:end].rstrip("\r\n")
    units = 0
    for i, ch in enumerate(line):
        if units >= pos.character:
            return start + i
        units += _width(ch, encoding)
    return start + len(line)


def position_of(text: str, index: int, encoding: str = "utf-16") -> lsp.Position:
    starts = [0] + [m.end() for m in _EOL.finditer(text[:index])]
    prefix = text[starts[-1] : index]
    return lsp.Position(len(starts) - 1, sum(_width(ch, encoding) for ch in prefix))


class Editor:
    """Open documents and their versions, as the client holds them."""

    def __init__(self, client: LanguageClient) -> None:
        self.client = client
        self.docs: dict[str, tuple[int, str]] = {}
        self.applied: list[lsp.WorkspaceEdit] = []
        self.root = Path()
        self.initialized: lsp.InitializeResult | None = None
        self.refuse: str | None = None  # answer applyEdit with applied=false and this reason

    @property
    def encoding(self) -> str:
        """The position encoding the server chose (UTF-16 unless the client offered others)."""
        caps = self.initialized.capabilities if self.initialized else None
        kind = (caps.position_encoding if caps else None) or "utf-16"
        return str(getattr(kind, "value", kind))

    def pos(self, text: str, needle: str, delta: int = 0) -> lsp.Position:
        """Position of the first occurrence of needle (plus delta characters)."""
        return position_of(text, text.index(needle) + delta, self.encoding)

    def uri(self, name: str) -> str:
        return (self.root / name).as_uri()

    def open(self, name: str, text: str | None = None, language: str = "python") -> str:
        path = self.root / name
        if text is None:
            text = path.read_bytes().decode("utf-8")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
        uri = path.as_uri()
        self.docs[uri] = (1, text)
        item = lsp.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
        self.client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=item))
        return uri

    def text(self, uri: str) -> str:
        return self.docs[uri][1]

    def change(self, uri: str, edits: list[lsp.TextEdit]) -> None:
        """Apply edits (one batch, as an editor does) and send them as one didChange."""
        version, text = self.docs[uri]
        text, changes = self._splice(text, edits)
        self.docs[uri] = (version + 1, text)
        self.client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version + 1),
                content_changes=changes,
            )
        )

    def _splice(
        self, text: str, edits: list[Any]
    ) -> tuple[str, list[lsp.TextDocumentContentChangeEvent]]:
        """Edits applied bottom-up, so each range stays valid (ties keep the array's order);
        the same edits as didChange content changes, each against the text before it."""
        changes: list[lsp.TextDocumentContentChangeEvent] = []
        enc = self.encoding
        for e in sorted(
            reversed(edits), key=lambda e: index_of(text, e.range.start, enc), reverse=True
        ):
            i, j = index_of(text, e.range.start, enc), index_of(text, e.range.end, enc)
            rng = lsp.Range(position_of(text, i, enc), position_of(text, j, enc))
            changes.append(lsp.TextDocumentContentChangePartial(range=rng, text=e.new_text))
            text = text[:i] + e.new_text + text[j:]
        return text, changes

    def type_at(self, uri: str, index: int, new: str, end: int | None = None) -> None:
        text = self.text(uri)
        end = index if end is None else end
        rng = lsp.Range(
            position_of(text, index, self.encoding), position_of(text, end, self.encoding)
        )
        self.change(uri, [lsp.TextEdit(rng, new)])

    def save(self, uri: str) -> None:
        Path(_path(uri)).write_bytes(self.text(uri).encode("utf-8"))
        sync = self.initialized.capabilities.text_document_sync if self.initialized else None
        if isinstance(sync, lsp.TextDocumentSyncOptions) and sync.save:
            self.client.text_document_did_save(
                lsp.DidSaveTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
            )

    def apply(self, edit: lsp.WorkspaceEdit) -> None:
        self.applied.append(edit)
        for uri, edits in (edit.changes or {}).items():
            self._edit(uri, None, list(edits))
        for change in edit.document_changes or []:
            if isinstance(change, lsp.CreateFile):
                path = Path(_path(change.uri))
                if not path.exists():
                    path.write_bytes(b"")
            elif isinstance(change, lsp.TextDocumentEdit):
                self._edit(change.text_document.uri, change.text_document.version, change.edits)
            else:
                raise AssertionError(f"unexpected resource operation {change}")

    def _edit(self, uri: str, version: int | None, edits: list[Any]) -> None:
        if uri in self.docs:
            assert version is None or version == self.docs[uri][0], "edit for an old version"
            self.change(uri, edits)
            return
        path = Path(_path(uri))
        text, _ = self._splice(path.read_bytes().decode("utf-8"), edits)
        path.write_bytes(text.encode("utf-8"))


def _path(uri: str) -> str:
    return unquote(urlparse(uri).path)


def _converter() -> Any:
    """pygls' converter, except that a CodeAction carrying a command stays a CodeAction
    (lsprotocol reads any object with a "command" key as a Command)."""
    converter = default_converter()

    def action_or_command(obj: Any, _: type) -> lsp.Command | lsp.CodeAction:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, lsp.Command)
        return converter.structure(obj, lsp.CodeAction)

    converter.register_structure_hook(lsp.Command | lsp.CodeAction, action_or_command)
    converter.register_structure_hook(Union[lsp.Command, lsp.CodeAction], action_or_command)  # noqa: UP007
    return converter


def make_client() -> LanguageClient:
    client = LanguageClient(converter_factory=_converter)
    register_lsp_features(client)
    client.editor = Editor(client)  # type: ignore[attr-defined]

    @client.feature(lsp.WORKSPACE_APPLY_EDIT)
    def apply_edit(ls: LanguageClient, params: lsp.ApplyWorkspaceEditParams) -> Any:
        editor: Editor = ls.editor  # type: ignore[attr-defined]
        if editor.refuse is not None:
            return lsp.ApplyWorkspaceEditResult(applied=False, failure_reason=editor.refuse)
        editor.apply(params.edit)
        return lsp.ApplyWorkspaceEditResult(applied=True)

    return client


CONFIG = ClientServerConfig(server_command=SERVER, client_factory=make_client)


def init_params(root: Path, editor: str, options: dict[str, Any] | None) -> lsp.InitializeParams:
    return lsp.InitializeParams(
        capabilities=capabilities(editor),
        root_uri=root.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=root.as_uri(), name="ws")],
        initialization_options=options,
    )


async def actions_at(
    client: LanguageClient,
    uri: str,
    start: lsp.Position,
    end: lsp.Position | None = None,
    only: list[str] | None = None,
) -> list[lsp.CodeAction]:
    result = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri),
            range=lsp.Range(start, end or start),
            context=lsp.CodeActionContext(diagnostics=[], only=only),
        )
    )
    out = list(result or [])
    assert all(isinstance(a, lsp.CodeAction) for a in out), out
    return out  # type: ignore[return-value]


def kinds(actions: list[lsp.CodeAction]) -> list[str]:
    return [str(a.kind) for a in actions]


def one(actions: list[lsp.CodeAction], kind: str) -> lsp.CodeAction:
    found = [a for a in actions if a.kind == kind]
    assert len(found) == 1, f"expected one {kind} in {kinds(actions)}"
    return found[0]


async def hover_text(client: LanguageClient, uri: str, at: lsp.Position) -> str | None:
    result = await client.text_document_hover_async(
        lsp.HoverParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=at)
    )
    if result is None:
        return None
    assert isinstance(result.contents, lsp.MarkupContent)
    return result.contents.value


def run_python(path: Path, events: Path) -> subprocess.CompletedProcess[str]:
    """Run a program with telemetry going to events."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_INJECT")}
    env["TELEMETRY_INJECT_OUT"] = str(events)
    return subprocess.run(
        [sys.executable, path.name],
        cwd=path.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
