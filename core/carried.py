"""What instrumented text already carries, per function: whether it was edited since (stale),
which loop and var probes it has, and which inserted ranges are its own."""

from __future__ import annotations

from collections.abc import Callable

from . import markers, plan, strip
from .analyze import Analysis
from .types import FunctionInfo


def probes_present(analysis: Analysis, f: FunctionInfo, snippets: dict[str, str]) -> frozenset[str]:
    """The loop and var probes an instrumented function carries: a marker line that starts
    as the profile's loop snippet just before one of its loops, or as its var snippet just
    after one of its assignments."""
    if not f.instrumented:
        return frozenset()
    rows, sites, out = set(analysis.marker_rows), analysis.sites(f.id), set()

    def holds(row: int, anchor: str) -> bool:
        head = snippets.get(anchor, "").split("{{")[0].strip().encode()
        return row in rows and bool(head) and head in analysis.row_text(row)

    if any(holds(loop.statement.start_point[0] - 1, "loop_before") for loop in sites.loops):
        out.add("loop")
    if any(holds(a.statement.end_point[0] + 1, "var_after") for a in sites.assigns):
        out.add("var")
    return frozenset(out)


def is_stale(analysis: Analysis, f: FunctionInfo) -> bool:
    """Instrumented, but edited since: its stamp no longer matches its original text."""
    if not f.instrumented or f.stamp is None:
        return False
    original = strip.strip_text(analysis.spec, function_text(analysis, f))
    return markers.stamp_of(original) != f.stamp


def function_text(analysis: Analysis, f: FunctionInfo) -> str:
    start, end = plan.function_text_range(analysis, f)
    return analysis.source[start:end].decode("utf-8")


def function_removals(
    analysis: Analysis, text: str, select: Callable[[FunctionInfo], bool]
) -> list[tuple[int, int]]:
    """Removal ranges that belong to the selected functions (their own markers only)."""
    chosen = [f for f in analysis.functions if f.instrumented and select(f)]
    if not chosen:
        return []
    remaining = [f for f in analysis.functions if f.instrumented and f not in chosen]
    out = []
    for start, end in strip.removals(analysis.spec, text):
        owner = _owner(analysis, len(text[:start].encode("utf-8")), analysis.functions)
        if owner is None and not remaining:
            out.append((start, end))  # file-level lines go with the last instrumented function
        elif owner is not None and owner in chosen:
            out.append((start, end))
    return out


def _owner(analysis: Analysis, offset: int, functions: list[FunctionInfo]) -> FunctionInfo | None:
    """The innermost function whose region holds offset."""
    best: FunctionInfo | None = None
    for f in functions:
        start = analysis.line_starts[analysis.region_start_row(f)]
        if start <= offset < f.span.end and (best is None or f.depth > best.depth):
            best = f
    return best
