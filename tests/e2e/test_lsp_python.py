"""Python through the real server: code actions inside and outside functions, resolve, apply,
write, run the program and check its events; update when stale; remove restores the bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from telemetry import check_pairs, read_events

from .lsp_editor import Editor, actions_at, kinds, one, run_python
from .samples import PYTHON, PYTHON_EMOJI

INSTRUMENT = "refactor.rewrite.telemetry-inject.instrument"
UPDATE = "refactor.rewrite.telemetry-inject.update"
REMOVE = "refactor.rewrite.telemetry-inject.remove"
FILE = "source.telemetry-inject.instrumentFile"
REMOVE_FILE = "source.telemetry-inject.removeFile"
INSTRUCT = "refactor.rewrite.telemetry-inject.instrumentWithInstructions"


async def apply(client: LanguageClient, editor: Editor, action: lsp.CodeAction) -> None:
    """What an editor does with a chosen action: resolve if needed, apply, run its command."""
    if action.edit is None:
        action = await client.code_action_resolve_async(action)
    assert action.edit is not None, f"no edit for {action.title}"
    editor.apply(action.edit)
    if action.command is not None:
        await client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(action.command.command, action.command.arguments)
        )


async def test_actions_only_inside_functions_innermost_wins(
    client: LanguageClient, editor: Editor
) -> None:
    uri = editor.open("main.py", PYTHON)
    text = editor.text(uri)
    outside = await actions_at(client, uri, editor.pos(text, "import sys"))
    assert kinds(outside) == [FILE]  # no function here: only the whole-file action
    inner = await actions_at(client, uri, editor.pos(text, "text.upper"))
    assert one(inner, INSTRUMENT).title == "Instrument function `Greeter.greet.shout`"
    method = await actions_at(client, uri, editor.pos(text, "return shout"))
    assert one(method, INSTRUMENT).title == "Instrument function `Greeter.greet`"
    # A selection across two functions belongs to neither; within the class body, to none.
    across = await actions_at(
        client, uri, editor.pos(text, "return a + b"), editor.pos(text, "raise")
    )
    assert INSTRUMENT not in kinds(across)
    only = await actions_at(client, uri, editor.pos(text, "return a + b"), only=["refactor"])
    assert kinds(only) == [INSTRUMENT, INSTRUCT]
    # Lazy: the list carries no edit, only data for codeAction/resolve.
    assert one(inner, INSTRUMENT).edit is None and one(inner, INSTRUMENT).data


@pytest.mark.parametrize("client", ["vscode", "neovim", "emacs"], indirect=True)
async def test_instrument_resolve_apply_run(
    client: LanguageClient, editor: Editor, workspace: Path
) -> None:
    uri = editor.open("main.py", PYTHON)
    for needle in ("return a + b", "return shout", "raise ValueError"):
        actions = await actions_at(client, uri, editor.pos(editor.text(uri), needle))
        await apply(client, editor, one(actions, INSTRUMENT))
    text = editor.text(uri)
    assert text.count("@_tel.probe(") == 3 and text.count("import _telemetry_utils") == 2
    # Minimal edits: every line of the original is still there, in order.
    assert [ln for ln in text.splitlines() if "telemetry-inject" not in ln] == PYTHON.splitlines()
    editor.save(uri)
    assert (workspace / "_telemetry_utils.py").is_file()  # created by the edit or the command
    proc = run_python(workspace / "main.py", workspace / "events.jsonl")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "3 HI ANN\n"
    events = read_events(workspace / "events.jsonl")
    assert check_pairs(events) == {"add": 1, "Greeter.greet": 1, "fail": 1}
    (error,) = [e for e in events if e["ev"] == "error"]
    assert error["fn"] == "fail" and error["error"] == "ValueError: boom"
    assert {e["file"] for e in events} == {"main.py"}
    # Instrumented now: the action offered is removal, and the whole-file removal is offered.
    after = await actions_at(client, uri, editor.pos(text, "return a + b"))
    assert kinds(after) == [REMOVE, FILE, REMOVE_FILE]


async def test_stale_update_and_remove_restore_bytes(
    client: LanguageClient, editor: Editor, workspace: Path
) -> None:
    uri = editor.open("main.py", PYTHON)
    await apply(
        client, editor, one(await actions_at(client, uri, editor.pos(PYTHON, "a + b")), INSTRUMENT)
    )
    text = editor.text(uri)
    # Edit the instrumented function: it is stale now, and Update is offered first.
    editor.type_at(uri, text.index("a + b") + len("a + b"), " + 0")
    actions = await actions_at(client, uri, editor.pos(editor.text(uri), "a + b"))
    assert kinds(actions)[:2] == [UPDATE, REMOVE]
    await apply(client, editor, one(actions, UPDATE))
    updated = editor.text(uri)
    assert updated.count("@_tel.probe(") == 1 and "a + b + 0" in updated
    assert kinds(await actions_at(client, uri, editor.pos(updated, "a + b")))[0] == REMOVE
    # The update was one small replacement (the stamp), not a re-insertion of lines.
    (doc_edit,) = [c for c in editor.applied[-1].document_changes or [] if hasattr(c, "edits")]
    assert len(doc_edit.edits) == 1 and len(doc_edit.edits[0].new_text) <= 8
    # Remove: the original bytes come back exactly.
    await apply(
        client, editor, one(await actions_at(client, uri, editor.pos(updated, "a + b")), REMOVE)
    )
    assert editor.text(uri) == PYTHON.replace("a + b", "a + b + 0", 1)


@pytest.mark.parametrize("client", ["vscode", "emacs"], indirect=True)  # UTF-16, UTF-32
async def test_positions_with_emoji_and_crlf(
    client: LanguageClient, editor: Editor, workspace: Path
) -> None:
    uri = editor.open("smile.py", PYTHON_EMOJI)
    text = editor.text(uri)
    # The cursor after the emoji in the body: UTF-16 column 31, 30 code points, 33 bytes.
    at = editor.pos(text, '\t😀"', 3)
    assert at.character == {"utf-16": 31, "utf-32": 30}[editor.encoding]
    action = one(await actions_at(client, uri, at), INSTRUMENT)
    assert action.title == "Instrument function `smile`"
    await apply(client, editor, action)
    result = editor.text(uri)
    assert '@_tel.probe("smile", "smile.py", 4)  # telemetry-inject:' in result
    assert "\r\n" in result and "\n" not in result.replace("\r\n", "")  # CRLF kept
    editor.save(uri)
    proc = run_python(workspace / "smile.py", workspace / "events.jsonl")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "😀😀😀😀\t😀 😀X\n"
    assert check_pairs(read_events(workspace / "events.jsonl")) == {"smile": 1}
    # Ranges the server sends back count the negotiated units: 𝔘 is two UTF-16 units.
    text = editor.text(uri)
    hover = await client.text_document_hover_async(
        lsp.HoverParams(lsp.TextDocumentIdentifier(uri), editor.pos(text, "pper("))
    )
    assert hover is not None and hover.range is not None
    name = editor.pos(text, "𝔘𝔘pper")
    width = {"utf-16": 8, "utf-32": 6}[editor.encoding]
    assert (hover.range.start, hover.range.end.character) == (name, name.character + width)
    assert "`𝔘𝔘pper`" in hover.contents.value  # type: ignore[union-attr]
