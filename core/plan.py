"""Plan stage: decide, per function, which snippets go where, anchored to structure.

Each snippet is tied to (function id, anchor kind). Its position in the function's own text
is computed here once, from the tree, and handed to the script stage as an ``Op``; nothing
downstream ever matches snippets to functions by line numbers.
"""

from __future__ import annotations

import bisect
import fnmatch
import json
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
from .probes import AssignSite, LoopSite
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


class PlanError(Exception):
    """This function cannot take this snippet; the message says why."""


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
    if not excluded and _ignore_file(analysis):
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
        why = skipped_because(analysis, f) or _ignored_function(analysis, f, templates)
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


def string_literal(spec: LanguageSpec, value: str) -> str:
    """A JSON string literal that is the same string in the language's source.

    language.toml's ``[string]`` table adjusts it: ``ascii = true`` escapes non-ASCII as
    ``\\uXXXX``; ``escape`` maps characters to the language's own escapes (e.g. ``$``).
    """
    table = spec.raw.get("string", {})
    ascii_only, escapes = bool(table.get("ascii", False)), table.get("escape", {})
    if not escapes:
        return json.dumps(value, ensure_ascii=ascii_only)
    parts = (escapes.get(ch) or json.dumps(ch, ensure_ascii=ascii_only)[1:-1] for ch in value)
    return '"' + "".join(parts) + '"'


def _ops_for(analysis: Analysis, f: FunctionInfo, kind: AnchorKind, code: str) -> list[Op]:
    spec, src = analysis.spec, analysis.source
    base_row = f.span.start_row
    if kind is AnchorKind.BEFORE_DEF:
        if src[analysis.line_starts[base_row] : f.span.start].strip():
            raise PlanError("the definition does not start its line")
        return _line_ops(0, f.indent, code)
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
        row, col = _row_col(analysis, pos)
        rest = analysis.row_text(row)[col:].strip()
        if not rest or rest.startswith(spec.line_comment.encode()):
            if row >= f.span.end_row:
                raise PlanError("the body ends on the line it starts")
            return _line_ops(row + 1 - base_row, f.body_indent, code)
        return [_inline_op(analysis, row, col, base_row, code)]
    pos = f.body.end - len(spec.body_close)
    if src[pos : f.body.end] != spec.body_close.encode():
        raise PlanError(f"the body does not end with {spec.body_close!r}")
    row, col = _row_col(analysis, pos)
    if not analysis.row_text(row)[:col].strip():
        return _line_ops(row - base_row, f.body_indent, code)
    return [_inline_op(analysis, row, col, base_row, code)]


def _line_ops(line: int, indent: str, code: str) -> list[Op]:
    return [Op("line", line, 0, indent, part) for part in code.splitlines()]


def _inline_op(
    analysis: Analysis, row: int, col: int, base_row: int, code: str, end: bool = True
) -> Op:
    if analysis.spec.block_comment is None:
        raise PlanError(
            "the body shares a line with other code and this language has no inline comments"
        )
    chars = len(analysis.row_text(row)[:col].decode("utf-8"))
    code = " ".join(code.splitlines()) + (analysis.spec.inline_end if end else "")
    return Op("inline", row - base_row, chars, "", code)


def _row_col(analysis: Analysis, offset: int) -> tuple[int, int]:
    row = bisect.bisect_right(analysis.line_starts, offset) - 1
    return row, offset - analysis.line_starts[row]


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


def render(template: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", value)
    return template


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


# -- loop and variable probes (docs/probes.md) ----------------------------------------------

IGNORE = b"telemetry-inject: ignore"
IGNORE_FILE = "telemetry-inject: ignore-file"


@dataclass
class SiteOps:
    ops: list[Op] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)  # each site's line, filled by the script
    snippets: list[Snippet] = field(default_factory=list)


def probe_ops(
    analysis: Analysis,
    f: FunctionInfo,
    snippets: dict[str, str],
    values: dict[str, str],
    probes: frozenset[str],
) -> SiteOps:
    """The lines of the loop and variable probes of one function, in the order they go in.

    A site that cannot take its line (it shares its line with other code, it ends the
    function's last line, an ignore comment) is left out; the rest of the function is not.
    """
    out = SiteOps()
    loop_ok = "loop" in probes and snippets.get("loop_before") and snippets.get("loop_body")
    var_ok = "var" in probes and snippets.get("var_after")
    if not (loop_ok or var_ok):
        return out
    sites = analysis.sites(f.id)
    placed: list[tuple[int, list[Op]]] = []
    for n, loop in enumerate(sites.loops if loop_ok else (), 1):
        key = f"line_l{n}"
        try:
            placed.append(
                (loop.statement.start_byte, _loop_ops(analysis, f, loop, n, key, snippets, values))
            )
        except PlanError:
            continue
        out.params[key] = str(_original_line(analysis, loop.statement.start_point[0]))
    for n, assign in enumerate(sites.assigns if var_ok else (), 1):
        key = f"line_v{n}"
        try:
            placed.append(
                (
                    assign.statement.start_byte,
                    _var_ops(analysis, f, assign, key, snippets["var_after"]),
                )
            )
        except PlanError:
            continue
        out.params[key] = str(_original_line(analysis, assign.statement.start_point[0]))
    placed.sort(key=lambda p: p[0])
    ops = [op for _start, site_ops in placed for op in site_ops]
    out.ops = sorted(ops, key=lambda op: (op.line, op.col))  # stable: ties keep source order
    if loop_ok and any(k.startswith("line_l") for k in out.params):
        for kind in (AnchorKind.LOOP_BEFORE, AnchorKind.LOOP_BODY):
            out.snippets.append(Snippet(Anchor(f.id, kind), snippets[kind.value]))
    if var_ok and any(k.startswith("line_v") for k in out.params):
        out.snippets.append(Snippet(Anchor(f.id, AnchorKind.VAR_AFTER), snippets["var_after"]))
    return out


def value_items(
    spec: LanguageSpec, values: dict[str, str], names: list[str] | tuple[str, ...]
) -> str:
    """Name/value pairs as the language's snippets take them (``values`` of the profile)."""
    if not names:
        return ""
    item = values.get("item", "{{name}}, {{value}}")
    parts = [render(item, {"name": string_literal(spec, n), "value": n}) for n in names]
    return values.get("lead", "") + values.get("sep", ", ").join(parts)


def _loop_ops(
    analysis: Analysis,
    f: FunctionInfo,
    loop: LoopSite,
    n: int,
    line_key: str,
    snippets: dict[str, str],
    values: dict[str, str],
) -> list[Op]:
    stmt, row = loop.statement, loop.statement.start_point[0]
    if _ignored_row(analysis, row):
        raise PlanError("an ignore comment")
    if analysis.row_text(row)[: stmt.start_point[1]].strip():
        raise PlanError("the loop does not start its line")
    fields = {
        "n": str(n),
        "kind": string_literal(analysis.spec, loop.kind),
        "line": "{{" + line_key + "}}",
        "vars": value_items(analysis.spec, values, loop.vars),
    }
    indent = _indent(analysis.row_text(row))
    base = f.span.start_row
    ops = _line_ops(row - base, indent, render(snippets["loop_before"], fields))
    return ops + _iteration_ops(analysis, loop, base, indent, render(snippets["loop_body"], fields))


def _iteration_ops(
    analysis: Analysis, loop: LoopSite, base: int, indent: str, code: str
) -> list[Op]:
    spec, src, body = analysis.spec, analysis.source, loop.body
    opener = spec.body_open.encode()
    if opener and src[body.start_byte : body.start_byte + len(opener)] == opener:
        row, col = _row_col(analysis, body.start_byte + len(opener))
        rest = analysis.row_text(row)[col:].strip()
        # Where the grammar captures only the opening token (Swift), the loop's end tells.
        last = body.end_point[0]
        if body.end_byte - body.start_byte <= len(opener) and body.parent is not None:
            last = body.parent.end_point[0]
        if (not rest or rest.startswith(spec.line_comment.encode())) and row < last:
            return _line_ops(row + 1 - base, _block_indent(analysis, body, indent), code)
        return [_inline_op(analysis, row, col, base, code)]
    if opener:  # one statement without braces: braces go around it, with the line first
        srow, scol = _row_col(analysis, body.start_byte)
        erow, ecol = _row_col(analysis, body.end_byte)
        return [
            _inline_op(analysis, srow, scol, base, f"{spec.body_open} {code}"),
            _inline_op(analysis, erow, ecol, base, f" {spec.body_close}", end=False),
        ]
    row = body.start_point[0]  # an indented block: before its first statement
    if (
        row == loop.statement.start_point[0]
        or analysis.row_text(row)[: body.start_point[1]].strip()
    ):
        raise PlanError("the loop body shares its line with other code")
    return _line_ops(row - base, _indent(analysis.row_text(row)), code)


def _block_indent(analysis: Analysis, body: ts.Node, indent: str) -> str:
    for child in body.named_children:
        if child.start_point[0] > body.start_point[0]:
            own = _indent(analysis.row_text(child.start_point[0]))
            if len(own) > len(indent):
                return own
            break
    return indent + analysis.spec.indent_unit


def _var_ops(
    analysis: Analysis, f: FunctionInfo, assign: AssignSite, line_key: str, template: str
) -> list[Op]:
    spec, stmt = analysis.spec, assign.statement
    first, last = stmt.start_point[0], stmt.end_point[0]
    if _ignored_row(analysis, first):
        raise PlanError("an ignore comment")
    if analysis.row_text(first)[: stmt.start_point[1]].strip():
        raise PlanError("the statement does not start its line")
    rest = analysis.row_text(last)[stmt.end_point[1] :].strip()
    if rest and not rest.startswith(spec.line_comment.encode()):
        raise PlanError("the statement does not end its line")
    if spec.body_close and last >= f.span.end_row:
        raise PlanError("the statement ends on the function's last line")
    code = "\n".join(
        render(
            template, {"name": string_literal(spec, v), "value": v, "line": "{{" + line_key + "}}"}
        )
        for v in assign.vars
    )
    return _line_ops(last + 1 - f.span.start_row, _indent(analysis.row_text(first)), code)


def _original_line(analysis: Analysis, row: int) -> int:
    return row + 1 - bisect.bisect_left(analysis.marker_rows, row)


def _indent(line: bytes) -> str:
    stripped = line.lstrip(b" \t")
    return line[: len(line) - len(stripped)].decode("utf-8")


def _ignored_row(analysis: Analysis, row: int) -> bool:
    """An ignore comment on the row or the one above it."""
    return any(
        0 <= r < len(analysis.line_starts) and IGNORE in analysis.row_text(r)
        for r in (row, row - 1)
    )


def _ignored_function(analysis: Analysis, f: FunctionInfo, templates: Templates | None) -> str:
    if _ignored_row(analysis, f.span.start_row):
        return "a telemetry-inject: ignore comment"
    if templates is not None and templates.function_excluded(str(f.id.qualname)):
        return "excluded by the project's exclude_functions"
    return ""


def _ignore_file(analysis: Analysis) -> bool:
    head = analysis.source[: analysis.line_starts[min(5, len(analysis.line_starts) - 1)]]
    if len(analysis.line_starts) <= 5:
        head = analysis.source
    return IGNORE_FILE.encode() in head
