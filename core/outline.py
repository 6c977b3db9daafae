"""The outline of a tree: functions, scopes, file-level captures and the rule queries of a
language, found in one walk by a single query made of all of them (the analyze stage reads it)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from functools import cache

import tree_sitter as ts

from .language import LanguageSpec, query_text
from .language import get as get_language

_OWN_PARTS = ("functions", "scopes", "file")


@dataclass(frozen=True)
class Outline:
    """One query made of every whole-tree query of a language, so the tree is walked once."""

    query: ts.Query
    starts: tuple[int, ...]  # first pattern index of each part
    parts: tuple[str, ...]  # "functions", "scopes", "file", or a rule's query text
    file_captures: tuple[str, ...]  # capture names file.scm declares


@dataclass
class Found:
    functions: dict[int, dict[str, ts.Node | str]] = field(default_factory=dict)
    scopes: dict[int, str] = field(default_factory=dict)
    scope_nodes: dict[int, ts.Node] = field(default_factory=dict)
    captures: dict[str, str] = field(default_factory=dict)
    rules: dict[str, bool] = field(default_factory=dict)


@cache
def _outline(language: str) -> Outline | None:
    spec = get_language(language)
    sources = []
    for name in _OWN_PARTS:
        text = query_text(language, name)
        if text is not None:
            sources.append((name, text))
    rules = {rule.when for p in spec.profiles.values() for rule in p.imports if rule.when}
    rules.update(query for query, _reason in spec.exclude_when)
    sources += [(text, text) for text in sorted(rules)]
    if not sources:
        return None
    starts, count = [], 0
    for _part, text in sources:
        starts.append(count)
        count += ts.Query(spec.language, text).pattern_count
    file_query = spec.query("file")
    names = (
        ()
        if file_query is None
        else tuple(file_query.capture_name(i) for i in range(file_query.capture_count))
    )
    query = ts.Query(spec.language, "\n".join(text for _part, text in sources))
    return Outline(query, tuple(starts), tuple(part for part, _ in sources), names)


def walk(spec: LanguageSpec, tree: ts.Tree) -> Found:
    found = Found()
    outline = _outline(spec.name)
    if outline is None:
        return found
    # A declared capture that matches nothing is empty (e.g. Java's default package).
    found.captures = dict.fromkeys(outline.file_captures, "")
    first_file: dict[str, ts.Node] = {}
    starts, parts = outline.starts, outline.parts
    found.rules = {part: False for part in parts if part not in _OWN_PARTS}
    for pattern, caps in ts.QueryCursor(outline.query).matches(tree.root_node):
        part = parts[bisect.bisect_right(starts, pattern) - 1]
        if part == "functions":
            _function_match(found.functions, caps)
        elif part == "scopes":
            if "scope" in caps and "name" in caps:
                scope = caps["scope"][0]
                found.scopes[scope.id] = dotted(caps["name"])
                found.scope_nodes[scope.id] = scope
        elif part == "file":
            for name, nodes in caps.items():
                node = min(nodes, key=lambda n: n.start_byte)
                if name not in first_file or node.start_byte < first_file[name].start_byte:
                    first_file[name] = node
        else:
            found.rules[part] = True
    for name, node in first_file.items():
        found.captures[name] = (node.text or b"").decode("utf-8")
    return found


def _function_match(
    found: dict[int, dict[str, ts.Node | str]], caps: dict[str, list[ts.Node]]
) -> None:
    fn_nodes = [(k, v[0]) for k, v in caps.items() if k.split(".")[0] == "function"]
    body = caps.get("body")
    if not fn_nodes or not body:
        return
    cap_name, node = fn_nodes[0]
    if node.id in found:
        return
    entry: dict[str, ts.Node | str] = {"node": node, "body": body[0]}
    entry["kind"] = cap_name.partition(".")[2] or "function"
    for extra in ("name", "async", "generator"):
        if extra in caps:
            entry[extra] = caps[extra][0]
    if "qualifier" in caps:
        entry["qualifier"] = dotted(caps["qualifier"])
    found[node.id] = entry


def dotted(nodes: list[ts.Node]) -> str:
    """A capture met several times in one match (C++ ``ns::A::f``) joins in source order."""
    return ".".join(text_of(n) for n in sorted(nodes, key=lambda n: n.start_byte))


def text_of(node: ts.Node | str | None) -> str:
    if isinstance(node, ts.Node):
        return (node.text or b"").decode("utf-8", "replace")
    return str(node or "")
