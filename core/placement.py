"""Plan stage, placement: snippet code turned into Ops at positions of a function's text —
whole new lines, or splices into a line wrapped in inline markers — shared by the function
snippets (plan.py) and the probe sites (plan_probes.py)."""

from __future__ import annotations

import bisect
import json

from .analyze import Analysis
from .language import LanguageSpec
from .types import Op


class PlanError(Exception):
    """This function cannot take this snippet; the message says why."""


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


def line_ops(line: int, indent: str, code: str) -> list[Op]:
    return [Op("line", line, 0, indent, part) for part in code.splitlines()]


def inline_op(
    analysis: Analysis, row: int, col: int, base_row: int, code: str, end: bool = True
) -> Op:
    if analysis.spec.block_comment is None:
        raise PlanError(
            "the body shares a line with other code and this language has no inline comments"
        )
    chars = len(analysis.row_text(row)[:col].decode("utf-8"))
    code = " ".join(code.splitlines()) + (analysis.spec.inline_end if end else "")
    return Op("inline", row - base_row, chars, "", code)


def row_col(analysis: Analysis, offset: int) -> tuple[int, int]:
    row = bisect.bisect_right(analysis.line_starts, offset) - 1
    return row, offset - analysis.line_starts[row]


def render(template: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", value)
    return template
