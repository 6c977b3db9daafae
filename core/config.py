"""Project settings: ``telemetry-inject.toml``, or ``[tool.telemetry-inject]`` in pyproject.toml.

Found by walking up from the instrumented path, as ruff finds its settings. Example::

    probes = ["function", "loop"]       # default probes for this project
    profile = "tel"
    exclude = ["generated/**", "*_pb2.py"]            # gitignore-style, from this folder
    exclude_functions = ["test_*", "*.__repr__"]      # globs over qualified names

    [templates.python]                  # override snippets per language and anchor
    var_after = "_tel.var({{fn}}, {{file}}, {{line}}, {{name}}, {{value}})  # mine"
    [templates.python.values]
    item = "{{name}}, {{value}}"

Templates are part of every cache key (through the ops and the whole-file memo), so changing
one never serves a stale script.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pathspec

from .types import parse_probes

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FILE_NAME = "telemetry-inject.toml"
KNOWN = {"probes", "profile", "exclude", "exclude_functions", "templates"}
ANCHORS = {"before_def", "body_start", "body_end", "loop_before", "loop_body", "var_after"}


class ConfigError(Exception):
    """The project file is malformed; the message names the file and what to fix."""


@dataclass(frozen=True)
class Templates:
    """One language's overrides, and the function excludes that apply to every language."""

    snippets: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    exclude_functions: tuple[str, ...] = ()
    source: str = ""  # the file they came from, for messages

    def function_excluded(self, qualname: str) -> bool:
        return any(fnmatch.fnmatchcase(qualname, g) for g in self.exclude_functions)


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    probes: frozenset[str] | None = None
    profile: str | None = None
    exclude: tuple[str, ...] = ()
    exclude_functions: tuple[str, ...] = ()
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def root(self) -> Path | None:
        return self.path.parent if self.path is not None else None

    def for_language(self, name: str) -> Templates | None:
        table = self.templates.get(name, {})
        if not table and not self.exclude_functions:
            return None
        snippets = {k: v for k, v in table.items() if isinstance(v, str)}
        values = dict(table.get("values", {}))
        where = str(self.path) if self.path else ""
        return Templates(snippets, values, self.exclude_functions, where)

    def excludes(self, relpath: str) -> bool:
        """Whether a path (relative to the project file's folder) is excluded."""
        return bool(self.exclude) and _spec(self.exclude).match_file(relpath)

    @property
    def digest(self) -> str:
        """Everything here that shapes inserted code, for whole-file cache keys."""
        data = [self.profile, self.exclude_functions, self.templates]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _spec(patterns: tuple[str, ...]) -> pathspec.PathSpec:
    return pathspec.PathSpec.from_lines("gitwildmatch", patterns)


def find(start: Path) -> Config:
    """The nearest project file at or above ``start`` (a file or folder); empty when none."""
    here = start.resolve()
    if not here.is_dir():
        here = here.parent
    for folder in (here, *here.parents):
        own = folder / FILE_NAME
        if own.is_file():
            return load(own)
        py = folder / "pyproject.toml"
        if py.is_file():
            data = _read(py)
            tool = data.get("tool", {}).get("telemetry-inject")
            if isinstance(tool, dict):
                return parse(tool, py)
    return Config()


def load(path: Path) -> Config:
    return parse(_read(path), path)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}; fix the TOML syntax") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})") from None


def parse(data: dict[str, Any], path: Path) -> Config:
    unknown = sorted(set(data) - KNOWN)
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(KNOWN))})"
        )
    try:
        probes = parse_probes(data["probes"]) if "probes" in data else None
    except ValueError as exc:
        raise ConfigError(f"{path}: probes: {exc}") from None
    templates = data.get("templates", {})
    if not isinstance(templates, dict):
        raise ConfigError(f"{path}: templates must be a table of [templates.LANGUAGE]")
    for lang, table in templates.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: templates.{lang} must be a table")
        for key, value in table.items():
            if key == "values" and isinstance(value, dict):
                continue
            if key not in ANCHORS or not isinstance(value, str):
                raise ConfigError(
                    f"{path}: templates.{lang}.{key}: expected one of "
                    f"{', '.join(sorted(ANCHORS))} as a string"
                )
    return Config(
        path=path,
        probes=probes,
        profile=data.get("profile"),
        exclude=tuple(_strings(data, "exclude", path)),
        exclude_functions=tuple(_strings(data, "exclude_functions", path)),
        templates=templates,
    )


def _strings(data: dict[str, Any], key: str, path: Path) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: {key} must be a list of strings")
    return value
