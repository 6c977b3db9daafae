"""initialize: what the server advertises, precisely."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from typing import Any

from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from telemetry_inject.server.features.commands import (
    APPLY_ACTION,
    CREATE_RUNTIME,
    INSTRUMENT_FILE,
    INSTRUMENT_WITH_INSTRUCTIONS,
    REMOVE_FILE,
)

from .lsp_editor import SERVER, Editor


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
        "refactor.rewrite.telemetry-inject.instrumentWithInstructions",
        "refactor.rewrite.telemetry-inject.instrumentLoops",
        "refactor.rewrite.telemetry-inject.trackVariables",
    ]
    assert result.execute_command_provider is not None
    assert sorted(result.execute_command_provider.commands) == sorted(
        [INSTRUMENT_FILE, REMOVE_FILE, APPLY_ACTION, CREATE_RUNTIME, INSTRUMENT_WITH_INSTRUCTIONS]
    )
    assert result.hover_provider is True
    assert result.position_encoding == lsp.PositionEncodingKind.Utf16
    # Nothing advertised that the server does not do.
    assert result.completion_provider is None and result.definition_provider is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _message(payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_tcp_transport_answers_initialize() -> None:
    port = _free_port()
    server = subprocess.Popen(
        [*SERVER, "--tcp", f"127.0.0.1:{port}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=30)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the server never listened"
                time.sleep(0.1)
        with conn:
            params = {"processId": None, "rootUri": None, "capabilities": {}}
            conn.sendall(
                _message({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})
            )
            data = b""
            while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + int(
                data.split(b"Content-Length: ")[1].split(b"\r\n")[0]
            ):
                chunk = conn.recv(65536)
                assert chunk, "connection closed"
                data += chunk
        reply = json.loads(data.split(b"\r\n\r\n", 1)[1])
        assert reply["id"] == 1 and reply["result"]["serverInfo"]["name"] == "telemetry-inject"
        assert reply["result"]["capabilities"]["hoverProvider"] is True
    finally:
        server.kill()
        out, _err = server.communicate(timeout=30)
    assert out == b""  # the protocol goes over the socket; nothing else is printed


def test_bad_address_is_a_usage_error() -> None:
    proc = subprocess.run([*SERVER, "--tcp", "nowhere"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "expected HOST:PORT, got 'nowhere'" in proc.stderr
