"""Reconstruct stage: put instrumented functions back into their file as minimal edits, and verify.

A script returns its function's whole text; the insertions it made are recovered by diffing
against the original (a script may only insert: any deletion or change rejects it). Insertions
of all functions, nested ones included, are merged by byte offset into one new text and a list
of pure insertions (the minimal edits). The result must re-parse with no new error nodes.
"""

from __future__ import annotations

import bisect
import difflib
from itertools import compress, count, islice
from operator import ne

import tree_sitter as ts

from .analyze import Analysis, error_count, parse
from .plan import function_text_range
from .types import Edit, FunctionInfo, Insertion


class ReconstructError(Exception):
    """A script's output is not its input plus insertions."""


def extract(original: str, result: str) -> list[tuple[int, str]]:
    """Insertions (character offset in original, text) that turn original into result."""
    if original == result:
        return []
    a = original.splitlines(keepends=True)
    b = result.splitlines(keepends=True)
    quick = _extract_lines(a, b)
    if quick is not None:
        return quick
    starts = [0]
    for line in a:
        starts.append(starts[-1] + len(line))
    out: list[tuple[int, str]] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "insert":
            out.append((starts[i1], "".join(b[j1:j2])))
        elif tag == "delete":
            raise ReconstructError(f"the script deleted line {i1 + 1} of the function")
        else:
            out.extend((starts[i1] + off, text) for off, text in _extract_chars(a[i1:i2], b[j1:j2]))
    return out


def _extract_lines(a: list[str], b: list[str]) -> list[tuple[int, str]] | None:
    """The common case in one pass: whole new lines, and text put into a line.

    Each line of the result is the next original line, that line with text put into it, or a
    new line; what is found turns original into result by construction. A line with nothing
    but blanks never takes text (that reading would be ambiguous, and templates never do it).
    None when the result is not of this shape: then difflib decides, and explains a refusal.
    """
    out: list[tuple[int, str]] = []
    i = j = pos = 0
    new_lines: list[str] = []  # waiting for the offset of the next original line
    while j < len(b):
        # A run of unchanged lines is skipped in C loops: a script inserts a few lines into
        # many, and a Python step per line was most of this stage's time.
        same = _same_run(a, i, b, j)
        if same:
            if new_lines:
                out.append((pos, "".join(new_lines)))
                new_lines = []
            pos += sum(map(len, islice(a, i, i + same)))
            i += same
            j += same
            continue
        line = b[j]
        j += 1
        if i < len(a) and a[i].strip() and (found := _put_into(a[i], line)) is not None:
            if new_lines:
                out.append((pos, "".join(new_lines)))
                new_lines = []
            out.extend((pos + col, text) for col, text in found)
            pos += len(a[i])
            i += 1
        else:
            new_lines.append(line)
    if i < len(a):
        return None
    if new_lines:
        out.append((pos, "".join(new_lines)))
    return out


def _same_run(a: list[str], i: int, b: list[str], j: int) -> int:
    """How many lines a[i:] and b[j:] have equal from their start."""
    pairs = map(ne, islice(a, i, None), islice(b, j, None))
    first = next(compress(count(), pairs), None)
    return min(len(a) - i, len(b) - j) if first is None else first


def _put_into(old: str, new: str) -> list[tuple[int, str]] | None:
    """[(column, text)] when new is old with one piece of text put in, or two (a body that
    starts and ends on this line, wrapped at both ends: long minified lines stay linear)."""
    if len(new) <= len(old):
        return None
    n, limit = 0, len(old)
    while n < limit and old[n] == new[n]:
        n += 1
    if new.endswith(old[n:]):
        return [(n, new[n : len(new) - (limit - n)])]
    m = 0  # length of the common suffix, not reaching into the common prefix
    while m < limit - n and old[limit - 1 - m] == new[len(new) - 1 - m]:
        m += 1
    mid = old[n : limit - m]
    k = new.find(mid, n + 1, len(new) - m)
    if not mid or k < 0:
        return None
    return [(n, new[n:k]), (limit - m, new[k + len(mid) : len(new) - m])]


def _extract_chars(a_lines: list[str], b_lines: list[str]) -> list[tuple[int, str]]:
    a, b = "".join(a_lines), "".join(b_lines)
    out: list[tuple[int, str]] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "insert":
            out.append((i1, b[j1:j2]))
        elif tag != "equal":
            raise ReconstructError(f"the script changed original text {a[i1:i2][:40]!r}")
    return out


def function_insertions(analysis: Analysis, f: FunctionInfo, output: str) -> list[Insertion]:
    """Absolute insertions for one function's script output."""
    start, end = function_text_range(analysis, f)
    original = analysis.source[start:end].decode("utf-8")
    pieces = extract(original, output)
    body_start = f.body.start
    out = []
    for seq, (char_off, text) in enumerate(pieces):
        offset = start + len(original[:char_off].encode("utf-8"))
        # Same offset as another function's insertion: openings nest outer-first,
        # closings inner-first, so wrapped regions stay properly nested.
        order = (0, f.depth, seq) if offset <= body_start else (1, -f.depth, seq)
        out.append(Insertion(offset, text, order))
    return out


def apply(source: bytes, insertions: list[Insertion]) -> tuple[bytes, tuple[Edit, ...]]:
    """New text and one edit per insertion point (adjacent insertions merged)."""
    ordered = sorted(insertions, key=lambda i: (i.offset, i.order))
    parts: list[bytes] = []
    edits: list[Edit] = []
    last = 0
    for ins in ordered:
        parts.append(source[last : ins.offset])
        data = ins.text.encode("utf-8")
        parts.append(data)
        if edits and edits[-1].start == ins.offset:
            prev = edits[-1]
            edits[-1] = Edit(prev.start, prev.end, prev.text + ins.text)
        else:
            edits.append(Edit(ins.offset, ins.offset, ins.text))
        last = ins.offset
    parts.append(source[last:])
    return b"".join(parts), tuple(edits)


def verify(
    analysis: Analysis, new_source: bytes, edits: tuple[Edit, ...] | None = None
) -> tuple[str | None, ts.Tree]:
    """None when the new text parses with no more error nodes than the old; else why not.

    With the edits (pure insertions, as ``apply`` makes them) the old tree is edited and
    re-parsed incrementally: tree-sitter reuses what the insertions did not touch, which
    roughly halves the cost of a full parse on brace languages. An analysis that released
    its tree (a big file) is verified by a full parse.
    """
    old_tree = _edited(analysis, edits) if edits and analysis.holds_tree else None
    tree = parse(analysis.spec, new_source, old_tree)
    before, after = analysis.tree_errors, error_count(tree)
    if after > before:
        return f"the instrumented text does not parse ({after - before} new syntax errors)", tree
    return None, tree


def _edited(analysis: Analysis, edits: tuple[Edit, ...]) -> ts.Tree | None:
    """A copy of the analysis's tree with the insertions applied (last first, so each one's
    position is still the original one)."""
    if any(e.start != e.end for e in edits):
        return None
    tree = analysis.tree.copy()
    starts = analysis.line_starts
    for e in sorted(edits, key=lambda e: e.start, reverse=True):
        data = e.text.encode("utf-8")
        row = bisect.bisect_right(starts, e.start) - 1
        col = e.start - starts[row]
        lines = data.count(b"\n")
        last_col = len(data) - data.rfind(b"\n") - 1 if lines else col + len(data)
        end = (row + lines, last_col)
        tree.edit(e.start, e.start, e.start + len(data), (row, col), (row, col), end)
    return tree
