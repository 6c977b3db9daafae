"""Commands: instrument / remove a whole file through workspace/applyEdit with work-done
progress and a summary message; apply one action (for clients that take only commands);
write the runtime beside a file (for clients that cannot create files).

pygls passes ExecuteCommandParams.arguments as positional parameters; every command also
works with none (as a command palette sends), on the document the user touched last.
"""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types as lsp
from telemetry_inject.core import plan
from telemetry_inject.core.types import FunctionId, Status

from ..actions import NO_MODEL, Action, Change, compute, function_at, instruct
from ..app import TelemetryServer
from ..documents import Snapshot
from ..progress import Progress

INSTRUMENT_FILE = "telemetry-inject.instrumentFile"
REMOVE_FILE = "telemetry-inject.removeFile"
APPLY_ACTION = "telemetry-inject.applyAction"
CREATE_RUNTIME = "telemetry-inject.createRuntime"
INSTRUMENT_WITH_INSTRUCTIONS = "telemetry-inject.instrumentWithInstructions"
NO_INSTRUCTIONS = (
    'no instructions given: pass them as the command\'s "instructions" argument, e.g. '
    '{"uri": ..., "function": "f", "instructions": "log every SQL query"}'
)


def register(server: TelemetryServer) -> None:
    @server.command(INSTRUMENT_FILE)
    async def instrument_file(ls: TelemetryServer, *args: Any) -> dict[str, Any] | None:
        return await whole_file(ls, Action.INSTRUMENT_FILE, args)

    @server.command(REMOVE_FILE)
    async def remove_file(ls: TelemetryServer, *args: Any) -> dict[str, Any] | None:
        return await whole_file(ls, Action.REMOVE_FILE, args)

    @server.command(APPLY_ACTION)
    async def apply_action(ls: TelemetryServer, *args: Any) -> dict[str, Any] | None:
        data = args[0] if args and isinstance(args[0], dict) else {}
        change = await run_action(ls, data)
        if change is None or not change.edits:
            return None
        return await apply(ls, change, f"telemetry-inject: {data.get('action')}")

    @server.command(INSTRUMENT_WITH_INSTRUCTIONS)
    async def instrument_with_instructions(
        ls: TelemetryServer, *args: Any
    ) -> dict[str, Any] | None:
        return await instructed(ls, args)

    @server.command(CREATE_RUNTIME)
    async def create_runtime(ls: TelemetryServer, *args: Any) -> list[str]:
        snap = target(ls, args)
        if snap is None:
            return []
        change = await asyncio.to_thread(_runtime_change, ls, snap)
        return [str(p) for p in ls.write_new_files(change)]


def target(ls: TelemetryServer, args: tuple[Any, ...]) -> Snapshot | None:
    """The document named by the first argument (a URI or {uri}), else the active one."""
    arg = args[0] if args else None
    if isinstance(arg, dict):
        arg = arg.get("uri") or (arg.get("textDocument") or {}).get("uri")
    snap = ls.snapshot(arg) if isinstance(arg, str) else ls.documents.active()
    if snap is None:
        what = f"{arg}: not an open document or a readable file" if arg else "no open document"
        ls.notify(f"telemetry-inject: {what}", lsp.MessageType.Warning)
    return snap


async def whole_file(
    ls: TelemetryServer, action: Action, args: tuple[Any, ...]
) -> dict[str, Any] | None:
    snap = target(ls, args)
    if snap is None:
        return None
    verb = "Instrumenting" if action is Action.INSTRUMENT_FILE else "Removing telemetry from"
    async with Progress(ls, f"{verb} {snap.relpath}") as progress:
        analysis = await asyncio.to_thread(snap.analysis)
        count = len(analysis.functions) if analysis is not None else 0
        progress.report(f"{count} functions", 10)
        change = await run_engine(ls, snap, action, None)
        if change is None:
            progress.summary = "failed"
            return None
        progress.report("applying the edit", 90)
        result = await apply(ls, change, f"telemetry-inject: {action.value}")
        progress.summary = change.summary(action) if result["applied"] else "not applied"
    for line in change.failures:
        ls.log(line, lsp.MessageType.Warning)
    failed = change.count(Status.FAILED)
    for warning in change.warnings:
        ls.notify(f"telemetry-inject: {warning}", lsp.MessageType.Warning)
    if change.error:
        ls.notify(f"telemetry-inject: {change.error}", lsp.MessageType.Error)
    elif change.edits and not result["applied"]:
        pass  # apply() told the user why
    else:
        kind = lsp.MessageType.Warning if failed else lsp.MessageType.Info
        ls.notify(change.summary(action), kind)
    return {
        "instrumented": change.count(Status.INSTRUMENTED),
        "skipped": change.count(Status.SKIPPED),
        "failed": failed,
        "removed": change.removed,
        **result,
    }


async def apply(ls: TelemetryServer, change: Change, label: str) -> dict[str, Any]:
    """workspace/applyEdit; then the runtime files, if the client could not create them."""
    if not change.edits:
        return {"applied": False, "edits": 0}
    params = lsp.ApplyWorkspaceEditParams(edit=ls.workspace_edit(change), label=label)
    try:
        result = await ls.workspace_apply_edit_async(params)
    except Exception as exc:
        ls.notify(
            f"telemetry-inject: the editor failed to apply the edit: {exc}", lsp.MessageType.Error
        )
        return {"applied": False, "edits": len(change.edits)}
    if not result.applied:
        why = result.failure_reason or "no reason given"
        ls.notify(
            f"telemetry-inject: the editor did not apply the edit ({why})", lsp.MessageType.Warning
        )
    elif not ls.creates_files():
        ls.write_new_files(change)
    return {"applied": bool(result.applied), "edits": len(change.edits)}


async def run_engine(
    ls: TelemetryServer, snap: Snapshot, action: Action, fid: FunctionId | None
) -> Change | None:
    try:
        return await ls.run_engine(compute, ls.engine(), snap, action, fid)
    except Exception as exc:  # an engine bug must not take the server down
        ls.log(f"{action.value} on {snap.relpath} failed: {exc!r}", lsp.MessageType.Error)
        ls.notify(f"telemetry-inject: {action.value} failed: {exc}", lsp.MessageType.Error)
        return None


async def run_action(ls: TelemetryServer, data: dict[str, Any]) -> Change | None:
    """Run the one-function action a code action's data describes; tell the user when it
    cannot be done."""
    try:
        action = Action(data.get("action"))
    except ValueError:
        return None
    snap = ls.snapshot(str(data.get("uri", "")))
    if snap is None:
        ls.notify(f"telemetry-inject: {data.get('uri')}: not open", lsp.MessageType.Warning)
        return None
    fid = FunctionId.parse(data["function"]) if data.get("function") else None
    change = await run_engine(ls, snap, action, fid)
    if change is None:
        return None
    for warning in change.warnings:
        ls.notify(f"telemetry-inject: {warning}", lsp.MessageType.Warning)
    problems = change.failures or ([change.error] if change.error else [])
    skipped = [o for o in change.functions if o.status is Status.SKIPPED]
    if problems:
        ls.notify("telemetry-inject: " + "; ".join(problems), lsp.MessageType.Error)
    elif not change.edits and skipped:
        ls.notify(f"telemetry-inject: {fid}: skipped: {skipped[0].reason}", lsp.MessageType.Info)
    return change


async def instructed(ls: TelemetryServer, args: tuple[Any, ...]) -> dict[str, Any] | None:
    """The model instruments one function as the user's instructions say, all or nothing.

    Arguments: {"uri", "function" (its qualified name, as code actions send it) or "position"
    ({"line", "character"}), "instructions"}; the instructions may instead come as a second
    argument (a string). Without a model or instructions, or when the model fails, one message
    says why and nothing changes.
    """
    data = args[0] if args and isinstance(args[0], dict) else {}
    text = args[1] if len(args) > 1 and isinstance(args[1], str) else data.get("instructions")
    text = text.strip() if isinstance(text, str) else ""
    engine = ls.engine()
    if engine.llm is None or not text:
        ls.notify(
            f"telemetry-inject: {NO_MODEL if engine.llm is None else NO_INSTRUCTIONS}",
            lsp.MessageType.Error,
        )
        return None
    snap = target(ls, args)
    if snap is None:
        return None
    fid = await _function_of(ls, snap, data)
    if fid is None:
        named = data.get("function") or ("the given position" if "position" in data else "")
        why = f"no function at {named}" if named else 'name a "function" or a "position"'
        ls.notify(f"telemetry-inject: {snap.relpath}: {why}", lsp.MessageType.Error)
        return None
    async with Progress(ls, f"Instrumenting {fid} with model {engine.llm.name}") as progress:
        try:
            change = await ls.run_engine(instruct, engine, snap, fid, text)
        except Exception as exc:  # an engine bug must not take the server down
            ls.log(f"instructions on {snap.relpath} failed: {exc!r}", lsp.MessageType.Error)
            change = Change(snap, error=f"instrumenting {fid} failed: {exc}")
        if change.error:
            progress.summary = "failed"
            ls.notify(f"telemetry-inject: {change.error}", lsp.MessageType.Error)
            return {"applied": False, "edits": 0, "error": change.error}
        result = await apply(ls, change, f"telemetry-inject: instrument {fid} with instructions")
        note = next((o.reason for o in change.functions if o.id == fid), "")
        progress.summary = f"{snap.relpath}: {fid}: {note}" if result["applied"] else "not applied"
    if result["applied"]:
        ls.notify(progress.summary, lsp.MessageType.Info)
    return {"function": str(fid), **result}


async def _function_of(
    ls: TelemetryServer, snap: Snapshot, data: dict[str, Any]
) -> FunctionId | None:
    """The function the arguments name, if the document has it."""
    analysis = await asyncio.to_thread(snap.analysis)
    if analysis is None:
        return None
    if isinstance(data.get("function"), str):
        fid = FunctionId.parse(data["function"])
        return fid if analysis.function(fid) is not None else None
    pos = data.get("position")
    if isinstance(pos, dict) and isinstance(pos.get("line"), int):
        position = lsp.Position(pos["line"], int(pos.get("character") or 0))
        offset = snap.offset(position)
        f = function_at(analysis, offset, offset)
        return f.id if f is not None else None
    return None


def _runtime_change(ls: TelemetryServer, snap: Snapshot) -> Change:
    """The runtime files an instrumented document needs and that are missing on disk."""
    change = Change(snap)
    analysis = snap.analysis()
    # Asked right after an instrumenting edit, maybe before the editor sent its didChange:
    # the runtime is due whether or not this snapshot shows the markers yet.
    if analysis is None or snap.spec is None or snap.location.base is None:
        return change
    for extra in plan.runtime_files(
        snap.spec, ls.settings.profile, snap.relpath, analysis.captures
    ):
        path = snap.location.base / extra.path
        if not path.exists():
            change.new_files.append((path, extra.text))
    return change
