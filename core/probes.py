"""Analyze stage, probe sites: the loops, assignments, parameters and process exits of each
function.

Found by the language's ``probes.scm`` (see docs/probes.md) only when a run asks for loop,
variable or argument probes, or for a language with a line before process exits in a function
holding one of its ``exit_hints``, so the common entry/exit run rarely pays for the query. Each
site belongs to the innermost function around it, found in one sweep over byte ranges.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field

import tree_sitter as ts

from .types import FunctionId, FunctionInfo


@dataclass(frozen=True, slots=True)
class LoopSite:
    kind: str  # what the event reports: for, while, do, each ...
    statement: ts.Node  # the setup line goes before this (the loop, or its label)
    body: ts.Node
    vars: tuple[str, ...]  # identifiers bound per iteration


@dataclass(frozen=True, slots=True)
class AssignSite:
    statement: ts.Node  # the variable lines go after this
    vars: tuple[str, ...]


@dataclass
class Sites:
    loops: list[LoopSite] = field(default_factory=list)
    assigns: list[AssignSite] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    exits: list[ts.Node] = field(default_factory=list)  # statements that end the process


def find_sites(
    query: ts.Query | None, root: ts.Node, functions: list[FunctionInfo]
) -> dict[FunctionId, Sites]:
    out: dict[FunctionId, Sites] = {f.id: Sites() for f in functions}
    if query is None or not functions:
        return out
    loops: list[LoopSite] = []
    assigns: list[AssignSite] = []
    params: list[ts.Node] = []
    exits: dict[int, ts.Node] = {}
    skipped: set[int] = set()
    for _pattern, caps in ts.QueryCursor(query).matches(root):
        for node in caps.get("skip", ()):
            skipped.add(node.id)
        names = tuple(dict.fromkeys(_text(n) for n in caps.get("var", ())))
        loop = next(((k, v[0]) for k, v in caps.items() if k.split(".")[0] == "loop"), None)
        if loop is not None and "body" in caps:
            kind = loop[0].partition(".")[2] or "loop"
            stmt = caps["statement"][0] if "statement" in caps else loop[1]
            loops.append(LoopSite(kind, stmt, caps["body"][0], names))
        elif "assign" in caps and names:
            assigns.append(AssignSite(caps["assign"][0], names))
        params.extend(caps.get("param", ()))
        exits.update((n.id, n) for n in caps.get("exit", ()))
    owner = _owners(functions)
    joined: dict[int, LoopSite] = {}
    for site in loops:  # one match per bound name (for i, x in ...): names join
        prev = joined.get(site.statement.id)
        if prev is not None:
            site = LoopSite(prev.kind, prev.statement, prev.body, _union(prev.vars, site.vars))
        joined[site.statement.id] = site
    for site in sorted(joined.values(), key=lambda s: s.statement.start_byte):
        f = owner(site.statement.start_byte)
        if f is not None and site.statement.id not in skipped:
            out[f.id].loops.append(site)
    merged: dict[int, AssignSite] = {}
    for a in assigns:  # several patterns may match one statement: names join
        prev = merged.get(a.statement.id)
        vars_ = a.vars if prev is None else _union(prev.vars, a.vars)
        merged[a.statement.id] = AssignSite(a.statement, vars_)
    for a in sorted(merged.values(), key=lambda s: s.statement.start_byte):
        f = owner(a.statement.start_byte)
        if f is not None and a.statement.id not in skipped:
            out[f.id].assigns.append(a)
    for node in sorted(exits.values(), key=lambda n: n.start_byte):
        f = owner(node.start_byte)
        if f is not None and node.id not in skipped:
            out[f.id].exits.append(node)
    for node in sorted(params, key=lambda n: n.start_byte):
        f = owner(node.start_byte)
        # In the header, not the body (where the grammar's body is the whole definition, as
        # Ruby's, the query alone decides).
        if f is not None and (node.start_byte < f.body.start or f.body.start <= f.span.start):
            name = _text(node)
            if name not in out[f.id].params:
                out[f.id].params.append(name)
    return out


def _owners(functions: list[FunctionInfo]) -> Callable[[int], FunctionInfo | None]:
    """A lookup: byte offset -> the innermost function whose span holds it (or None)."""
    ordered = sorted(functions, key=lambda f: (f.span.start, -f.span.end))
    starts = [f.span.start for f in ordered]

    def owner(offset: int) -> FunctionInfo | None:
        i = bisect.bisect_right(starts, offset) - 1
        best: FunctionInfo | None = None
        # Walk back over the functions starting before the offset: the innermost one holding
        # it is the last in this order that still spans it (ranges nest).
        while i >= 0:
            f = ordered[i]
            if f.span.start <= offset < f.span.end and (best is None or f.depth > best.depth):
                best = f
            if f.depth == 0:  # top-level functions never overlap: none before holds it
                break
            i -= 1
        return best

    return owner


def _union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a + b))


def _text(node: ts.Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")
