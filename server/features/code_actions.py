"""Code actions: instrument / update / remove the function at the cursor (innermost wins), and
the whole-file source actions. Edits are computed lazily in codeAction/resolve when the client
resolves ``edit``; otherwise eagerly."""

from __future__ import annotations

from dataclasses import replace

from lsprotocol import types as lsp

from ..actions import NO_MODEL, Action, Offer, offers
from ..app import TelemetryServer
from .commands import (
    APPLY_ACTION,
    CREATE_RUNTIME,
    INSTRUMENT_FILE,
    INSTRUMENT_WITH_INSTRUCTIONS,
    REMOVE_FILE,
    run_action,
)

KINDS = [a.kind for a in Action]
FILE_COMMANDS = {Action.INSTRUMENT_FILE: INSTRUMENT_FILE, Action.REMOVE_FILE: REMOVE_FILE}


def register(server: TelemetryServer) -> None:
    options = lsp.CodeActionOptions(code_action_kinds=KINDS, resolve_provider=True)

    @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION, options)
    async def code_action(
        ls: TelemetryServer, params: lsp.CodeActionParams
    ) -> list[lsp.CodeAction | lsp.Command] | None:
        snap = ls.documents.get(params.text_document.uri)
        if snap is None:
            return None
        ls.documents.touch(snap.uri)
        analysis = await ls.analysis(snap)
        if analysis is None:
            return None
        start, end = snap.byte_range(params.range)
        wanted = [o for o in offers(analysis, start, end) if _wanted(o, params.context.only)]
        literal = ls.capability("text_document.code_action.code_action_literal_support")
        if ls.settings.model()[0] is None:  # greyed out with the reason, where clients can
            wanted = [_no_model(o) for o in wanted if literal or o.action is not Action.INSTRUCT]
        if not literal:
            return [_command(o, snap.uri, snap.version) for o in wanted]
        lazy = "edit" in (
            ls.capability("text_document.code_action.resolve_support.properties") or []
        )
        disabled_ok = bool(ls.capability("text_document.code_action.disabled_support", False))
        out: list[lsp.CodeAction | lsp.Command] = []
        for o in wanted:
            if o.disabled and not disabled_ok:
                continue
            action = _action(o, snap.uri, snap.version)
            if not lazy and not o.disabled:
                action = await resolve(ls, action)
            out.append(action)
        return out

    @server.feature(lsp.CODE_ACTION_RESOLVE)
    async def code_action_resolve(ls: TelemetryServer, action: lsp.CodeAction) -> lsp.CodeAction:
        return await resolve(ls, action)


def _wanted(o: Offer, only: list[str] | None) -> bool:
    return not only or any(o.action.kind == k or o.action.kind.startswith(k + ".") for k in only)


def _no_model(o: Offer) -> Offer:
    return replace(o, disabled=o.disabled or NO_MODEL) if o.action is Action.INSTRUCT else o


def _action(o: Offer, uri: str, version: int) -> lsp.CodeAction:
    data = {"uri": uri, "version": version, "action": o.action.value}
    if o.function is not None:
        data["function"] = str(o.function.id)
    action = lsp.CodeAction(title=o.title, kind=o.action.kind, data=data)
    if o.disabled:
        action.disabled = lsp.CodeActionDisabled(reason=o.disabled)
    if o.action in FILE_COMMANDS:  # whole-file work runs as a command, with progress
        action.command = lsp.Command(o.title, FILE_COMMANDS[o.action], arguments=[uri])
    elif o.action is Action.INSTRUCT:  # the client adds the instructions (VS Code asks)
        action.command = lsp.Command(o.title, INSTRUMENT_WITH_INSTRUCTIONS, arguments=[data])
    return action


def _command(o: Offer, uri: str, version: int) -> lsp.Command:
    """For clients that take only commands: the file commands, or apply-this-action."""
    if o.action in FILE_COMMANDS:
        return lsp.Command(o.title, FILE_COMMANDS[o.action], arguments=[uri])
    if o.action is Action.INSTRUCT:
        return lsp.Command(
            o.title, INSTRUMENT_WITH_INSTRUCTIONS, arguments=[_action(o, uri, version).data]
        )
    return lsp.Command(o.title, APPLY_ACTION, arguments=[_action(o, uri, version).data])


async def resolve(ls: TelemetryServer, action: lsp.CodeAction) -> lsp.CodeAction:
    """Fill in ``edit`` (and a runtime-writing command where the client cannot create files)."""
    data = action.data if isinstance(action.data, dict) else {}
    if action.edit is not None or action.command is not None or "function" not in data:
        return action
    change = await run_action(ls, data)
    if change is None or not change.edits:
        return action
    action.edit = ls.workspace_edit(change)
    if change.new_files and not ls.creates_files():
        action.command = lsp.Command(
            "Write telemetry runtime", CREATE_RUNTIME, arguments=[data["uri"]]
        )
    return action
