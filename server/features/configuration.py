"""Settings: initializationOptions first, then workspace/configuration whenever the client
says the configuration changed (or pushes it in didChangeConfiguration)."""

from __future__ import annotations

from typing import Any

from lsprotocol import types as lsp

from ..app import TelemetryServer
from ..settings import SECTION, Settings


def register(server: TelemetryServer) -> None:
    @server.feature(lsp.INITIALIZE)
    def initialize(ls: TelemetryServer, params: lsp.InitializeParams) -> None:
        ls.initial_settings = _section(params.initialization_options)
        ls.settings, ls.pending_problems = Settings.from_json(ls.initial_settings)

    @server.feature(lsp.INITIALIZED)
    async def initialized(ls: TelemetryServer, params: lsp.InitializedParams) -> None:
        for problem in ls.pending_problems:
            ls.notify(problem, lsp.MessageType.Warning)
        await pull(ls)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change(ls: TelemetryServer, params: lsp.DidChangeConfigurationParams) -> None:
        pushed = params.settings
        if isinstance(pushed, dict) and isinstance(pushed.get(SECTION), dict):
            ls.apply_settings(*Settings.from_json({**ls.initial_settings, **pushed[SECTION]}))
        else:
            await pull(ls)


async def pull(ls: TelemetryServer) -> None:
    """Ask the client for our section, when it can answer; keep what we have otherwise."""
    if not ls.capability("workspace.configuration", False):
        return
    try:
        items = [lsp.ConfigurationItem(section=SECTION)]
        result = await ls.workspace_configuration_async(lsp.ConfigurationParams(items=items))
    except Exception as exc:  # a client may refuse; settings then stay as they are
        ls.log(f"workspace/configuration failed: {exc}", lsp.MessageType.Warning)
        return
    if result and isinstance(result[0], dict):
        # What the editor's settings say wins over initializationOptions, key by key.
        ls.apply_settings(*Settings.from_json({**ls.initial_settings, **result[0]}))


def _section(data: Any) -> dict[str, Any]:
    """initializationOptions may be our section itself or hold it under its name."""
    if isinstance(data, dict) and isinstance(data.get(SECTION), dict):
        return dict(data[SECTION])
    return dict(data) if isinstance(data, dict) else {}
