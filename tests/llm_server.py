"""A real OpenAI-compatible chat-completions endpoint on loopback, answering from a script.

Each test gives the replies it wants, in order (the last one repeats), or a function of the
request; the server records every request it receives (body and headers) so a test can assert
what the client sent and how often. Stdlib only: ``http.server`` in a thread.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Status:
    """An HTTP error answer, e.g. 429 with a Retry-After."""

    code: int
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "error"


@dataclass(frozen=True)
class Sleep:
    """Answer only after ``seconds`` (longer than the client waits, in a timeout test)."""

    seconds: float
    then: str = ""


@dataclass(frozen=True)
class Raw:
    """A 200 answer whose body is not a chat completion at all."""

    body: bytes


Step = str | Status | Sleep | Raw  # a str is the assistant's message content


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, str]]:
        return list(self.body.get("messages", []))

    @property
    def text(self) -> str:
        """Every message's content, joined: what the model was shown."""
        return "\n".join(str(m.get("content", "")) for m in self.messages)


class FakeModel:
    def __init__(self, replies: Sequence[Step] | Callable[[Request], Step], model: str = "fake-1"):
        self.replies = replies
        self.model = model
        self.requests: list[Request] = []
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests the server was answering at once
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.block_on_close = False  # a sleeping answer must not hold up the test
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def env(self, **extra: str) -> dict[str, str]:
        """The settings a CLI run needs to talk to this server."""
        return {
            "TELEMETRY_INJECT_LLM_BASE_URL": self.url,
            "TELEMETRY_INJECT_LLM_MODEL": self.model,
            "TELEMETRY_INJECT_LLM_API_KEY": "sk-test",
            **extra,
        }

    def __enter__(self) -> FakeModel:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, request: Request) -> Step:
        with self._lock:
            self.requests.append(request)
            index = len(self.requests) - 1
        if callable(self.replies):
            return self.replies(request)
        return self.replies[min(index, len(self.replies) - 1)]

    def _completion(self, content: str, request: Request) -> bytes:
        prompt = len(request.text.split())
        completion = len(content.split())
        body = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }
        return json.dumps(body).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, b'{"error": {"message": "no such route"}}')
                    return
                request = Request(self.path, dict(self.headers), json.loads(raw or b"{}"))
                with fake._lock:
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    self._answer(fake._next(request), request)
                finally:
                    with fake._lock:
                        fake.in_flight -= 1

            def _answer(self, step: Step, request: Request) -> None:
                if isinstance(step, Sleep):
                    time.sleep(step.seconds)
                    step = step.then
                if isinstance(step, Status):
                    error = {"error": {"message": step.message, "type": "error"}}
                    self._send(step.code, json.dumps(error).encode(), step.headers)
                elif isinstance(step, Raw):
                    self._send(200, step.body)
                else:
                    self._send(200, fake._completion(step, request))

            def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

        return Handler
