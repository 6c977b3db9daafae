"""The model's settings (``telemetryInject.llm``): each key from the editor, else from the
server's environment; the key itself only through an environment variable; problems one line
each, never fatal."""

from __future__ import annotations

from pathlib import Path

import pytest
from telemetry_inject.server.settings import Settings

ENV = {
    "TELEMETRY_INJECT_LLM_MODEL": "env-model",
    "TELEMETRY_INJECT_LLM_BASE_URL": "http://127.0.0.1:9/v1",
    "TELEMETRY_INJECT_LLM_API_KEY": "sk-env",
    "TELEMETRY_INJECT_LLM_TIMEOUT": "7",
}


def test_off_unless_a_model_is_named() -> None:
    assert Settings().model({}) == (None, "")
    settings, problems = Settings.from_json({"llm": {"baseUrl": "http://localhost:1/v1"}})
    assert problems == [] and settings.model({}) == (None, "")


def test_environment_fills_what_the_editor_leaves_out() -> None:
    model, problem = Settings().model(ENV)
    assert problem == "" and model is not None
    assert (model.model, model.base_url, model.api_key, model.timeout) == (
        "env-model",
        "http://127.0.0.1:9/v1",
        "sk-env",
        7.0,
    )
    raw = {"llm": {"model": "mine", "timeout": 2.5, "apiKeyEnv": "MY_KEY"}}
    settings, problems = Settings.from_json({"telemetryInject": raw})
    assert problems == []
    model, _ = settings.model({**ENV, "MY_KEY": "sk-mine"})
    assert model is not None
    assert (model.model, model.base_url, model.api_key, model.timeout) == (
        "mine",
        "http://127.0.0.1:9/v1",
        "sk-mine",
        2.5,
    )
    # The variable named is unset: no key (a local endpoint needs none), not the default one.
    model, _ = settings.model(ENV)
    assert model is not None and model.api_key is None


def test_an_empty_model_turns_it_off_whatever_the_environment_says() -> None:
    settings, problems = Settings.from_json({"llm": {"model": ""}})
    assert problems == [] and settings.model(ENV) == (None, "")


def test_options_carry_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    assert Settings().options(tmp_path).llm is None
    settings, _ = Settings.from_json({"llm": {"model": "m", "baseUrl": "http://h:1/v1"}})
    llm = settings.options(tmp_path).llm
    assert llm is not None and (llm.model, llm.base_url, llm.instructions) == (
        "m",
        "http://h:1/v1",
        "",
    )


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"llm": "gpt"}, "telemetryInject.llm: expected an object, ignored"),
        ({"llm": {"apiKey": "sk"}}, "telemetryInject.llm.apiKey: unknown setting (known: model,"),
        ({"llm": {"model": 3}}, "telemetryInject.llm.model: expected a string, ignored"),
        ({"llm": {"timeout": 0}}, "telemetryInject.llm.timeout: expected a positive number"),
        ({"llm": {"timeout": True}}, "telemetryInject.llm.timeout: expected a positive number"),
    ],
)
def test_problems_one_line_each(raw: object, problem: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    settings, problems = Settings.from_json(raw)
    assert len(problems) == 1 and problems[0].startswith(problem), problems
    assert settings.model() == (None, "")


def test_a_bad_value_in_the_environment_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMETRY_INJECT_LLM_MODEL", "m")
    monkeypatch.setenv("TELEMETRY_INJECT_LLM_TIMEOUT", "soon")
    settings, problems = Settings.from_json({})
    assert problems == [
        "telemetryInject.llm: TELEMETRY_INJECT_LLM_TIMEOUT='soon': expected a float >= 0.001"
    ]
    assert settings.model()[0] is None
