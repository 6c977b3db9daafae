"""Cache stage, whole files: a file's outcome kept under its exact bytes, so a warm run does
nothing for an unchanged file — no parse, no analysis — as ruff's cache does.

The key covers everything the outcome depends on: the engine's own code, the language folder
(``template_version``), the profile, the file's path (events name it) and its bytes. Only
complete outcomes are kept (no failed function, no warning); what is kept is the edits, the
per-function outcomes and the runtime files (their text once, by digest). Script hits are still
counted, so hover's numbers stay true.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from .cache import ScriptCache
from .language import LanguageSpec
from .types import Edit, ExtraFile, FileOutcome, FunctionId, FunctionOutcome, Status


@cache
def engine_version() -> str:
    """A digest of the engine's code, so an upgrade never serves an old outcome."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted([*here.glob("*.py"), *here.glob("*.txt")]):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def key(spec: LanguageSpec, profile: str, relpath: str, source: bytes) -> str:
    h = hashlib.sha256()
    for part in (engine_version(), spec.name, spec.template_version, profile, relpath):
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    h.update(source)
    return h.hexdigest()


def load(store: ScriptCache, memo_key: str, source: bytes, relpath: str) -> FileOutcome | None:
    value = store.memo(memo_key)
    if not isinstance(value, dict):
        return None
    texts = store.memo_texts([digest for _path, digest in value["extra"]])
    if len(texts) != len({digest for _path, digest in value["extra"]}):
        return None  # a runtime text is gone: do the file again
    edits = tuple(Edit(s, e, t) for s, e, t in value["edits"])
    functions = tuple(
        FunctionOutcome(
            FunctionId.parse(fid), line, Status(status), reason, "hit" if fkey else "", fkey
        )
        for fid, line, status, reason, fkey in value["functions"]
    )
    store.count_hits([o.key for o in functions if o.key])
    stats = dict(value["stats"])
    stats["cache_hits"] = sum(1 for o in functions if o.cache == "hit")
    return FileOutcome(
        relpath,
        value["language"],
        source.decode("utf-8"),
        _apply(source, edits).decode("utf-8"),
        edits,
        functions,
        tuple(ExtraFile(path, texts[digest]) for path, digest in value["extra"]),
        stats=stats,
    )


def save(store: ScriptCache, memo_key: str, source: bytes, outcome: FileOutcome) -> None:
    """Keep a complete outcome (nothing failed, nothing to warn about)."""
    if outcome.error or outcome.warnings or outcome.stats.get("failed", 0):
        return
    if _apply(source, outcome.edits) != outcome.new_text.encode("utf-8"):
        return  # edits that do not make the text (none do): never keep them
    extra = []
    texts: dict[str, str] = {}
    for f in outcome.extra_files:
        digest = hashlib.sha256(f.text.encode("utf-8")).hexdigest()
        texts[digest] = f.text
        extra.append((f.path, digest))
    value: dict[str, Any] = {
        "language": outcome.language,
        "edits": [(e.start, e.end, e.text) for e in outcome.edits],
        "functions": [
            (str(o.id), o.line, o.status.value, o.reason, o.key) for o in outcome.functions
        ],
        "extra": extra,
        "stats": outcome.stats,
    }
    store.keep_memo(memo_key, value, texts)


def _apply(source: bytes, edits: tuple[Edit, ...]) -> bytes:
    parts, last = [], 0
    for edit in edits:
        parts += [source[last : edit.start], edit.text.encode("utf-8")]
        last = edit.end
    parts.append(source[last:])
    return b"".join(parts)
