"""Script stage, fallback: a model writes the scripts templates could not, and fixes failing ones.

Asked for a function when its template cannot be planned (no anchor fits), its script fails
(an exception, a timeout, a rejected cached script), its result does not verify, or when the
user gave instructions (then for every function; the template's result stays if the model
fails). A model's script takes the same road as any other — validate, sandbox, reconstruct,
verify — and when it fails, the error goes back to the model for a corrected script, a few
times at most. Lines a model inserts get their markers from the engine (``mark``), so strip
removes them exactly whatever the model wrote; markers it wrote itself must be exact.
"""

from __future__ import annotations

import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from . import llm, markers, plan, reconstruct, scripts, strip
from .analyze import Analysis
from .language import LanguageSpec
from .reconstruct import ReconstructError
from .sandbox import Job, JobResult
from .types import FunctionId, FunctionInfo, FunctionOutcome, Insertion, Status
from .validate import validate

if TYPE_CHECKING:
    from .engine import Engine

NOT_APPLIED = "instructions not applied"  # a function kept its template telemetry only
SANDBOX_FAULT = "script failed: sandbox "  # the sandbox itself failed: no script would run


@dataclass
class Report:
    written: bool = False  # some function got a model's script: assemble again
    stats: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Candidate:
    f: FunctionInfo
    params: tuple[tuple[str, str], ...]
    key: str  # where the model's script is cached
    text: str  # the function's text
    why: str  # what went wrong with the template ("" when instructions asked)
    previous: str  # the script that failed, if any
    example: str  # the template's script for this function, if it has one
    snippets: dict[str, str]
    template_ok: bool  # the template's result stands if the model fails
    lookup: bool  # a model's script may be cached under key (not yet looked up)
    cached: str = ""  # a model's cached script to try before asking
    cached_source: str = ""  # the model that wrote it


@dataclass
class _Solution:
    ok: bool
    script: str = ""
    output: str = ""
    insertions: list[Insertion] = field(default_factory=list)
    state: str = "miss"
    source: str = ""  # the model that wrote the script, when it came from the cache
    attempts: int = 0
    last_error: str = ""
    reason: str = ""
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


def instruction_key(key: str, instructions: str) -> str:
    """Scripts written for instructions are cached apart from the plain ones."""
    return hashlib.sha256(f"{key}\0instructions\0{instructions}".encode()).hexdigest()


def fallback(
    engine: Engine,
    analysis: Analysis,
    relpath: str,
    file_plan: plan.FilePlan,
    outcomes: dict[FunctionId, FunctionOutcome],
    per_function: dict[FunctionId, list[Insertion]],
    failed: dict[FunctionId, str],
) -> Report:
    """Ask the model for the functions templates did not do; update the maps in place."""
    gen = engine.llm
    assert gen is not None
    report = Report()
    candidates = _candidates(engine, analysis, relpath, file_plan, outcomes, failed)
    if not candidates:
        return report
    _file_level(analysis, file_plan, relpath, engine.options.profile)
    rule = plan.choose_import(
        analysis.spec, analysis.spec.profile(engine.options.profile).imports, analysis.tree, relpath
    )
    imports = rule.code if rule is not None else ""
    solved: dict[int, _Solution] = {}
    cache = engine.cache
    for i, c in enumerate(candidates):
        entry = cache.lookup(c.key) if cache is not None and c.lookup else None
        if cache is None or entry is None:
            continue
        result = cache.result(c.key, c.params)
        if result is not None:
            solution = _verified(analysis, file_plan.file_insertions, c, result)
            if solution.ok:
                solved[i] = replace(solution, state="hit", source=entry.source)
                continue
        c.cached, c.cached_source = entry.text, entry.source
    todo = [i for i in range(len(candidates)) if i not in solved]
    if todo:
        workers = min(gen.settings.concurrency, len(todo))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="model") as pool:
            found = pool.map(
                lambda i: _solve(engine, analysis, relpath, file_plan, candidates[i], imports), todo
            )
            solved.update(zip(todo, found, strict=True))
    for i, c in enumerate(candidates):
        _apply(engine, analysis.spec.name, c, solved[i], report, outcomes, per_function, failed)
    return report


def _candidates(
    engine: Engine,
    analysis: Analysis,
    relpath: str,
    file_plan: plan.FilePlan,
    outcomes: dict[FunctionId, FunctionOutcome],
    failed: dict[FunctionId, str],
) -> list[_Candidate]:
    assert engine.llm is not None
    instructions = engine.llm.settings.instructions
    spec, profile = analysis.spec, engine.options.profile
    snippets = spec.profile(profile).snippets
    out: list[_Candidate] = []
    for fp in file_plan.functions:
        f, o = fp.function, outcomes.get(fp.function.id)
        if o is None:
            continue
        why = failed.get(f.id) or (o.reason if o.status is Status.FAILED else "")
        if (not why and not instructions) or why.startswith(SANDBOX_FAULT):
            continue
        text = _function_text(analysis, f)
        template = scripts.generate(spec, profile, fp, text).text
        entry = engine.cache.peek(o.key) if engine.cache is not None and why else None
        previous = (entry.text if entry is not None else template) if why else ""
        key = instruction_key(o.key, instructions) if instructions else o.key
        out.append(
            _Candidate(
                f, fp.params, key, text, why, previous, template, snippets, not why, key != o.key
            )
        )
    excluded = plan.excluded_because(spec, analysis.tree)
    for o in list(outcomes.values()):
        f = analysis.function(o.id) if o.status is Status.SKIPPED else None
        if f is None or excluded or f.instrumented or f.has_error:
            continue
        try:
            plan.plan_function(analysis, f, snippets, relpath)
            continue  # skipped for another reason
        except plan.PlanError as exc:
            why = str(exc)
        fp = plan.plan_function(analysis, f, {}, relpath)  # params only: no template fits
        text = _function_text(analysis, f)
        key = scripts.cache_key(spec, profile, text, ())
        key = instruction_key(key, instructions) if instructions else key
        out.append(_Candidate(f, fp.params, key, text, why, "", "", snippets, False, True))
    return out


def _function_text(analysis: Analysis, f: FunctionInfo) -> str:
    start, end = plan.function_text_range(analysis, f)
    return analysis.source[start:end].decode("utf-8")


def _file_level(analysis: Analysis, file_plan: plan.FilePlan, relpath: str, profile: str) -> None:
    """The import and runtime a file needs even when no template was planned in it."""
    if file_plan.file_insertions or analysis.has_file_marker:
        return
    spec = analysis.spec
    rule = plan.choose_import(spec, spec.profile(profile).imports, analysis.tree, relpath)
    if rule is not None:
        file_plan.file_insertions.append(plan.import_insertion(analysis, rule.code))
    if not file_plan.runtime:
        file_plan.runtime = plan.runtime_files(spec, profile, relpath, analysis.captures)


def _solve(
    engine: Engine,
    analysis: Analysis,
    relpath: str,
    file_plan: plan.FilePlan,
    c: _Candidate,
    imports: str,
) -> _Solution:
    """Run on a worker thread: the cached script, then the model, then its corrections."""
    gen = engine.llm
    assert gen is not None
    settings = gen.settings
    why, previous = c.why, c.previous
    if c.cached:
        tried = _check(engine, analysis, file_plan.file_insertions, c, c.cached)
        if tried.ok:
            return replace(tried, state="hit", source=c.cached_source)
        why, previous = tried.reason, c.cached
    if len(c.text) > settings.max_function_chars:
        limit = settings.max_function_chars
        return _Solution(False, reason=f"the function is longer than the {limit} characters sent")
    task = llm.Task(
        language=analysis.spec.name,
        relpath=relpath,
        function=str(c.f.id),
        text=c.text,
        snippets=c.snippets,
        imports=imports,
        params=dict(c.params),
        instructions=settings.instructions,
        why=why,
        previous=previous if previous != c.example else "",
    )
    messages = [
        {"role": "system", "content": llm.system_prompt()},
        {"role": "user", "content": llm.first_message(task, llm.core_text(), c.example)},
    ]
    usage = _Solution(False)
    last = ""
    for attempt in range(1, settings.heal_rounds + 2):
        try:
            reply = gen.complete(messages)
        except llm.ModelUnavailable as exc:
            return replace(usage, reason=str(exc), attempts=attempt - 1)
        usage.requests += 1
        usage.prompt_tokens += reply.prompt_tokens
        usage.completion_tokens += reply.completion_tokens
        script, problem = llm.parse_reply(reply.text)
        if script:
            script += llm.trailer(gen.name, str(c.f.id), analysis.spec.name, c.key)
            tried = _check(engine, analysis, file_plan.file_insertions, c, script)
            if tried.ok:
                return replace(
                    tried,
                    script=script,
                    attempts=attempt,
                    last_error=last,
                    requests=usage.requests,
                    prompt_tokens=usage.prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                )
            problem = tried.reason
        last = problem
        messages.append({"role": "assistant", "content": reply.text})
        messages.append({"role": "user", "content": llm.retry_message(problem)})
    tries = usage.requests
    return replace(
        usage, reason=f"no working script in {tries} attempts; last: {last}", last_error=last
    )


def _check(
    engine: Engine,
    analysis: Analysis,
    file_insertions: list[Insertion],
    c: _Candidate,
    script: str,
) -> _Solution:
    """The same road as every script: validate, sandbox, mark, reconstruct, verify."""
    why = validate(script)
    if why is not None:
        return _Solution(False, reason=f"script rejected: {why}")
    res = engine.sandbox.run([Job(script, c.text, c.params)])[0]
    if not res.ok:
        return _Solution(False, reason=f"script failed: {res.error}")
    try:
        output = mark(analysis.spec, c.text, res.output)
    except ReconstructError as exc:
        return _Solution(False, reason=str(exc))
    return _verified(analysis, file_insertions, c, output)


def _verified(
    analysis: Analysis, file_insertions: list[Insertion], c: _Candidate, output: str
) -> _Solution:
    try:
        insertions = reconstruct.function_insertions(analysis, c.f, output)
    except ReconstructError as exc:
        return _Solution(False, reason=str(exc))
    candidate, _ = reconstruct.apply(analysis.source, [*file_insertions, *insertions])
    why, _tree = reconstruct.verify(analysis, candidate)
    if why is not None:
        return _Solution(False, reason=f"verification failed: {why}")
    return _Solution(True, output=output, insertions=insertions)


def _apply(
    engine: Engine,
    language: str,
    c: _Candidate,
    s: _Solution,
    report: Report,
    outcomes: dict[FunctionId, FunctionOutcome],
    per_function: dict[FunctionId, list[Insertion]],
    failed: dict[FunctionId, str],
) -> None:
    gen = engine.llm
    assert gen is not None
    stats = report.stats
    for name, value in (
        ("llm_requests", s.requests),
        ("llm_prompt_tokens", s.prompt_tokens),
        ("llm_completion_tokens", s.completion_tokens),
    ):
        stats[name] = stats.get(name, 0) + value
    fid, line = c.f.id, c.f.line
    if s.ok:
        cache = engine.cache
        if s.state == "miss":
            stats["llm_written"] = stats.get("llm_written", 0) + 1
        if cache is not None:
            if s.state == "miss":
                script = scripts.Script(c.key, s.script, gen.name)
                cache.store(script, str(fid), language, s.attempts, s.last_error)
            cache.store_result(c.key, c.params, s.output)
        per_function[fid] = s.insertions
        failed.pop(fid, None)
        tries = f", {s.attempts} attempts" if s.attempts > 1 else ""
        note = f"script by model {s.source or gen.name}{tries}"
        outcomes[fid] = FunctionOutcome(fid, line, Status.INSTRUMENTED, note, s.state, c.key)
        report.written = True
        return
    stats["llm_failed"] = stats.get("llm_failed", 0) + 1
    note = f"model {gen.name}: {s.reason}"
    if gen.down and gen.down in s.reason:
        warning = f"{gen.down}; template results kept"
        if warning not in report.warnings:
            report.warnings.append(warning)
    o = outcomes[fid]
    if c.template_ok:
        outcomes[fid] = replace(o, reason=f"{NOT_APPLIED} ({note})")
    elif fid in failed:
        failed[fid] = f"{failed[fid]}; {note}"
        per_function.pop(fid, None)
    else:
        outcomes[fid] = replace(o, reason=f"{o.reason}; {note}")


# -- markers ----------------------------------------------------------------------------------


def mark(spec: LanguageSpec, original: str, output: str) -> str:
    """Give every insertion of a model's script a marker; ReconstructError if it cannot be exact.

    Whole inserted lines get the line marker, stamped like a template's; text inserted inside a
    line is wrapped in inline markers (only where the language has block comments). Markers the
    script wrote itself are kept when they are exactly what the engine would write.
    """
    pieces = reconstruct.extract(original, output)
    if not pieces:
        raise ReconstructError("the script inserted nothing")
    stamp = markers.stamp_of(original)
    suffix = markers.line_suffix(spec.line_comment, stamp, spec.line_comment_end)
    whole = markers.line_pattern(spec.line_comment, spec.line_comment_end)
    block = spec.block_comment
    inline = markers.inline_pattern(block) if block is not None else None
    parts: list[str] = []
    last = 0
    for off, text in pieces:
        parts.append(original[last:off])
        last = off
        line_start = (
            off == 0
            or original[off - 1] == "\n"
            or (original[off - 1] == "\r" and original[off : off + 1] != "\n")
        )
        if line_start and text.endswith(("\n", "\r")):
            for line in text.splitlines(keepends=True):
                if not _marked(whole.fullmatch(line), line, stamp):
                    body = line.rstrip("\r\n")
                    parts.append(body + suffix + line[len(body) :])
                else:
                    parts.append(line)
        elif inline is not None and _marked(inline.fullmatch(text), text, stamp):
            parts.append(text)
        elif block is not None:
            parts.append(markers.inline_open(block, stamp) + text + markers.inline_close(block))
        else:
            raise ReconstructError(
                f"the script inserted text inside a line; {spec.name} has no block comments to "
                "mark it, so insert whole lines only"
            )
    parts.append(original[last:])
    result = "".join(parts)
    if strip.strip_text(spec, result) != original:
        raise ReconstructError("the inserted text cannot be marked so that it strips exactly")
    return result


def _marked(match: re.Match[str] | None, text: str, stamp: str) -> bool:
    """Already carries the right marker; a marker with another stamp (or none) is refused."""
    if match is not None and match.group("stamp") == stamp:
        return True
    if markers.WORD in text:
        raise ReconstructError(
            f"the script wrote a '{markers.WORD}' marker that is not the expected "
            f"'{markers.WORD}:{stamp}'; leave markers to the engine"
        )
    return False


def marked(spec: LanguageSpec, original: str, res: JobResult) -> JobResult:
    """A cached model script's result, marked like a fresh one (see ``mark``)."""
    if not res.ok:
        return res
    try:
        return JobResult(True, mark(spec, original, res.output))
    except ReconstructError as exc:
        return JobResult(False, error=str(exc))
