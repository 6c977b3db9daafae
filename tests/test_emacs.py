"""A second real editor: Emacs with eglot (Debian's emacs-nox and elpa-eglot), in batch. Eglot
1.9 does not resolve code actions, so the server sends the edit with the action; it cannot
create files either, so the runtime is written by the command that follows the edit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers import ROOT, require, run_program
from telemetry import check_pairs, read_events

EDITORS = ROOT / "tests" / "editors"
EMACS = EDITORS / "emacs"
SAMPLE = (EDITORS / "main.py").read_text("utf-8")


def test_eglot_code_action_hover_command_save(tmp_path: Path) -> None:
    emacs = require("emacs")
    work = tmp_path / "project"
    work.mkdir()
    (work / "main.py").write_text(SAMPLE, "utf-8")
    home = tmp_path / "home"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "EMACS"))},
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        # The `telemetry-inject` on PATH is this checkout's, installed in the test's Python.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "SCENARIO_OUT": str(tmp_path / "scenario.json"),
    }
    cmd = [emacs, "--batch", "-q", "-l", str(EMACS / "init.el"), "-l", str(EMACS / "scenario.el")]
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=120)
    seen = json.loads((tmp_path / "scenario.json").read_text("utf-8"))
    assert proc.returncode == 0 and "error" not in seen, (seen, proc.stdout, proc.stderr)

    assert seen["probes_after_action"] == 1 and seen["probes_after_command"] == 4
    # Eglot without markdown-mode asks for plain text: no markup in the hover.
    assert "telemetry-inject · add (python): instrumented (current)" in seen["hover_after"]
    assert "cache hit · " in seen["hover_after"] and "`" not in seen["hover_after"]
    assert "main.py: 3 instrumented, 1 skipped, 0 failed (0 cache hits)" in proc.stderr
    written = (work / "main.py").read_text("utf-8")
    assert [
        ln for ln in written.splitlines() if "telemetry-inject" not in ln
    ] == SAMPLE.splitlines()
    assert (work / "_telemetry_utils.py").is_file()
    events = work / "events.jsonl"
    run = run_program([sys.executable, "main.py"], work, events=events)
    assert run.returncode == 0, run.stderr
    counts = check_pairs(read_events(events))
    assert counts == {"add": 1, "Greeter.greet": 1, "Greeter.greet.shout": 1, "fail": 1}
