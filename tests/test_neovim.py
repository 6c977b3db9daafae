"""A real editor: Debian's Neovim, headless, against the server over stdio. It opens a Python
file, picks "Instrument function" from the code action menu (resolved lazily), hovers, runs
the whole-file command with no arguments and writes the file; the written file must run and
report its calls. HOME and XDG folders are private to the test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers import ROOT, require, run_program
from telemetry import check_pairs, read_events

EDITORS = ROOT / "tests" / "editors"
NEOVIM = EDITORS / "neovim"
SAMPLE = (EDITORS / "main.py").read_text("utf-8")


def test_neovim_code_action_hover_command_write(tmp_path: Path) -> None:
    nvim = require("nvim")
    work = tmp_path / "project"
    work.mkdir()
    (work / "main.py").write_text(SAMPLE, "utf-8")
    home = tmp_path / "home"
    env = {
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
    assert seen["messages"] == ["main.py: 3 instrumented, 1 skipped, 0 failed (0 cache hits)"]
    written = (work / "main.py").read_text("utf-8")
    assert written.count("@_tel.probe(") == 4
    assert [
        ln for ln in written.splitlines() if "telemetry-inject" not in ln
    ] == SAMPLE.splitlines()
    events = work / "events.jsonl"
    run = run_program([sys.executable, "main.py"], work, events=events)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "3 HI ANN\n"
    counts = check_pairs(read_events(events))
    assert counts == {"add": 1, "Greeter.greet": 1, "Greeter.greet.shout": 1, "fail": 1}
    assert (home / ".cache" / "nvim" / "lsp.log").is_file()  # the editor kept to its own HOME
