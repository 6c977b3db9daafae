"""Types shared by every stage: small, frozen, and free of any editor protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True, slots=True)
class Span:
    """A range of the source in UTF-8 bytes, plus its (row, byte column) points."""

    start: int
    end: int
    start_row: int
    start_col: int
    end_row: int
    end_col: int


@dataclass(frozen=True, slots=True)
class FunctionId:
    """Structural identity of a function: its qualified name and which one of that name.

    Stable across edits that do not rename or reorder same-named functions, so every stage
    (plan, script, reconstruct, the language server) can refer to a function without line numbers.
    """

    qualname: str
    ordinal: int = 0

    def __str__(self) -> str:
        return self.qualname if self.ordinal == 0 else f"{self.qualname}#{self.ordinal}"

    @classmethod
    def parse(cls, text: str) -> FunctionId:
        name, sep, num = text.rpartition("#")
        if sep and num.isdigit():
            return cls(name, int(num))
        return cls(text, 0)


@dataclass(frozen=True, slots=True)
class FunctionInfo:
    """One function found by analysis."""

    id: FunctionId
    name: str
    kind: str  # the query's pattern kind: function, method, arrow, closure, ...
    span: Span  # the whole definition, decorators excluded
    name_span: Span
    body: Span
    line: int  # 1-based line of the name in the analysed text
    indent: str  # indentation of the definition's first line
    body_indent: str  # indentation for a new statement at the top of the body
    depth: int  # 0 for top-level functions
    parent: FunctionId | None
    signature: str  # the definition's text up to its body, for display
    is_async: bool = False
    is_generator: bool = False
    has_error: bool = False  # the function's region contains parse errors
    instrumented: bool = False  # carries an entry marker
    stamp: str | None = None  # hash of the body text the marker was made for


class AnchorKind(str, Enum):
    """Where a snippet goes, relative to the structure of its function or file."""

    BEFORE_DEF = "before_def"  # a line of its own above the definition's first line
    BODY_START = "body_start"  # first statement of the body (after directives, docstrings)
    BODY_END = "body_end"  # just before the body's closing delimiter
    FILE_TOP = "file_top"  # file prologue (imports), after shebangs, directives, __future__
    LOOP_BEFORE = "loop_before"  # a line before a loop statement: the loop's state
    LOOP_BODY = "loop_body"  # the start of each iteration
    VAR_AFTER = "var_after"  # a line after an assignment, per assigned name
    # A line before a call that ends the process without running deferred code (Go's os.Exit):
    # the runtime writes what it has buffered.
    EXIT_BEFORE = "exit_before"


PROBES = ("function", "loop", "var", "args", "return")
PROBE_ALIASES = {
    "entry": "function",
    "exit": "function",
    "functions": "function",
    "loops": "loop",
    "vars": "var",
    "variables": "var",
    "arguments": "args",
    "ret": "return",
    "returns": "return",
}


def parse_probes(text: str | list[str] | tuple[str, ...]) -> frozenset[str]:
    """``"entry,exit,loop"`` or a list of names -> probe names; ValueError names a bad one."""
    names = text.split(",") if isinstance(text, str) else list(text)
    out = set()
    for raw in names:
        name = raw.strip().lower()
        if not name:
            continue
        name = PROBE_ALIASES.get(name, name)
        if name not in PROBES:
            known = ", ".join((*PROBES, "entry", "exit"))
            raise ValueError(f"unknown probe {raw.strip()!r} (known: {known})")
        out.add(name)
    if not out:
        raise ValueError("no probe chosen (known: " + ", ".join(PROBES) + ")")
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class Anchor:
    function: FunctionId | None  # None for file-level anchors
    kind: AnchorKind


@dataclass(frozen=True, slots=True)
class Snippet:
    """Code for one anchor; may contain {{fn}}, {{file}}, {{line}}, {{stamp}} placeholders."""

    anchor: Anchor
    code: str


@dataclass(frozen=True, slots=True)
class Op:
    """One text insertion an insertion script performs, relative to the function's own text.

    ``form`` is ``"line"`` (a whole new line at ``line``; ``indent`` + code + marker + EOL) or
    ``"inline"`` (code spliced at character ``col`` of ``line``, wrapped in inline markers).
    """

    form: str
    line: int
    col: int
    indent: str
    code: str


@dataclass(frozen=True, slots=True)
class FunctionPlan:
    function: FunctionInfo
    snippets: tuple[Snippet, ...]
    ops: tuple[Op, ...]
    params: tuple[tuple[str, str], ...]  # placeholder values, filled when the script runs


@dataclass(frozen=True, slots=True)
class Insertion:
    """Text inserted at a byte offset of the original file."""

    offset: int
    text: str
    order: tuple[int, ...] = ()  # tie-breaker among insertions at the same offset


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace bytes [start, end) of the original text with ``text``."""

    start: int
    end: int
    text: str


class Status(str, Enum):
    INSTRUMENTED = "instrumented"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class FunctionOutcome:
    id: FunctionId
    line: int
    status: Status
    reason: str = ""
    cache: str = ""  # "hit" or "miss" for scripts that ran
    key: str = ""


@dataclass(frozen=True, slots=True)
class ExtraFile:
    """A file written beside the instrumented one (the language's runtime)."""

    path: str
    text: str


@dataclass(frozen=True)
class FileOutcome:
    path: str
    language: str
    old_text: str
    new_text: str
    edits: tuple[Edit, ...] = ()
    functions: tuple[FunctionOutcome, ...] = ()
    extra_files: tuple[ExtraFile, ...] = ()
    error: str = ""  # set when the file as a whole was left unchanged
    stats: dict[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # things the user should know that did not stop the work

    @property
    def changed(self) -> bool:
        return self.new_text != self.old_text
