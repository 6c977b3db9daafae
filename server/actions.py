"""What the server can do to a document, in core terms: which actions a position offers, and
the core edits an action makes (engine calls, run off the event loop).

Features turn these into LSP code actions, commands and workspace edits via ``convert``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

from telemetry_inject.core import carried, heal
from telemetry_inject.core.analyze import Analysis
from telemetry_inject.core.engine import Engine
from telemetry_inject.core.llm import Generator
from telemetry_inject.core.types import Edit, FunctionId, FunctionInfo, FunctionOutcome, Status

from . import convert
from .documents import Snapshot


class Action(str, Enum):
    INSTRUMENT = "instrument"
    UPDATE = "update"
    REMOVE = "remove"
    INSTRUMENT_FILE = "instrumentFile"
    REMOVE_FILE = "removeFile"
    INSTRUCT = "instrumentWithInstructions"  # the model instruments it as the user says
    LOOPS = "instrumentLoops"  # the function with the loop probe added to the usual ones
    VARIABLES = "trackVariables"  # ... with the var probe added

    @property
    def probe(self) -> str | None:
        """The probe this action adds to the function's usual ones."""
        return {Action.LOOPS: "loop", Action.VARIABLES: "var"}.get(self)

    @property
    def kind(self) -> str:
        """Namespaced code action kind: refactors for one function, source actions for a file."""
        if self in (Action.INSTRUMENT_FILE, Action.REMOVE_FILE):
            return f"source.telemetry-inject.{self.value}"
        return f"refactor.rewrite.telemetry-inject.{self.value}"


@dataclass(frozen=True)
class Offer:
    action: Action
    title: str
    function: FunctionInfo | None = None
    disabled: str = ""  # why it cannot run now (shown greyed out where clients can)


def function_at(analysis: Analysis, start: int, end: int) -> FunctionInfo | None:
    """The innermost function whose region (its marker lines included) holds [start, end]."""
    best: FunctionInfo | None = None
    for f in analysis.functions:
        # Cheap tests first: a request runs this over every function of the file.
        if end > f.span.end or (best is not None and f.depth <= best.depth):
            continue
        # The region starts at or above the definition's line (marker lines above it).
        if f.span.start <= start or analysis.line_starts[analysis.region_start_row(f)] <= start:
            best = f
    return best


def signature_at(analysis: Analysis, offset: int) -> FunctionInfo | None:
    """The innermost function whose name or signature (up to its body) holds offset."""
    best: FunctionInfo | None = None
    for f in analysis.functions:
        # Cheap tests first (hi is at most the body's start): this runs over every function.
        if offset > max(f.body.start, f.name_span.end):
            continue
        if best is not None and f.depth <= best.depth:
            continue
        if offset < f.span.start and analysis.line_starts[analysis.region_start_row(f)] > offset:
            continue
        head = analysis.source[f.span.start : f.body.start]
        hi = max(f.span.start + len(head.rstrip()), f.name_span.end)  # not the body's indent
        if offset <= hi:
            best = f
    return best


def offers(analysis: Analysis, start: int, end: int) -> list[Offer]:
    out: list[Offer] = []
    f = function_at(analysis, start, end)
    if f is not None:
        name = f"`{f.id}`"
        if not f.instrumented:
            why = "the function contains a syntax error" if f.has_error else ""
            out.append(Offer(Action.INSTRUMENT, f"Instrument function {name}", f, why))
            out.append(Offer(Action.INSTRUCT, f"Instrument {name} with instructions…", f, why))
        else:
            if carried.is_stale(analysis, f):
                out.append(Offer(Action.UPDATE, f"Update instrumentation of {name}", f))
            out.append(Offer(Action.REMOVE, f"Remove instrumentation from {name}", f))
        if not f.has_error:
            sites = analysis.sites(f.id)
            if sites.loops:
                out.append(Offer(Action.LOOPS, f"Instrument loops in {name}", f))
            if sites.assigns:
                out.append(Offer(Action.VARIABLES, f"Track variables in {name}", f))
    if any(not g.instrumented and not g.has_error for g in analysis.functions):
        out.append(Offer(Action.INSTRUMENT_FILE, "Instrument whole file"))
    if analysis.has_file_marker or any(g.instrumented for g in analysis.functions):
        out.append(Offer(Action.REMOVE_FILE, "Remove all instrumentation from file"))
    return out


@dataclass
class Change:
    """An action's result against one snapshot: edits of its bytes, runtime files to create
    (absolute paths, absent on disk), and what happened to each function."""

    snapshot: Snapshot
    edits: list[Edit] = field(default_factory=list)
    new_files: list[tuple[Path, str]] = field(default_factory=list)
    functions: tuple[FunctionOutcome, ...] = ()
    removed: int = 0
    error: str = ""
    warnings: tuple[str, ...] = ()  # e.g. the model's endpoint is down (templates kept)

    def count(self, status: Status) -> int:
        return sum(1 for o in self.functions if o.status is status)

    @property
    def failures(self) -> list[str]:
        return [
            f"{self.snapshot.relpath}:{o.line}: {o.id}: {o.reason}"
            for o in self.functions
            if o.status is Status.FAILED
        ]

    def summary(self, action: Action) -> str:
        name = self.snapshot.relpath
        if action in (Action.REMOVE, Action.REMOVE_FILE):
            return f"{name}: removed {self.removed} inserted lines or fragments"
        hits = sum(1 for o in self.functions if o.cache == "hit")
        return (
            f"{name}: {self.count(Status.INSTRUMENTED)} instrumented, "
            f"{self.count(Status.SKIPPED)} skipped, {self.count(Status.FAILED)} failed"
            f" ({hits} cache hits)"
        )


def compute(engine: Engine, snap: Snapshot, action: Action, fid: FunctionId | None) -> Change:
    """Run one action through the engine. Blocking: call it from a worker thread."""
    if engine.llm is not None:  # an endpoint that was down a while ago may be up again
        engine.llm.reset(older_than=RETRY_MODEL_AFTER)
    analysis = snap.analysis(full=True)
    if analysis is None or snap.spec is None:
        return Change(snap, error=f"{snap.relpath}: no supported language for this file")
    change = Change(snap)
    if fid is not None and analysis.function(fid) is None:
        change.error = f"function {fid} is no longer in {snap.relpath}"
        return change
    only = (lambda f: f.id == fid) if fid is not None else None
    if action in (Action.REMOVE, Action.REMOVE_FILE):
        out = engine.strip(snap.source, snap.relpath, snap.spec, select=only, analysis=analysis)
        change.edits, change.removed = list(out.edits), out.stats.get("removed", 0)
        return change
    probes = None
    if action.probe is not None:  # the usual probes and this one; instrumented: redo it
        f = analysis.function(fid) if fid is not None else None
        snippets = snap.spec.profile(engine.options.profile).snippets
        present = carried.probes_present(analysis, f, snippets) if f is not None else frozenset()
        probes = engine.options.probes | present | {action.probe}
        action = Action.UPDATE if f is not None and f.instrumented else Action.INSTRUMENT
    if action is Action.UPDATE:
        stripped = engine.strip(
            snap.source, snap.relpath, snap.spec, select=only, analysis=analysis
        )
        again = engine.instrument(
            stripped.new_text.encode("utf-8"), snap.relpath, snap.spec, only, probes=probes
        )
        edits = convert.compose(stripped.edits, again.edits) if again.changed else []
        change.edits = convert.trim(snap.source, edits)
        change.functions, extra = again.functions, again.extra_files
        change.warnings = again.warnings
        if again.error or not again.changed:
            change.edits = []  # never leave the function stripped but not re-instrumented
    else:
        out = engine.instrument(snap.source, snap.relpath, snap.spec, only, analysis, probes)
        change.edits, change.functions, extra = list(out.edits), out.functions, out.extra_files
        change.error, change.warnings = out.error, out.warnings
    base = snap.location.base
    if change.edits and base is not None:
        for f in extra:
            target = base / f.path
            if not target.exists():
                change.new_files.append((target, f.text))
    return change


RETRY_MODEL_AFTER = 30.0  # seconds an endpoint found down is left alone (edits stay fast)
NO_MODEL = (
    "'Instrument with instructions' needs a model: set telemetryInject.llm.model "
    "(or $TELEMETRY_INJECT_LLM_MODEL where the server starts)"
)


def instruct(engine: Engine, snap: Snapshot, fid: FunctionId, instructions: str) -> Change:
    """Have the model instrument one function as the instructions say. Blocking.

    All or nothing: the edits stand only when the model's script was used for the function;
    otherwise ``error`` says why (no model, endpoint down, a reply that never worked) and
    there are no edits, not even the template's.
    """
    base = engine.llm
    if base is None:
        return Change(snap, error=NO_MODEL)
    gen = Generator(replace(base.settings, instructions=instructions.strip()))
    engine.llm = gen  # for this call only: engine work runs one call at a time
    try:
        change = compute(engine, snap, Action.INSTRUMENT, fid)
    finally:
        engine.llm = base
        gen.close()
    change.warnings = ()  # "template results kept" does not apply: nothing is kept
    if change.error:
        change.edits, change.new_files = [], []
        return change
    o = next((o for o in change.functions if o.id == fid), None)
    if o is None or o.status is not Status.INSTRUMENTED or o.reason.startswith(heal.NOT_APPLIED):
        reason = o.reason if o is not None else "not instrumented"
        if o is not None and o.status is Status.SKIPPED:
            reason = f"skipped: {reason}"
        change.error = f"{fid}: {reason}"
        change.edits, change.new_files = [], []
    return change
