"""Analyze stage, nesting: which functions and scopes lie around each function, from byte
ranges alone."""

from __future__ import annotations

import tree_sitter as ts


def nesting(
    found: dict[int, dict[str, ts.Node | str]], scope_nodes: dict[int, ts.Node]
) -> tuple[list[int], dict[int, list[int]]]:
    """Functions in source order (outer first), and the functions and scopes around each one.

    From byte ranges, not ``Node.parent``: tree-sitter finds a parent by descending from the
    root through every sibling on the way, so asking it for each of 20,000 functions in one
    200,000-line file takes minutes. Nodes with the same range are ordered by the tree.
    """
    nodes = {nid: _node(e) for nid, e in found.items()}
    nodes.update((nid, n) for nid, n in scope_nodes.items() if nid not in nodes)
    spans = sorted(nodes, key=lambda nid: (nodes[nid].start_byte, -nodes[nid].end_byte))
    for i in range(len(spans) - 1):  # rare: several nodes over one range
        a, b = nodes[spans[i]], nodes[spans[i + 1]]
        if (a.start_byte, a.end_byte) == (b.start_byte, b.end_byte):
            spans.sort(
                key=lambda nid: (nodes[nid].start_byte, -nodes[nid].end_byte, _same(nodes[nid]))
            )
            break
    order, enclosing = [], {}
    stack: list[tuple[int, int]] = []  # (end byte, node id) of the ranges around the current one
    for nid in spans:
        node = nodes[nid]
        while stack and stack[-1][0] < node.end_byte:
            stack.pop()
        if nid in found:
            order.append(nid)
            enclosing[nid] = [anc for _end, anc in stack]
        stack.append((node.end_byte, nid))
    return order, enclosing


def _same(node: ts.Node) -> int:
    """How many ancestors share this node's range (0 for the outermost of them)."""
    count, parent = 0, node.parent
    while parent is not None and (parent.start_byte, parent.end_byte) == (
        node.start_byte,
        node.end_byte,
    ):
        count, parent = count + 1, parent.parent
    return count


def _node(entry: dict[str, ts.Node | str]) -> ts.Node:
    value = entry["node"]
    assert isinstance(value, ts.Node)
    return value
