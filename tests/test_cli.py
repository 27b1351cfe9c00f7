"""The ``expected-harm`` command line, driven in-process through typer's test runner."""

from __future__ import annotations

from typer.testing import CliRunner

from expected_harm import cli

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(cli.app, list(args))


def test_models_lists_every_spec_form_and_the_embedded_model() -> None:
    result = invoke("models")
    assert result.exit_code == 0
    for text in ("embedded:<name>", "openai:<model>", "openai-compatible:<model>@<base_url>",
                 "embedded:smollm2-135m", "environment variables only"):
        assert text in result.output


def test_chat_with_the_embedded_model_prints_answer_and_status() -> None:
    result = invoke("chat", "embedded:smollm2-135m",
                    "What is 3 plus 4? Answer with the number only.", "--max-tokens", "16")
    assert result.exit_code == 0, result.output
    assert "7" in result.stdout
    assert "[ok;" in result.stderr and "fresh]" in result.stderr
    again = invoke("chat", "embedded:smollm2-135m",
                   "What is 3 plus 4? Answer with the number only.", "--max-tokens", "16")
    assert "cached]" in again.stderr


def test_chat_with_unknown_spec_exits_with_the_valid_forms() -> None:
    result = invoke("chat", "gpt-4o", "hello")
    assert result.exit_code == 2
    assert "cannot read model spec 'gpt-4o'" in result.stderr
    assert "openai-compatible:<model>@<base_url>" in result.stderr


def test_chat_without_a_key_names_the_variable(monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = invoke("chat", "openai:gpt-4o-mini", "hello")
    assert result.exit_code == 2 and "OPENAI_API_KEY is not set" in result.stderr


def test_cache_stats_and_clear() -> None:
    invoke("chat", "embedded:smollm2-135m", "Say hi.", "--max-tokens", "4")
    stats = invoke("cache", "stats")
    assert (
        stats.exit_code == 0 and "embedded:smollm2-135m" in stats.output
        and "1 rows" in stats.output
    )
    cleared = invoke("cache", "clear", "--yes")
    assert cleared.exit_code == 0 and "deleted 1 rows" in cleared.output
    assert "(empty)" in invoke("cache", "stats").output


def test_run_refuses_unknown_sections_and_parameters_before_running() -> None:
    unknown = invoke("run", "nope")
    assert unknown.exit_code == 2
    assert "unknown section 'nope'; valid sections: framework" in unknown.stderr
    bad_name = invoke("run", "framework", "-p", "no_such_knob", "1")
    assert bad_name.exit_code == 2
    assert "has no parameter(s) no_such_knob; its parameters are:" in bad_name.stderr
    malformed = invoke("run", "framework", "-p", "only_a_name")
    assert malformed.exit_code == 2 and "expected -p NAME VALUE" in malformed.stderr


def test_parameter_values_are_read_as_yaml() -> None:
    values = cli._parameters(["-p", "n", "3", "--parameter", "xs", "[a, b]", "-p", "s", "text"])
    assert values == {"n": 3, "xs": ["a", "b"], "s": "text"}
