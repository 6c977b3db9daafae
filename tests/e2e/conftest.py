"""One shared client fixture: the real server over stdio (pytest-lsp), initialized with a real
editor's capabilities, with an editor model (lsp_editor.Editor) that answers applyEdit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from pytest_lsp import LanguageClient

from .lsp_editor import CONFIG, Editor, init_params


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


@pytest.fixture
def server_options() -> dict[str, Any]:
    """initializationOptions; parametrize this name to change them."""
    return {"cacheDir": ".cache"}


@pytest_lsp.fixture(config=CONFIG, params=["vscode"])
async def client(
    lsp_client: LanguageClient,
    request: pytest.FixtureRequest,
    workspace: Path,
    server_options: dict[str, Any],
):
    """The server, initialized as the editor in request.param (parametrize indirectly)."""
    lsp_client.editor.root = workspace  # type: ignore[attr-defined]
    params = init_params(workspace, request.param, server_options)
    lsp_client.editor.initialized = await lsp_client.initialize_session(params)  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


@pytest.fixture
def editor(client: LanguageClient) -> Editor:
    return client.editor  # type: ignore[attr-defined]
