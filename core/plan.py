"""Plan stage: decide, per function, which snippets go where, anchored to structure.

Each snippet is tied to (function id, anchor kind). Its position in the function's own text
is computed here once, from the tree, and handed to the script stage as an ``Op``; nothing
downstream ever matches snippets to functions by line numbers.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import tree_sitter as ts

from . import markers, strip
from .analyze import Analysis, matches_rule
from .config import Templates
from .language import ImportRule, LanguageSpec
from .language import get as language_named
from .placement import PlanError, inline_op, line_ops, render, row_col, string_literal
from .plan_probes import IGNORE_FILE, ignore_file, ignored_function, probe_ops, value_items
from .types import (
    Anchor,
    AnchorKind,
    ExtraFile,
    FunctionInfo,
    FunctionOutcome,
    FunctionPlan,
    Insertion,
    Op,
    Snippet,
    Status,
)

ORDER = (AnchorKind.BEFORE_DEF, AnchorKind.BODY_START, AnchorKind.BODY_END)
DEFAULT_PROBES = frozenset({"function"})


@dataclass
class FilePlan:
    functions: list[FunctionPlan] = field(default_factory=list)
    skipped: list[FunctionOutcome] = field(default_factory=list)
    file_insertions: list[Insertion] = field(default_factory=list)
    runtime: list[ExtraFile] = field(default_factory=list)


def function_text_range(analysis: Analysis, f: FunctionInfo) -> tuple[int, int]:
    """Bytes of the whole lines a function occupies: the text its script receives."""
    return analysis.lines_bytes(f.span.start_row, f.span.end_row)


def plan(
    analysis: Analysis,
    profile_name: str,
    relpath: str,
    select: Callable[[FunctionInfo], bool] | None = None,
    probes: frozenset[str] = DEFAULT_PROBES,
    templates: Templates | None = None,
) -> FilePlan:
    spec = analysis.spec
    profile = spec.profile(profile_name)
    snippets, values = profile.snippets, profile.values
    if templates is not None:
        snippets = {**snippets, **templates.snippets}
        values = {**values, **templates.values}
    out = FilePlan()
    excluded = excluded_because(spec, analysis.tree, analysis.rule_matches)
    if not excluded and ignore_file(analysis):
        excluded = f"a {IGNORE_FILE} comment"
    if not excluded and not snippets:  # a profile this language has no code for (yet)
        excluded = f"the {profile_name} profile is not available for {spec.name}"
    for f in analysis.functions:
        if select is not None and not select(f):
            continue
        if excluded:
            out.skipped.append(_skip(f, excluded))
            continue
        if f.instrumented:
            out.skipped.append(_skip(f, "already instrumented"))
            continue
        if f.has_error:
            out.skipped.append(_skip(f, "contains a syntax error"))
            continue
        why = skipped_because(analysis, f) or ignored_function(analysis, f, templates)
        if why:
            out.skipped.append(_skip(f, why))
            continue
        try:
            fp = plan_function(analysis, f, snippets, relpath, probes, values)
        except PlanError as exc:
            out.skipped.append(_skip(f, str(exc)))
            continue
        if fp.ops:
            out.functions.append(fp)
        else:
            out.skipped.append(_skip(f, "nothing here for the chosen probes"))
    rule = None
    if not analysis.has_file_marker and not excluded:
        rule = choose_import(spec, profile.imports, analysis.tree, relpath, analysis.rule_matches)
    # An `always` import declares the runtime for other files too (a Rust crate root's `mod`).
    whole = rule is not None and rule.always and select is None
    if out.functions or analysis.has_file_marker or whole:
        out.runtime = runtime_files(spec, profile_name, relpath, analysis.captures)
    if rule is not None and (out.functions or whole):
        out.file_insertions.append(import_insertion(analysis, rule.code))
    return out


def skipped_because(analysis: Analysis, f: FunctionInfo) -> str:
    """The reason of the language's first skip_when rule this function meets, or ""."""
    spec = analysis.spec
    for rule in spec.skip_when:
        if rule.signature:
            head = analysis.source[f.span.start : f.body.start].decode("utf-8", "replace")
            if not re.search(rule.signature, head):
                continue
        if rule.body:
            body = analysis.body_nodes.get(f.id)
            if body is None or not matches_rule(body, (rule.body,), spec.language):
                continue
        return rule.reason
    return ""


def _skip(f: FunctionInfo, reason: str) -> FunctionOutcome:
    return FunctionOutcome(f.id, f.line, Status.SKIPPED, reason)


def plan_function(
    analysis: Analysis,
    f: FunctionInfo,
    snippets: dict[str, str],
    relpath: str,
    probes: frozenset[str] = DEFAULT_PROBES,
    values: dict[str, str] | None = None,
) -> FunctionPlan:
    values = values or {}
    head: list[Op] = []
    tail: list[Op] = []  # body_end goes after every probe line at its position
    planned: list[Snippet] = []
    for kind in ORDER if "function" in probes else ():
        code = snippets.get(kind.value)
        if not code:
            continue
        code = _function_fields(analysis, f, code, probes, values)
        planned.append(Snippet(Anchor(f.id, kind), code))
        (tail if kind is AnchorKind.BODY_END else head).extend(_ops_for(analysis, f, kind, code))
    sites = probe_ops(analysis, f, snippets, values, probes)
    planned.extend(sites.snippets)
    ops = head + sites.ops + tail
    start, end = function_text_range(analysis, f)
    text = analysis.source[start:end].decode("utf-8")
    params = {
        "fn": string_literal(analysis.spec, str(f.id.qualname)),
        "file": string_literal(analysis.spec, relpath),
        "line": str(f.line),
        # Over the text without markers: nested functions may be instrumented already.
        "stamp": markers.stamp_of(strip.strip_text(analysis.spec, text)),
        # Nesting level: a local named after it differs from every enclosing function's.
        "depth": str(f.depth),
        "eol": analysis.eol,
        **analysis.captures,
        **sites.params,
    }
    return FunctionPlan(f, tuple(planned), tuple(ops), tuple(sorted(params.items())))


def _function_fields(
    analysis: Analysis, f: FunctionInfo, code: str, probes: frozenset[str], values: dict[str, str]
) -> str:
    """{{args}} and {{ret}} of an enter/exit snippet: empty unless their probe is chosen."""
    args = ""
    if "args" in probes:
        names = analysis.sites(f.id).params
        args = values.get("args") or value_items(analysis.spec, values, names)
    ret = values.get("ret", "") if "return" in probes else ""
    return code.replace("{{args}}", args).replace("{{ret}}", ret)


def _ops_for(analysis: Analysis, f: FunctionInfo, kind: AnchorKind, code: str) -> list[Op]:
    spec, src = analysis.spec, analysis.source
    base_row = f.span.start_row
    if kind is AnchorKind.BEFORE_DEF:
        if src[analysis.line_starts[base_row] : f.span.start].strip():
            raise PlanError("the definition does not start its line")
        return line_ops(0, f.indent, code)
    if kind is AnchorKind.BODY_START:
        pos = f.body.start + len(spec.body_open)
        if src[f.body.start : pos] != spec.body_open.encode():
            raise PlanError(f"the body does not start with {spec.body_open!r}")
        body = analysis.body_nodes.get(f.id)
        if body is not None:
            for child in body.named_children:
                if not matches_rule(child, spec.body_skip, spec.language):
                    break
                pos = child.end_byte
        row, col = row_col(analysis, pos)
        rest = analysis.row_text(row)[col:].strip()
        if not rest or rest.startswith(spec.line_comment.encode()):
            if row >= f.span.end_row:
                raise PlanError("the body ends on the line it starts")
            return line_ops(row + 1 - base_row, f.body_indent, code)
        return [inline_op(analysis, row, col, base_row, code)]
    pos = f.body.end - len(spec.body_close)
    if src[pos : f.body.end] != spec.body_close.encode():
        raise PlanError(f"the body does not end with {spec.body_close!r}")
    row, col = row_col(analysis, pos)
    if not analysis.row_text(row)[:col].strip():
        return line_ops(row - base_row, f.body_indent, code)
    return [inline_op(analysis, row, col, base_row, code)]


def excluded_because(
    spec: LanguageSpec, tree: ts.Tree, known: dict[str, bool] | None = None
) -> str:
    """Why the language leaves this whole file alone (its exclude_when queries), or ""."""
    for query, reason in spec.exclude_when:
        if _matches(spec, query, tree, known):
            return reason
    return ""


def _matches(spec: LanguageSpec, query: str, tree: ts.Tree, known: dict[str, bool] | None) -> bool:
    """Whether a language.toml query matches; analysis already knows for its own tree."""
    if known is not None and query in known:
        return known[query]
    return bool(ts.QueryCursor(compiled(spec.language, query)).captures(tree.root_node))


@cache
def compiled(language: ts.Language, source: str) -> ts.Query:
    """A query from language.toml, compiled once (compiling costs milliseconds)."""
    return ts.Query(language, source)


@cache
def _runtime_text(name: str, source: str) -> str:
    return language_named(name).read(source)


def choose_import(
    spec: LanguageSpec,
    rules: tuple[ImportRule, ...],
    tree: ts.Tree,
    relpath: str,
    known: dict[str, bool] | None = None,
) -> ImportRule | None:
    for rule in rules:
        if rule.extensions and not relpath.lower().endswith(rule.extensions):
            continue
        if rule.files and not path_matches(relpath, rule.files):
            continue
        if rule.when and not _matches(spec, rule.when, tree, known):
            continue
        return rule
    return None


def import_insertion(analysis: Analysis, code: str) -> Insertion:
    row, eol = analysis.prologue_row, analysis.eol
    suffix = markers.line_suffix(analysis.spec.line_comment, None, analysis.spec.line_comment_end)
    text = "".join(line + suffix + eol for line in code.splitlines())
    if row < len(analysis.line_starts):
        return Insertion(analysis.line_starts[row], text, (0,))
    lead = eol if analysis.source and not analysis.source.endswith((b"\n", b"\r")) else ""
    return Insertion(len(analysis.source), lead + text, (0,))


def runtime_files(
    spec: LanguageSpec, profile_name: str, relpath: str, captures: dict[str, str]
) -> list[ExtraFile]:
    folder = posixpath.dirname(relpath)
    return [
        ExtraFile(
            posixpath.join(folder, render(r.target, captures)),
            render(_runtime_text(spec.name, r.source), captures),
        )
        for r in spec.profile(profile_name).runtime
        if not r.files or path_matches(relpath, r.files)
    ]


def path_matches(relpath: str, globs: tuple[str, ...]) -> bool:
    """Whether the path's last components match one of the globs ("main.rs", "bin/*.rs")."""
    parts = relpath.split("/")
    return any(fnmatch.fnmatchcase("/".join(parts[-(g.count("/") + 1) :]), g) for g in globs)
