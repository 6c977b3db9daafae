"""Script stage: turn a function's plan into a standalone Python insertion script and its key.

A script is the fixed text-editing core (`script_core.py.txt`) plus the function's operations
baked in as data. It defines ``instrument(text, params) -> str`` and, run by hand,
``python3 SCRIPT fn=NAME file=PATH line=N stamp=HASH < function.txt`` prints the result.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from . import markers
from .language import LanguageSpec
from .types import FunctionPlan, Op


@dataclass(frozen=True, slots=True)
class Script:
    key: str
    text: str
    source: str  # "template", or the model that wrote it


@cache
def _core() -> str:
    return Path(__file__).with_name("script_core.py.txt").read_text(encoding="utf-8")


def ops_literal(ops: tuple[Op, ...]) -> str:
    rows = [
        f"    ({op.form!r}, {op.line}, {op.col}, {op.indent!r}, {json.dumps(op.code)}),"
        for op in ops
    ]
    return "OPS = [\n" + "\n".join(rows) + "\n]\n" if rows else "OPS = []\n"


def cache_key(spec: LanguageSpec, profile: str, function_text: str, ops: tuple[Op, ...]) -> str:
    """sha256 over language, profile, template version, the exact function text and the ops."""
    h = hashlib.sha256()
    for part in (spec.name, profile, spec.template_version, function_text, ops_literal(ops)):
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def generate(spec: LanguageSpec, profile: str, plan: FunctionPlan, function_text: str) -> Script:
    key = cache_key(spec, profile, function_text, plan.ops)
    block = spec.block_comment or ("/*", "*/")
    header = (
        '"""telemetry-inject insertion script.\n\n'
        f"function: {plan.function.id} ({spec.name}, profile {profile})\n"
        f"key: {key}\n\n"
        "Run by hand: python3 THIS_FILE fn='\"NAME\"' file='\"PATH\"' line=N stamp=HASH"
        " < function.txt\n"
        '"""\n\n'
    )
    line_marker = markers.line_suffix(spec.line_comment, "{{stamp}}", spec.line_comment_end)
    constants = (
        ops_literal(plan.ops)
        + f"LINE_MARKER = {line_marker!r}\n"
        + f"INLINE_OPEN = {markers.inline_open(block, '{{stamp}}')!r}\n"
        + f"INLINE_CLOSE = {markers.inline_close(block)!r}\n\n"
    )
    return Script(key=key, text=header + constants + _core(), source="template")
