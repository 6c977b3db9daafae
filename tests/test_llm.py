"""Model fallback end to end: the real `openai` client against a local chat-completions server.

Templates fail in three real ways here (a cached script that raises, a template whose result
does not parse, an anchor a language cannot take) or step aside for the user's instructions;
the model's script must go through validation, the sandbox, marking, reconstruction and
verification, and the instrumented programs must run and strip back byte for byte.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli, run_program
from llm_server import FakeModel, Raw, Sleep, Status
from telemetry import check_pairs, read_events
from telemetry_inject.core import heal, language, markers, strip
from telemetry_inject.core.analyze import analyze
from telemetry_inject.core.engine import Engine, Options
from telemetry_inject.core.language import LanguageSpec
from telemetry_inject.core.llm import Settings
from telemetry_inject.core.reconstruct import ReconstructError
from telemetry_inject.core.scripts import Script
from telemetry_inject.core.types import FileOutcome, FunctionOutcome
from telemetry_inject.core.types import Status as Outcome

PROBE = """Here is the script.

```python
import re


def instrument(text, params):
    indent = re.match(r"[ \\t]*", text).group(0)
    args = ", ".join(params[k] for k in ("fn", "file", "line"))
    return indent + "@_tel.probe(" + args + ")" + params["eol"] + text
```
"""
SQL = """```python
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
            log = 'print("SQL:", ' + m.group(2) + ', file=__import__("sys").stderr)'
            out.append(m.group(1) + log + eol)
        out.append(line)
    return "".join(out)
```"""
RAISING = """def instrument(text, params):
    return params["indentation"] + text
"""
RAISES = f"```python\n{RAISING}```"
SOURCE = b"""import sys


def add(a, b):
    return a + b


class Calc:
    def twice(self, x):
        return add(x, x)


if __name__ == "__main__":
    print(Calc().twice(add(1, 2)), file=sys.stdout)
"""


def settings(fake: FakeModel, timeout: float = 10.0, **kw: Any) -> Settings:
    return Settings(fake.model, fake.url, "sk-test", timeout, **kw)


@pytest.fixture
def make_engine(tmp_path: Path):
    engines: list[Engine] = []

    def make(llm: Settings | None) -> Engine:
        engines.append(Engine(Options(cache_dir=tmp_path / "cache", llm=llm)))
        return engines[-1]

    yield make
    for engine in engines:
        engine.close()


def variant(**snippets: str) -> LanguageSpec:
    """Python with other template snippets: ones that fail the way a template can fail."""
    spec = language.get("python")
    profile = spec.profiles["tel"]
    changed = dataclasses.replace(profile, snippets={**profile.snippets, **snippets})
    return dataclasses.replace(spec, profiles={"tel": changed})


def poison(engine: Engine, name: str, script: str = RAISING) -> str:
    """A cached script for one function that raises (as a shared cache may hold)."""
    spec = language.get("python")
    analysis = analyze(spec, SOURCE)
    f = next(f for f in analysis.functions if str(f.id) == name)
    key = engine.script_status(analysis, f, "calc.py").key
    assert engine.cache is not None
    engine.cache.store(Script(key, script, "template"), name, "python")
    return key


def by_name(out: FileOutcome) -> dict[str, FunctionOutcome]:
    return {str(f.id): f for f in out.functions}


def run_instrumented(tmp_path: Path, out: FileOutcome) -> list[dict[str, object]]:
    """Write the instrumented file and its runtime, run it, return its events."""
    folder = tmp_path / "run"
    folder.mkdir(exist_ok=True)
    (folder / "calc.py").write_text(out.new_text)
    for extra in out.extra_files:
        (folder / Path(extra.path).name).write_text(extra.text)
    events_file = folder / "events.jsonl"
    proc = run_program([sys.executable, "calc.py"], folder, events_file)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "6\n"
    return read_events(events_file)


def test_model_writes_what_a_template_cannot_verify(tmp_path: Path, make_engine) -> None:
    broken = variant(before_def="@_tel.probe({{fn}}, {{file}}, {{line}}")  # no ")": no parse
    with FakeModel([PROBE]) as fake:
        out = make_engine(settings(fake)).instrument(SOURCE, "calc.py", broken)
        assert len(fake.requests) == 2
        first = fake.requests[0]
        assert first.headers["Authorization"] == "Bearer sk-test"
        assert first.headers["User-Agent"].startswith("OpenAI/Python")
        assert first.body["model"] == "fake-1"
        shown = first.text
        for expected in ("Language: python", "def instrument(text, params)", "def insert_line"):
            assert expected in shown
        assert "@_tel.probe({{fn}}, {{file}}, {{line}}" in shown and "does not parse" in shown
        assert ("    return a + b" in shown) != ("        return add(x, x)" in shown)
        for f in out.functions:
            assert f.status is Outcome.INSTRUMENTED and f.reason == "script by model fake-1"
        # Lines the model inserted carry the engine's markers, stamped per function.
        inserted = [line for line in out.new_text.splitlines() if "_tel" in line]
        assert len(inserted) == 4 and all("# telemetry-inject" in line for line in inserted)
        assert strip.strip_text(broken, out.new_text) == SOURCE.decode()
        calls = check_pairs(run_instrumented(tmp_path, out))
        assert calls == {"add": 2, "Calc.twice": 1}

        engine = make_engine(settings(fake))
        entry = engine.cache.peek(out.functions[0].key)
        assert entry is not None and (entry.source, entry.attempts) == ("fake-1", 1)
        assert Path(entry.path).read_text() == entry.text  # a readable copy at once
        analysis = analyze(broken, out.new_text.encode())
        add = analysis.functions[0]
        assert engine.script_status(analysis, add, "calc.py").entry.source == "fake-1"
        again = engine.instrument(SOURCE, "calc.py", broken)
        assert again.new_text == out.new_text
        assert [f.cache for f in again.functions] == ["hit", "hit"]
        assert len(fake.requests) == 2  # no request: the cache answered


def test_malicious_script_is_rejected_before_it_runs(tmp_path: Path, make_engine) -> None:
    canary = tmp_path / "canary"
    evil = (
        f"```python\nimport os\n\ndef instrument(text, params):\n"
        f"    os.system('touch {canary}')\n    return text\n```"
    )
    with FakeModel([evil]) as fake:
        engine = make_engine(settings(fake))
        key = poison(engine, "add")
        out = engine.instrument(SOURCE, "calc.py", language.get("python"))
        assert len(fake.requests) == 3  # the first script and two corrections asked for
        assert "script rejected: line 1: import of 'os' is not allowed" in fake.requests[1].text
        add = by_name(out)["add"]
        assert add.status is Outcome.FAILED
        assert add.reason.startswith("script failed: KeyError")
        assert "model fake-1: no working script in 3 attempts" in add.reason
        assert "import of 'os' is not allowed" in add.reason
        assert not canary.exists()
        assert by_name(out)["Calc.twice"].status is Outcome.INSTRUMENTED
        # add is exactly as it was; nothing from the model was cached.
        assert "\n\ndef add(a, b):\n    return a + b\n" in out.new_text
        assert engine.cache.peek(key).source == "template"


def test_a_broken_script_heals_on_the_second_attempt(tmp_path: Path, make_engine) -> None:
    # Python has no inline comments: a body_start anchor on a one-line body cannot be placed,
    # so no template is planned at all (and the file's import comes with the model's script).
    spec = variant(body_start="pass")
    with FakeModel(lambda request: RAISES if len(request.messages) == 2 else PROBE) as fake:
        engine = make_engine(settings(fake))
        out = engine.instrument(SOURCE, "calc.py", spec)
        assert len(fake.requests) == 4
        retry = next(r.messages for r in fake.requests if len(r.messages) == 4)
        assert retry[-2] == {"role": "assistant", "content": RAISES}
        assert "KeyError: 'indentation'" in retry[-1]["content"]
        assert "no inline comments" in fake.requests[0].text
        for f in out.functions:
            assert f.status is Outcome.INSTRUMENTED
            assert f.reason == "script by model fake-1, 2 attempts"
            entry = engine.cache.peek(f.key)
            assert (entry.source, entry.attempts) == ("fake-1", 2)
            assert entry.last_error == "script failed: KeyError: 'indentation'"
        assert out.new_text.startswith("try: from . import _telemetry_utils as _tel")
        assert check_pairs(run_instrumented(tmp_path, out)) == {"add": 2, "Calc.twice": 1}
        assert out.stats["llm_requests"] == 4 and out.stats["llm_prompt_tokens"] > 0


@pytest.mark.parametrize(
    ("reply", "requests", "why"),
    [
        ("I'm sorry, I cannot help with that.", 3, "holds no script defining instrument"),
        (Raw(b"<html>502 Bad Gateway</html>"), 1, "sent an unusable response"),
    ],
)
def test_garbage_keeps_the_template_result(make_engine, reply, requests, why) -> None:
    with FakeModel([reply]) as fake:
        engine = make_engine(settings(fake))
        poison(engine, "add")
        out = engine.instrument(SOURCE, "calc.py", language.get("python"))
        assert len(fake.requests) == requests
        add = by_name(out)["add"]
        assert add.status is Outcome.FAILED and why in add.reason
        assert by_name(out)["Calc.twice"].status is Outcome.INSTRUMENTED
        assert "def add(a, b):" in out.new_text and '@_tel.probe("add"' not in out.new_text
        assert bool(out.warnings) == (requests == 1)  # a broken endpoint is said once per file


def test_timeout_then_fail_fast(make_engine) -> None:
    with FakeModel([Sleep(5, PROBE)]) as fake:
        engine = make_engine(settings(fake, timeout=0.5, retries=0, concurrency=1))
        poison(engine, "add")
        poison(engine, "Calc.twice")
        started = time.monotonic()
        out = engine.instrument(SOURCE, "calc.py", language.get("python"))
        assert time.monotonic() - started < 4
        assert len(fake.requests) == 1  # the second function did not wait again
        for f in out.functions:
            assert f.status is Outcome.FAILED
            assert "model fake-1 did not answer within 0.5 s" in f.reason
        assert out.new_text == SOURCE.decode()
        assert out.warnings == (
            f"model fake-1 did not answer within 0.5 s ({fake.url}); template results kept",
        )


def test_rate_limited_then_answered(make_engine) -> None:
    with FakeModel([Status(429, {"retry-after-ms": "20"}, "slow down"), PROBE]) as fake:
        engine = make_engine(settings(fake))
        poison(engine, "add")
        out = engine.instrument(SOURCE, "calc.py", language.get("python"))
        assert len(fake.requests) == 2  # the client retried after the 429
        assert by_name(out)["add"].status is Outcome.INSTRUMENTED
        assert out.stats["llm_requests"] == 1


def test_requests_in_flight_are_bounded(make_engine) -> None:
    broken = variant(before_def="@_tel.probe({{fn}}, {{file}}, {{line}}")
    with FakeModel([Sleep(0.3, PROBE)]) as fake:
        engine = make_engine(settings(fake, concurrency=2))
        with ThreadPoolExecutor(2) as pool:  # two editors' requests at once, say
            outs = list(pool.map(lambda p: engine.instrument(SOURCE, p, broken), ["a.py", "b.py"]))
        assert len(fake.requests) == 4 and fake.max_in_flight == 2
        assert all(f.status is Outcome.INSTRUMENTED for out in outs for f in out.functions)


def test_endpoint_down(make_engine) -> None:
    down = Settings(model="m", base_url="http://127.0.0.1:9/v1", retries=0)
    engine = make_engine(down)
    poison(engine, "add")
    out = engine.instrument(SOURCE, "calc.py", language.get("python"))
    add = by_name(out)["add"]
    assert add.status is Outcome.FAILED
    assert "cannot reach the model endpoint http://127.0.0.1:9/v1" in add.reason
    assert by_name(out)["Calc.twice"].status is Outcome.INSTRUMENTED


def test_marking_is_exact_or_refused() -> None:
    js, py = language.get("javascript"), language.get("python")
    original = "function f(a) { return a; }\r\n"
    inline = "function f(a) { log(a); return a; }\r\n"
    marked = heal.mark(js, original, inline)
    assert "/*telemetry-inject:" in marked and strip.strip_text(js, marked) == original
    lines = "def f():\r\n    return 1\r\n"
    marked = heal.mark(py, lines, "def f():\r\n    log()\r\n    return 1\r\n")
    stamp = markers.stamp_of(lines)
    assert marked.splitlines(keepends=True)[1] == f"    log()  # telemetry-inject:{stamp}\r\n"
    assert heal.mark(py, lines, marked) == marked  # markers written as the engine would: kept
    assert strip.strip_text(py, marked) == lines
    for bad, why in [
        ("def f():\r\n    return 1 + 0\r\n", "no block comments"),
        ("def f():\r\n    x = 1  # telemetry-inject\r\n    return 1\r\n", "not the expected"),
        ("def f():\r\n", "deleted"),
        (lines, "inserted nothing"),
    ]:
        with pytest.raises(ReconstructError, match=why):
            heal.mark(py, lines, bad)


APP = """import sqlite3


def setup(db):
    sql = "CREATE TABLE t (n INTEGER)"
    db.execute(sql)


def fill(db, values):
    sql = "INSERT INTO t VALUES (?)"
    for v in values:
        db.execute(sql, (v,))
    return len(values)


def total(db):
    sql = "SELECT SUM(n) FROM t"
    return db.execute(sql).fetchone()[0]


if __name__ == "__main__":
    db = sqlite3.connect(":memory:")
    setup(db)
    fill(db, [1, 2, 3])
    print("total", total(db))
"""


def test_cli_instructions_insert_marked_lines_that_strip_exactly(tmp_path: Path) -> None:
    work = tmp_path / "one"
    (work / "app").mkdir(parents=True)
    shop = work / "app" / "shop.py"
    shop.write_text(APP)
    cache = tmp_path / "cache"
    args = ("app", "--in-place", "--jobs", "1", "--cache-dir", cache, "-v")
    with FakeModel([SQL]) as fake:
        proc = run_cli(*args, "--llm-instructions", "log every SQL query", cwd=work, env=fake.env())
        assert len(fake.requests) == 3
        assert all("log every SQL query" in r.text for r in fake.requests)
        assert "app/shop.py:4: setup: script by model fake-1" in proc.stderr
        assert "model fake-1: 3 requests, " in proc.stderr and "completion tokens" in proc.stderr
        text = shop.read_text()
        logs = [line for line in text.splitlines() if "SQL:" in line]
        assert len(logs) == 3 and all("  # telemetry-inject:" in line for line in logs)
        run = run_program([sys.executable, "app/shop.py"], work, work / "events.jsonl")
        assert run.returncode == 0 and run.stdout == "total 6\n"
        assert run.stderr.splitlines() == [
            "SQL: CREATE TABLE t (n INTEGER)",
            *["SQL: INSERT INTO t VALUES (?)"] * 3,
            "SQL: SELECT SUM(n) FROM t",
        ]
        calls = check_pairs(read_events(work / "events.jsonl"))
        assert calls == {"setup": 1, "fill": 1, "total": 1}
        run_cli("strip", "app", "--in-place", cwd=work)
        assert shop.read_bytes() == APP.encode()
        assert not (work / "app" / "_telemetry_utils.py").exists()

        # The same tree elsewhere: every script comes from the cache, no request is made.
        other = tmp_path / "two"
        shutil.copytree(work / "app", other / "app")
        proc = run_cli(
            *args, "--llm-instructions", "log every SQL query", cwd=other, env=fake.env()
        )
        assert len(fake.requests) == 3
        assert "model fake-1: 0 requests" in proc.stderr
        assert (other / "app" / "shop.py").read_text() == text


def test_cli_without_a_model_or_with_one_down(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "shop.py").write_text(APP)
    env = {"TELEMETRY_INJECT_LLM_MODEL": ""}
    args = (app, "--in-place", "--jobs", "1", "--no-cache", "--llm-instructions", "log SQL")
    proc = run_cli(*args, env=env, check=False)
    assert proc.returncode == 2 and (app / "shop.py").read_text() == APP
    assert proc.stderr.splitlines() == [
        "telemetry-inject: error: --llm-instructions: no model configured: set "
        "TELEMETRY_INJECT_LLM_MODEL (and TELEMETRY_INJECT_LLM_BASE_URL, "
        "TELEMETRY_INJECT_LLM_API_KEY for an endpoint other than OpenAI's)"
    ]
    env = {
        "TELEMETRY_INJECT_LLM_MODEL": "m",
        "TELEMETRY_INJECT_LLM_BASE_URL": "http://127.0.0.1:9/v1",
        "TELEMETRY_INJECT_LLM_RETRIES": "0",
    }
    proc = run_cli(*args, env=env, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert (
        "warning: cannot reach the model endpoint http://127.0.0.1:9/v1: Connection refused; "
        "template results kept"
    ) in proc.stderr.splitlines()
    assert "shop.py:4: setup: instructions not applied (model m: cannot reach" in proc.stderr
    text = (app / "shop.py").read_text()
    assert text.count("@_tel.probe(") == 3 and "SQL:" not in text  # the template's telemetry
