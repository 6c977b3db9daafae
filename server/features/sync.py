"""Document sync: incremental didChange into the document store (tree edited, then reparsed)."""

from __future__ import annotations

from lsprotocol import types as lsp

from ..app import TelemetryServer


def register(server: TelemetryServer) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: TelemetryServer, params: lsp.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        ls.documents.open(
            doc.uri, doc.language_id, doc.version, doc.text, ls.locate(doc.uri), ls.encoding
        )

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: TelemetryServer, params: lsp.DidChangeTextDocumentParams) -> None:
        doc = params.text_document
        ls.documents.change(doc.uri, doc.version, params.content_changes)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: TelemetryServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.documents.close(params.text_document.uri)
