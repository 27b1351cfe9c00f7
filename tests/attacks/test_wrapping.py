"""Attacks that wrap attacks, against a splitting test double: parts, statuses, queries, labels."""

from __future__ import annotations

import pytest

from expected_harm.attacks import (
    ATTACKS,
    WrappingAttack,
    get_attack,
    get_attacks,
    register_attack,
    run_attack,
)
from expected_harm.models import BlockedError, ChatResult, GenerateConfig, Reply, Status
from tests.attacks.test_pair import attacker_proposing, strongreject_judge, target_complying_to
from tests.doubles import ScriptedChatModel

CONFIG = GenerateConfig(max_tokens=16)


class SplitAtAnd(WrappingAttack):
    """A test double: splits a request at " and " without a model; "unsplittable" fails."""

    prompt_key = "direct"  # a test double has no prompt text of its own

    def split(self, requests):
        return [
            ChatResult(model="test-double", key="", status=Status.UNPARSED, error="no split")
            if request == "unsplittable"
            else tuple(request.split(" and "))
            for request in requests
        ]


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> type[SplitAtAnd]:
    """SplitAtAnd under the key ``split_at_and``, for this test only."""
    monkeypatch.setattr("expected_harm.attacks._base.ATTACKS", dict(ATTACKS))
    monkeypatch.setattr(SplitAtAnd, "key", "")
    return register_attack("split_at_and")(SplitAtAnd)


def test_every_sub_task_goes_through_the_inner_attack_and_the_answers_are_joined(
    registered,
) -> None:
    target = ScriptedChatModel()  # echoes the prompt upper-cased
    attack = get_attack("split_at_and", inner=get_attack("direct"))
    [outcome] = attack.run(["buy flour and bake bread"], target, CONFIG)
    assert target.calls == ["buy flour", "bake bread"]
    assert [part.task for part in outcome.parts] == ["buy flour", "bake bread"]
    assert outcome.parts[1].outcome.messages == ({"role": "user", "content": "bake bread"},)
    assert outcome.result.ok and outcome.result.text == "BUY FLOUR\n\nBAKE BREAD"
    assert outcome.queries == 2 and outcome.messages == ()


def test_labels_keys_and_prompt_keys_are_three_things(registered) -> None:
    pair = get_attack("pair", attacker=attacker_proposing("a"), judge=strongreject_judge())
    attack = get_attack("split_at_and", inner=pair)
    assert (attack.key, attack.prompt_key, attack.label) == (
        "split_at_and",
        "direct",
        "split_at_and(pair)",
    )
    assert attack.describe() == f"split_at_and 1.0 of {pair.describe()}"
    wild = get_attack("inthewild:31")
    assert (wild.key, wild.prompt_key, wild.label) == ("inthewild", "inthewild", "inthewild:31")


def test_a_wrapped_pair_keeps_its_own_loop_per_sub_task(registered) -> None:
    attacker = attacker_proposing("plain", "role-play")
    pair = get_attack("pair", attacker=attacker, judge=strongreject_judge(), iterations=3)
    attack = get_attack("split_at_and", inner=pair)
    frame = run_attack(attack, ["a and b"], target_complying_to("role-play"), CONFIG)
    assert frame.loc[0, "attack"] == "split_at_and(pair)"
    assert frame.loc[0, "response"] == "COMPLY\n\nCOMPLY"
    assert frame.loc[0, "queries"] == 4  # two per sub-task: stopped at the second query
    assert (frame.loc[0, "parts"], frame.loc[0, "parts_missing"]) == (2, 0)
    assert frame.loc[0, "attack_prompt"] == ""  # the parts hold the prompts


def test_a_part_without_an_answer_gives_the_request_its_status_not_a_refusal(registered) -> None:
    def script(messages, attempt):
        if messages[-1]["content"] == "b":
            raise RuntimeError("server down")
        return Reply(text="fine")

    attack = get_attack("split_at_and", inner=get_attack("direct"))
    frame = run_attack(attack, ["a and b and c", "unsplittable"], ScriptedChatModel(script), CONFIG)
    assert frame["status"].tolist() == ["error", "unparsed"]
    assert "1 of 3 sub-task(s) without an answer (error or unparsed)" in frame.loc[0, "error"]
    assert frame.loc[0, "response"] == ""
    assert frame["parts"].tolist() == [3, 0] and frame["parts_missing"].tolist() == [1, 0]
    assert frame["queries"].tolist() == [3, 0]


def blocking(*blocked: str):
    """A target script that the provider blocks on the given prompts, an error on "down"."""

    def script(messages, attempt):
        prompt = messages[-1]["content"]
        if prompt in blocked:
            raise BlockedError("content filter")
        if prompt == "down":
            raise RuntimeError("server down")
        return Reply(text=prompt.upper())

    return script


def test_a_blocked_part_is_an_outcome_the_answer_still_joins_the_others_in_order(
    registered,
) -> None:
    attack = get_attack("split_at_and", inner=get_attack("direct"))
    target = ScriptedChatModel(blocking("b"))
    frame = run_attack(attack, ["a and b and c"], target, CONFIG)
    assert frame.loc[0, "status"] == "ok"
    assert frame.loc[0, "response"] == "A\n\nC"
    assert (frame.loc[0, "parts"], frame.loc[0, "parts_missing"]) == (3, 1)


def test_an_errored_part_outweighs_a_blocked_one_and_all_blocked_is_blocked(registered) -> None:
    attack = get_attack("split_at_and", inner=get_attack("direct"))
    target = ScriptedChatModel(blocking("a", "b"))
    frame = run_attack(attack, ["a and down", "a and b", "b and c"], target, CONFIG)
    assert frame["status"].tolist() == ["error", "blocked", "ok"]
    assert "all 2 sub-task(s) blocked" in frame.loc[1, "error"]
    assert frame["response"].tolist() == ["", "", "C"]
    assert frame["parts_missing"].tolist() == [2, 2, 1]


def test_attacks_without_parts_report_none() -> None:
    frame = run_attack(get_attack("direct"), ["a"], ScriptedChatModel(), CONFIG)
    assert (frame.loc[0, "parts"], frame.loc[0, "parts_missing"]) == (0, 0)


def test_get_attacks_gives_each_attack_the_options_it_takes(registered) -> None:
    judge = strongreject_judge()
    attacks = get_attacks(
        ["direct", "pair", "inthewild:31", "split_at_and"],
        attacker=attacker_proposing("a"),
        judge=judge,
        iterations=2,
        seed=7,
        inner=get_attack("style_injection"),
    )
    assert [a.label for a in attacks] == [
        "direct",
        "pair",
        "inthewild:31",
        "split_at_and(style_injection)",
    ]
    assert (attacks[1].iterations, attacks[1].seed, attacks[1].judge) == (2, 7, judge)


def test_get_attacks_says_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="non-empty list"):
        get_attacks("direct")
    with pytest.raises(ValueError, match="non-empty list"):
        get_attacks([])
    with pytest.raises(ValueError, match="listed twice: direct"):
        get_attacks(["direct", "direct"])
    with pytest.raises(ValueError, match="unknown attack 'base64'"):
        get_attacks(["base64"])
    with pytest.raises(ValueError, match="no attack takes the option.* iteration$"):
        get_attacks(["pair"], iteration=3)
    with pytest.raises(ValueError, match="attack 'pair' needs attacker, judge; none given"):
        get_attacks(["direct", "pair"], attacker=None, iterations=3, seed=0)
