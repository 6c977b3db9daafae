"""A real editor: Debian's Neovim, headless, against the server over stdio. It opens a Python
file, picks "Instrument function" from the code action menu (resolved lazily), hovers, has the
model (a loopback chat-completions server) instrument another function as typed instructions say,
runs the whole-file command with no arguments and writes the file; the written file must run and
report its calls. HOME and XDG folders are private to the test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import ROOT, require, run_program
from llm_server import FakeModel
from telemetry import check_pairs, read_events

EDITORS = ROOT / "tests" / "editors"
NEOVIM = EDITORS / "neovim"
SAMPLE = (EDITORS / "main.py").read_text("utf-8")
# The model's reply: a script that prints each call of the function, first thing in its body.
CALLS = """```python
def instrument(text, params):
    head, sep, body = text.partition(params["eol"])
    indent = body[: len(body) - len(body.lstrip(" "))]
    return head + sep + indent + 'print("CALL", ' + params["fn"] + ")" + params["eol"] + body
```"""


@pytest.fixture
def model() -> Iterator[FakeModel]:
    with FakeModel([CALLS]) as fake:
        yield fake


def test_neovim_code_action_hover_command_write(tmp_path: Path, model: FakeModel) -> None:
    nvim = require("nvim")
    work = tmp_path / "project"
    work.mkdir()
    (work / "main.py").write_text(SAMPLE, "utf-8")
    home = tmp_path / "home"
    env = {
        **model.env(),
        **{k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "NVIM", "VIM"))},
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_STATE_HOME": str(home / ".local/state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        # The `telemetry-inject` on PATH is this checkout's, installed in the test's Python.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "SCENARIO_OUT": str(tmp_path / "scenario.json"),
    }
    cmd = [nvim, "--headless", "--clean", "-n", "-u", str(NEOVIM / "init.lua"), "main.py"]
    cmd += ["-c", f"luafile {NEOVIM / 'scenario.lua'}"]
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=120)
    seen = json.loads((tmp_path / "scenario.json").read_text("utf-8"))
    assert proc.returncode == 0 and "error" not in seen, (seen, proc.stdout, proc.stderr)

    assert seen["titles"] == ["Instrument function `add`"]
    assert "`add` (python): instrumented (current)" in seen["hover_after"]
    assert "cache **hit**" in seen["hover_after"]
    # The mapping from init.lua (and the README) sent the typed text; the model's line is in.
    assert seen["instructions_messages"] == ["main.py: fail: script by model fake-1"]
    (asked,) = model.requests
    assert "print every call" in asked.text and 'raise ValueError("boom")' in asked.text
    assert seen["messages"] == ["main.py: 2 instrumented, 2 skipped, 0 failed (0 cache hits)"]
    written = (work / "main.py").read_text("utf-8")
    assert written.count("@_tel.probe(") == 3
    assert '    print("CALL", "fail")  # telemetry-inject' in written
    assert [
        ln for ln in written.splitlines() if "telemetry-inject" not in ln
    ] == SAMPLE.splitlines()
    events = work / "events.jsonl"
    run = run_program([sys.executable, "main.py"], work, events=events)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "3 HI ANN\nCALL fail\n"
    counts = check_pairs(read_events(events))
    assert counts == {"add": 1, "Greeter.greet": 1, "Greeter.greet.shout": 1}
    assert (home / ".cache" / "nvim" / "lsp.log").is_file()  # the editor kept to its own HOME
