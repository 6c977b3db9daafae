"""initialize: what the server advertises, precisely."""

from __future__ import annotations

from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from telemetry_inject.server.features.commands import (
    APPLY_ACTION,
    CREATE_RUNTIME,
    INSTRUMENT_FILE,
    REMOVE_FILE,
)

from .lsp_editor import Editor


async def test_capabilities(client: LanguageClient, editor: Editor) -> None:
    assert editor.initialized is not None
    assert editor.initialized.server_info is not None
    assert editor.initialized.server_info.name == "telemetry-inject"
    result = editor.initialized.capabilities
    sync = result.text_document_sync
    assert isinstance(sync, lsp.TextDocumentSyncOptions)
    assert sync.change == lsp.TextDocumentSyncKind.Incremental and sync.open_close
    actions = result.code_action_provider
    assert isinstance(actions, lsp.CodeActionOptions)
    assert actions.resolve_provider is True
    assert list(actions.code_action_kinds or []) == [
        "refactor.rewrite.telemetry-inject.instrument",
        "refactor.rewrite.telemetry-inject.update",
        "refactor.rewrite.telemetry-inject.remove",
        "source.telemetry-inject.instrumentFile",
        "source.telemetry-inject.removeFile",
    ]
    assert result.execute_command_provider is not None
    assert sorted(result.execute_command_provider.commands) == sorted(
        [INSTRUMENT_FILE, REMOVE_FILE, APPLY_ACTION, CREATE_RUNTIME]
    )
    assert result.hover_provider is True
    assert result.position_encoding == lsp.PositionEncodingKind.Utf16
    # Nothing advertised that the server does not do.
    assert result.completion_provider is None and result.definition_provider is None
