"""JavaScript, TypeScript and Go through the real server: open, act, apply, build and run with
the real toolchain, and check the events."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from telemetry import check_pairs, read_events
from telemetry_inject.server.features.commands import INSTRUMENT_FILE

from .lsp_editor import Editor, actions_at, one
from .samples import GO, JAVASCRIPT, TYPESCRIPT

ROOT = Path(__file__).resolve().parents[2]
TSC = ROOT / "tests" / "toolchains" / "node_modules" / "typescript" / "bin" / "tsc"
GO_CACHE = ROOT / "tests" / ".cache" / "go"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; run: bash tasks.sh test (it installs toolchains)")
    return path


def run(cmd: list[str], cwd: Path, events: Path | None = None, **env: str) -> str:
    full = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_INJECT")}
    full.update(env)
    if events is not None:
        full["TELEMETRY_INJECT_OUT"] = str(events)
    proc = subprocess.run(cmd, cwd=cwd, env=full, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{cmd}: {proc.stdout}{proc.stderr}"
    return proc.stdout


async def instrument_file(client: LanguageClient, uri: str) -> dict[str, Any]:
    params = lsp.ExecuteCommandParams(command=INSTRUMENT_FILE, arguments=[uri])
    result = await client.workspace_execute_command_async(params)
    assert result is not None and result["applied"], client.messages
    return result


async def test_javascript_inline_edits_at_utf16_columns(
    client: LanguageClient, editor: Editor, workspace: Path
) -> None:
    node = tool("node")
    uri = editor.open("main.js", JAVASCRIPT, "javascript")
    at = editor.pos(JAVASCRIPT, "x * 2")
    action = one(await actions_at(client, uri, at), "refactor.rewrite.telemetry-inject.instrument")
    assert action.title == "Instrument function `twice`"
    resolved = await client.code_action_resolve_async(action)
    assert resolved.edit is not None
    editor.apply(resolved.edit)
    text = editor.text(uri)
    first = text.splitlines()[1]  # below the require line
    assert first.startswith('const note = "😀😀"; function twice(x) {/*telemetry-inject:')
    assert first.endswith("/*}telemetry-inject*/}")
    editor.save(uri)
    out = run([node, "main.js"], workspace, workspace / "events.jsonl")
    assert out == "caught boom\n😀😀 42\n"
    assert check_pairs(read_events(workspace / "events.jsonl")) == {"twice": 1}


async def test_typescript_whole_file_compiles_and_runs(
    client: LanguageClient, editor: Editor, workspace: Path
) -> None:
    node = tool("node")
    if not TSC.is_file():
        pytest.fail("tsc is missing; run: npm install --prefix tests/toolchains")
    uri = editor.open("main.ts", TYPESCRIPT, "typescript")
    result = await instrument_file(client, uri)
    assert result["instrumented"] == 2 and result["failed"] == 0
    editor.save(uri)
    assert (workspace / "_telemetry_utils.ts").is_file()
    args = ["--strict", "--module", "commonjs", "--target", "es2022", "--outDir", "out"]
    run([node, str(TSC), *args, "main.ts"], workspace)
    out = run([node, "out/main.js"], workspace, workspace / "events.jsonl")
    assert out == "😀 6\n"
    counts = check_pairs(read_events(workspace / "events.jsonl"))
    assert counts == {"Counter.add": 4, "run": 1}


async def test_go_whole_file_builds_and_runs(
    client: LanguageClient, editor: Editor, workspace: Path
) -> None:
    go = tool("go")
    (workspace / "go.mod").write_text("module example.com/lsp\n\ngo 1.22\n", "utf-8")
    uri = editor.open("main.go", GO, "go")
    result = await instrument_file(client, uri)
    assert result["instrumented"] == 2 and result["failed"] == 0
    editor.save(uri)
    assert (workspace / "telemetry_inject_rt.go").is_file()
    env = {
        "GOPATH": str(GO_CACHE / "path"),
        "GOMODCACHE": str(GO_CACHE / "mod"),
        "GOCACHE": str(GO_CACHE / "build"),
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
    }
    out = run([go, "run", "."], workspace, workspace / "events.jsonl", **env)
    assert out == "😀 5\n"
    assert check_pairs(read_events(workspace / "events.jsonl")) == {"shop.add": 2, "main": 1}
