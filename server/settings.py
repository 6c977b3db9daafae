"""Server settings: one defaulted model, read from ``initializationOptions`` and refreshed
from ``workspace/configuration`` (section ``telemetryInject``) on ``didChangeConfiguration``.

Every field works when unset. Keys are camelCase on the wire, as an editor's settings file
spells them (``telemetryInject.cacheDir``); unknown keys and bad values are reported and
ignored, never fatal.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telemetry_inject.core import config, language, llm
from telemetry_inject.core.cache import DEFAULT_DIR
from telemetry_inject.core.engine import Options
from telemetry_inject.core.plan import DEFAULT_PROBES
from telemetry_inject.core.sandbox import Limits
from telemetry_inject.core.types import parse_probes

SECTION = "telemetryInject"


def _limit_names() -> dict[str, str]:
    """camelCase wire name -> field name of the sandbox's Limits."""
    out = {}
    for f in dataclasses.fields(Limits):
        head, *rest = f.name.split("_")
        out[head + "".join(p.title() for p in rest)] = f.name
    return out


@dataclass(frozen=True)
class Settings:
    """What a user can set (wire names in parentheses)."""

    # The telemetry profile (``profile``): which probes are inserted, as defined per
    # language in core/languages/<lang>/language.toml [profiles.<name>].
    profile: str = "tel"
    # Read and write the script cache (``cache``).
    cache: bool = True
    # Cache folder (``cacheDir``); relative paths are relative to the workspace root.
    # Empty: <workspace root>/.telemetry_cache, or the user cache folder without a workspace.
    cache_dir: str = ""
    # Overrides of the sandbox's limits per insertion script (``sandbox``: {"wallSeconds": 2,
    # "cpuSeconds": 1, "memoryBytes": ..., "outputBytes": ..., "openFiles": ..., "fileBytes":
    # ...}); the keys are the fields of core.sandbox.Limits in camelCase.
    sandbox: Mapping[str, float] = field(default_factory=dict)
    # The model that writes the scripts templates cannot, and those asked for with
    # instructions (``llm``: {"model": ..., "baseUrl": ..., "apiKeyEnv": ..., "timeout": ...}).
    # A key left out falls back to $TELEMETRY_INJECT_LLM_MODEL, _BASE_URL, _API_KEY, _TIMEOUT;
    # no model anywhere (or "model": ""): off. The key itself is never a setting, only the
    # name of the environment variable holding it.
    llm: Mapping[str, Any] = field(default_factory=dict)
    # What to record (``probes``): ["function", "loop", "var", "args", "return"] or
    # "function,loop". Empty: the project file's probes (telemetry-inject.toml or
    # [tool.telemetry-inject] at the workspace root), else function.
    probes: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> tuple[Settings, list[str]]:
        """Settings from a client's JSON (flat, or under ``telemetryInject``), and problems."""
        problems: list[str] = []
        if isinstance(data, Mapping) and isinstance(data.get(SECTION), Mapping):
            data = data[SECTION]
        if data is None:
            return cls(), problems
        if not isinstance(data, Mapping):
            return cls(), [f"{SECTION}: expected an object, got {type(data).__name__}"]
        values: dict[str, Any] = {}
        expect: dict[str, tuple[str, type | tuple[type, ...]]] = {
            "profile": ("profile", str),
            "cache": ("cache", bool),
            "cacheDir": ("cache_dir", str),
            "sandbox": ("sandbox", Mapping),
            "llm": ("llm", Mapping),
            "probes": ("probes", (list, str)),
        }
        for key, value in data.items():
            if key not in expect:
                problems.append(f"{SECTION}.{key}: unknown setting, ignored")
                continue
            name, kind = expect[key]
            if value is None:
                continue
            if not isinstance(value, kind):
                problems.append(f"{SECTION}.{key}: expected {_kind(kind)}, ignored")
                continue
            values[name] = value
        if "sandbox" in values:
            values["sandbox"] = _limits(values["sandbox"], problems)
        if "llm" in values:
            values["llm"] = _model(values["llm"], problems)
        if "probes" in values:
            values["probes"] = _probes(values["probes"], problems)
        if "profile" in values and not values["profile"].strip():
            problems.append(f"{SECTION}.profile: empty, using 'tel'")
            del values["profile"]
        settings = cls(**values)
        known = {p for spec in language.all_languages().values() for p in spec.profiles}
        if settings.profile not in known:
            problems.append(
                f"{SECTION}.profile: no language has a profile {settings.profile!r}"
                f" (known: {', '.join(sorted(known))})"
            )
        _, problem = settings.model()
        if problem:
            problems.append(f"{SECTION}.llm: {problem}")
        return settings, problems

    def model(self, env: Mapping[str, str] | None = None) -> tuple[llm.Settings | None, str]:
        """The model's settings (None: off), each unset key from the environment; and what
        is wrong with them, if anything."""
        merged = dict(os.environ if env is None else env)
        for key, name in MODEL_KEYS.items():
            if key in self.llm:
                merged[llm.ENV + name] = str(self.llm[key])
        if self.llm.get("apiKeyEnv"):
            merged[llm.ENV + "API_KEY"] = merged.get(self.llm["apiKeyEnv"], "")
        if not llm.Settings.configured(merged):
            return None, ""
        try:
            return llm.Settings.from_env(merged), ""
        except llm.SettingsError as exc:
            return None, str(exc)

    def cache_path(self, root: Path | None) -> Path | None:
        if not self.cache:
            return None
        if self.cache_dir:
            path = Path(os.path.expandvars(self.cache_dir)).expanduser()
            return path if path.is_absolute() or root is None else root / path
        if root is not None:
            return root / DEFAULT_DIR
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(xdg) / "telemetry-inject"

    def options(self, root: Path | None, cache: bool = True, project: bool = True) -> Options:
        """The engine's options; ConfigError when the workspace's project file is malformed
        (``project=False`` leaves it out)."""
        defaults = Limits()
        # Integer limits (bytes, seconds of CPU) stay integers.
        overrides = {k: type(getattr(defaults, k))(v) for k, v in self.sandbox.items()}
        limits = dataclasses.replace(defaults, **overrides)
        cache_dir = self.cache_path(root) if cache else None
        model, _ = self.model()
        found = config.find(root) if project and root is not None else config.Config()
        probes = parse_probes(self.probes) if self.probes else found.probes
        return Options(
            profile=self.profile,
            cache_dir=cache_dir,
            limits=limits,
            llm=model,
            probes=probes or DEFAULT_PROBES,
            config=found,
        )


def _probes(raw: list[Any] | str, problems: list[str]) -> tuple[str, ...]:
    names = raw.split(",") if isinstance(raw, str) else raw
    if not [n for n in names if not isinstance(n, str) or n.strip()]:
        return ()  # empty: the project file's probes, else function
    if not all(isinstance(n, str) for n in names):
        problems.append(f"{SECTION}.probes: expected names, ignored")
        return ()
    try:
        return tuple(sorted(parse_probes(names)))
    except ValueError as exc:
        problems.append(f"{SECTION}.probes: {exc}; ignored")
        return ()


def _limits(raw: Mapping[str, Any], problems: list[str]) -> dict[str, float]:
    names = _limit_names()
    out: dict[str, float] = {}
    for key, value in raw.items():
        name = names.get(key)
        if name is None:
            problems.append(f"{SECTION}.sandbox.{key}: unknown limit (known: {', '.join(names)})")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            problems.append(f"{SECTION}.sandbox.{key}: expected a positive number, ignored")
        else:
            out[name] = value
    return out


MODEL_KEYS = {"model": "MODEL", "baseUrl": "BASE_URL", "timeout": "TIMEOUT"}


def _model(raw: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    known = [*MODEL_KEYS, "apiKeyEnv"]
    for key, value in raw.items():
        where = f"{SECTION}.llm.{key}"
        if key not in known:
            problems.append(f"{where}: unknown setting (known: {', '.join(known)})")
        elif value is None:
            continue
        elif key == "timeout":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                problems.append(f"{where}: expected a positive number of seconds, ignored")
            else:
                out[key] = value
        elif not isinstance(value, str):
            problems.append(f"{where}: expected a string, ignored")
        else:
            out[key] = value.strip()
    return out


def _kind(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", bool: "true or false", Mapping: "an object", list: "a list"}
    return names.get(kind, str(kind)) if isinstance(kind, type) else "a value"
