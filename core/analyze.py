"""Analyze stage: parse a document and find its functions, scopes and file prologue.

Everything language-specific comes from the language's query files and `language.toml`;
this module only interprets the capture vocabulary:

- functions.scm: ``@function`` (or ``@function.KIND``) the definition, ``@body``, optional
  ``@name``, ``@qualifier`` (prefix such as a Go receiver type), ``@async``, ``@generator``;
- scopes.scm: ``@scope`` with ``@name`` (classes, impl blocks, namespaces ...);
- a ``@qualifier`` or scope ``@name`` captured several times in one match joins with dots.
- file.scm (optional): any captures, exposed by name as file-level values (e.g. ``@package``).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import tree_sitter as ts

from . import markers, rules
from .language import LanguageSpec
from .nesting import nesting
from .outline import Found, text_of, walk
from .probes import Sites, find_sites
from .types import FunctionId, FunctionInfo, Span


@dataclass
class Analysis:
    spec: LanguageSpec
    source: bytes
    tree: ts.Tree
    functions: list[FunctionInfo]
    captures: dict[str, str]
    prologue_row: int  # file-top snippets go before this row
    has_file_marker: bool  # file-level instrumentation (imports) already present
    eol: str
    line_starts: list[int] = field(repr=False)
    marker_rows: list[int] = field(repr=False)  # rows holding whole inserted lines
    stamped_rows: dict[int, str] = field(repr=False, default_factory=dict)  # function markers
    body_nodes: dict[FunctionId, ts.Node] = field(repr=False, default_factory=dict)
    # language.toml queries (import `when`, `exclude_when`) -> whether they match this file
    rule_matches: dict[str, bool] = field(repr=False, default_factory=dict)
    _sites: dict[FunctionId, Sites] | None = field(repr=False, default=None)
    _errors: int | None = field(repr=False, default=None)

    def release_tree(self) -> None:
        """Let the syntax tree and its nodes go: a tree takes ~20 times its source in memory,
        and a big file's verification parse must not hold two. Its error count is kept;
        the next use of ``tree`` or ``body_nodes`` analyzes the source again."""
        self._errors = self.tree_errors
        del self.tree, self.body_nodes
        self._sites = None

    @property
    def holds_tree(self) -> bool:
        return "tree" in vars(self)

    @property
    def tree_errors(self) -> int:
        """Error and missing nodes of the tree (counted once)."""
        if self._errors is None:
            self._errors = error_count(self.tree)
        return self._errors

    def __getattr__(self, name: str) -> Any:
        # Only reached for an attribute that is not there: a released tree, parsed again.
        if name not in ("tree", "body_nodes") or "source" not in vars(self):
            raise AttributeError(name)
        again = analyze(self.spec, self.source)
        self.tree, self.body_nodes = again.tree, again.body_nodes
        return vars(self)[name]

    def sites(self, fid: FunctionId) -> Sites:
        """The function's loops, assignments and parameters (probes.scm), found on first use."""
        if self._sites is None:
            query = self.spec.query("probes")
            self._sites = find_sites(query, self.tree.root_node, self.functions)
        return self._sites.get(fid) or Sites()

    @property
    def text(self) -> str:
        return self.source.decode("utf-8")

    def row_text(self, row: int) -> bytes:
        end = self.line_starts[row + 1] if row + 1 < len(self.line_starts) else len(self.source)
        return self.source[self.line_starts[row] : end]

    def lines_bytes(self, first_row: int, last_row: int) -> tuple[int, int]:
        """Byte range covering whole rows first_row..last_row, EOL of the last included."""
        start = self.line_starts[first_row]
        end = (
            self.line_starts[last_row + 1]
            if last_row + 1 < len(self.line_starts)
            else len(self.source)
        )
        return start, end

    def region_start_row(self, f: FunctionInfo) -> int:
        """First row of a function's region: its span plus its own marker lines just above."""
        row = f.span.start_row
        if not self.spec.marks_above:
            return row  # a marker line just above is the enclosing function's
        while row - 1 in self.stamped_rows:
            row -= 1
        return row

    def original_line(self, row: int) -> int:
        """1-based line of a row in the text without inserted lines."""
        return row + 1 - bisect.bisect_left(self.marker_rows, row)

    def function(self, fid: FunctionId) -> FunctionInfo | None:
        return next((f for f in self.functions if f.id == fid), None)

    def innermost_at(self, offset: int) -> FunctionInfo | None:
        best: FunctionInfo | None = None
        for f in self.functions:
            if f.span.start <= offset <= f.span.end and (best is None or f.depth > best.depth):
                best = f
        return best


_NEWLINE = re.compile(b"\n")


def span_of(node: ts.Node) -> Span:
    (sr, sc), (er, ec) = node.start_point, node.end_point
    return Span(node.start_byte, node.end_byte, sr, sc, er, ec)


def error_count(tree: ts.Tree) -> int:
    if not tree.root_node.has_error:
        return 0
    count = 0
    cursor = tree.walk()
    visited_children = False
    while True:
        node = cursor.node
        if not visited_children:
            if node is not None and (node.is_error or node.is_missing):
                count += 1
            if node is not None and node.has_error and cursor.goto_first_child():
                continue
        if cursor.goto_next_sibling():
            visited_children = False
        elif cursor.goto_parent():
            visited_children = True
        else:
            return count


def detect_eol(source: bytes) -> str:
    i = source.find(b"\n")
    if i > 0 and source[i - 1 : i] == b"\r":
        return "\r\n"
    return "\n"


def matches_rule(
    node: ts.Node, rules: tuple[str, ...], language: ts.Language | None = None
) -> bool:
    """A rule is ``type``, ``type/child`` (a node of type whose only named child is child), or
    a query pattern ``(...)`` that matches at the node itself (e.g. a ``super(...)`` call)."""
    for rule in rules:
        if rule.startswith("("):
            if language is not None and _pattern_matches(language, rule, node):
                return True
            continue
        outer, _, inner = rule.partition("/")
        if node.type != outer:
            continue
        if not inner:
            return True
        kids = [c for c in node.named_children if "comment" not in c.type]
        if len(kids) == 1 and kids[0].type == inner:
            return True
    return False


@cache
def _rule_query(language: ts.Language, rule: str) -> ts.Query:
    return ts.Query(language, f"{rule} @rule")


def _pattern_matches(language: ts.Language, rule: str, node: ts.Node) -> bool:
    pair = rules.shape(rule)
    if pair is not None:  # two children with one name: linear here, quadratic as a query
        return rules.pair_matches(language, pair, node)
    cursor = ts.QueryCursor(_rule_query(language, rule))
    cursor.set_max_start_depth(0)
    return any(n.id == node.id for n in cursor.captures(node).get("rule", ()))


def parse(spec: LanguageSpec, source: bytes, old_tree: ts.Tree | None = None) -> ts.Tree:
    parser = spec.parser()
    return parser.parse(source, old_tree) if old_tree is not None else parser.parse(source)


def analyze(spec: LanguageSpec, source: bytes, tree: ts.Tree | None = None) -> Analysis:
    tree = tree or parse(spec, source)
    line_starts = [0, *(m.end() for m in _NEWLINE.finditer(source))]
    text = source.decode("utf-8")
    line_marks, inline_marks = _find_markers(spec, text, source, line_starts)
    marker_rows = sorted(row for row, _stamp in line_marks)
    outline = walk(spec, tree)
    analysis = Analysis(
        spec=spec,
        source=source,
        tree=tree,
        functions=[],
        captures=outline.captures,
        prologue_row=0,
        has_file_marker=any(stamp is None for _row, stamp in line_marks),
        eol=detect_eol(source),
        line_starts=line_starts,
        marker_rows=marker_rows,
        stamped_rows={row: stamp for row, stamp in line_marks if stamp},
        rule_matches=outline.rules,
    )
    analysis.prologue_row = _prologue_row(analysis, set(marker_rows))
    analysis.functions = _functions(analysis, outline, inline_marks)
    return analysis


def _find_markers(
    spec: LanguageSpec, text: str, source: bytes, line_starts: list[int]
) -> tuple[list[tuple[int, str | None]], list[tuple[int, str | None]]]:
    """Rows of whole inserted lines, and byte offsets of inline insertions, with their stamps."""
    if markers.WORD not in text:
        return [], []
    ascii_only = len(text) == len(source)
    lines: list[tuple[int, str | None]] = []
    for m in markers.line_pattern(spec.line_comment, spec.line_comment_end).finditer(text):
        off = m.start() if ascii_only else len(text[: m.start()].encode("utf-8"))
        lines.append((bisect.bisect_right(line_starts, off) - 1, m.group("stamp")))
    inline: list[tuple[int, str | None]] = []
    if spec.block_comment:
        for m in markers.inline_pattern(spec.block_comment).finditer(text):
            off = m.start() if ascii_only else len(text[: m.start()].encode("utf-8"))
            inline.append((off, m.group("stamp")))
    return lines, inline


def _prologue_row(analysis: Analysis, marker_rows: set[int]) -> int:
    root, spec = analysis.tree.root_node, analysis.spec
    doc_row: int | None = None  # a doc comment of the first declaration starts here
    for node in root.named_children:
        if matches_rule(node, spec.prologue_skip, spec.language):
            doc_row = None
            continue
        if spec.prologue_stop and matches_rule(node, spec.prologue_stop, spec.language):
            doc_row = node.start_point[0] if doc_row is None else doc_row
            continue
        if "comment" in node.type or node.start_point[0] in marker_rows:
            continue
        return node.start_point[0] if doc_row is None else doc_row
    return len(analysis.line_starts)


def indent_of(line: bytes) -> str:
    stripped = line.lstrip(b" \t")
    return line[: len(line) - len(stripped)].decode("utf-8")


def _functions(
    analysis: Analysis, outline: Found, inline_marks: list[tuple[int, str | None]]
) -> list[FunctionInfo]:
    found, scopes = outline.functions, outline.scopes
    order, enclosing = nesting(found, outline.scope_nodes)
    ordered = [found[nid] for nid in order]
    names: dict[int, str] = {}
    infos: dict[int, FunctionInfo] = {}
    counts: dict[str, int] = {}
    stamped_rows = analysis.stamped_rows
    for entry in ordered:
        node, body = _node(entry, "node"), _node(entry, "body")
        name_node = entry.get("name")
        name = text_of(name_node) if isinstance(name_node, ts.Node) else "<anonymous>"
        qualifier = entry.get("qualifier")
        own = f"{qualifier}.{name}" if isinstance(qualifier, str) else name
        parts, parent, depth = [own], None, 0
        for anc in reversed(enclosing[node.id]):  # innermost first
            if anc in found:
                if parent is None:
                    parent = infos[anc].id
                depth += 1
                parts.append(names[anc])
            elif anc in scopes:
                parts.append(scopes[anc])
        qualname = ".".join(reversed(parts))
        names[node.id] = own
        ordinal = counts.get(qualname, 0)
        counts[qualname] = ordinal + 1
        name_ref = name_node if isinstance(name_node, ts.Node) else node
        row = name_ref.start_point[0]
        original_line = analysis.original_line(row)
        first_line = analysis.row_text(node.start_point[0])
        infos[node.id] = FunctionInfo(
            id=FunctionId(qualname, ordinal),
            name=name,
            kind=str(entry["kind"]),
            span=span_of(node),
            name_span=span_of(name_ref),
            body=span_of(body),
            line=original_line,
            indent=indent_of(first_line),
            body_indent=body_indent(analysis, body, indent_of(first_line)),
            depth=depth,
            parent=parent,
            signature=_signature(analysis.source, node, body),
            is_async="async" in entry,
            is_generator="generator" in entry,
            has_error=node.has_error,
        )
    for entry in ordered:
        node = _node(entry, "node")
        analysis.body_nodes[infos[node.id].id] = _node(entry, "body")
    functions = list(infos.values())
    return _attach_markers(analysis, functions, stamped_rows, inline_marks)


def _attach_markers(
    analysis: Analysis,
    functions: list[FunctionInfo],
    stamped_rows: dict[int, str],
    inline_marks: list[tuple[int, str | None]],
) -> list[FunctionInfo]:
    """Give each stamped marker to the innermost function whose region holds it."""
    if not stamped_rows and not inline_marks:
        return functions
    regions: list[tuple[int, int, int]] = []  # (start_row, end_row, index)
    for i, f in enumerate(functions):
        regions.append((analysis.region_start_row(f), f.span.end_row, i))
    stamps: dict[int, str] = {}
    for row, stamp in stamped_rows.items():
        best = None
        for start, end, i in regions:
            if start <= row <= end and (best is None or functions[i].depth > functions[best].depth):
                best = i
        if best is not None:
            stamps.setdefault(best, stamp)
    # Inline insertions by byte offset: several functions may share their line.
    for off, stamp in inline_marks:
        best = None
        for i, f in enumerate(functions):
            inside = f.span.start <= off < f.span.end
            if stamp and inside and (best is None or f.depth > functions[best].depth):
                best = i
        if best is not None:
            stamps.setdefault(best, stamp)
    out = []
    for i, f in enumerate(functions):
        if i in stamps:
            f = replace(f, instrumented=True, stamp=stamps[i])
        out.append(f)
    return out


def body_indent(analysis: Analysis, body: ts.Node, indent: str) -> str:
    for child in body.named_children:
        if child.start_point[0] == body.start_point[0] and "comment" in child.type:
            continue  # `{  /* note */`: the next line tells
        if child.start_point[0] > body.start_point[0]:
            own = indent_of(analysis.row_text(child.start_point[0]))
            if len(own) > len(indent):  # not a C `#if` or label at column 0
                return own
        break
    return indent + analysis.spec.indent_unit


def _signature(source: bytes, node: ts.Node, body: ts.Node) -> str:
    text = source[node.start_byte : body.start_byte].decode("utf-8", "replace")
    return " ".join(text.split())[:200]


def _node(entry: dict[str, ts.Node | str], key: str) -> ts.Node:
    value = entry[key]
    assert isinstance(value, ts.Node)
    return value
