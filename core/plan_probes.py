"""Plan stage, probe sites: where the loop and variable lines of one function go (see
docs/probes.md), and the ignore comments that leave a function, a site or a file alone."""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node

from .analyze import Analysis, body_indent, indent_of
from .config import Templates
from .language import LanguageSpec
from .placement import PlanError, inline_op, line_ops, render, row_col, string_literal
from .probes import AssignSite, LoopSite
from .types import Anchor, AnchorKind, FunctionInfo, Op, Snippet

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
    """The lines of the loop and variable probes of one function, and the lines before its
    process exits, in the order they go in.

    A site that cannot take its line (it shares its line with other code, it ends the
    function's last line, an ignore comment) is left out; the rest of the function is not.
    Exit lines go in with any probe: whatever the runtime buffered is written before them.
    """
    out = SiteOps()
    loop_ok = "loop" in probes and snippets.get("loop_before") and snippets.get("loop_body")
    var_ok = "var" in probes and snippets.get("var_after")
    exit_code = snippets.get(AnchorKind.EXIT_BEFORE.value, "")
    if exit_code and not _may_exit(analysis, f):
        exit_code = ""
    if not (loop_ok or var_ok or exit_code):
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
        out.params[key] = str(analysis.original_line(loop.statement.start_point[0]))
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
        out.params[key] = str(analysis.original_line(assign.statement.start_point[0]))
    exits = 0
    for stmt in sites.exits if exit_code else ():
        try:
            placed.append((stmt.start_byte, _exit_ops(analysis, f, stmt, exit_code)))
        except PlanError:
            continue
        exits += 1
    placed.sort(key=lambda p: p[0])
    ops = [op for _start, site_ops in placed for op in site_ops]
    out.ops = sorted(ops, key=lambda op: (op.line, op.col))  # stable: ties keep source order
    if loop_ok and any(k.startswith("line_l") for k in out.params):
        for kind in (AnchorKind.LOOP_BEFORE, AnchorKind.LOOP_BODY):
            out.snippets.append(Snippet(Anchor(f.id, kind), snippets[kind.value]))
    if var_ok and any(k.startswith("line_v") for k in out.params):
        out.snippets.append(Snippet(Anchor(f.id, AnchorKind.VAR_AFTER), snippets["var_after"]))
    if exits:
        out.snippets.append(Snippet(Anchor(f.id, AnchorKind.EXIT_BEFORE), exit_code))
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
    indent = indent_of(analysis.row_text(row))
    base = f.span.start_row
    ops = line_ops(row - base, indent, render(snippets["loop_before"], fields))
    return ops + _iteration_ops(analysis, loop, base, indent, render(snippets["loop_body"], fields))


def _iteration_ops(
    analysis: Analysis, loop: LoopSite, base: int, indent: str, code: str
) -> list[Op]:
    spec, src, body = analysis.spec, analysis.source, loop.body
    opener = spec.body_open.encode()
    if opener and src[body.start_byte : body.start_byte + len(opener)] == opener:
        row, col = row_col(analysis, body.start_byte + len(opener))
        rest = analysis.row_text(row)[col:].strip()
        # Where the grammar captures only the opening token (Swift), the loop's end tells.
        last = body.end_point[0]
        if body.end_byte - body.start_byte <= len(opener) and body.parent is not None:
            last = body.parent.end_point[0]
        if (not rest or rest.startswith(spec.line_comment.encode())) and row < last:
            return line_ops(row + 1 - base, body_indent(analysis, body, indent), code)
        return [inline_op(analysis, row, col, base, code)]
    if opener:  # one statement without braces: braces go around it, with the line first
        srow, scol = row_col(analysis, body.start_byte)
        erow, ecol = row_col(analysis, body.end_byte)
        return [
            inline_op(analysis, srow, scol, base, f"{spec.body_open} {code}"),
            inline_op(analysis, erow, ecol, base, f" {spec.body_close}", end=False),
        ]
    row = body.start_point[0]  # an indented block: before its first statement
    if (
        row == loop.statement.start_point[0]
        or analysis.row_text(row)[: body.start_point[1]].strip()
    ):
        raise PlanError("the loop body shares its line with other code")
    return line_ops(row - base, indent_of(analysis.row_text(row)), code)


def _may_exit(analysis: Analysis, f: FunctionInfo) -> bool:
    """Whether the function's text holds one of the language's ``exit_hints`` (none: always),
    so that the probe query runs for exit lines only where one may be found."""
    hints = analysis.spec.raw.get("exit_hints")
    if not hints:
        return True
    text = analysis.source[f.span.start : f.span.end]
    return any(h.encode() in text for h in hints)


def _exit_ops(analysis: Analysis, f: FunctionInfo, stmt: Node, code: str) -> list[Op]:
    row = stmt.start_point[0]
    if _ignored_row(analysis, row):
        raise PlanError("an ignore comment")
    if analysis.row_text(row)[: stmt.start_point[1]].strip():
        raise PlanError("the exit does not start its line")
    return line_ops(row - f.span.start_row, indent_of(analysis.row_text(row)), code)


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
    return line_ops(last + 1 - f.span.start_row, indent_of(analysis.row_text(first)), code)


def _ignored_row(analysis: Analysis, row: int) -> bool:
    """An ignore comment on the row or the one above it."""
    return any(
        0 <= r < len(analysis.line_starts) and IGNORE in analysis.row_text(r)
        for r in (row, row - 1)
    )


def ignored_function(analysis: Analysis, f: FunctionInfo, templates: Templates | None) -> str:
    if _ignored_row(analysis, f.span.start_row):
        return "a telemetry-inject: ignore comment"
    if templates is not None and templates.function_excluded(str(f.id.qualname)):
        return "excluded by the project's exclude_functions"
    return ""


def ignore_file(analysis: Analysis) -> bool:
    """An ignore-file comment in the first five lines."""
    starts = analysis.line_starts
    head = analysis.source[: starts[5]] if len(starts) > 5 else analysis.source
    return IGNORE_FILE.encode() in head
