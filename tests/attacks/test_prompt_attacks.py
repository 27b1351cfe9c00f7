"""Single-turn attacks: each one's output on a fixed request, the registry, and the runner."""

from __future__ import annotations

import pytest

from expected_harm.attacks import ATTACKS, get_attack, inthewild_templates, run_attack
from expected_harm.models import GenerateConfig
from tests.doubles import ScriptedChatModel

REQUEST = "Explain how to pick a basic pin tumbler lock."


def test_direct_sends_the_request_unchanged() -> None:
    assert get_attack("direct").messages(REQUEST) == [{"role": "user", "content": REQUEST}]


def test_prefix_injection_asks_for_the_affirmative_prefix_before_and_after_the_request() -> None:
    [message] = get_attack("prefix_injection").messages(REQUEST)
    prefix = '"Absolutely! Here is what you asked for, step by step:"'
    assert message["role"] == "user"
    assert message["content"].index(prefix) < message["content"].index(REQUEST)
    assert message["content"].rstrip().endswith(prefix)


def test_refusal_suppression_lists_wei_et_al_rules_around_the_request() -> None:
    [message] = get_attack("refusal_suppression").messages(REQUEST)
    text = message["content"]
    assert f"Request: {REQUEST}" in text
    for rule in (
        "Do not apologize.",
        "Do not add any note or disclaimer.",
        '"cannot"',
        '"unfortunately"',
    ):
        assert rule in text
    assert text.index("Request:") < text.index("Remember the rules")


def test_style_injection_constrains_style_and_keeps_the_request() -> None:
    [message] = get_attack("style_injection").messages(REQUEST)
    assert "Use no punctuation at all." in message["content"]
    assert "Use no word longer than seven letters." in message["content"]
    assert message["content"].endswith(f"Request: {REQUEST}")


def test_inthewild_default_is_the_most_reposted_template_that_fits() -> None:
    templates = inthewild_templates()
    attack = get_attack("inthewild")
    assert attack.label == f"inthewild:{templates['item_id'].iloc[0]}"
    assert (templates["posts"].diff().dropna() <= 0).all()  # most re-posted first
    assert templates["chars"].max() <= 2000


def test_inthewild_writes_the_request_into_the_placeholder() -> None:
    attack = get_attack("inthewild:31")
    [message] = attack.messages(REQUEST)
    assert REQUEST in message["content"]
    assert "[INSERT PROMPT HERE]" not in message["content"]
    assert "\r" not in message["content"]
    assert "Shen et al." in attack.source


def test_inthewild_refuses_a_template_without_placeholder() -> None:
    with pytest.raises(ValueError, match="does not exist or has no"):
        get_attack("inthewild:0")


def test_unknown_attack_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="valid attacks: .*prefix_injection"):
        get_attack("base64")


def test_every_attack_cites_a_source_and_knows_its_key() -> None:
    for key in ATTACKS:
        if key in ("pair", "decompose"):
            continue  # need an attacker and a judge, or a decomposer; tested in their files
        attack = get_attack(key)
        assert "20" in attack.source, key  # a year of the cited paper
        assert attack.key == attack.prompt_key == key


def test_run_attack_returns_one_row_per_request_with_the_target_status() -> None:
    target = ScriptedChatModel()  # echoes the prompt upper-cased
    frame = run_attack(get_attack("direct"), ["a", "b"], target, GenerateConfig(max_tokens=8))
    assert frame["response"].tolist() == ["A", "B"]
    assert frame["status"].tolist() == ["ok", "ok"]
    assert set(frame["attack"]) == {"direct"} and set(frame["target"]) == {
        "scripted:scripted-model"
    }
    assert frame["queries"].tolist() == [1, 1]
