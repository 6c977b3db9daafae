"""Whole-file commands through workspace/applyEdit, with work-done progress and a summary;
hover before and after (cache miss, then hit; stale after an edit); failures reach the user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from telemetry import check_pairs, read_events
from telemetry_inject.core import language
from telemetry_inject.core.engine import Engine, Options
from telemetry_inject.core.scripts import Script
from telemetry_inject.server.features.commands import INSTRUMENT_FILE, REMOVE_FILE

from .lsp_editor import Editor, actions_at, hover_text, one, run_python
from .samples import PYTHON

INSTRUMENT = "refactor.rewrite.telemetry-inject.instrument"


async def command(client: LanguageClient, name: str, *args: Any) -> Any:
    params = lsp.ExecuteCommandParams(command=name, arguments=list(args) if args else None)
    return await client.workspace_execute_command_async(params)


@pytest.mark.parametrize("client", ["vscode", "neovim"], indirect=True)
async def test_instrument_file_with_progress_then_remove(
    client: LanguageClient, editor: Editor, workspace: Path
) -> None:
    uri = editor.open("main.py", PYTHON)
    editor.open("other.py", "def other():\n    return 1\n")
    result = await command(client, INSTRUMENT_FILE, uri)
    assert result == {
        "instrumented": 4,
        "skipped": 0,
        "failed": 0,
        "removed": 0,
        "applied": True,
        "edits": 5,
    }
    text = editor.text(uri)
    assert text.count("@_tel.probe(") == 4
    # Progress: created, then begin, report(s), end with the summary.
    (reports,) = client.progress_reports.values()
    assert isinstance(reports[0], lsp.WorkDoneProgressBegin)
    assert reports[0].title == "Instrumenting main.py"
    assert isinstance(reports[-1], lsp.WorkDoneProgressEnd)
    assert reports[-1].message == "main.py: 4 instrumented, 0 skipped, 0 failed (0 cache hits)"
    assert any(isinstance(r, lsp.WorkDoneProgressReport) for r in reports)
    assert client.messages[-1].message == reports[-1].message
    assert client.messages[-1].type == lsp.MessageType.Info
    editor.save(uri)
    proc = run_python(workspace / "main.py", workspace / "events.jsonl")
    assert proc.returncode == 0, proc.stderr
    counts = check_pairs(read_events(workspace / "events.jsonl"))
    assert counts == {"add": 1, "Greeter.greet": 1, "Greeter.greet.shout": 1, "fail": 1}
    # No arguments (a command palette): the document touched last, here main.py.
    editor.type_at(uri, 0, "")
    removed = await command(client, REMOVE_FILE)
    assert removed is not None and removed["removed"] == 6 and removed["applied"]
    assert editor.text(uri) == PYTHON
    assert client.messages[-1].message == "main.py: removed 6 inserted lines or fragments"


async def test_hover_miss_then_hit_then_stale(client: LanguageClient, editor: Editor) -> None:
    uri = editor.open("main.py", PYTHON)
    at = editor.pos(PYTHON, "add(a")
    before = await hover_text(client, uri, at)
    assert before is not None
    assert "`add` (python): not instrumented" in before
    assert "Probes (profile `tel`): enter, exit" in before
    assert "before def `@_tel.probe({{fn}}, {{file}}, {{line}})`" in before
    assert "cache **miss**" in before
    assert await hover_text(client, uri, editor.pos(PYTHON, "return a + b")) is None  # body
    await command(client, INSTRUMENT_FILE, uri)
    after = await hover_text(client, uri, editor.pos(editor.text(uri), "add(a"))
    assert after is not None
    assert "`add` (python): instrumented (current)" in after
    assert "cache **hit**" in after and "source: template" in after
    key = before.split("cache **miss** · `")[1][:12]
    assert f"`{key}`" in after  # the same script: the key of the text before instrumenting
    # Instrumenting again (same function text) takes the script from the cache: hits count.
    await command(client, REMOVE_FILE, uri)
    await command(client, INSTRUMENT_FILE, uri)
    assert client.messages[-1].message.endswith("(4 cache hits)")
    again = await hover_text(client, uri, editor.pos(editor.text(uri), "add(a"))
    assert again is not None and "· 1 hit ·" in again
    text = editor.text(uri)
    editor.type_at(uri, text.index("a + b") + 5, " - 1")
    stale = await hover_text(client, uri, editor.pos(editor.text(uri), "add(a"))
    assert stale is not None and "instrumented, **stale**" in stale


def seed_rejected_script(workspace: Path, relpath: str, text: str, function: str) -> None:
    """Put a model-written script for one function in the cache the server reads, one the
    validator rejects (it opens files): instrumenting that function must fail, visibly."""
    spec = language.get("python")
    engine = Engine(Options(cache_dir=workspace / ".cache"))
    try:
        analysis = engine.analyze(spec, text.encode())
        (f,) = [f for f in analysis.functions if str(f.id) == function]
        key = engine.script_status(analysis, f, relpath).key
        body = "def instrument(text, params):\n    return open('/etc/passwd').read()\n"
        assert engine.cache is not None
        engine.cache.store(Script(key, body, "test-model"), function, "python")
    finally:
        engine.close()


async def test_failures_reach_the_user_and_the_rest_is_applied(
    client: LanguageClient, editor: Editor, workspace: Path
) -> None:
    seed_rejected_script(workspace, "main.py", PYTHON, "add")
    uri = editor.open("main.py", PYTHON)
    result = await command(client, INSTRUMENT_FILE, uri)
    assert result is not None and (result["failed"], result["instrumented"]) == (1, 3)
    text = editor.text(uri)
    assert text.count("@_tel.probe(") == 3 and '@_tel.probe("add"' not in text
    assert client.messages[-1].type == lsp.MessageType.Warning
    assert client.messages[-1].message.startswith("main.py: 3 instrumented, 0 skipped, 1 failed")
    failures = [m.message for m in client.log_messages if m.message.startswith("main.py:")]
    assert any(m.startswith("main.py:5: add: script rejected:") for m in failures), failures
    # The code action on that function fails the same way, with a message, and no edit.
    action = one(await actions_at(client, uri, editor.pos(text, "a + b")), INSTRUMENT)
    resolved = await client.code_action_resolve_async(action)
    assert resolved.edit is None
    assert client.messages[-1].type == lsp.MessageType.Error
    assert "add: script rejected:" in client.messages[-1].message
    # The server still answers.
    assert await hover_text(client, uri, editor.pos(text, "add(a")) is not None


async def test_command_without_documents_says_so(client: LanguageClient) -> None:
    assert await command(client, INSTRUMENT_FILE) is None
    assert client.messages[-1].message == "telemetry-inject: no open document"
    assert client.messages[-1].type == lsp.MessageType.Warning


async def test_edit_refused_by_the_editor_is_reported_not_summarized(
    client: LanguageClient, editor: Editor, workspace: Path
) -> None:
    uri = editor.open("main.py", PYTHON)
    editor.refuse = "the file changed on disk"
    result = await command(client, INSTRUMENT_FILE, uri)
    assert result is not None and result["applied"] is False
    assert editor.text(uri) == PYTHON
    last = client.messages[-1]
    assert last.type == lsp.MessageType.Warning
    assert last.message == (
        "telemetry-inject: the editor did not apply the edit (the file changed on disk)"
    )
    (reports,) = client.progress_reports.values()
    assert isinstance(reports[-1], lsp.WorkDoneProgressEnd)
    assert reports[-1].message == "not applied"
    assert not (workspace / "_telemetry_utils.py").exists()


async def test_server_and_cli_share_one_cache(
    client: LanguageClient, editor: Editor, workspace: Path
) -> None:
    """Two CLI runs write the cache (.cache, as the server's cacheDir) while the server works."""
    import asyncio
    import sys

    (workspace / "cli").mkdir()
    (workspace / "cli" / "main.py").write_text(PYTHON, "utf-8")
    (workspace / "cli2").mkdir()
    (workspace / "cli2" / "main.py").write_text(PYTHON, "utf-8")
    cli = [sys.executable, "-m", "telemetry_inject.server.cli"]
    runs = [
        await asyncio.create_subprocess_exec(
            *cli,
            str(workspace / d),
            "--in-place",
            "--jobs",
            "1",
            "--cache-dir",
            str(workspace / ".cache"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for d in ("cli", "cli2")
    ]
    uri = editor.open("main.py", PYTHON)
    result = await command(client, INSTRUMENT_FILE, uri)
    outputs = [await run.communicate() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert result["instrumented"] == 4 and result["failed"] == 0
    for d in ("cli", "cli2"):
        assert (workspace / d / "main.py").read_text("utf-8").count("@_tel.probe(") == 4
    # Whoever came first, the cache now serves all three: the server instruments with hits.
    await command(client, REMOVE_FILE, uri)
    await command(client, INSTRUMENT_FILE, uri)
    assert client.messages[-1].message.endswith("(4 cache hits)")
