"""Server-initiated work-done progress (window/workDoneProgress/create, then begin/report/end),
silent when the client cannot show progress."""

from __future__ import annotations

import uuid
from types import TracebackType

from lsprotocol import types as lsp

from .app import TelemetryServer


class Progress:
    def __init__(self, ls: TelemetryServer, title: str) -> None:
        self.ls, self.title = ls, title
        self.token: str | None = None
        self.summary = "done"  # the end message

    async def __aenter__(self) -> Progress:
        if self.ls.capability("window.work_done_progress", False):
            token = f"telemetry-inject/{uuid.uuid4()}"
            try:
                await self.ls.work_done_progress.create_async(token)
                self.token = token
            except Exception as exc:  # the client refused: work on without a progress bar
                self.ls.log(f"progress not available: {exc}", lsp.MessageType.Warning)
        if self.token is not None:
            begin = lsp.WorkDoneProgressBegin(title=self.title, cancellable=False, percentage=0)
            self.ls.work_done_progress.begin(self.token, begin)
        return self

    def report(self, message: str, percentage: int) -> None:
        if self.token is not None:
            value = lsp.WorkDoneProgressReport(message=message, percentage=percentage)
            self.ls.work_done_progress.report(self.token, value)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.token is not None:
            message = "failed" if exc is not None else self.summary
            self.ls.work_done_progress.end(self.token, lsp.WorkDoneProgressEnd(message=message))
