"""The function index, kept current cheaply: after an edit inside a function's body, the last
analysis is shifted instead of recomputed.

Reuse is allowed only where it is exact: the edited region (every changed byte, and every range
tree-sitter reports as syntactically changed) lies inside the body of each function it touches
(reaching at most its end: typing at the end of the last statement); no marker text is
involved; the language's queries capture the same nodes around it (so names, scopes, kinds and
flags are unchanged); and the facts analysis derives from the first body statement are
untouched. Anything else is a full analysis. A test compares the result with a fresh analysis
after random edits.
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

import tree_sitter as ts
from telemetry_inject.core import markers
from telemetry_inject.core.analyze import Analysis, detect_eol, span_of
from telemetry_inject.core.types import FunctionInfo, Span

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Delta:
    """old[start:old_end] became new[start:new_end]. Outside [lo, hi) of the new text, bytes
    and syntax are the old ones (shifted by the size change)."""

    start: int
    old_end: int
    new_end: int
    lo: int
    hi: int

    @classmethod
    def edit(cls, start: int, old_end: int, new_end: int) -> Delta:
        return cls(start, old_end, new_end, start, new_end)

    @property
    def size(self) -> int:
        return self.new_end - self.old_end

    def then(self, nxt: Delta) -> Delta:
        """This delta (v0 to v1) followed by nxt (v1 to v2), as one delta from v0 to v2."""
        reach = max(self.new_end, nxt.old_end)  # in v1
        old_end = self.old_end if reach == self.new_end else reach - self.size
        lo = min(nxt.lo, self.lo if self.lo <= nxt.start else nxt.start)
        hi = max(nxt.hi, _map_end(self.hi, nxt))
        return Delta(min(self.start, nxt.start), old_end, reach + nxt.size, lo, hi)

    def widen(self, lo: int, hi: int) -> Delta:
        return replace(self, lo=min(self.lo, lo), hi=max(self.hi, hi))


def _map_end(p: int, d: Delta) -> int:
    if p < d.start:
        return p
    return d.new_end if p <= d.old_end else p + d.size


def reuse(base: Analysis, delta: Delta, source: bytes, tree: ts.Tree) -> Analysis | None:
    """The analysis of source (parsed as tree) from base's, or None when it cannot be exact."""
    d = delta
    if d.lo > d.start or d.hi < d.new_end:  # not a region that holds the edit
        return None
    old_lines = _whole_lines(base.source, d.start, d.old_end)
    new_lines = _whole_lines(source, d.start, d.new_end)
    if markers.WORD.encode() in old_lines or markers.WORD.encode() in new_lines:
        return None
    if not _inside_bodies(base, d):
        return None
    outer = _outermost_touching(base, d)
    if outer is None:
        return None
    nodes = _same_captures(base, tree, d, outer)
    if nodes is None or not _same_frame(base, tree, d, outer):
        return None
    old_row = bisect.bisect_right(base.line_starts, d.old_end) - 1
    rows = source.count(b"\n", d.start, d.new_end) - base.source.count(b"\n", d.start, d.old_end)
    new_end_col = d.new_end - (source.rfind(b"\n", 0, d.new_end) + 1)
    cols = new_end_col - (d.old_end - base.line_starts[old_row])
    shift = _Shift(d.old_end, d.size, old_row, rows, cols)
    if base.prologue_row > bisect.bisect_right(base.line_starts, d.start) - 1:
        return None
    lo, hi = _old_region(d)
    functions = []
    for f in base.functions:
        g = shift.function(f)
        if f.body.start < lo and hi <= f.body.end:  # its body holds the region
            node, body = nodes.get(("function", f.span.start)), nodes.get(("body", f.body.start))
            if node is None or body is None or not _indent_kept(base, f, lo):
                return None
            # Where it ends and whether it has errors: as parsed (typing at the end of the
            # last statement may or may not extend the body).
            g = replace(g, span=span_of(node), body=span_of(body), has_error=node.has_error)
        functions.append(g)
    head = bisect.bisect_right(base.line_starts, d.start)
    tail = bisect.bisect_right(base.line_starts, d.old_end)
    inner = [i + 1 for i in range(d.start, d.new_end) if source[i] == 0x0A]
    size = d.size
    line_starts = base.line_starts[:head] + inner + [s + size for s in base.line_starts[tail:]]
    return replace(
        base,
        source=source,
        tree=tree,
        functions=functions,
        eol=detect_eol(source),
        line_starts=line_starts,
        marker_rows=[r + rows if r > old_row else r for r in base.marker_rows],
        stamped_rows={(r + rows if r > old_row else r): s for r, s in base.stamped_rows.items()},
        body_nodes={},  # nodes of the old tree: whoever needs them runs a full analysis
    )


@dataclass(frozen=True, slots=True)
class _Shift:
    old_end: int
    size: int
    row: int  # the row the edit ended on, in the old text
    rows: int
    cols: int  # column change on that row

    def offset(self, p: int) -> int:
        return p if p < self.old_end else p + self.size

    def span(self, s: Span) -> Span:
        end, size, rows, cols, row = self.old_end, self.size, self.rows, self.cols, self.row
        if s.end < end:
            return s
        if s.start < end:  # holds the edit: only its end moves
            ec = s.end_col + (cols if s.end_row == row else 0)
            return _new(
                Span, (s.start, s.end + size, s.start_row, s.start_col, s.end_row + rows, ec)
            )
        sc = s.start_col + (cols if s.start_row == row else 0)
        ec = s.end_col + (cols if s.end_row == row else 0)
        return _new(
            Span, (s.start + size, s.end + size, s.start_row + rows, sc, s.end_row + rows, ec)
        )

    def function(self, f: FunctionInfo) -> FunctionInfo:
        if f.span.end < self.old_end:
            return f
        moved = f.span.start >= self.old_end
        values = list(_FIELDS[FunctionInfo][0](f))
        values[_SPAN], values[_NAME], values[_BODY] = (
            self.span(f.span),
            self.span(f.name_span),
            self.span(f.body),
        )
        values[_LINE] = f.line + (self.rows if moved else 0)
        return _new(FunctionInfo, values)


def _accessors(
    cls: type,
) -> tuple[Callable[[Any], tuple[Any, ...]], list[Callable[[Any, Any], None]]]:
    names = [f.name for f in fields(cls)]
    return operator.attrgetter(*names), [getattr(cls, n).__set__ for n in names]


_FIELDS = {cls: _accessors(cls) for cls in (Span, FunctionInfo)}
_SPAN, _NAME, _BODY, _LINE = (
    [f.name for f in fields(FunctionInfo)].index(n) for n in ("span", "name_span", "body", "line")
)


def _new(cls: type[T], values: Sequence[Any]) -> T:
    """A frozen slotted dataclass instance from all its field values, in field order, without
    its __init__: each function after an edit is rebuilt on every keystroke, and the slots'
    own setters cost less than half as much. Nobody sees the object before it is whole."""
    obj = object.__new__(cls)
    for put, value in zip(_FIELDS[cls][1], values, strict=True):
        put(obj, value)
    return obj


def _whole_lines(source: bytes, start: int, end: int) -> bytes:
    lo = source.rfind(b"\n", 0, start) + 1
    hi = source.find(b"\n", end)
    return source[lo : len(source) if hi < 0 else hi]


def _old_region(d: Delta) -> tuple[int, int]:
    """The region in old-text terms (lo <= start and hi >= new_end, so it maps back whole)."""
    return d.lo, d.hi - d.size


def _inside_bodies(base: Analysis, d: Delta) -> bool:
    """Every function the region (in old terms) touches holds it strictly inside its body."""
    lo, hi = _old_region(d)
    return all(
        f.body.start < lo and hi <= f.body.end
        for f in base.functions
        # From the start of its first line: the indentation there is part of what it is.
        if base.line_starts[f.span.start_row] <= hi and lo <= f.span.end
    )


def _outermost_touching(base: Analysis, d: Delta) -> FunctionInfo | None:
    best = None
    for f in base.functions:
        if (
            f.body.start < d.start
            and d.old_end <= f.body.end
            and (best is None or f.depth < best.depth)
        ):
            best = f
    return best


def _same_captures(
    base: Analysis, tree: ts.Tree, d: Delta, outer: FunctionInfo
) -> dict[tuple[str, int], ts.Node] | None:
    """The language's queries capture the same nodes over the outermost function holding the
    edit, before and after (positions shifted); then the new function and body nodes, by
    capture and start."""
    found: dict[tuple[str, int], ts.Node] = {}
    for name in ("functions", "scopes", "file"):
        query = base.spec.query(name)
        if query is None:
            continue
        before = _captures(query, base.tree, outer.span.start, outer.span.end)
        after = _captures(query, tree, outer.span.start, outer.span.end + max(d.size, 0))
        left = [(c, s, e) for c, s, e, _n in after]
        for cap, s, e, _node in before:
            kind = cap.split(".")[0]
            if d.start < s < d.old_end or d.start < e < d.old_end:
                return None  # a node that began or ended inside what was replaced
            if kind not in _CONTAINERS and not (e < d.start or s > d.old_end):
                return None  # a name, qualifier or flag the edit touches changes in text
            match = next(
                (x for x in left if x[0] == cap and x[1] in _moved(s, d) and x[2] in _moved(e, d)),
                None,
            )
            if match is None:
                return None
            left.remove(match)
        if left:
            return None
        if name == "functions":
            for c, s, _e, n in after:
                kind = c.split(".")[0]
                if kind in ("function", "body"):
                    found[(kind, s)] = n
    return found


def _moved(p: int, d: Delta) -> tuple[int, ...]:
    """Where an old node boundary can be now: a boundary at the edit may or may not take in
    what was typed there."""
    if p < d.start:
        return (p,)
    if p > d.old_end:
        return (p + d.size,)
    return (d.start, d.new_end)


_CONTAINERS = {"function", "body", "scope"}  # captures that may hold an edit inside them


def _same_frame(base: Analysis, tree: ts.Tree, d: Delta, outer: FunctionInfo) -> bool:
    """Around the outermost function, up to the root, every node and its children are the same
    (shifted): the edit moved no boundary outside it (which changed ranges may not report)."""
    old = _node_at(base.tree, outer.span.start, outer.span.end)
    new = next(
        (n for e in _moved(outer.span.end, d) if (n := _node_at(tree, outer.span.start, e))),
        None,
    )
    if old is None or new is None or old.kind_id != new.kind_id:
        return False
    while old.parent is not None:
        old, new = old.parent, new.parent
        if new is None or old.kind_id != new.kind_id or old.child_count != new.child_count:
            return False
        for a, b in zip(old.children, new.children, strict=True):
            # Siblings wholly before or after the edit (nearly all): unmoved or shifted.
            start, end = a.start_byte, a.end_byte
            if end < d.start:
                same = (start, end) == (b.start_byte, b.end_byte)
            elif start > d.old_end:
                same = (start + d.size, end + d.size) == (b.start_byte, b.end_byte)
            else:
                same = b.start_byte in _moved(start, d) and b.end_byte in _moved(end, d)
            if not same or a.kind_id != b.kind_id:
                return False
    return new.parent is None


def _captures(
    query: ts.Query, tree: ts.Tree, start: int, end: int
) -> list[tuple[str, int, int, ts.Node]]:
    cursor = ts.QueryCursor(query)
    cursor.set_byte_range(start, end)
    found = [
        (name, n.start_byte, n.end_byte, n)
        for name, nodes in cursor.captures(tree.root_node).items()
        for n in nodes
    ]
    return sorted(found, key=lambda c: c[:3])


def _node_at(tree: ts.Tree, start: int, end: int) -> ts.Node | None:
    """The outermost node spanning exactly [start, end)."""
    node = tree.root_node.descendant_for_byte_range(start, end)
    if node is None or (node.start_byte, node.end_byte) != (start, end):
        return None
    while node.parent is not None and (node.parent.start_byte, node.parent.end_byte) == (
        start,
        end,
    ):
        node = node.parent
    return node


def _indent_kept(base: Analysis, f: FunctionInfo, lo: int) -> bool:
    """The body indentation analysis derives (from the body's first statement, skipping
    comments on the opening line) is read from text before the edit."""
    body = _node_at(base.tree, f.body.start, f.body.end)
    if body is None:
        return False
    for child in body.named_children:
        if child.start_point[0] == body.start_point[0] and "comment" in child.type:
            continue
        return child.start_byte < lo
    return False
