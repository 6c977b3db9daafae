"""The VS Code extension in real VS Code: code-server 4.100.3 (VS Code 1.100.3, installed from
npm by tests/editors/vscode/install.sh) driven in Debian's Chromium by playwright-core. The
.vsix is built by editors/vscode/build.sh and installed into an isolated code-server (its own
HOME, user data and extensions folders). scenario.js opens a Python file and uses the keyboard as
a user would: hover, the code action, palette commands, save; the saved files must run and report
their calls. It also leaves the README's screenshots in docs/."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import ROOT, require, run_program
from llm_server import FakeModel
from telemetry import check_pairs, read_events

EDITORS = ROOT / "tests" / "editors"
VSCODE = EDITORS / "vscode"
SAMPLE = (EDITORS / "main.py").read_text("utf-8")
# The model's reply: a script that prints each call of the function, first thing in its body.
CALLS = """```python
def instrument(text, params):
    head, sep, body = text.partition(params["eol"])
    indent = body[: len(body) - len(body.lstrip(" "))]
    return head + sep + indent + 'print("CALL", ' + params["fn"] + ")" + params["eol"] + body
```"""
CODE_SERVER = ROOT / "tests/.cache/code-server/node_modules/code-server/out/node/entry.js"
DOCS = ROOT / "docs"


@pytest.fixture
def model() -> Iterator[FakeModel]:
    with FakeModel([CALLS]) as fake:
        yield fake


def test_vscode_hover_code_action_palette_save(tmp_path: Path, model: FakeModel) -> None:
    node = require("node")
    require("chromium")
    sh = ["bash", str(VSCODE / "install.sh")]
    subprocess.run(sh, check=True, timeout=900, stdout=subprocess.DEVNULL)
    build = subprocess.run(
        ["bash", str(ROOT / "editors/vscode/build.sh")], capture_output=True, text=True, timeout=600
    )
    assert build.returncode == 0, build.stderr
    vsix = build.stdout.strip().splitlines()[-1]

    work = tmp_path / "project"
    work.mkdir()
    (work / "main.py").write_text(SAMPLE, "utf-8")
    # A workspace venv without telemetry-inject: the extension picks it and says what to do.
    venv = [sys.executable, "-m", "venv", "--without-pip", str(work / ".venv")]
    subprocess.run(venv, check=True, timeout=120)
    home, data = tmp_path / "home", tmp_path / "data"
    (data / "User").mkdir(parents=True)
    # The model, in the user's settings: "Instrument with instructions…" asks it for a script.
    settings = json.loads((VSCODE / "settings.json").read_text("utf-8"))
    settings["telemetryInject.llm"] = {"model": model.model, "baseUrl": model.url, "timeout": 30}
    (data / "User/settings.json").write_text(json.dumps(settings, indent=2), "utf-8")
    port = _free_port()
    (tmp_path / "config.yaml").write_text(
        f"bind-addr: 127.0.0.1:{port}\nauth: none\ncert: false\n", "utf-8"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "TELEMETRY_INJECT"))},
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }
    code = [node, str(CODE_SERVER), "--config", str(tmp_path / "config.yaml")]
    code += ["--user-data-dir", str(data), "--extensions-dir", str(tmp_path / "extensions")]
    installed = subprocess.run(
        [*code, "--install-extension", vsix], env=env, capture_output=True, text=True, timeout=120
    )
    assert "successfully installed" in installed.stdout, installed.stdout + installed.stderr

    code += ["--disable-telemetry", "--disable-update-check", "--disable-workspace-trust"]
    log = (tmp_path / "code-server.log").open("w")
    # Its own process group: every page load starts an extension host (and a server) that
    # would otherwise live on; the whole group is stopped below.
    server = subprocess.Popen(
        code, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    scenario_out = tmp_path / "scenario.json"
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz", server)
        DOCS.mkdir(exist_ok=True)
        shots = tmp_path / "shots"
        shots.mkdir()
        run_env = {
            **env,
            "NODE_PATH": str(VSCODE / "node_modules"),
            "CODE_SERVER_URL": f"http://127.0.0.1:{port}",
            "WORKSPACE": str(work),
            "SETTINGS": str(data / "User/settings.json"),
            "INTERPRETER": sys.executable,  # this checkout's server
            "SHOTS": str(shots),
            "SCENARIO_OUT": str(scenario_out),
        }
        proc = subprocess.run(
            [node, str(VSCODE / "scenario.js")],
            env=run_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        _stop(server)
        log.close()
    seen = json.loads(scenario_out.read_text("utf-8"))
    assert proc.returncode == 0 and "error" not in seen, (
        seen,
        proc.stderr,
        (tmp_path / "code-server.log").read_text("utf-8")[-3000:],
        # The extension's output channel (interpreter, server messages, cache commands).
        [p.read_text("utf-8") for p in data.glob("logs/*/exthost*/telemetry-inject.*/*.log")],
    )
    for shot in shots.iterdir():  # only a scenario that passed updates the README's pictures
        shutil.copyfile(shot, DOCS / shot.name)

    python = work / ".venv/bin/python"
    assert seen["not_installed"].startswith(
        f"Telemetry: {python} (from workspace .venv) cannot run the telemetry-inject server"
        " (ModuleNotFoundError: No module named 'telemetry_inject'). Install it into that Python"
        f' with "{python} -m pip install telemetry-inject"'
    )
    assert seen["status_not_installed"] == "Telemetry"
    assert seen["status_before"] == "Telemetry: 0 instrumented"
    assert "telemetry-inject · add (python): not instrumented" in seen["hover_before"]
    assert "Insertion script: cache miss" in seen["hover_before"]
    assert seen["menu"] == [
        "Rewrite",
        "Instrument function `add`",
        "Instrument `add` with instructions…",
    ]
    assert seen["menu_focused"] == "Instrument function `add`"
    assert "add (python): instrumented (current)" in seen["hover_after"]
    assert "Insertion script: cache hit" in seen["hover_after"]
    assert seen["command_message"] == "main.py: 2 instrumented, 2 skipped, 0 failed (0 cache hits)"
    assert seen["status_after"] == "Telemetry: 4 instrumented (all)"
    assert seen["cache_stats"].startswith(f"Telemetry: script cache {work / '.cache'}: 4 scripts")
    assert seen["cache_clear"].startswith("Telemetry: removed ")
    assert "Insertion script: cache miss" in seen["hover_cleared"]
    assert seen["remove_message"].startswith("main.py: removed ")
    assert seen["status_removed"] == "Telemetry: 0 instrumented"
    assert seen["instructions_box"] == "Telemetry: instrument `add` with instructions"
    assert seen["instructions_message"] == "main.py: add: script by model fake-1"
    (asked,) = model.requests
    assert "print every call" in asked.text and "def add(a, b):" in asked.text
    with_call = seen["disk"]["after_instructions"]
    assert '    print("CALL", "add")  # telemetry-inject' in with_call
    assert seen["disk"]["after_instructions_removed"] == SAMPLE

    after_action, after_command = seen["disk"]["after_action"], seen["disk"]["after_command"]
    assert after_action.count("@_tel.probe(") == 1 and '@_tel.probe("add"' in after_action
    assert '@_tel.probe("fail"' in seen["disk"]["after_keybinding"]
    for text in seen["disk"].values():
        kept = [ln for ln in text.splitlines() if "telemetry-inject" not in ln]
        assert kept == SAMPLE.splitlines()
    assert seen["disk"]["after_remove"] == SAMPLE  # removed byte for byte
    assert (work / "main.py").read_text("utf-8") == SAMPLE
    # The runtime file the code action created was saved with it; the saved file runs.
    runnable = tmp_path / "run"
    runnable.mkdir()
    shutil.copyfile(work / "_telemetry_utils.py", runnable / "_telemetry_utils.py")
    (runnable / "main.py").write_text(after_command, "utf-8")
    events = runnable / "events.jsonl"
    run = run_program([sys.executable, "main.py"], runnable, events=events)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "3 HI ANN\n"
    counts = check_pairs(read_events(events))
    assert counts == {"add": 1, "Greeter.greet": 1, "Greeter.greet.shout": 1, "fail": 1}
    assert (home / ".local/share/code-server").is_dir()  # code-server kept to its own HOME


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > end:
                raise AssertionError(f"code-server did not come up at {url}") from None
            time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """code-server, its extension hosts and language servers: the whole process group."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue
