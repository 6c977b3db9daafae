"""Script stage: turn a function's plan into a standalone Python insertion script and its key.

A script is the fixed text-editing core (`script_core.py.txt`) plus the function's operations
baked in as data. It defines ``instrument(text, params) -> str`` and, run by hand,
``python3 SCRIPT fn=NAME file=PATH line=N stamp=HASH < function.txt`` prints the result.

A script this module generated is trusted code: the fixed core (checked once by the validator)
plus data. ``run_template`` runs exactly that in this process — the same core, the same data —
so a template script needs neither validation nor the sandbox; every other script (a model's,
or a cached text that is not byte for byte what ``generate`` makes) takes the full road.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import CodeType, FunctionType
from typing import Any

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


def core_text() -> str:
    return _core()


@cache
def core_digest() -> str:
    return hashlib.sha256(_core().encode("utf-8")).hexdigest()[:16]


def split(script: str) -> str | None:
    """The part before the fixed core, for a script that ends with it; else None."""
    core = _core()
    return script[: len(script) - len(core)] if script.endswith(core) else None


def ops_literal(ops: tuple[Op, ...]) -> str:
    rows = [
        f"    ({op.form!r}, {op.line}, {op.col}, {op.indent!r}, {json.dumps(op.code)}),"
        for op in ops
    ]
    return "OPS = [\n" + "\n".join(rows) + "\n]\n" if rows else "OPS = []\n"


def cache_key(spec: LanguageSpec, profile: str, function_text: str, ops: tuple[Op, ...]) -> str:
    """sha256 over language, profile, template version, the exact function text and the ops."""
    return _key(spec, profile, function_text, ops_literal(ops))


def _key(spec: LanguageSpec, profile: str, function_text: str, literal: str) -> str:
    h = hashlib.sha256()
    for part in (spec.name, profile, spec.template_version, function_text, literal):
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def _markers(spec: LanguageSpec) -> tuple[str, str, str]:
    block = spec.block_comment or ("/*", "*/")
    return (
        markers.line_suffix(spec.line_comment, "{{stamp}}", spec.line_comment_end),
        markers.inline_open(block, "{{stamp}}"),
        markers.inline_close(block),
    )


def generate(spec: LanguageSpec, profile: str, plan: FunctionPlan, function_text: str) -> Script:
    literal = ops_literal(plan.ops)
    key = _key(spec, profile, function_text, literal)
    header = (
        '"""telemetry-inject insertion script.\n\n'
        f"language: {spec.name}, profile: {profile}\n"
        f"key: {key}\n\n"
        "Run by hand: python3 THIS_FILE fn='\"NAME\"' file='\"PATH\"' line=N stamp=HASH"
        " < function.txt\n"
        '"""\n\n'
    )
    line_marker, inline_open, inline_close = _markers(spec)
    constants = (
        literal
        + f"LINE_MARKER = {line_marker!r}\n"
        + f"INLINE_OPEN = {inline_open!r}\n"
        + f"INLINE_CLOSE = {inline_close!r}\n\n"
    )
    return Script(key=key, text=header + constants + _core(), source="template")


@cache
def _core_namespace(marks: tuple[str, str, str]) -> dict[str, Any]:
    code: CodeType = compile(_core(), "<script core>", "exec")
    namespace: dict[str, Any] = {"__name__": "__insertion__"}
    namespace["LINE_MARKER"], namespace["INLINE_OPEN"], namespace["INLINE_CLOSE"] = marks
    exec(code, namespace)  # the fixed core only: it defines functions and imports sys
    return namespace


def run_template(spec: LanguageSpec, plan: FunctionPlan, function_text: str) -> str:
    """What ``generate``'s script for this plan prints, computed here (it is trusted code).

    The core's ``instrument`` reads its data from its globals: it is rebound to a copy of the
    core's namespace holding this function's OPS, so concurrent calls never share data.
    """
    base = _core_namespace(_markers(spec))
    namespace = dict(base)
    namespace["OPS"] = [(op.form, op.line, op.col, op.indent, op.code) for op in plan.ops]
    instrument = FunctionType(base["instrument"].__code__, namespace)
    return str(instrument(function_text, dict(plan.params)))
