"""Functions present in a corpus, counted without the engine's queries, and the edits that make
the incremental scenario.

"Present" is every node of the language's function types that has a block body (an arrow
function with an expression body cannot take a statement, so no tool instruments it), found by
walking the tree-sitter tree. For Python the count is cross-checked with the ``ast`` module.
"""

from __future__ import annotations

import ast
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from telemetry_inject.core import language

FUNCTION_TYPES = {
    "python": {"function_definition": "block"},
    "javascript": dict.fromkeys(
        (
            "function_declaration",
            "generator_function_declaration",
            "function_expression",
            "generator_function",
            "arrow_function",
            "method_definition",
        ),
        "statement_block",
    ),
    "go": dict.fromkeys(("function_declaration", "method_declaration", "func_literal"), "block"),
    "java": {
        "method_declaration": "block",
        "constructor_declaration": "constructor_body",
        "compact_constructor_declaration": "block",
        "lambda_expression": "block",
    },
    "rust": {"function_item": "block", "closure_expression": "block"},
}


def _scan(args: tuple[str, str, str]) -> tuple[str, int, list[list[int]], int | None]:
    """(relpath, functions, [first row, last row] of each, ast count or None) for one file."""
    lang, root, rel = args
    source = (Path(root) / rel).read_bytes()
    spec = language.get(lang)
    tree = spec.parser().parse(source)
    bodies = FUNCTION_TYPES[lang]
    ends: list[list[int]] = []
    cursor = tree.walk()
    while True:
        node = cursor.node
        if node is not None and node.type in bodies:
            body = node.child_by_field_name("body")
            if body is not None and body.type == bodies[node.type]:
                ends.append([node.start_point[0], node.end_point[0]])
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                break
        else:
            continue
        break
    checked = None
    if lang == "python":
        try:
            tree_ast = ast.parse(source)
            checked = sum(
                isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in ast.walk(tree_ast)
            )
        except (SyntaxError, ValueError):
            checked = None
    return rel, len(ends), ends, checked


def census(lang: str, root: Path, files: list[str], cache_file: Path) -> dict[str, object]:
    """Functions present per file (and where each ends), computed once per corpus."""
    if cache_file.is_file():
        return json.loads(cache_file.read_text())
    with ProcessPoolExecutor(2) as pool:
        rows = list(pool.map(_scan, [(lang, str(root), f) for f in files], chunksize=32))
    result = {
        "present": sum(n for _, n, _, _ in rows),
        "ast_present": sum(c for _, _, _, c in rows if c is not None),
        "ast_files": sum(1 for *_, c in rows if c is not None),
        "rows": {rel: ends for rel, _, ends, _ in rows if ends},
    }
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    cache_file.write_text(json.dumps(result))
    return result


def pick(rows: dict[str, list[list[int]]], every: int, offset: int) -> list[tuple[str, int, int]]:
    """Every `every`-th function (from `offset`): (relpath, first row, last row)."""
    out = []
    i = 0
    for rel in sorted(rows):
        for first, last in rows[rel]:
            if i % every == offset % every:
                out.append((rel, first, last))
            i += 1
    return out


def apply_edits(root: Path, picked: list[tuple[str, int, int]]) -> int:
    """Edit each function: a space at the end of its last line (valid in every language, and it
    changes the function's text, so its script key). Returns the number of functions."""
    targets: dict[str, set[int]] = {}
    for rel, _first, last in picked:
        targets.setdefault(rel, set()).add(last)
    count = 0
    for rel, rows in targets.items():
        path = root / rel
        lines = path.read_bytes().split(b"\n")
        for row in rows:
            if row < len(lines):
                line = lines[row]
                cr = line.endswith(b"\r")
                lines[row] = (line[:-1] + b" \r") if cr else line + b" "
                count += 1
        path.write_bytes(b"\n".join(lines))
    return count
