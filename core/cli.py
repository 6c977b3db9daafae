"""The `telemetry-inject` command: instrument, strip and cache over files and trees."""

from __future__ import annotations

import argparse
import asyncio
import difflib
import importlib.util
import json
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

from . import config, heal, language, llm, plan
from .cache import DEFAULT_DIR, CacheError, ScriptCache
from .cache_shared import RedisShared, SharedCacheError
from .engine import Options
from .process import Task, TaskResult, run_all
from .scan import Found, scan
from .types import Status, parse_probes

USAGE = """telemetry-inject PATH... [--out DIR | --in-place | --dry-run] [--probes LIST] [-v]
       telemetry-inject strip|update PATH... [--out DIR | --in-place | --dry-run]
       telemetry-inject check PATH... [--stale]
       telemetry-inject cache stats|clear|export [DIR] [--cache-dir DIR]
       telemetry-inject lsp [--tcp HOST:PORT]"""


MODES = ("instrument", "strip", "update", "check")


class UsageError(Exception):
    """A mistake on the command line; the message says what to do."""


def _parser(prog: str, mode: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, usage=USAGE, add_help=True)
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    if mode == "check":
        p.add_argument("--stale", action="store_true", help="report only stale instrumentation")
        p.add_argument("--json", action="store_true", help="print a JSON report")
        p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
        return p
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, metavar="DIR", help="write a copy of the tree to DIR")
    where.add_argument("--in-place", action="store_true", help="rewrite the files themselves")
    where.add_argument("--dry-run", action="store_true", help="print a diff; write nothing")
    p.add_argument("-v", "--verbose", action="store_true", help="list skipped files and functions")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    p.add_argument("--json", action="store_true", help="print a JSON report")
    p.add_argument("--cache-dir", type=Path, help=f"script cache (default: ./{DEFAULT_DIR})")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    p.add_argument(
        "--cache",
        dest="cache_url",
        metavar="URL",
        help="shared script cache, redis://HOST:PORT/DB (entries signed with "
        "$TELEMETRY_INJECT_CACHE_SECRET)",
    )
    if mode in ("instrument", "update"):
        p.add_argument("--profile", help="telemetry profile (default: tel)")
        p.add_argument(
            "--probes",
            metavar="LIST",
            help="what to record: function (entry and exit), loop, var, args, return; "
            "comma-separated (default: function, or the project file's probes)",
        )
        p.add_argument(
            "--llm-instructions",
            metavar="TEXT",
            help="also have the model ($TELEMETRY_INJECT_LLM_MODEL) instrument every function "
            "as TEXT asks, e.g. 'log every SQL query'",
        )
    return p


def main(argv: list[str] | None = None, prog: str = "telemetry-inject") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "cache":
            return _cache_command(argv[1:], prog)
        mode = argv[0] if argv and argv[0] in MODES else "instrument"
        if argv and argv[0] in MODES:
            argv = argv[1:]
        if not argv:
            raise UsageError("give one or more files or directories (see --help)")
        args = _parser(prog, mode).parse_args(argv)
        return _run(args, mode)
    except (
        UsageError,
        CacheError,
        SharedCacheError,
        language.LanguageError,
        config.ConfigError,
    ) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"{prog}: interrupted; files already written are complete, the rest untouched",
            file=sys.stderr,
        )
        return 130


def _run(args: argparse.Namespace, mode: str) -> int:
    for path in args.paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or directory")
    if mode == "check":
        return _check(args)
    if not (args.out or args.in_place or args.dry_run):
        raise UsageError("say --in-place to rewrite files, --out DIR for a copy, or --dry-run")
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    base = Path.cwd()
    if not all(_inside(p, base) for p in args.paths):
        base = args.paths[0] if args.paths[0].is_dir() else args.paths[0].parent
    cache_dir = None if args.no_cache or mode == "strip" else (args.cache_dir or base / DEFAULT_DIR)
    url = getattr(args, "cache_url", None)
    if cache_dir is not None:  # fail early, with one line, if a cache cannot be used
        probe = ScriptCache(cache_dir, RedisShared(url) if url else None)
        for warning in probe.drain_warnings():
            print(f"warning: {warning}", file=sys.stderr)
        probe.close()
    args.llm = _llm_settings(args, mode)
    project = config.find(args.paths[0])
    profile = getattr(args, "profile", None) or project.profile or "tel"
    probes = project.probes or plan.DEFAULT_PROBES
    if getattr(args, "probes", None):
        try:
            probes = parse_probes(args.probes)
        except ValueError as exc:
            raise UsageError(f"--probes: {exc}") from None
    options = Options(
        profile=profile,
        cache_dir=cache_dir,
        cache_url=url,
        llm=args.llm,
        probes=probes,
        config=project,
    )
    for spec in language.all_languages().values():
        spec.profile(profile)
    started = time.perf_counter()
    found = [_project_excluded(f, project) for f in scan(args.paths, base)]
    skipped = [f for f in found if f.skip]
    if mode == "strip":
        skipped = [f for f in skipped if f.skip != "telemetry runtime"]
    tasks = [Task(str(f.path), f.relpath, _dest(f.path, args), mode) for f in found if not f.skip]
    if args.out:
        _copy_trees(args.paths, args.out)
    results = asyncio.run(run_all(tasks, options, args.jobs, _progress_bar(args, len(tasks))))
    removed = _remove_runtimes(found, args) if mode == "strip" else []
    elapsed = time.perf_counter() - started
    return _report(args, mode, results, skipped, removed, elapsed)


def _project_excluded(found: Found, project: config.Config) -> Found:
    """A file the project file's ``exclude`` names is left out, with that reason."""
    root = project.root
    if found.skip or root is None or not project.exclude:
        return found
    try:
        rel = found.path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return found
    if project.excludes(rel):
        return replace(found, skip=f"excluded by {project.path.name if project.path else ''}")
    return found


def _llm_settings(args: argparse.Namespace, mode: str) -> llm.Settings | None:
    """The model fallback: on when $TELEMETRY_INJECT_LLM_MODEL names one (see core/llm.py)."""
    instructions = getattr(args, "llm_instructions", None)
    if instructions is not None and not instructions.strip():
        raise UsageError("--llm-instructions needs a text saying what to instrument")
    if mode == "strip" or (instructions is None and not llm.Settings.configured()):
        return None
    try:
        settings = llm.Settings.from_env(instructions=instructions or "")
    except llm.SettingsError as exc:
        raise UsageError(f"--llm-instructions: {exc}" if instructions else str(exc)) from None
    if importlib.util.find_spec("openai") is None:
        raise UsageError(llm.MISSING_CLIENT)
    return settings


def _inside(path: Path, base: Path) -> bool:
    try:
        path.resolve().relative_to(base.resolve())
        return True
    except ValueError:
        return False


def _dest(path: Path, args: argparse.Namespace) -> str:
    if args.dry_run:
        return ""
    if args.in_place:
        return str(path)
    for top in args.paths:
        if _inside(path, top):
            root = top if top.is_dir() else top.parent
            return (
                str(args.out / top.name / path.resolve().relative_to(root.resolve()))
                if top.is_dir()
                else str(args.out / path.name)
            )
    return str(args.out / path.name)


def _copy_trees(paths: list[Path], out: Path) -> None:
    """--out makes a runnable copy: the whole tree, with instrumented files written over it."""
    out.mkdir(parents=True, exist_ok=True)
    skip = shutil.ignore_patterns(".git", DEFAULT_DIR)
    for top in paths:
        if top.is_dir():
            shutil.copytree(top, out / top.name, symlinks=True, ignore=skip, dirs_exist_ok=True)


def _remove_runtimes(found: list, args: argparse.Namespace) -> list[str]:
    removed = []
    for f in found:
        if f.skip == "telemetry runtime":
            target = Path(_dest(f.path, args)) if not args.dry_run else f.path
            if not args.dry_run and target.exists():
                target.unlink()
            removed.append(str(target))
    return removed


def _progress_bar(args: argparse.Namespace, total: int):
    if args.json or not sys.stderr.isatty() or total < 2:
        return None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="file", file=sys.stderr, leave=False)

    def update(_result: TaskResult) -> None:
        bar.update(1)
        if bar.n >= total:
            bar.close()

    return update


def _report(
    args: argparse.Namespace,
    mode: str,
    results: list[TaskResult],
    skipped: list,
    removed: list[str],
    elapsed: float,
) -> int:
    totals = {
        "files": 0,
        "changed": 0,
        "instrumented": 0,
        "skipped": 0,
        "failed": 0,
        "cache_hits": 0,
        "removed": 0,
        "file_errors": 0,
        "updated": 0,
    }
    failures: list[str] = []
    notes: list[str] = [f"{f.relpath}: skipped: {f.skip}" for f in skipped]
    fn_notes: list[str] = []
    model_notes: list[str] = []  # functions whose script a model wrote
    warnings: dict[str, None] = {}  # ordered, without repeats
    skipped_count = len(skipped)
    for r in results:
        if r.skipped:
            notes.append(f"{r.task.relpath}: skipped: {r.skipped}")
            skipped_count += 1
            continue
        totals["files"] += 1
        if r.error:
            totals["file_errors"] += 1
            failures.append(f"{r.task.relpath}: {r.error}")
        o = r.outcome
        if o is None:
            continue
        totals["changed"] += int(r.changed or o.changed)
        warnings.update(dict.fromkeys(o.warnings))
        for key in ("instrumented", "skipped", "failed", "cache_hits", "removed", "updated"):
            totals[key] += o.stats.get(key, 0)
        for key, value in o.stats.items():
            if key.startswith("llm_"):
                totals[key] = totals.get(key, 0) + value
        for fo in o.functions:
            where = f"{r.task.relpath}:{fo.line}: {fo.id}"
            if fo.status is Status.FAILED or fo.reason.startswith(heal.NOT_APPLIED):
                failures.append(f"{where}: {fo.reason}")
            elif fo.status is Status.INSTRUMENTED and fo.reason:
                model_notes.append(f"{where}: {fo.reason}")
            elif fo.status is Status.SKIPPED:
                fn_notes.append(f"{where}: skipped: {fo.reason}")
        if args.dry_run and o.changed and not args.json:
            sys.stdout.writelines(
                difflib.unified_diff(
                    o.old_text.splitlines(keepends=True),
                    o.new_text.splitlines(keepends=True),
                    f"a/{r.task.relpath}",
                    f"b/{r.task.relpath}",
                )
            )
            for extra in o.extra_files:
                print(f"+++ new file: {extra.path}")
    if args.json:
        report = {
            "mode": mode,
            "seconds": round(elapsed, 3),
            **totals,
            "failures": failures,
            "skipped_files": notes,
            "skipped_functions": fn_notes,
            "runtime_removed": removed,
            "warnings": list(warnings),
        }
        if model_notes:
            report["model_functions"] = model_notes
        print(json.dumps(report, indent=2))
    else:
        if args.verbose:
            for line in notes + fn_notes + model_notes:
                print(line, file=sys.stderr)
            if getattr(args, "llm", None) is not None or totals["failed"]:
                print(_model_line(getattr(args, "llm", None), totals), file=sys.stderr)
        for line in [*failures, *(f"warning: {w}" for w in warnings)]:
            print(line, file=sys.stderr)
        print(_summary(mode, totals, skipped_count, removed, elapsed, args.dry_run))
    return 1 if failures else 0


def _model_line(settings: llm.Settings | None, t: dict[str, int]) -> str:
    if settings is None:
        return f"model fallback off: set {llm.ENV}MODEL to have a model write the failed scripts"
    return (
        f"model {settings.model}: {t.get('llm_requests', 0)} requests, "
        f"{t.get('llm_prompt_tokens', 0)} prompt + {t.get('llm_completion_tokens', 0)} "
        f"completion tokens; {t.get('llm_written', 0)} scripts written, "
        f"{t.get('llm_failed', 0)} functions it could not do"
    )


def _summary(
    mode: str, t: dict[str, int], skipped_files: int, removed: list[str], elapsed: float, dry: bool
) -> str:
    verb = "would change" if dry else "changed"
    if mode == "update":
        return (
            f"{verb} {t['changed']} of {t['files']} files: {t['updated']} stale functions "
            f"instrumented again; {elapsed:.2f} s"
        )
    if mode == "strip":
        return (
            f"{verb} {t['changed']} of {t['files']} files: removed {t['removed']} inserted "
            f"lines/fragments and {len(removed)} runtime files in {elapsed:.2f} s"
        )
    return (
        f"{verb} {t['changed']} of {t['files']} files: {t['instrumented']} functions "
        f"instrumented, {t['skipped']} skipped, {t['failed']} failed, "
        f"{t['cache_hits']} cache hits; {skipped_files} files skipped; {elapsed:.2f} s"
    )


def _check(args: argparse.Namespace) -> int:
    """List instrumented (or only stale) functions and runtime files; exit 1 if any."""
    base = Path.cwd()
    if not all(_inside(p, base) for p in args.paths):
        base = args.paths[0] if args.paths[0].is_dir() else args.paths[0].parent
    found = list(scan(args.paths, base))
    tasks = [Task(str(f.path), f.relpath, "", "check") for f in found if not f.skip]
    results = asyncio.run(run_all(tasks, Options(), args.jobs))
    rows: list[str] = []
    for r in results:
        if r.outcome is None:
            continue
        for fo in r.outcome.functions:
            if fo.reason == "stale" or not args.stale:
                state = "stale instrumentation" if fo.reason == "stale" else "instrumented"
                rows.append(f"{r.task.relpath}:{fo.line}: {fo.id}: {state}")
        if r.outcome.stats.get("file_marker") and not args.stale:
            rows.append(f"{r.task.relpath}: telemetry import line")
    if not args.stale:
        rows += [
            f"{f.relpath}: telemetry runtime file" for f in found if f.skip == "telemetry runtime"
        ]
    fix = (
        "telemetry-inject update --in-place" if args.stale else "telemetry-inject strip --in-place"
    )
    if args.json:
        print(json.dumps({"findings": rows, "fix": fix if rows else ""}, indent=2))
    else:
        for row in rows:
            print(row)
        if rows:
            print(f"{len(rows)} findings; fix with: {fix} PATH...", file=sys.stderr)
    return 1 if rows else 0


def _cache_command(argv: list[str], prog: str) -> int:
    p = argparse.ArgumentParser(prog=f"{prog} cache")
    p.add_argument("action", choices=["stats", "clear", "export", "import"])
    p.add_argument("folder", nargs="?", type=Path, help="export/import: the scripts' folder")
    p.add_argument("--cache-dir", type=Path, default=Path(DEFAULT_DIR))
    p.add_argument("--cache", dest="cache_url", metavar="URL", help="shared cache, redis://...")
    args = p.parse_args(argv)
    if args.action in ("export", "import") and args.folder is None:
        raise UsageError(f"cache {args.action} needs a folder")
    cache = ScriptCache(args.cache_dir, RedisShared(args.cache_url) if args.cache_url else None)
    try:
        if args.action == "stats":
            print(json.dumps(cache.stats(), indent=2))
        elif args.action == "export":
            print(f"wrote {cache.export(args.folder)} scripts to {args.folder}")
        elif args.action == "import":
            print(f"imported {cache.import_(args.folder)} scripts from {args.folder}")
        else:
            print(f"removed {cache.clear()} cache entries from {args.cache_dir}")
    finally:
        cache.close()
    return 0
