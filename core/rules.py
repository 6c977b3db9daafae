"""Query rules that pair two children of a node: evaluated in linear time.

A rule such as ``(statement_block (variable_declaration ... @var) (function_declaration ...
@fn) (#eq? @var @fn))`` asks whether two children of a node, the second after the first, carry
the same name. tree-sitter matches it by trying every pair of children, and on a body with
thousands of statements (lodash's wrapper, typescript.js) that is seconds per body. Here each
child pattern is matched on its own (one linear pass each) and the pairs are found through a
dictionary of names: the same answer, in milliseconds.

Only rules of exactly this shape are taken (``(TYPE A B (#eq? @a @b))``, no fields, anchors or
quantifiers at the top level); ``shape`` returns None for any other, which then runs as a query.
"""

from __future__ import annotations

import re
from functools import cache
from typing import NamedTuple

import tree_sitter as ts


class PairRule(NamedTuple):
    node_type: str
    first: str  # the first child's pattern
    second: str  # the second child's pattern (a later sibling)
    first_capture: str  # captured in first, compared with
    second_capture: str  # captured in second


def _items(text: str) -> list[str] | None:
    """The top-level items of a pattern body: words and balanced (...) / [...] groups."""
    items: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "([":
            depth, j, in_string = 0, i, False
            while j < n:
                c = text[j]
                if in_string:
                    if c == "\\":
                        j += 1
                    elif c == '"':
                        in_string = False
                elif c == '"':
                    in_string = True
                elif c in "([":
                    depth += 1
                elif c in ")]":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if depth != 0:
                return None
            items.append(text[i : j + 1])
            i = j + 1
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] not in "()[]":
            j += 1
        items.append(text[i:j])
        i = j
    return items


@cache
def shape(rule: str) -> PairRule | None:
    """The rule as a PairRule when it has that shape; else None."""
    rule = rule.strip()
    if not (rule.startswith("(") and rule.endswith(")")):
        return None
    items = _items(rule[1:-1])
    if items is None or len(items) != 4:
        return None
    node_type, first, second, predicate = items
    if not node_type.replace("_", "").isalnum():
        return None
    if not all(p[0] in "([" and not p.startswith("(#") for p in (first, second)):
        return None
    words = predicate[1:-1].split()
    if len(words) != 3 or words[0] != "#eq?" or not all(w.startswith("@") for w in words[1:]):
        return None
    a, b = words[1][1:], words[2][1:]

    def has(pattern: str, capture: str) -> bool:
        return re.search(rf"@{re.escape(capture)}(?![\w.-])", pattern) is not None

    if has(first, b) and has(second, a) and not (has(first, a) and has(second, b)):
        a, b = b, a  # (#eq? @x @y) names the later child's capture first
    if not (has(first, a) and has(second, b)):
        return None
    return PairRule(node_type, first, second, a, b)


@cache
def _child_query(language: ts.Language, node_type: str, child: str) -> ts.Query:
    return ts.Query(language, f"({node_type} {child} @__child)")


def _names(
    language: ts.Language, node_type: str, child: str, capture: str, node: ts.Node
) -> list[tuple[int, bytes]]:
    """(the matching child's start, the captured text) for each match among node's children."""
    cursor = ts.QueryCursor(_child_query(language, node_type, child))
    cursor.set_max_start_depth(0)
    out = []
    for _pattern, caps in cursor.matches(node):
        kids, names = caps.get("__child", []), caps.get(capture, [])
        if kids and names:
            out += [(kids[0].start_byte, name.text or b"") for name in names]
    return out


def pair_matches(language: ts.Language, rule: PairRule, node: ts.Node) -> bool:
    """Whether node has a child matching first and a later one matching second, the two
    captures' texts equal (what the query would answer)."""
    if node.type != rule.node_type:
        return False
    firsts = _names(language, rule.node_type, rule.first, rule.first_capture, node)
    if not firsts:
        return False
    earliest: dict[bytes, int] = {}
    for start, name in firsts:
        if start < earliest.get(name, start + 1):
            earliest[name] = start
    for start, name in _names(language, rule.node_type, rule.second, rule.second_capture, node):
        if name in earliest and earliest[name] < start:
            return True
    return False
