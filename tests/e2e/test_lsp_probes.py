"""Loop and variable probes through the real server: the two code actions, a function that
gains a second probe keeps the first, the ``probes`` setting and the project file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from telemetry import check_pairs, read_events

from .lsp_editor import Editor, actions_at, hover_text, kinds, one, run_python
from .test_lsp_python import apply

LOOPS = "refactor.rewrite.telemetry-inject.instrumentLoops"
VARS = "refactor.rewrite.telemetry-inject.trackVariables"
INSTRUMENT = "refactor.rewrite.telemetry-inject.instrument"

PROGRAM = """\
def total(prices):
    s = 0
    for p in prices:
        if p < 0:
            continue
        s += p
    return s


def add(a, b):
    return a + b


print(total([3, -1, 4]), add(1, 2))
"""


async def test_loops_then_variables_keep_both(
    client: LanguageClient, editor: Editor, workspace: Path
) -> None:
    uri = editor.open("main.py", PROGRAM)
    actions = await actions_at(client, uri, editor.pos(editor.text(uri), "s += p"))
    assert one(actions, LOOPS).title == "Instrument loops in `total`"
    assert one(actions, VARS).title == "Track variables in `total`"
    # A function without loops or assignments is not offered them.
    plain = await actions_at(client, uri, editor.pos(editor.text(uri), "return a + b"))
    assert LOOPS not in kinds(plain) and VARS not in kinds(plain)
    await apply(client, editor, one(actions, LOOPS))
    text = editor.text(uri)
    assert "_tel.loop(" in text and "@_tel.probe(" in text and "_tel.var(" not in text
    actions = await actions_at(client, uri, editor.pos(editor.text(uri), "s += p"))
    await apply(client, editor, one(actions, VARS))
    text = editor.text(uri)
    assert text.count("_tel.loop(") == 1 and "_tel.var(" in text and text.count("@_tel.probe(") == 1
    assert [ln for ln in text.splitlines() if "telemetry-inject" not in ln] == PROGRAM.splitlines()
    hover = await hover_text(client, uri, editor.pos(text, "total(prices)"))
    assert hover is not None and "this function carries loop, var" in hover
    editor.save(uri)
    proc = run_python(workspace / "main.py", workspace / "events.jsonl")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "7 3\n"
    events = read_events(workspace / "events.jsonl")
    assert check_pairs(events) == {"total": 1}
    assert [e["vars"] for e in events if e["ev"] == "loop"] == [{"p": 3}, {"p": -1}, {"p": 4}]
    assert [e["value"] for e in events if e["ev"] == "var"] == [0, 3, 7]


@pytest.mark.parametrize("server_options", [{"cacheDir": ".cache", "probes": ["function", "var"]}])
async def test_the_probes_setting_applies_to_instrument(
    client: LanguageClient, editor: Editor, server_options: dict[str, Any]
) -> None:
    uri = editor.open("main.py", PROGRAM)
    actions = await actions_at(client, uri, editor.pos(editor.text(uri), "s += p"))
    await apply(client, editor, one(actions, INSTRUMENT))
    text = editor.text(uri)
    assert "_tel.var(" in text and "_tel.loop(" not in text


async def test_the_project_file_sets_the_probes(
    client: LanguageClient, editor: Editor, workspace: Path
) -> None:
    # Read when the engine starts, at the first action (a setting change starts it again).
    (workspace / "telemetry-inject.toml").write_text('probes = ["loop"]\n', "utf-8")
    uri = editor.open("main.py", PROGRAM)
    actions = await actions_at(client, uri, editor.pos(editor.text(uri), "s += p"))
    await apply(client, editor, one(actions, INSTRUMENT))
    text = editor.text(uri)
    assert "_tel.loop(" in text and "@_tel.probe(" not in text


async def test_a_bad_probes_setting_is_reported(client: LanguageClient) -> None:
    client.workspace_did_change_configuration(
        lsp.DidChangeConfigurationParams(settings={"telemetryInject": {"probes": ["loops", "x"]}})
    )
    for _ in range(5):  # other messages may come first
        message = await client.wait_for_notification(lsp.WINDOW_SHOW_MESSAGE)
        if "probes" in message.message:
            break
    assert "unknown probe 'x'" in message.message
