"""Hover on a function's name or signature: instrumented or not (current or stale), its probes,
and its insertion script's cache status (hit or miss, hash, created, source, hits)."""

from __future__ import annotations

import asyncio
import time

from lsprotocol import types as lsp
from telemetry_inject.core import carried
from telemetry_inject.core.analyze import Analysis
from telemetry_inject.core.engine import Engine, ScriptStatus
from telemetry_inject.core.types import PROBES, FunctionInfo

from ..actions import signature_at
from ..app import TelemetryServer

EVENTS = "enter, exit (with duration), error (with the exception)"
FUNCTION_ANCHORS = ("before_def", "body_start", "body_end")


def register(server: TelemetryServer) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    async def hover(ls: TelemetryServer, params: lsp.HoverParams) -> lsp.Hover | None:
        snap = ls.documents.get(params.text_document.uri)
        if snap is None:
            return None
        analysis = await ls.analysis(snap)
        if analysis is None:
            return None
        f = signature_at(analysis, snap.offset(params.position))
        if f is None:
            return None
        engine = ls.engine()
        try:
            status = await asyncio.to_thread(engine.script_status, analysis, f, snap.relpath)
            snippets = analysis.spec.profile(engine.options.profile).snippets
        except Exception as exc:  # e.g. a profile this language lacks: no hover, a log line
            ls.log(f"hover on {f.id}: {exc}", lsp.MessageType.Warning)
            return None
        markdown = lsp.MarkupKind.Markdown in (
            ls.capability("text_document.hover.content_format") or [lsp.MarkupKind.Markdown]
        )
        text = describe(analysis, f, status, snippets, engine)
        kind = lsp.MarkupKind.Markdown if markdown else lsp.MarkupKind.PlainText
        contents = lsp.MarkupContent(kind=kind, value=text if markdown else _plain(text))
        return lsp.Hover(contents=contents, range=snap.range(f.name_span.start, f.name_span.end))


def describe(
    analysis: Analysis,
    f: FunctionInfo,
    status: ScriptStatus,
    snippets: dict[str, str],
    engine: Engine,
) -> str:
    if f.instrumented and carried.is_stale(analysis, f):
        state = "instrumented, **stale**: edited since; use 'Update instrumentation'"
    elif f.instrumented:
        state = "instrumented (current)"
    elif f.has_error:
        state = "not instrumented; contains a syntax error"
    else:
        state = "not instrumented"
    lines = [f"**telemetry-inject** · `{f.id}` ({analysis.spec.name}): {state}", ""]
    profile = engine.options.profile
    where = ", ".join(
        f"{anchor.replace('_', ' ')} `{_shown(code, engine.options.probes)}`"
        for anchor, code in snippets.items()
        if anchor in FUNCTION_ANCHORS
    )
    lines += [f"Probes (profile `{profile}`): {EVENTS}; inserted as {where}", ""]
    chosen = ", ".join(p for p in PROBES if p in engine.options.probes)
    if f.instrumented:
        extra = carried.probes_present(analysis, f, snippets)
        carries = ", ".join(p for p in PROBES if p in extra) or "no loop or var probe"
        lines += [f"Chosen probes: {chosen}; this function carries {carries}", ""]
    else:
        lines += [f"Chosen probes: {chosen}", ""]
    lines.append(f"Insertion script: {_cache_line(status, engine.cache is not None)}")
    return "\n".join(lines)


def _shown(code: str, probes: frozenset[str]) -> str:
    """A snippet as inserted with these probes: {{args}} and {{ret}} only when chosen."""
    for probe, field in (("args", "{{args}}"), ("return", "{{ret}}")):
        if probe not in probes:
            code = code.replace(field, "")
    return code


def _cache_line(status: ScriptStatus, cached: bool) -> str:
    if not cached:
        return "script cache off"
    if not status.key:
        return "unknown (the function cannot be found without its instrumentation)"
    short = status.key[:12]
    e = status.entry
    if e is None:
        return f"cache **miss** · `{short}` (made and cached on first use)"
    created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.created))
    hits = f"{e.hits} hit" + ("" if e.hits == 1 else "s")
    source = "template" if e.source == "template" else f"model {e.source}"
    return f"cache **hit** · `{short}` · created {created} · source: {source} · {hits} · `{e.path}`"


def _plain(text: str) -> str:
    return text.replace("**", "").replace("`", "")
