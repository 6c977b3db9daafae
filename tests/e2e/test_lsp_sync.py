"""Incremental sync end to end: random edit batches (CRLF, tabs, emoji, combining marks,
broken and repaired syntax) sent as didChange; the server must then answer exactly as it does
for the same text opened fresh; and settings arrive from initializationOptions and
workspace/configuration."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from telemetry_inject.server.features.commands import INSTRUMENT_FILE

from .lsp_editor import Editor, actions_at, hover_text, one, position_of
from .samples import PYTHON

INSTRUMENT = "refactor.rewrite.telemetry-inject.instrument"
PIECES = ["\r\n", "\n", "\t", "😀", "e\u0301", "def h(y):\n    return y\n", "(", ":", " ", "x"]


async def answers(client: LanguageClient, editor: Editor, uri: str) -> list[Any]:
    """Code action titles and hover texts/ranges at every line start and every 'def'."""
    text = editor.text(uri)
    spots = {i for i in range(len(text)) if i == 0 or text[i - 1] == "\n"}
    spots |= {i + 4 for i in range(len(text)) if text.startswith("def ", i)}
    out: list[Any] = []
    for i in sorted(spots):
        at = position_of(text, i)
        titles = [a.title for a in await actions_at(client, uri, at)]
        hover = await client.text_document_hover_async(
            lsp.HoverParams(lsp.TextDocumentIdentifier(uri), at)
        )
        out.append((at, titles, hover and (hover.contents, hover.range)))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_incremental_document_answers_like_a_fresh_one(
    client: LanguageClient, editor: Editor, seed: int
) -> None:
    rnd = random.Random(seed)
    uri = editor.open("a.py", PYTHON)
    for _ in range(25):
        text = editor.text(uri)
        edits = []
        for _ in range(rnd.randint(1, 3)):  # several changes in one didChange
            i = rnd.randrange(len(text) + 1)
            j = min(len(text), i + rnd.choice([0, 0, 1, 3, 12]))
            while 0 < i < len(text) and text[i - 1 : i + 1] == "\r\n":
                i -= 1
            while 0 < j < len(text) and text[j - 1 : j + 1] == "\r\n":
                j += 1
            new = "".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, 2)))
            edits.append(lsp.TextEdit(lsp.Range(position_of(text, i), position_of(text, j)), new))
            text = text[:i] + new + text[j:]  # the next edit's positions refer to this text
            editor.change(uri, edits[-1:])
    fresh = editor.open("b.py", editor.text(uri))
    assert await answers(client, editor, uri) == await answers(client, editor, fresh)


@pytest.mark.parametrize("server_options", [{"cacheDir": "elsewhere/cache", "bogus": 1}])
async def test_settings_from_initialization_options_and_configuration(
    client: LanguageClient, editor: Editor, workspace: Path, server_options: dict[str, Any]
) -> None:
    uri = editor.open("main.py", PYTHON)
    params = lsp.ExecuteCommandParams(command=INSTRUMENT_FILE, arguments=[uri])
    await client.workspace_execute_command_async(params)
    warning = "telemetryInject.bogus: unknown setting, ignored"
    assert any(m.message == warning for m in client.messages)
    assert (
        list((workspace / "elsewhere" / "cache" / "scripts" / "python").glob("add_*.py"))
        or (workspace / "elsewhere" / "cache" / "cache.db").is_file()
    )
    assert not (workspace / ".telemetry_cache").exists()
    # The editor's settings change: the server pulls them and uses them from then on.
    client.set_configuration({"profile": "nope"}, section="telemetryInject")
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(settings=None))
    await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command="telemetry-inject.removeFile", arguments=[uri])
    )
    await client.workspace_execute_command_async(params)
    told = [m.message for m in client.messages]
    assert "telemetryInject.profile: no language has a profile 'nope' (known: otel, tel)" in told
    assert "no telemetry profile 'nope' (available: otel, tel)" in client.messages[-1].message
    assert client.messages[-1].type == lsp.MessageType.Error
    assert editor.text(uri) == PYTHON
    hover = await hover_text(client, uri, editor.pos(PYTHON, "add(a"))
    assert hover is None or "profile" in hover


@pytest.mark.parametrize("client", ["bare"], indirect=True)
async def test_client_without_literals_progress_or_document_changes(
    client: LanguageClient, editor: Editor, workspace: Path
) -> None:
    uri = editor.open("main.py", PYTHON)
    result = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri),
            range=lsp.Range(editor.pos(PYTHON, "a + b"), editor.pos(PYTHON, "a + b")),
            context=lsp.CodeActionContext(diagnostics=[]),
        )
    )
    assert result is not None
    commands = [c for c in result if isinstance(c, lsp.Command)]
    assert [c.command for c in commands] == [
        "telemetry-inject.applyAction",
        "telemetry-inject.instrumentFile",
    ]
    applied = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(commands[0].command, commands[0].arguments)
    )
    assert applied == {"applied": True, "edits": 2}
    (edit,) = editor.applied
    assert edit.document_changes is None and edit.changes is not None  # plain changes
    assert editor.text(uri).count("@_tel.probe(") == 1
    assert (workspace / "_telemetry_utils.py").is_file()  # written by the server itself
    assert client.progress_reports == {}  # the client cannot show progress: none was sent


async def test_typing_burst_then_instrument_edits_as_for_the_text_opened_fresh(
    client: LanguageClient, editor: Editor
) -> None:
    """One didChange per keystroke and no request between them (the server parses once, at
    the code action): the edit resolved equals the one for the final text opened anew."""
    uri = editor.open("a.py", PYTHON)
    where = PYTHON.index("a + b") + len("a + b")
    for ch in " * 2\n    c = (a":  # " *" and "c = (a" do not parse
        editor.type_at(uri, where, ch)
        where += 1
    editor.type_at(uri, where, ")")

    async def instrument_edits() -> list[lsp.TextEdit]:
        at = editor.pos(editor.text(uri), "c = (a)")
        action = one(await actions_at(client, uri, at), INSTRUMENT)
        resolved = await client.code_action_resolve_async(action)
        assert resolved.edit is not None
        changes = resolved.edit.document_changes or []
        return [e for c in changes if isinstance(c, lsp.TextDocumentEdit) for e in c.edits]

    typed = await instrument_edits()
    assert typed
    text = editor.text(uri)
    client.text_document_did_close(
        lsp.DidCloseTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
    )
    editor.open("a.py", text)
    assert await instrument_edits() == typed
