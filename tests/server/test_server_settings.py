"""Settings: defaults that work with nothing set; camelCase keys; bad values reported, ignored."""

from __future__ import annotations

from pathlib import Path

import pytest
from telemetry_inject.core.sandbox import Limits
from telemetry_inject.server.settings import Settings


def test_defaults_need_nothing(tmp_path: Path) -> None:
    for raw in (None, {}, {"telemetryInject": {}}):
        settings, problems = Settings.from_json(raw)
        assert settings == Settings() and problems == []
    options = Settings().options(tmp_path)
    assert options.profile == "tel"
    assert options.cache_dir == tmp_path / ".telemetry_cache"
    assert options.limits == Limits()


def test_values_nested_or_flat_and_limits_keep_their_types(tmp_path: Path) -> None:
    raw = {"cacheDir": "c", "sandbox": {"wallSeconds": 5, "memoryBytes": 1e8, "cpuSeconds": 2.0}}
    for data in (raw, {"telemetryInject": raw}):
        settings, problems = Settings.from_json(data)
        assert problems == []
        limits = settings.options(tmp_path).limits
        assert (limits.wall_seconds, limits.memory_bytes, limits.cpu_seconds) == (5.0, 10**8, 2)
        assert isinstance(limits.memory_bytes, int) and isinstance(limits.cpu_seconds, int)
        assert settings.cache_path(tmp_path) == tmp_path / "c"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"cache": "yes"}, "telemetryInject.cache: expected true or false, ignored"),
        ({"nope": 1}, "telemetryInject.nope: unknown setting, ignored"),
        ({"sandbox": {"wallSeconds": -1}}, "telemetryInject.sandbox.wallSeconds: expected a"),
        ({"sandbox": {"wall": 1}}, "telemetryInject.sandbox.wall: unknown limit (known: cpuSe"),
        (
            {"profile": "x"},
            "telemetryInject.profile: no language has a profile 'x' (known: otel, tel)",
        ),
        ([1], "telemetryInject: expected an object, got list"),
    ],
)
def test_problems_are_reported_one_line_each(raw: object, problem: str) -> None:
    settings, problems = Settings.from_json(raw)
    assert len(problems) == 1 and problems[0].startswith(problem), problems
    assert settings.options(None).limits == Limits()


def test_cache_off_and_no_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(cache=False).options(tmp_path).cache_dir is None
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert Settings().cache_path(None) == tmp_path / "xdg" / "telemetry-inject"
    assert Settings(cache_dir="~/c").cache_path(tmp_path) == Path.home() / "c"
