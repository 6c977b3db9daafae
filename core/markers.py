"""Markers: how inserted code is labelled so it can be found, counted and removed exactly."""

from __future__ import annotations

import hashlib
import re

WORD = "telemetry-inject"

# A whole inserted line ends with  <line comment> telemetry-inject[:stamp]  and its own EOL.
# An inline insertion is  /*telemetry-inject[:stamp]{*/ code /*}telemetry-inject*/.
_STAMP = r"(?::(?P<stamp>[0-9a-f]{8}))?"


def line_suffix(line_comment: str, stamp: str | None, end: str = "") -> str:
    """``end`` closes the comment where the language has no line comments (C89: `` */``)."""
    tag = f"{WORD}:{stamp}" if stamp else WORD
    return f"  {line_comment} {tag}{end}"


def inline_open(block: tuple[str, str], stamp: str | None) -> str:
    tag = f"{WORD}:{stamp}" if stamp else WORD
    return f"{block[0]}{tag}{{{block[1]}"


def inline_close(block: tuple[str, str]) -> str:
    return f"{block[0]}}}{WORD}{block[1]}"


def line_pattern(line_comment: str, end: str = "") -> re.Pattern[str]:
    """Matches a whole inserted line, EOL included (no EOL only at the end of the text)."""
    return re.compile(
        rf"^[^\r\n]*  {re.escape(line_comment)} {WORD}{_STAMP}{re.escape(end)}[ \t]*"
        r"(?:\r\n|\n|\r|\Z)",
        re.M,
    )


def inline_pattern(block: tuple[str, str]) -> re.Pattern[str]:
    open_ = re.escape(block[0]) + WORD + _STAMP + r"\{" + re.escape(block[1])
    close = re.escape(block[0]) + r"\}" + WORD + re.escape(block[1])
    return re.compile(rf"{open_}.*?{close}", re.S)


def stamp_of(text: str) -> str:
    """Short hash of a function's original text; stored in its markers to detect later edits."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
