"""Language registry: loads each `languages/<name>/` data folder into a LanguageSpec.

A language is data only: `language.toml` (file extensions, grammar, comment syntax, body
delimiters, snippet templates per profile, imports, runtime files) and tree-sitter queries
(`functions.scm`, `scopes.scm`, optional `file.scm`). Adding a language adds a folder.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import tree_sitter as ts

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LANGUAGES_DIR = Path(__file__).with_name("languages")
ENGINE_VERSION = "2"  # bump when script_core or the markers change meaning


class LanguageError(Exception):
    """A language folder is missing or malformed."""


@dataclass(frozen=True)
class ImportRule:
    code: str
    when: str = ""  # a query over the file; the rule applies when it matches (empty: always)
    extensions: tuple[str, ...] = ()  # or when the file has one of these extensions
    files: tuple[str, ...] = ()  # only where the path ends with one of these globs ("bin/*.rs")
    always: bool = False  # also into a whole file none of whose functions is instrumented


@dataclass(frozen=True)
class RuntimeFile:
    source: str  # path inside the language folder
    target: str  # file name written beside the instrumented file; may use {{captures}}
    files: tuple[str, ...] = ()  # only beside files whose path ends with one of these globs


@dataclass(frozen=True)
class SkipRule:
    """Functions this language cannot instrument, told apart by their text or their body."""

    reason: str
    signature: str = ""  # a regex searched in the text before the body (empty: any)
    body: str = ""  # a query pattern the body node must match (empty: any)


@dataclass(frozen=True)
class Profile:
    name: str
    snippets: dict[str, str]  # AnchorKind value -> code template
    imports: tuple[ImportRule, ...] = ()
    runtime: tuple[RuntimeFile, ...] = ()
    # How loop variables, parameters and return values are written into snippets (docs/probes.md).
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LanguageSpec:
    name: str
    folder: Path
    extensions: tuple[str, ...]
    grammar: str  # "module:function" returning the tree-sitter language pointer
    line_comment: str
    block_comment: tuple[str, str] | None
    indent_unit: str
    body_open: str
    body_close: str
    body_skip: tuple[str, ...]  # leading body statements the entry goes after
    prologue_skip: tuple[str, ...]  # leading top-level statements the imports go after
    exclude: tuple[str, ...]  # file name globs never instrumented (e.g. Go tests)
    profiles: dict[str, Profile]
    search: tuple[Path, ...] = ()  # where data files are looked up: the folder, then its base
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    # Ends a snippet spliced into a line with other code, where a newline ends statements (Go ";").
    inline_end: str = ""
    # (query, reason): files where the query matches are left alone, with that reason.
    exclude_when: tuple[tuple[str, str], ...] = ()
    # Closes line_comment where the language has only block comments (C89: " */").
    line_comment_end: str = ""
    # Comments that belong to the declaration after them (doc comments): imports go above them.
    prologue_stop: tuple[str, ...] = ()
    # Functions left alone with a reason (Swift implicit returns, Rust const fn ...).
    skip_when: tuple[SkipRule, ...] = ()

    @property
    def language(self) -> ts.Language:
        return _ts_language(self.grammar)

    def parser(self) -> ts.Parser:
        return ts.Parser(self.language)

    def query(self, name: str) -> ts.Query | None:
        return _query(self.name, name)

    def profile(self, name: str) -> Profile:
        """The named profile; an empty one (nothing inserted, files left alone with that
        reason) when another language has it and this one does not."""
        try:
            return self.profiles[name]
        except KeyError:
            if any(name in spec.profiles for spec in all_languages().values()):
                return Profile(name, {})
            known = ", ".join(sorted({p for s in all_languages().values() for p in s.profiles}))
            raise LanguageError(f"no telemetry profile {name!r} (available: {known})") from None

    @property
    def marks_above(self) -> bool:
        """Some profile inserts lines above definitions (decorators), part of their region."""
        return any("before_def" in p.snippets for p in self.profiles.values())

    def find(self, relpath: str) -> Path | None:
        """A data file of this language: its own folder first, then the folder it is based on."""
        for folder in self.search:
            if (folder / relpath).is_file():
                return folder / relpath
        return None

    def read(self, relpath: str) -> str:
        path = self.find(relpath)
        if path is None:
            raise LanguageError(f"{self.name}: no data file {relpath!r}")
        return path.read_text(encoding="utf-8")

    @property
    def template_version(self) -> str:
        """Hash over everything in the folder that shapes inserted code."""
        return _folder_hash(self.name)


def _read_toml(folder: Path) -> tuple[dict[str, Any], tuple[Path, ...]]:
    """A folder's settings; with ``base = "other"`` they extend that language's (top-level keys
    override), and its queries and files are found there when the folder has none of its own."""
    try:
        data = tomllib.loads((folder / "language.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LanguageError(f"{folder.name}: cannot read language.toml: {exc}") from exc
    if "base" not in data:
        return data, (folder,)
    base, search = _read_toml(LANGUAGES_DIR / str(data["base"]))
    return {**base, **data}, (folder, *search)


def _profile_tables(data: dict[str, Any], search: tuple[Path, ...]) -> dict[str, Any]:
    """``[profiles.NAME]`` of language.toml, plus one ``profile.NAME.toml`` file per profile
    (the folder's own first, then its base's), so a profile can live in a file of its own."""
    tables = dict(data.get("profiles", {}))
    for folder in reversed(search):
        for path in sorted(folder.glob("profile.*.toml")):
            name = path.name[len("profile.") : -len(".toml")]
            try:
                tables[name] = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise LanguageError(f"{folder.name}: cannot read {path.name}: {exc}") from exc
    return tables


def _load(folder: Path) -> LanguageSpec:
    data, search = _read_toml(folder)
    body = data.get("body", {})
    profiles = {}
    for pname, p in _profile_tables(data, search).items():
        profiles[pname] = Profile(
            name=pname,
            snippets=dict(p.get("snippets", {})),
            imports=tuple(
                ImportRule(
                    i["code"],
                    i.get("when", ""),
                    tuple(i.get("extensions", ())),
                    tuple(i.get("files", ())),
                    bool(i.get("always", False)),
                )
                for i in p.get("imports", ())
            ),
            runtime=tuple(
                RuntimeFile(r["source"], r["target"], tuple(r.get("files", ())))
                for r in p.get("runtime", ())
            ),
            values=dict(p.get("values", {})),
        )
    block = data.get("block_comment")
    return LanguageSpec(
        name=data["name"],
        folder=folder,
        extensions=tuple(data["extensions"]),
        grammar=data["grammar"],
        line_comment=data["line_comment"],
        block_comment=(block[0], block[1]) if block else None,
        indent_unit=data.get("indent_unit", "    "),
        body_open=body.get("open", ""),
        body_close=body.get("close", ""),
        body_skip=tuple(body.get("skip", ())),
        prologue_skip=tuple(data.get("prologue_skip", ())),
        exclude=tuple(data.get("exclude", ())),
        profiles=profiles,
        search=search,
        raw=data,
        inline_end=body.get("inline_end", ""),
        exclude_when=tuple((e["query"], e["reason"]) for e in data.get("exclude_when", ())),
        line_comment_end=data.get("line_comment_end", ""),
        prologue_stop=tuple(data.get("prologue_stop", ())),
        skip_when=tuple(
            SkipRule(r["reason"], r.get("signature", ""), r.get("body", ""))
            for r in data.get("skip_when", ())
        ),
    )


@cache
def all_languages() -> dict[str, LanguageSpec]:
    specs: dict[str, LanguageSpec] = {}
    for folder in sorted(LANGUAGES_DIR.iterdir()):
        if (folder / "language.toml").is_file():
            spec = _load(folder)
            specs[spec.name] = spec
    return specs


@cache
def _by_extension() -> dict[str, LanguageSpec]:
    return {ext: spec for spec in all_languages().values() for ext in spec.extensions}


def for_path(path: str | Path) -> LanguageSpec | None:
    name = str(path).lower()
    # Longest extension first so ".d.ts"-style suffixes can win over ".ts".
    for ext in sorted(_by_extension(), key=len, reverse=True):
        if name.endswith(ext):
            return _by_extension()[ext]
    return None


def get(name: str) -> LanguageSpec:
    try:
        return all_languages()[name]
    except KeyError:
        known = ", ".join(sorted(all_languages()))
        raise LanguageError(f"unsupported language {name!r} (supported: {known})") from None


@cache
def _ts_language(grammar: str) -> ts.Language:
    module, _, func = grammar.partition(":")
    return ts.Language(getattr(importlib.import_module(module), func or "language")())


def _query_parts(spec: LanguageSpec, name: str) -> list[Path]:
    """A query's files: those it shares with other languages (``[query_parts]`` of
    language.toml, paths under core/languages/), then the language's own file."""
    shared = [LANGUAGES_DIR / part for part in spec.raw.get("query_parts", {}).get(name, ())]
    own = spec.find(f"{name}.scm")
    return shared + ([own] if own is not None else [])


@cache
def query_text(language: str, name: str) -> str | None:
    """The text of a language's query NAME (its parts joined), or None when it has none."""
    spec = get(language)
    parts = _query_parts(spec, name)
    if not parts:
        return None
    try:
        return "\n".join(path.read_text(encoding="utf-8") for path in parts)
    except OSError as exc:
        raise LanguageError(f"{language}: cannot read the {name} query: {exc}") from exc


@cache
def _query(language: str, name: str) -> ts.Query | None:
    text = query_text(language, name)
    return None if text is None else ts.Query(get(language).language, text)


@cache
def _folder_hash(language: str) -> str:
    spec = get(language)
    h = hashlib.sha256(ENGINE_VERSION.encode())
    files = [p for folder in spec.search for p in sorted(folder.rglob("*")) if p.is_file()]
    shared = {p for parts in spec.raw.get("query_parts", {}).values() for p in parts}
    for path in files + [LANGUAGES_DIR / part for part in sorted(shared)]:
        h.update(path.relative_to(LANGUAGES_DIR).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]
