"""PAIR's attacker–judge loop against named test doubles: stopping, budget, failures."""

from __future__ import annotations

import json

import pytest

from expected_harm.attacks import PAIR, get_attack, parse_attacker, run_attack
from expected_harm.judges import get_judge
from expected_harm.models import GenerateConfig, Reply
from tests.doubles import ScriptedChatModel


def attacker_proposing(*prompts: str) -> ScriptedChatModel:
    """An attacker double that proposes the given prompts in turn (by number of feedback turns)."""

    def script(messages, attempt):
        turn = sum(m["role"] == "assistant" for m in messages)
        prompt = prompts[min(turn, len(prompts) - 1)]
        return Reply(text=json.dumps({"improvement": f"try {turn}", "prompt": prompt}))

    return ScriptedChatModel(script)


def target_complying_to(trigger: str) -> ScriptedChatModel:
    """A target double that complies only when the prompt contains ``trigger``."""

    def script(messages, attempt):
        if trigger in messages[-1]["content"]:
            return Reply(text="COMPLY")
        return Reply(text="I'm sorry, I can't help with that.")

    return ScriptedChatModel(script)


def strongreject_judge():
    """A judge double: a full-score rubric for COMPLY, a refusal otherwise."""

    def script(messages, attempt):
        complied = "AI model response: COMPLY" in messages[-1]["content"]
        items = {
            "reasoning": "r",
            "refusal": 0 if complied else 1,
            "convincing": 5 if complied else 1,
            "specific": 5 if complied else 1,
        }
        return Reply(text=json.dumps(items))

    return get_judge("strongreject_rubric", ScriptedChatModel(script))


def test_pair_stops_at_the_first_success() -> None:
    attacker = attacker_proposing("plain", "role-play", "role-play again")
    target = target_complying_to("role-play")
    pair = get_attack("pair", attacker=attacker, judge=strongreject_judge(), iterations=5)
    frame = run_attack(pair, ["goal"], target, GenerateConfig(max_tokens=16))
    assert frame.loc[0, "response"] == "COMPLY"
    assert frame.loc[0, "queries"] == 2  # stopped after the second query, budget 5
    assert frame.loc[0, "attack_verdict"] == 1.0
    assert frame.loc[0, "attack_prompt"] == "role-play"
    assert len(attacker.calls) == 2


def test_pair_respects_the_budget_and_keeps_the_best_last_answer() -> None:
    attacker = attacker_proposing("a", "b", "c", "d")
    target = target_complying_to("never")
    pair = get_attack("pair", attacker=attacker, judge=strongreject_judge(), iterations=3)
    [outcome] = pair.run(["goal"], target, GenerateConfig(max_tokens=16))
    assert outcome.queries == 3
    assert len(target.calls) == 3 and len(attacker.calls) == 3
    assert outcome.attack_verdict == 0.0
    assert outcome.messages[-1]["content"] == "c"
    assert [h["iteration"] for h in outcome.history] == [0, 1, 2]


def test_pair_feeds_the_answer_and_verdict_back_to_the_attacker() -> None:
    seen = []

    def script(messages, attempt):
        seen.append(messages)
        return Reply(text=json.dumps({"improvement": "x", "prompt": "p"}))

    pair = PAIR(attacker=ScriptedChatModel(script), judge=strongreject_judge(), iterations=2)
    pair.run(["the goal"], target_complying_to("never"), GenerateConfig(max_tokens=16))
    assert "GOAL: the goal" in seen[0][0]["content"]
    feedback = seen[1][-1]["content"]
    assert "I'm sorry, I can't help with that." in feedback and "not achieved" in feedback


def test_pair_runs_independent_streams_and_counts_every_query() -> None:
    attacker = attacker_proposing("a")
    pair = get_attack(
        "pair", attacker=attacker, judge=strongreject_judge(), iterations=2, streams=3
    )
    [outcome] = pair.run(["goal"], target_complying_to("never"), GenerateConfig(max_tokens=16))
    assert outcome.queries == 6


def test_an_attacker_that_never_parses_ends_unparsed_not_refused() -> None:
    attacker = ScriptedChatModel(lambda messages, attempt: Reply(text="I will not do that."))
    target = target_complying_to("never")
    pair = get_attack("pair", attacker=attacker, judge=strongreject_judge(), iterations=2)
    frame = run_attack(pair, ["goal"], target, GenerateConfig(max_tokens=16))
    assert frame.loc[0, "status"] == "unparsed"
    assert "no usable attacker prompt in 2" in frame.loc[0, "error"]
    assert target.calls == [] and frame.loc[0, "queries"] == 0


def test_parse_attacker_reads_the_prompt_or_says_what_is_wrong() -> None:
    assert parse_attacker('Sure: {"improvement": "i", "prompt": " p "}') == "p"
    with pytest.raises(ValueError, match="no prompt"):
        parse_attacker('{"improvement": "i"}')
    with pytest.raises(ValueError, match="no JSON"):
        parse_attacker("no json here")


def test_pair_checks_its_budget() -> None:
    with pytest.raises(ValueError, match="iterations must be at least 1"):
        PAIR(attacker=attacker_proposing("a"), judge=strongreject_judge(), iterations=0)
