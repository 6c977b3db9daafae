"""Language server latency on a ~9,000-line real Python file, measured over stdio as an editor
sees it: code actions (list; resolve on a cache miss and on a hit), hover, and the time per
keystroke (didChange, then the code action request an editor sends at the new cursor).

    .venv/bin/python bench/lsp.py [--quick] [--cpu]

The file is the running Python's own _pydecimal.py followed by argparse.py. Also measured
in-process, without the protocol: the didChange alone (the parse waits for the first request
that needs the tree), the incremental reparse per keystroke, a burst of keystrokes before one
parse, and the analysis a request then needs; ``--cpu`` times these in the thread's CPU time,
which a loaded machine disturbs less than the wall clock. Prints a Markdown table (p50/p99) and
writes bench/results/lsp.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import statistics
import sys
import sysconfig
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Union

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient
from pygls.protocol import default_converter
from telemetry_inject.core import language
from telemetry_inject.server.documents import Document, Location

RESULTS = Path(__file__).with_name("results") / "lsp.json"
SERVER = [sys.executable, "-m", "telemetry_inject.server.cli", "lsp"]
_EOL = re.compile(r"\r\n|\r|\n")
INSTRUMENT = "refactor.rewrite.telemetry-inject.instrument"
NAME, PLUS = "esult_value", " + 1"  # typed after `return r`: a longer name; an addition
BURST = 8  # keystrokes that arrive before the next request
clock = time.perf_counter  # for the in-process rows (--cpu: time.thread_time)


def big_file() -> str:
    std = Path(sysconfig.get_paths()["stdlib"])
    return (
        (std / "_pydecimal.py").read_text("utf-8") + "\n" + (std / "argparse.py").read_text("utf-8")
    )


def typing_spot(text: str, after: int) -> int:
    """The end of the first `return <expression>` line after a point: where a user types."""
    m = re.compile(r"(?m)^ +return [a-z_]+$").search(text, after)
    assert m is not None
    return m.end()


def position_of(text: str, index: int) -> lsp.Position:
    starts = [0] + [m.end() for m in _EOL.finditer(text, 0, index)]
    return lsp.Position(len(starts) - 1, len(text[starts[-1] : index].encode("utf-16-le")) // 2)


def stats(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"n": 0, "p50_ms": float("nan"), "p99_ms": float("nan")}
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 3), "p99_ms": round(p99, 3)}


async def timed(fn: Callable[[], Awaitable[Any]], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - start)
    return out


def _converter() -> Any:
    """pygls' converter, except that a CodeAction carrying a command stays a CodeAction
    (lsprotocol reads any object with a "command" key as a Command)."""
    converter = default_converter()

    def action_or_command(obj: Any, _: type) -> lsp.Command | lsp.CodeAction:
        kind = lsp.Command if isinstance(obj.get("command"), str) else lsp.CodeAction
        return converter.structure(obj, kind)

    converter.register_structure_hook(Union[lsp.Command, lsp.CodeAction], action_or_command)  # noqa: UP007
    return converter


def client() -> LanguageClient:
    c = LanguageClient("bench", "1", converter_factory=_converter)

    @c.feature(lsp.WORKSPACE_CONFIGURATION)
    def configuration(_ls: LanguageClient, params: lsp.ConfigurationParams) -> list[None]:
        return [None for _ in params.items]

    @c.feature(lsp.WINDOW_WORK_DONE_PROGRESS_CREATE)
    def progress(_ls: LanguageClient, _params: lsp.WorkDoneProgressCreateParams) -> None:
        return None

    for method in (lsp.WINDOW_SHOW_MESSAGE, lsp.WINDOW_LOG_MESSAGE, lsp.PROGRESS):
        c.feature(method)(lambda _ls, _params: None)
    return c


async def _drain(c: LanguageClient) -> None:
    stream = c._server.stderr if c._server else None  # type: ignore[attr-defined]
    while stream is not None and (line := await stream.readline()):
        if os.environ.get("BENCH_SERVER_LOG"):
            sys.stderr.buffer.write(line)


async def over_stdio(text: str, root: Path, n: int) -> dict[str, dict[str, float]]:
    c = client()
    await c.start_io(*SERVER)
    drain = asyncio.create_task(_drain(c))  # the server logs to stderr: keep the pipe empty
    caps = lsp.ClientCapabilities(
        text_document=lsp.TextDocumentClientCapabilities(
            code_action=lsp.CodeActionClientCapabilities(
                code_action_literal_support=lsp.ClientCodeActionLiteralOptions(
                    code_action_kind=lsp.ClientCodeActionKindOptions(value_set=["refactor"])
                ),
                resolve_support=lsp.ClientCodeActionResolveOptions(properties=["edit"]),
                data_support=True,
            ),
            hover=lsp.HoverClientCapabilities(content_format=[lsp.MarkupKind.Markdown]),
        ),
        workspace=lsp.WorkspaceClientCapabilities(
            workspace_edit=lsp.WorkspaceEditClientCapabilities(
                document_changes=True, resource_operations=[lsp.ResourceOperationKind.Create]
            )
        ),
    )
    await c.initialize_async(
        lsp.InitializeParams(
            capabilities=caps,
            root_uri=root.as_uri(),
            initialization_options={"cacheDir": str(root / ".cache")},
        )
    )
    c.initialized(lsp.InitializedParams())
    uri = (root / "big.py").as_uri()
    doc = lsp.TextDocumentIdentifier(uri=uri)
    c.text_document_did_open(
        lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, "python", 1, text))
    )
    defs = [m.start() + 4 for m in re.finditer(r"(?m)^\s*def ", text)]
    bodies = [text.index("\n", d) + 1 for d in defs]
    rnd = random.Random(7)

    def actions_at(index: int) -> Awaitable[Any]:
        at = position_of(text, index)
        return c.text_document_code_action_async(
            lsp.CodeActionParams(doc, lsp.Range(at, at), lsp.CodeActionContext(diagnostics=[]))
        )

    results: dict[str, dict[str, float]] = {}
    first = await timed(lambda: actions_at(bodies[0]), 1)
    results["code actions, first request after open (cold analysis)"] = stats(first)
    warm = await timed(lambda: actions_at(rnd.choice(bodies)), n)
    results["code actions, list (same version)"] = stats(warm)

    async def hover() -> Any:
        at = position_of(text, rnd.choice(defs))
        return await c.text_document_hover_async(lsp.HoverParams(doc, at))

    results["hover on a function name"] = stats(await timed(hover, n))

    picks = rnd.sample(range(len(bodies)), min(n, len(bodies)))
    misses, hits = [], []
    for k in picks:
        found = [a for a in await actions_at(bodies[k]) if a.kind == INSTRUMENT]
        if not found:
            continue
        action = found[0]
        start = time.perf_counter()
        resolved = await c.code_action_resolve_async(action)
        misses.append(time.perf_counter() - start)
        assert resolved.edit is not None, "resolve produced no edit"
        start = time.perf_counter()
        await c.code_action_resolve_async(action)
        hits.append(time.perf_counter() - start)
    results["code action resolve, script cache miss (script generated and run)"] = stats(misses)
    results["code action resolve, script cache hit"] = stats(hits)

    # Keystrokes, one character per didChange, each followed by the code action request an
    # editor sends for the new cursor position: first a name (the text always parses), then
    # " + 1" (half the keystrokes leave a transient syntax error, "x +").
    version = 1
    for label, typing in (("typing a name", NAME), ("typing ' + 1'", PLUS)):
        where = typing_spot(text, len(text) // 2)
        typed = []
        for ch in (typing * n)[:n]:
            version += 1
            at = position_of(text, where)
            start = time.perf_counter()
            c.text_document_did_change(
                lsp.DidChangeTextDocumentParams(
                    lsp.VersionedTextDocumentIdentifier(version=version, uri=uri),
                    [lsp.TextDocumentContentChangePartial(range=lsp.Range(at, at), text=ch)],
                )
            )
            text = text[:where] + ch + text[where:]
            where += 1
            await actions_at(where)
            typed.append(time.perf_counter() - start)
        results[f"keystroke, {label}: didChange + code actions"] = stats(typed)
    await c.shutdown_async(None)
    c.exit(None)
    await c.stop()
    drain.cancel()
    return results


def in_process(text: str, n: int) -> dict[str, dict[str, float]]:
    original = text  # the burst starts from it: the typing below may end in a syntax error
    doc = Document(
        "file:///big.py", 1, text, language.get("python"), Location(None, None, "big.py")
    )
    doc.snapshot.analysis()
    notify: list[float] = []
    reparse: list[float] = []
    index: dict[str, list[float]] = {"shifted": [], "full": [], "error": []}
    version = 1
    for typing in (NAME, PLUS):
        where = typing_spot(text, len(text) // 2)
        for ch in (typing * n)[:n]:
            version += 1
            at = position_of(text, where)
            change = lsp.TextDocumentContentChangePartial(range=lsp.Range(at, at), text=ch)
            text, where = text[:where] + ch + text[where:], where + 1
            start = clock()
            doc.apply([change], version)
            applied = clock()
            snap = doc.snapshot
            clean = snap.exact_tree is not None  # the (incremental) parse happens here
            reparse.append(clock() - start)
            notify.append(applied - start)
            start = clock()
            snap.analysis()
            took = clock() - start
            index["error" if not clean else "full" if snap._full else "shifted"].append(took)
    return {
        "keystroke: didChange alone, parse deferred (in-process)": stats(notify),
        "keystroke: incremental reparse (in-process)": stats(reparse),
        f"typing burst: {BURST} didChange, then one parse (in-process)": stats(burst(original, n)),
        "keystroke: function index, shifted (in-process)": stats(index["shifted"]),
        "keystroke: function index, full analysis, text parses (in-process)": stats(index["full"]),
        "keystroke: function index, syntax error: fresh parse + full (in-process)": stats(
            index["error"]
        ),
    }


def burst(text: str, n: int) -> list[float]:
    """A name typed fast: BURST one-character didChange notifications before the request that
    needs the tree (the server parses once for all of them)."""
    doc = Document(
        "file:///big.py", 1, text, language.get("python"), Location(None, None, "big.py")
    )
    doc.snapshot.analysis()
    where = typing_spot(text, len(text) // 3)
    out, version = [], 1
    for _ in range(max(n // BURST, 10)):
        changes = []
        for ch in NAME[:BURST]:
            at = position_of(text, where)
            changes.append(lsp.TextDocumentContentChangePartial(range=lsp.Range(at, at), text=ch))
            text, where = text[:where] + ch + text[where:], where + 1
        start = clock()
        for change in changes:
            version += 1
            doc.apply([change], version)
        assert doc.snapshot.exact_tree is not None
        out.append(clock() - start)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer samples")
    p.add_argument("--cpu", action="store_true", help="in-process rows in thread CPU time")
    args = p.parse_args()
    n = 30 if args.quick else 200
    global clock
    clock = time.thread_time if args.cpu else time.perf_counter
    text = big_file()
    with tempfile.TemporaryDirectory() as tmp:
        results = in_process(text, n)
        results.update(asyncio.run(over_stdio(text, Path(tmp), n)))
    report = {
        "file": {"lines": text.count("\n") + 1, "bytes": len(text.encode("utf-8"))},
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg": list(os.getloadavg()),
            "python": platform.python_version(),
        },
        "in_process_clock": "thread CPU time" if args.cpu else "wall clock",
        "results": results,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    lines, size = report["file"]["lines"], report["file"]["bytes"]
    print(f"{lines} lines, {size} bytes; load average {os.getloadavg()[0]:.1f}\n")
    print("| what | n | p50 ms | p99 ms |\n|---|---:|---:|---:|")
    for name, s in results.items():
        print(f"| {name} | {s['n']} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
