"""The engine: one document through analyze → plan → script → cache → validate → sandbox →
reconstruct → verify, and strip. Shared by the CLI and the language server."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import analyze as analyze_mod
from . import heal, language, memo, plan, reconstruct, scripts, strip
from .analyze import Analysis
from .cache import ScriptCache, ScriptEntry, result_key
from .cache_shared import RedisShared
from .carried import function_removals, function_text, is_stale, probes_present
from .config import Config
from .language import LanguageSpec
from .llm import Generator, Settings
from .sandbox import Job, Limits, Sandbox
from .types import (
    Edit,
    FileOutcome,
    FunctionId,
    FunctionInfo,
    FunctionOutcome,
    FunctionPlan,
    Insertion,
    Status,
)
from .validate import validate


@dataclass(frozen=True)
class Options:
    profile: str = "tel"
    cache_dir: Path | None = None  # None: no script cache
    cache_url: str | None = None  # a shared cache (redis://HOST:PORT/DB) read through
    limits: Limits = field(default_factory=Limits)
    llm: Settings | None = None  # a model writes scripts templates cannot (None: off)
    batch: bool = False  # many files in a row: cache writes wait and go out together (close)
    probes: frozenset[str] = plan.DEFAULT_PROBES  # docs/probes.md
    config: Config = field(default_factory=Config)  # the project's telemetry-inject.toml


@dataclass(frozen=True)
class ScriptStatus:
    """What hover shows about a function's insertion script."""

    key: str
    entry: ScriptEntry | None  # None: not cached (a miss)


Select = Callable[[FunctionInfo], bool]
BOM = b"\xef\xbb\xbf"
# From this size on, a file's tree (~20 times the source in memory) is let go before the
# verification parse, so two trees never coexist (6 MB of JavaScript: ~130 MB each); that
# parse is then a full one, not incremental.
RELEASE_TREE_BYTES = 1 << 20


class Engine:
    def __init__(self, options: Options | None = None) -> None:
        self.options = options or Options()
        self._sandbox: Sandbox | None = None
        self.cache: ScriptCache | None = None
        if self.options.cache_dir:
            url = self.options.cache_url
            shared = RedisShared(url) if url else None
            self.cache = ScriptCache(self.options.cache_dir, shared, hold=self.options.batch)
        self.llm = Generator(self.options.llm) if self.options.llm is not None else None

    @property
    def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            self._sandbox = Sandbox(self.options.limits)
        return self._sandbox

    def close(self) -> None:
        if self.llm is not None:
            self.llm.close()
        if self._sandbox is not None:
            self._sandbox.close()
        if self.cache is not None:
            self.cache.close()

    def analyze(self, spec: LanguageSpec, source: bytes) -> Analysis:
        return analyze_mod.analyze(spec, source)

    # -- instrument -------------------------------------------------------------------------

    def instrument(
        self,
        source: bytes,
        relpath: str,
        spec: LanguageSpec | None = None,
        select: Select | None = None,
        analysis: Analysis | None = None,
        probes: frozenset[str] | None = None,
    ) -> FileOutcome:
        spec = spec or _spec_for(relpath)
        probes = probes or self.options.probes
        memo_key = ""
        if self.cache is not None and select is None and analysis is None and self.llm is None:
            variant = f"{self.options.profile}:{','.join(sorted(probes))}:"
            memo_key = memo.key(spec, variant + self.options.config.digest, relpath, source)
            kept = memo.load(self.cache, memo_key, source, relpath)
            if kept is not None:
                return kept
        if source.startswith(BOM) and analysis is None:
            # A byte order mark must stay first: instrument what follows it.
            inner = self._instrument(source[len(BOM) :], relpath, spec, select, None, probes)
            outcome = replace(
                inner,
                old_text="\ufeff" + inner.old_text,
                new_text="\ufeff" + inner.new_text,
                edits=tuple(
                    Edit(e.start + len(BOM), e.end + len(BOM), e.text) for e in inner.edits
                ),
            )
        else:
            outcome = self._instrument(source, relpath, spec, select, analysis, probes)
        if memo_key and self.cache is not None:
            memo.save(self.cache, memo_key, source, outcome)
        return outcome

    def _instrument(
        self,
        source: bytes,
        relpath: str,
        spec: LanguageSpec | None,
        select: Select | None,
        analysis: Analysis | None,
        probes: frozenset[str] = plan.DEFAULT_PROBES,
    ) -> FileOutcome:
        spec = spec or _spec_for(relpath)
        analysis = analysis or analyze_mod.analyze(spec, source)
        old_text = source.decode("utf-8")
        templates = self.options.config.for_language(spec.name)
        file_plan = plan.plan(analysis, self.options.profile, relpath, select, probes, templates)
        outcomes: dict[FunctionId, FunctionOutcome] = {o.id: o for o in file_plan.skipped}
        per_function: dict[FunctionId, list[Insertion]] = {}
        for fp, key, output, cache_state, error in self._run_scripts(analysis, file_plan.functions):
            f = fp.function
            if error is None:
                try:
                    found = reconstruct.function_insertions(analysis, f, output)
                    if found or not fp.ops:
                        per_function[f.id] = found
                    else:  # a script that was to insert something and did not
                        error = "the script changed nothing"
                except reconstruct.ReconstructError as exc:
                    error = str(exc)
            status = Status.FAILED if error else Status.INSTRUMENTED
            outcomes[f.id] = FunctionOutcome(f.id, f.line, status, error or "", cache_state, key)
        # Imports only with at least one instrumented function (or when none was planned:
        # an import that stands alone); when every script failed the file stays as it was.
        file_insertions = (
            file_plan.file_insertions if per_function or not file_plan.functions else []
        )
        new_source, edits, failed = self._assemble(analysis, file_insertions, per_function)
        if templates is not None and templates.snippets:  # the user's templates may be at fault
            failed = {
                fid: f"{why} (the templates of {templates.source} are in use)"
                if why.startswith("verification failed")
                else why
                for fid, why in failed.items()
            }
        model = heal.Report()
        if self.llm is not None:  # a model writes what templates did not (core/heal.py)
            model = heal.fallback(
                self, analysis, relpath, file_plan, outcomes, per_function, failed
            )
            if model.written:
                new_source, edits, again = self._assemble(
                    analysis, file_plan.file_insertions, per_function
                )
                failed.update(again)
        for fid, why in failed.items():
            o = outcomes[fid]
            outcomes[fid] = FunctionOutcome(fid, o.line, Status.FAILED, why, o.cache, o.key)
        ordered = sorted(outcomes.values(), key=lambda o: (o.line, str(o.id)))
        new_text = new_source.decode("utf-8")
        extra = tuple(file_plan.runtime) if new_text != old_text or analysis.has_file_marker else ()
        return FileOutcome(
            relpath,
            spec.name,
            old_text,
            new_text,
            edits,
            tuple(ordered),
            extra,
            stats=_stats(ordered) | model.stats,
            warnings=(*(self.cache.drain_warnings() if self.cache else ()), *model.warnings),
        )

    def _run_scripts(
        self, analysis: Analysis, plans: list[FunctionPlan]
    ) -> list[tuple[FunctionPlan, str, str, str, str | None]]:
        """(plan, key, output, "hit"/"miss", error) per function.

        A script this engine generates (or a cached one identical to it) is trusted and runs
        in this process (``scripts.run_template``, ~0.1 ms: less than reading or writing its
        result in the cache, so its result is not kept); any other script is validated and
        runs in the sandbox, the file's scripts as one batch, and its result is kept and used
        as it is next time. The file's cache reads are one query each and its writes one
        transaction.
        """
        spec, profile, cache = analysis.spec, self.options.profile, self.cache
        todo = []
        for fp in plans:
            text = function_text(analysis, fp.function)
            todo.append((fp, text, scripts.generate(spec, profile, fp, text)))
        entries = cache.lookup_many([s.key for _, _, s in todo]) if cache is not None else {}
        untrusted = [
            (s.key, fp.params)
            for fp, _, s in todo
            if (e := entries.get(s.key)) and (e.source != "template" or e.text != s.text)
        ]
        cached = cache.results_many(untrusted) if cache is not None and untrusted else {}
        done: list[tuple[FunctionPlan, str, str, str, str | None]] = []
        fresh: list[tuple[scripts.Script, str, str]] = []
        outputs: list[tuple[str, tuple[tuple[str, str], ...], str]] = []
        jobs: list[Job] = []
        runnable: list[tuple[FunctionPlan, str, scripts.Script, str]] = []
        for fp, text, script in todo:
            entry = entries.get(script.key)
            generated = True  # the script is the one generate() made: trusted
            if entry is None:
                state = "miss"
                fresh.append((script, str(fp.function.id), spec.name))
            else:
                state = "hit"
                output = cached.get(result_key(script.key, fp.params))
                if output is not None:
                    done.append((fp, script.key, output, state, None))
                    continue
                if entry.source != "template" or entry.text != script.text:
                    script = scripts.Script(entry.key, entry.text, entry.source)
                    generated = False
            if generated:
                output = scripts.run_template(spec, fp, text)
                done.append((fp, script.key, output, state, None))
                continue
            why = validate(script.text)
            if why is not None:
                done.append((fp, script.key, "", state, f"script rejected: {why}"))
                continue
            jobs.append(Job(script.text, text, fp.params))
            runnable.append((fp, text, script, state))
        for (fp, text, script, state), res in zip(
            runnable, self.sandbox.run(jobs) if jobs else [], strict=True
        ):
            if script.source != "template":  # a model's lines get their markers here
                res = heal.marked(spec, text, res)
            if res.ok:
                outputs.append((script.key, fp.params, res.output))
                done.append((fp, script.key, res.output, state, None))
            else:
                done.append((fp, script.key, "", state, f"script failed: {res.error}"))
        if cache is not None:
            with cache.batch():
                cache.store_many(fresh)
                cache.store_results(outputs)
        return done

    def _assemble(
        self,
        analysis: Analysis,
        file_insertions: list[Insertion],
        per_function: dict[FunctionId, list[Insertion]],
    ) -> tuple[bytes, tuple[Edit, ...], dict[FunctionId, str]]:
        """Apply all insertions; on a verification failure, find and drop the functions at fault."""
        failed: dict[FunctionId, str] = {}
        if not per_function and not file_insertions:
            return analysis.source, (), failed
        merged = [*file_insertions, *(i for ins in per_function.values() for i in ins)]
        new_source, edits = reconstruct.apply(analysis.source, merged)
        if len(analysis.source) >= RELEASE_TREE_BYTES:
            analysis.release_tree()  # one tree at a time: a full parse verifies
        why, _tree = reconstruct.verify(analysis, new_source, edits)
        if why is None:
            return new_source, edits, failed
        del _tree
        analysis.tree  # noqa: B018  (parsed again: each function is verified incrementally)
        good: dict[FunctionId, list[Insertion]] = {}
        for fid, ins in per_function.items():
            candidate, alone_edits = reconstruct.apply(analysis.source, [*file_insertions, *ins])
            alone, _ = reconstruct.verify(analysis, candidate, alone_edits)
            if alone is None:
                good[fid] = ins
            else:
                failed[fid] = f"verification failed: {alone}"
        if not good:
            return analysis.source, (), failed
        merged = [*file_insertions, *(i for ins in good.values() for i in ins)]
        new_source, edits = reconstruct.apply(analysis.source, merged)
        why, _tree = reconstruct.verify(analysis, new_source, edits)
        if why is not None:
            for fid in good:
                failed[fid] = f"verification failed: {why}"
            return analysis.source, (), failed
        return new_source, edits, failed

    # -- strip ------------------------------------------------------------------------------

    def strip(
        self,
        source: bytes,
        relpath: str,
        spec: LanguageSpec | None = None,
        select: Select | None = None,
        analysis: Analysis | None = None,
    ) -> FileOutcome:
        """Remove instrumentation: all of it, or that of the selected functions only."""
        spec = spec or _spec_for(relpath)
        text = source.decode("utf-8")
        if select is None:
            ranges = strip.removals(spec, text)
        else:
            analysis = analysis or analyze_mod.analyze(spec, source)
            ranges = function_removals(analysis, text, select)
        edits: list[Edit] = []
        parts: list[str] = []
        last = 0
        for start, end in ranges:
            parts.append(text[last:start])
            b_start = len(text[:start].encode("utf-8"))
            b_end = b_start + len(text[start:end].encode("utf-8"))
            edits.append(Edit(b_start, b_end, ""))
            last = end
        parts.append(text[last:])
        new_text = "".join(parts)
        return FileOutcome(
            relpath, spec.name, text, new_text, tuple(edits), stats={"removed": len(edits)}
        )

    def update(self, source: bytes, relpath: str, spec: LanguageSpec | None = None) -> FileOutcome:
        """Re-instrument functions edited since they were instrumented (stale ones), and those
        whose loop or var probes are not the chosen ones."""
        spec = spec or _spec_for(relpath)
        analysis = analyze_mod.analyze(spec, source)
        snippets = spec.profile(self.options.profile).snippets
        wanted = self.options.probes & {"loop", "var"}

        def differs(f: FunctionInfo) -> bool:
            sites = analysis.sites(f.id)
            here = {p for p, found in (("loop", sites.loops), ("var", sites.assigns)) if found}
            return probes_present(analysis, f, snippets) & here != wanted & here

        stale = {
            f.id
            for f in analysis.functions
            if f.instrumented and (is_stale(analysis, f) or differs(f))
        }
        return self.redo(source, relpath, spec, stale, analysis=analysis)

    def redo(
        self,
        source: bytes,
        relpath: str,
        spec: LanguageSpec,
        ids: set[FunctionId],
        probes: frozenset[str] | None = None,
        analysis: Analysis | None = None,
    ) -> FileOutcome:
        """Instrument these functions afresh (with these probes): their old lines go first."""
        analysis = analysis or analyze_mod.analyze(spec, source)
        stale = ids
        if not stale:
            text = source.decode("utf-8")
            return FileOutcome(relpath, spec.name, text, text, stats={"updated": 0})
        stripped = self.strip(source, relpath, spec, lambda f: f.id in stale, analysis)
        redone = self.instrument(
            stripped.new_text.encode(), relpath, spec, lambda f: f.id in stale, probes=probes
        )
        # One set of edits against the original: the removals, then the new insertions.
        new_source = redone.new_text.encode("utf-8")
        start, end = _common_affixes(source, new_source)
        edit = Edit(start, len(source) - end, new_source[start : len(new_source) - end].decode())
        return FileOutcome(
            relpath,
            spec.name,
            source.decode("utf-8"),
            redone.new_text,
            (edit,),
            redone.functions,
            redone.extra_files,
            stats={**redone.stats, "updated": len(stale)},
        )

    def inspect(self, source: bytes, relpath: str, spec: LanguageSpec | None = None) -> FileOutcome:
        """Report instrumented functions (status "instrumented", reason "stale" when edited)."""
        spec = spec or _spec_for(relpath)
        analysis = analyze_mod.analyze(spec, source)
        found = tuple(
            FunctionOutcome(
                f.id, f.line, Status.INSTRUMENTED, "stale" if is_stale(analysis, f) else ""
            )
            for f in analysis.functions
            if f.instrumented
        )
        text = source.decode("utf-8")
        stale = sum(1 for o in found if o.reason == "stale")
        stats = {
            "instrumented": len(found),
            "stale": stale,
            "file_marker": int(analysis.has_file_marker),
        }
        return FileOutcome(relpath, spec.name, text, text, (), found, stats=stats)

    # -- hover ------------------------------------------------------------------------------

    def script_status(self, analysis: Analysis, f: FunctionInfo, relpath: str) -> ScriptStatus:
        """The key this function's script has now, and its cache entry if there is one."""
        if f.instrumented:
            # Its script was made for the text before instrumentation: find that function again.
            original = strip.strip_text(analysis.spec, analysis.source.decode("utf-8"))
            analysis = analyze_mod.analyze(analysis.spec, original.encode("utf-8"))
            found = analysis.function(f.id)
            if found is None:
                return ScriptStatus("", None)
            f = found
        profile = analysis.spec.profile(self.options.profile)
        snippets, values = profile.snippets, profile.values
        templates = self.options.config.for_language(analysis.spec.name)
        if templates is not None:
            snippets, values = {**snippets, **templates.snippets}, {**values, **templates.values}
        try:
            fp = plan.plan_function(analysis, f, snippets, relpath, self.options.probes, values)
        except plan.PlanError:  # no template fits: a model's script is keyed without ops
            fp = plan.plan_function(analysis, f, {}, relpath)
        text = function_text(analysis, f)
        key = scripts.cache_key(analysis.spec, self.options.profile, text, fp.ops)
        entry = self.cache.peek(key) if self.cache is not None else None
        return ScriptStatus(key, entry)


def _common_affixes(a: bytes, b: bytes) -> tuple[int, int]:
    """Lengths of the common prefix and (non-overlapping) common suffix, on UTF-8 boundaries."""
    limit = min(len(a), len(b))
    start = 0
    while start < limit and a[start] == b[start]:
        start += 1
    while start and (a[start - 1 : start][0] & 0xC0) == 0x80:
        start -= 1
    end = 0
    while end < limit - start and a[len(a) - 1 - end] == b[len(b) - 1 - end]:
        end += 1
    while end and (a[len(a) - end] & 0xC0) == 0x80:
        end -= 1
    return start, end


def _spec_for(relpath: str) -> LanguageSpec:
    spec = language.for_path(relpath)
    if spec is None:
        raise language.LanguageError(f"{relpath}: no supported language has this file extension")
    return spec


def _stats(outcomes: list[FunctionOutcome]) -> dict[str, int]:
    stats = {"instrumented": 0, "skipped": 0, "failed": 0, "cache_hits": 0}
    for o in outcomes:
        stats[o.status.value] += 1
        if o.cache == "hit":
            stats["cache_hits"] += 1
    return stats
