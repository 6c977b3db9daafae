"""Script stage, model half: ask an OpenAI-compatible endpoint to write an insertion script.

Off unless a model is named (``TELEMETRY_INJECT_LLM_MODEL``). Calls go through the official
``openai`` client (an optional dependency, imported on first use) with a request timeout, the
client's own retries (429 and 5xx honour Retry-After) and a bound on requests in flight. What
comes back is untrusted text: this module only turns it into a candidate script; the validator,
the sandbox, reconstruct and verify decide whether it is used (see ``heal``).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .validate import BANNED_NAMES
from .worker import ALLOWED_MODULES

ENV = "TELEMETRY_INJECT_LLM_"
MISSING_CLIENT = "the model fallback needs the openai package: pip install 'telemetry-inject[llm]'"
NOT_CONFIGURED = (
    f"no model configured: set {ENV}MODEL (and {ENV}BASE_URL, {ENV}API_KEY for an endpoint "
    "other than OpenAI's)"
)


class SettingsError(Exception):
    """A model setting has a value that cannot work; the message says which and why."""


class ModelUnavailable(Exception):
    """The endpoint cannot be used (down, slow, rate-limited, refusing); one line, no traceback."""


@dataclass(frozen=True)
class Settings:
    """How to reach the model and how hard to try. Read once, picklable (worker processes)."""

    model: str
    base_url: str | None = None  # None: the client's default (OpenAI)
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 60.0  # seconds per request
    retries: int = 2  # the client's retries on connection errors, timeouts, 429 and 5xx
    concurrency: int = 4  # requests in flight per engine (per worker process)
    heal_rounds: int = 2  # corrected scripts asked for after a failing one
    instructions: str = ""  # the user's free-text request: every function goes to the model
    max_function_chars: int = 24_000  # larger functions are not sent

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, instructions: str = "") -> Settings:
        """Settings from ``TELEMETRY_INJECT_LLM_*``; SettingsError when no model is named."""
        env = os.environ if env is None else env
        model = env.get(ENV + "MODEL", "").strip()
        if not model:
            raise SettingsError(NOT_CONFIGURED)
        return cls(
            model=model,
            base_url=env.get(ENV + "BASE_URL", "").strip() or None,
            api_key=env.get(ENV + "API_KEY", "").strip() or None,
            timeout=_number(env, "TIMEOUT", 60.0, float, 0.001),
            retries=_number(env, "RETRIES", 2, int, 0),
            concurrency=_number(env, "CONCURRENCY", 4, int, 1),
            instructions=instructions.strip(),
        )

    @classmethod
    def configured(cls, env: Mapping[str, str] | None = None) -> bool:
        env = os.environ if env is None else env
        return bool(env.get(ENV + "MODEL", "").strip())


def _number(env: Mapping[str, str], name: str, default: Any, kind: type, least: float) -> Any:
    raw = env.get(ENV + name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or value < least:
        raise SettingsError(f"{ENV}{name}={raw!r}: expected a {kind.__name__} >= {least:g}")
    return value


@dataclass(frozen=True)
class Reply:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Generator:
    """The model behind a bounded gate. Thread-safe; after the endpoint fails, fails fast."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Any = None
        self._lock = threading.Lock()
        self._gate = threading.BoundedSemaphore(settings.concurrency)
        self._down = ""
        self._down_at = 0.0

    @property
    def down(self) -> str:
        """Why the endpoint is unusable for the rest of this run ("" while it is usable)."""
        return self._down

    @down.setter
    def down(self, why: str) -> None:
        self._down, self._down_at = why, time.monotonic()

    @property
    def name(self) -> str:
        return self.settings.model

    def _openai(self) -> Any:
        with self._lock:
            if self.down:
                raise ModelUnavailable(self.down)
            if self._client is None:
                try:
                    import openai
                except ImportError:
                    self.down = MISSING_CLIENT
                    raise ModelUnavailable(self.down) from None
                s = self.settings
                # A local endpoint needs no key, but the client insists on one.
                key = s.api_key or (None if s.base_url is None else "unused")
                try:
                    self._client = openai.OpenAI(
                        base_url=s.base_url, api_key=key, timeout=s.timeout, max_retries=s.retries
                    )
                except openai.OpenAIError as exc:
                    self.down = f"cannot set up the model client: {_line(exc)} (set {ENV}API_KEY)"
                    raise ModelUnavailable(self.down) from None
            return self._client

    def complete(self, messages: list[dict[str, str]]) -> Reply:
        """One chat completion. ModelUnavailable when the endpoint cannot be used."""
        client = self._openai()
        import openai

        with self._gate:
            if self.down:  # another request found the endpoint unusable while this one waited
                raise ModelUnavailable(self.down)
            try:
                response = client.chat.completions.create(
                    model=self.settings.model,
                    messages=messages,  # type: ignore[arg-type]
                )
            except openai.BadRequestError as exc:  # this request only (e.g. too long)
                why = f"model {self.name} refused the request: {_line(exc)}"
                raise ModelUnavailable(why) from None
            except openai.OpenAIError as exc:
                self.down = self._explain(exc)
                raise ModelUnavailable(self.down) from None
            except Exception as exc:  # the client choking on a body that is not JSON, ...
                self.down = (
                    f"model endpoint {self._where()} sent an unusable response: {_line(exc)}"
                )
                raise ModelUnavailable(self.down) from None
        try:
            choice = response.choices[0]
            text = choice.message.content
        except (AttributeError, IndexError, TypeError):
            self.down = f"model endpoint {self._where()} sent a response that is not a chat reply"
            raise ModelUnavailable(self.down) from None
        usage = getattr(response, "usage", None)
        return Reply(
            text if isinstance(text, str) else "",
            int(getattr(usage, "prompt_tokens", 0) or 0),
            int(getattr(usage, "completion_tokens", 0) or 0),
        )

    def _where(self) -> str:
        return self.settings.base_url or "api.openai.com"

    def _explain(self, exc: Exception) -> str:
        import openai

        s, where = self.settings, self._where()
        tries = f" after {s.retries} retries" if s.retries else ""
        if isinstance(exc, openai.APITimeoutError):
            return f"model {s.model} did not answer within {s.timeout:g} s{tries} ({where})"
        if isinstance(exc, openai.APIConnectionError):
            cause = re.sub(r"^\[Errno -?\d+\]\s*", "", _line(exc.__cause__ or exc))
            return f"cannot reach the model endpoint {where}: {cause}"
        if isinstance(exc, openai.RateLimitError):
            return (
                f"model endpoint {where} is rate-limiting (429){tries}; try later or lower "
                f"{ENV}CONCURRENCY"
            )
        if isinstance(exc, openai.AuthenticationError):
            return f"model endpoint {where} refused the API key (401); check {ENV}API_KEY"
        if isinstance(exc, openai.NotFoundError):
            return f"model {s.model} or its endpoint not found at {where} (404)"
        if isinstance(exc, openai.APIStatusError):
            return f"model endpoint {where} answered {exc.status_code}: {_line(exc)}"
        return f"model endpoint {where} sent an unusable response: {_line(exc)}"

    def reset(self, older_than: float = 0.0) -> None:
        """Try the endpoint again if it went down at least older_than seconds ago (a
        long-lived server: it may be up by now)."""
        with self._lock:
            if self._down and time.monotonic() - self._down_at >= older_than:
                self._down = ""

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def _line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


# -- prompts ----------------------------------------------------------------------------------

ANCHORS = {
    "before_def": "on a line of its own just above the definition's first line (after decorators)",
    "body_start": "as the first statement of the body (after docstrings and directives)",
    "body_end": "as the last line inside the body, just before its closing delimiter",
}


@dataclass(frozen=True)
class Task:
    """Everything the model is told about one function."""

    language: str
    relpath: str
    function: str
    text: str
    snippets: dict[str, str]  # anchor kind -> code with {{placeholders}}
    imports: str  # the import the engine adds to the file, so the model knows the runtime name
    params: dict[str, str]
    instructions: str = ""
    why: str = ""  # why the template could not instrument it ("" when instructions asked)
    previous: str = ""  # the script that failed, if there was one


def system_prompt() -> str:
    allowed = ", ".join(m for m in ALLOWED_MODULES)
    banned = ", ".join(sorted(BANNED_NAMES))
    return f"""You write insertion scripts for telemetry-inject, a tool that adds telemetry \
to source code and removes it again byte for byte.

An insertion script is a standalone Python 3 module that defines
    def instrument(text: str, params: dict[str, str]) -> str
`text` is the exact source of one function: whole lines, original line endings. Return the \
same text with new code inserted.

Rules; a script that breaks one is rejected or its result discarded:
- Only insert. Every original character stays, in order; never change, move or delete any.
- Prefer whole new lines, indented like the code around them, ending with params["eol"]. \
Insert inside an existing line only where the language leaves no other way.
- Markers are optional: the engine ends every inserted line, and wraps every fragment, \
with a telemetry-inject marker comment if it has none (as the example's LINE_MARKER does).
- Instrument only this function's own body; nested functions get their own scripts.
- The result must still compile, and behave exactly as before apart from the telemetry.
- Imports: only {allowed}. Never use {banned}, names or attributes with double \
underscores, async code or metaclasses. No files, network, processes or environment.
- Deterministic and fast (1 s of CPU at most).

params (all strings): fn and file are string literals of the target language, quotes \
included; line is the 1-based line of the function's name; stamp, eol, and file captures. \
Telemetry snippets use them as {{{{fn}}}}, {{{{file}}}}, {{{{line}}}}.

Reply with exactly one ```python fenced block holding the whole script, and nothing else."""


def first_message(task: Task, core: str, example: str) -> str:
    fence = _fence(task.text)
    parts = [
        f"Language: {task.language}. File: {task.relpath}. Function: {task.function}.",
        f"The function's text:\n{fence}{task.language}\n{task.text}{_nl(task.text)}{fence}",
        f"params for this function: {task.params!r}",
    ]
    wanted = [f"- {ANCHORS.get(k, k)}: {code}" for k, code in task.snippets.items()]
    if wanted:
        parts.append("Telemetry to insert, placeholders filled from params:\n" + "\n".join(wanted))
    if task.imports:
        parts.append(f"The engine adds this import to the file itself:\n{task.imports}")
    if task.instructions:
        parts.append(
            "The user's instructions, to carry out in addition to the telemetry above:\n"
            + task.instructions
        )
    if task.why:
        parts.append(f"The engine's own template could not instrument this function: {task.why}")
    if example:
        parts.append(
            "The engine's script for this function, as an example: its operations as data "
            f"(OPS), then the fixed text-editing core its scripts share:\n```python\n{example}```"
        )
    else:
        parts.append(
            "The fixed text-editing core the engine's scripts share (copy any of its helpers):\n"
            f"```python\n{core}```"
        )
    if task.previous:
        parts.append(f"This script was tried and failed:\n```python\n{task.previous}```")
    parts.append("Write the insertion script.")
    return "\n\n".join(parts)


def retry_message(error: str) -> str:
    return (
        f"That script did not work: {error}\n"
        "Reply with a corrected, complete script in one ```python block."
    )


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)
    return "`" * (longest + 1)


def _nl(text: str) -> str:
    return "" if text.endswith(("\n", "\r")) else "\n"


_BLOCK = re.compile(
    r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+-]*)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.M | re.S
)


def parse_reply(reply: str) -> tuple[str, str]:
    """(script, "") from a reply, or ("", why not). The script is still untrusted."""
    blocks = [(lang.lower(), body) for _fence, lang, body in _BLOCK.findall(reply)]
    candidates = [b for lang, b in blocks if lang in ("python", "py", "python3")]
    candidates += [b for lang, b in blocks if lang not in ("python", "py", "python3")]
    if not blocks and "def instrument" in reply:
        # A bare script, or a fenced one cut off before its closing fence.
        candidates = [re.sub(r"\A\s*(`{3,}|~{3,})[^\n]*\n", "", reply)]
    for body in candidates:
        if re.search(r"^def instrument\s*\(", body, re.M):
            return (body if body.endswith("\n") else body + "\n"), ""
    if not reply.strip():
        return "", "the model's reply was empty"
    first = " ".join(reply.split())[:60]
    return "", f"the model's reply holds no script defining instrument(text, params): {first!r}"


def trailer(model: str, function: str, language: str, key: str) -> str:
    """Comment lines after the script, so that error line numbers are the model's own."""
    return (
        f"\n# telemetry-inject insertion script, written by model {model}\n"
        f"# function: {function} ({language}); key: {key}\n"
        "# It defines instrument(text, params); the engine marks the lines it inserts.\n"
    )


def core_text() -> str:
    return Path(__file__).with_name("script_core.py.txt").read_text(encoding="utf-8")
