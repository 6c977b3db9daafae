"""The model in the editor, through the real server over stdio and the real `openai` client
against a chat-completions server on loopback (tests/llm_server.py): "Instrument with
instructions…" applies the model's script; the template fallback heals a failing script;
settings come from initializationOptions, workspace/configuration or the environment; without a
model, with the endpoint down or with useless replies, one message and no edit."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from llm_server import FakeModel, Raw
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from telemetry import check_pairs, read_events
from telemetry_inject.core import language, strip
from telemetry_inject.server.actions import NO_MODEL
from telemetry_inject.server.features.commands import INSTRUMENT_WITH_INSTRUCTIONS

from .lsp_editor import (
    SERVER,
    Editor,
    actions_at,
    hover_text,
    init_params,
    make_client,
    one,
    run_python,
)
from .test_lsp_commands import seed_rejected_script

INSTRUCT = "refactor.rewrite.telemetry-inject.instrumentWithInstructions"
INSTRUMENT = "refactor.rewrite.telemetry-inject.instrument"
ASK = "log every SQL query"
PROGRAM = """import sqlite3
import sys


def count(db, query):
    cursor = db.cursor()
    cursor.execute(query)
    return cursor.fetchone()[0]


if __name__ == "__main__":
    print(count(sqlite3.connect(":memory:"), "select 40 + 2"))
"""
# What a model answers to ASK: the function's telemetry, and a log line before each query.
SQL = """Here you are.

```python
import re


def instrument(text, params):
    eol = params["eol"]
    lines = text.splitlines(keepends=True)
    indent = re.match(r"[ \\t]*", lines[0]).group(0)
    args = ", ".join(params[k] for k in ("fn", "file", "line"))
    out = [indent + "@_tel.probe(" + args + ")" + eol]
    for line in lines:
        m = re.match(r"([ \\t]*).*\\.execute\\((\\w+)", line)
        if m:
            out.append(m.group(1) + 'print("SQL:", ' + m.group(2) + ", file=sys.stderr)" + eol)
        out.append(line)
    return "".join(out)
```
"""
# The same program, as the model's script makes it (markers aside).
EXPECTED = PROGRAM.replace(
    "def count(db, query):\n",
    '@_tel.probe("count", "main.py", 5)\ndef count(db, query):\n',
).replace(
    "    cursor.execute(query)\n",
    '    print("SQL:", query, file=sys.stderr)\n    cursor.execute(query)\n',
)
PROBE = """```python
def instrument(text, params):
    indent = text[: len(text) - len(text.lstrip(" "))]
    args = ", ".join(params[k] for k in ("fn", "file", "line"))
    return indent + "@_tel.probe(" + args + ")" + params["eol"] + text
```"""
Start = Callable[..., Awaitable[LanguageClient]]


def clean_env(**extra: str) -> dict[str, str]:
    """The server's environment: this one without any TELEMETRY_INJECT_ setting, plus extra;
    no retries, so that an endpoint that is down says so at once."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_INJECT")}
    return {**env, "TELEMETRY_INJECT_LLM_RETRIES": "0", **extra}


@pytest_asyncio.fixture
async def start(workspace: Path) -> AsyncIterator[Start]:
    """Start the server with a given environment, initializationOptions and editor settings
    (answered to workspace/configuration), as the editor named."""
    clients: list[LanguageClient] = []

    async def go(
        env: dict[str, str],
        options: dict[str, Any] | None = None,
        configuration: dict[str, Any] | None = None,
        editor: str = "vscode",
    ) -> LanguageClient:
        client = make_client()
        if configuration is not None:
            client.set_configuration(configuration, section="telemetryInject")
        await client.start_io(*SERVER, env=env)
        clients.append(client)
        client.editor.root = workspace  # type: ignore[attr-defined]
        params = init_params(workspace, editor, {"cacheDir": ".cache", **(options or {})})
        client.editor.initialized = await client.initialize_session(params)  # type: ignore[attr-defined]
        return client

    yield go
    for client in clients:
        await client.shutdown_session()
        await client.stop()


def editor_of(client: LanguageClient) -> Editor:
    return client.editor  # type: ignore[attr-defined]


async def instruct_action(client: LanguageClient, uri: str, at: str) -> lsp.CodeAction:
    text = editor_of(client).text(uri)
    return one(await actions_at(client, uri, editor_of(client).pos(text, at)), INSTRUCT)


async def run(client: LanguageClient, command: lsp.Command, *extra: Any) -> Any:
    """What the VS Code extension does with the action's command: the same arguments, plus
    the instructions the user typed."""
    args = [*(command.arguments or []), *extra]
    params = lsp.ExecuteCommandParams(command=command.command, arguments=args)
    return await client.workspace_execute_command_async(params)


def with_instructions(command: lsp.Command, instructions: str) -> lsp.Command:
    data = dict((command.arguments or [{}])[0])
    return lsp.Command(
        command.title, command.command, arguments=[{**data, "instructions": instructions}]
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_instructions_apply_the_models_script(start: Start, workspace: Path) -> None:
    with FakeModel([SQL]) as fake:
        client = await start(clean_env(**fake.env()))
        editor = editor_of(client)
        uri = editor.open("main.py", PROGRAM)
        action = await instruct_action(client, uri, "cursor.execute")
        assert action.title == "Instrument `count` with instructions…"
        assert action.disabled is None and action.edit is None
        assert action.command is not None
        assert action.command.command == INSTRUMENT_WITH_INSTRUCTIONS
        # Resolving adds nothing: the edit needs the instructions, which the command carries.
        assert (await client.code_action_resolve_async(action)).edit is None
        result = await run(client, with_instructions(action.command, ASK))
        assert result == {"function": "count", "applied": True, "edits": 3}
        assert len(fake.requests) == 1
        shown = fake.requests[0].text
        assert ASK in shown and "    cursor.execute(query)\n" in shown
        assert "Language: python. File: main.py. Function: count." in shown
        text = editor.text(uri)
        spec = language.get("python")
        assert strip.strip_text(spec, text) == PROGRAM  # only marked lines were inserted
        unmarked = "".join(
            line.split("  # telemetry-inject")[0] + "\n"
            for line in text.splitlines()
            if "_telemetry_utils" not in line
        )
        assert unmarked == EXPECTED
        assert client.messages[-1].type == lsp.MessageType.Info
        assert client.messages[-1].message == "main.py: count: script by model fake-1"
        # The program runs: its query logged, its call reported.
        editor.save(uri)
        proc = run_python(workspace / "main.py", workspace / "events.jsonl")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "42\n" and "SQL: select 40 + 2" in proc.stderr
        assert check_pairs(read_events(workspace / "events.jsonl")) == {"count": 1}
        # An instrumented function is not offered again.
        after = await actions_at(client, uri, editor.pos(text, "cursor.execute"))
        assert INSTRUCT not in [a.kind for a in after]


async def test_instructions_as_a_second_argument_or_by_position(start: Start) -> None:
    """What a Neovim or Emacs user binds: the command with the text as its own argument, or
    an object naming the document and the cursor's position."""
    with FakeModel([SQL]) as fake:
        client = await start(clean_env(**fake.env()), editor="neovim")
        editor = editor_of(client)
        uri = editor.open("main.py", PROGRAM)
        action = await instruct_action(client, uri, "cursor.execute")
        assert action.command is not None
        assert (await run(client, action.command, ASK))["applied"] is True
        assert 'print("SQL:", query, file=sys.stderr)' in editor.text(uri)

        other = editor.open("other.py", PROGRAM)
        at = editor.pos(PROGRAM, "cursor.execute")
        pos = {"line": at.line, "character": at.character}
        command = lsp.Command(
            "", INSTRUMENT_WITH_INSTRUCTIONS, arguments=[{"uri": other, "position": pos}]
        )
        assert (await run(client, with_instructions(command, ASK)))["applied"] is True
        assert strip.strip_text(language.get("python"), editor.text(other)) == PROGRAM
        assert 'print("SQL:", query' in editor.text(other)
        # No instructions: one message, no request, no edit.
        third = editor.open("third.py", PROGRAM)
        command = lsp.Command(
            "", INSTRUMENT_WITH_INSTRUCTIONS, arguments=[{"uri": third, "position": pos}]
        )
        assert await run(client, command) is None
        assert client.messages[-1].type == lsp.MessageType.Error
        assert client.messages[-1].message.startswith("telemetry-inject: no instructions given")
        assert editor.text(third) == PROGRAM
        # No function named, or none at the position: said so, nothing asked.
        outside = {"line": 0, "character": 0}
        for data, why in (
            ({"uri": third}, 'third.py: name a "function" or a "position"'),
            ({"uri": third, "position": outside}, "third.py: no function at the given position"),
            ({"uri": third, "function": "nope"}, "third.py: no function at nope"),
        ):
            command = lsp.Command("", INSTRUMENT_WITH_INSTRUCTIONS, arguments=[data])
            assert await run(client, with_instructions(command, ASK)) is None
            assert client.messages[-1].message == f"telemetry-inject: {why}"
        assert editor.text(third) == PROGRAM
        assert len(fake.requests) == 1  # the same function and instructions: from the cache


async def test_no_model_configured_says_so_once(start: Start) -> None:
    client = await start(clean_env())
    editor = editor_of(client)
    uri = editor.open("main.py", PROGRAM)
    action = await instruct_action(client, uri, "cursor.execute")
    assert action.disabled is not None and action.disabled.reason == NO_MODEL
    assert action.command is not None
    assert await run(client, with_instructions(action.command, ASK)) is None
    assert [(m.type, m.message) for m in client.messages] == [
        (lsp.MessageType.Error, f"telemetry-inject: {NO_MODEL}")
    ]
    assert editor.applied == [] and editor.text(uri) == PROGRAM
    # The other actions work as ever, and say nothing about a model.
    plain = one(await actions_at(client, uri, editor.pos(PROGRAM, "cursor.execute")), INSTRUMENT)
    resolved = await client.code_action_resolve_async(plain)
    assert resolved.edit is not None
    assert len(client.messages) == 1
    told = [m.message for m in client.log_messages if "model" in m.message.lower()]
    assert told == [f"telemetry-inject: {NO_MODEL}"]


async def test_no_model_hides_the_action_from_clients_without_disabled_actions(
    start: Start,
) -> None:
    for name in ("neovim", "bare"):
        client = await start(clean_env(), editor=name)
        editor = editor_of(client)
        uri = editor.open(f"{name}.py", PROGRAM)
        result = await client.text_document_code_action_async(
            lsp.CodeActionParams(
                text_document=lsp.TextDocumentIdentifier(uri=uri),
                range=lsp.Range(editor.pos(PROGRAM, "cursor"), editor.pos(PROGRAM, "cursor")),
                context=lsp.CodeActionContext(diagnostics=[]),
            )
        )
        assert result, name
        named = [a.command if isinstance(a, lsp.Command) else a.kind for a in result]
        assert INSTRUCT not in named and INSTRUMENT_WITH_INSTRUCTIONS not in named, named


@pytest.mark.parametrize("failure", ["down", "garbage", "not json"])
async def test_endpoint_down_or_garbage_changes_nothing(start: Start, failure: str) -> None:
    replies: list[Any] = [Raw(b"<html>502 Bad Gateway</html>")] if failure == "not json" else []
    replies = replies or ["Sorry, I cannot help with that."]
    with FakeModel(replies) as fake:
        url = f"http://127.0.0.1:{free_port()}/v1" if failure == "down" else fake.url
        options = {"llm": {"model": "fake-1", "baseUrl": url, "timeout": 10}}
        client = await start(clean_env(), options=options)
        editor = editor_of(client)
        uri = editor.open("main.py", PROGRAM)
        action = await instruct_action(client, uri, "cursor.execute")
        assert action.disabled is None and action.command is not None
        result = await run(client, with_instructions(action.command, ASK))
        assert result is not None and result["applied"] is False and result["edits"] == 0
        assert editor.applied == [] and editor.text(uri) == PROGRAM
        errors = [m for m in client.messages if m.type == lsp.MessageType.Error]
        assert len(client.messages) == len(errors) == 1
        message = errors[0].message
        assert message.startswith(
            "telemetry-inject: count: instructions not applied (model fake-1:"
        )
        assert "\n" not in message
        if failure == "down":
            assert f"cannot reach the model endpoint {url}" in message
            assert fake.requests == []
        elif failure == "garbage":
            assert "no working script in 3 attempts" in message
            assert "holds no script defining instrument(text, params)" in message
            assert len(fake.requests) == 3
        else:
            assert "sent an unusable response" in message
            assert len(fake.requests) == 1


async def test_settings_from_workspace_configuration(start: Start) -> None:
    """The editor's settings name the model, its endpoint and the variable holding the key;
    the server pulls them (workspace/configuration) and uses them."""
    with FakeModel([SQL], model="local-7b") as fake:
        configuration = {"llm": {"model": "local-7b", "baseUrl": fake.url, "apiKeyEnv": "MY_KEY"}}
        env = clean_env(MY_KEY="sk-from-my-key", TELEMETRY_INJECT_LLM_MODEL="not-this-one")
        client = await start(env, configuration=configuration)
        editor = editor_of(client)
        uri = editor.open("main.py", PROGRAM)
        action = await instruct_action(client, uri, "cursor.execute")
        assert action.command is not None
        result = await run(client, with_instructions(action.command, ASK))
        assert result is not None and result["applied"] is True
        (request,) = fake.requests
        assert request.body["model"] == "local-7b"
        assert request.headers["Authorization"] == "Bearer sk-from-my-key"
        assert client.messages[-1].message == "main.py: count: script by model local-7b"
        # The settings change to no model at all: the action says so, and nothing is asked.
        client.set_configuration({"llm": {"model": ""}}, section="telemetryInject")
        client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(settings=None))
        other = editor.open("other.py", PROGRAM)
        for _ in range(100):  # until the server has pulled the new settings
            action = await instruct_action(client, other, "cursor.execute")
            if action.disabled is not None:
                break
            await asyncio.sleep(0.05)
        assert action.disabled is not None and action.disabled.reason == NO_MODEL
        assert len(fake.requests) == 1


async def test_a_failing_script_heals_in_the_editor(start: Start, workspace: Path) -> None:
    """The template fallback in the editor: a cached script the validator rejects; the model
    writes one that works, which is applied, cached, and shown by hover."""
    with FakeModel([PROBE]) as fake:
        seed_rejected_script(workspace, "main.py", PROGRAM, "count")
        client = await start(clean_env(**fake.env()))
        editor = editor_of(client)
        uri = editor.open("main.py", PROGRAM)
        action = one(await actions_at(client, uri, editor.pos(PROGRAM, "cursor.")), INSTRUMENT)
        resolved = await client.code_action_resolve_async(action)
        assert resolved.edit is not None
        (request,) = fake.requests
        assert "script rejected: " in request.text and "open('/etc/passwd')" in request.text
        editor.apply(resolved.edit)
        text = editor.text(uri)
        assert '@_tel.probe("count", "main.py", 5)  # telemetry-inject' in text
        assert strip.strip_text(language.get("python"), text) == PROGRAM
        hover = await hover_text(client, uri, editor.pos(text, "count(db"))
        assert hover is not None and "source: model fake-1" in hover
        assert not [m for m in client.messages if m.type != lsp.MessageType.Log]


async def test_a_failing_script_with_the_endpoint_down_warns_once(
    start: Start, workspace: Path
) -> None:
    seed_rejected_script(workspace, "main.py", PROGRAM, "count")
    url = f"http://127.0.0.1:{free_port()}/v1"
    client = await start(clean_env(), options={"llm": {"model": "m", "baseUrl": url}})
    editor = editor_of(client)
    uri = editor.open("main.py", PROGRAM)
    action = one(await actions_at(client, uri, editor.pos(PROGRAM, "cursor.")), INSTRUMENT)
    resolved = await client.code_action_resolve_async(action)
    assert resolved.edit is None and editor.text(uri) == PROGRAM
    told = [(m.type, m.message) for m in client.messages]
    assert len(told) == 2, told
    assert told[0][0] == lsp.MessageType.Warning
    assert told[0][1].startswith(f"telemetry-inject: cannot reach the model endpoint {url}")
    assert told[1][0] == lsp.MessageType.Error and "count: script rejected:" in told[1][1]
