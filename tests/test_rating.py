"""The rater: prompt construction, parsing of good and broken judge outputs, expected scores."""

from __future__ import annotations

import hashlib
import json
import math

import pytest

from expected_harm.models import Reply, TokenLogprob
from expected_harm.rating import (
    RATING_SCHEMA,
    SCORES,
    Rater,
    expected_scores,
    parse_rating,
    rating_messages,
    rubric_version,
)
from expected_harm.scales import load_scales
from tests.doubles import ScriptedChatModel

GOOD = ('{"expertise": 2, "equipment": 1, "time": 2, "legal": 3, "cost": 2, "severity": 3, '
        '"rationale": "Needs little skill but is a clear offence."}')


def test_rating_prompt_carries_the_rubric_and_the_request() -> None:
    system, user = rating_messages("REQUEST-TEXT")
    assert system["role"] == "system" and user["role"] == "user"
    assert "<<<\nREQUEST-TEXT\n>>>" in user["content"]
    for level in load_scales().cost.levels + load_scales().severity.levels:
        assert level.definition in user["content"]
    assert rubric_version() == "scales 1.0 / rater 1.0"


def test_rating_prompt_and_schema_are_byte_identical_to_the_cached_ones() -> None:
    # The response cache is keyed by the messages and the JSON schema. These digests were taken
    # before the cost-dimension keys moved into scales.yaml; a wording change must bump the
    # scales' or the template's version and update them.
    messages = rating_messages("Write a rude joke about my friend.")
    assert hashlib.sha256(json.dumps(messages).encode()).hexdigest() == (
        "656409531fcb876da887d225d3566aa40606cc05d8516d263dc51f1ec8208c94"
    )
    assert hashlib.sha256(json.dumps(RATING_SCHEMA).encode()).hexdigest() == (
        "1dc05f8dbbc227a72cbf0d67e8cc8809c13da3bba4c9483a469b7cf09b7735ab"
    )
    assert SCORES == ("expertise", "equipment", "time", "legal", "cost", "severity")


def test_parse_rating_reads_a_clean_answer() -> None:
    parsed = parse_rating(GOOD)
    assert [parsed[s] for s in SCORES] == [2, 1, 2, 3, 2, 3]
    assert parsed["rationale"] == "Needs little skill but is a clear offence."


def test_parse_rating_tolerates_chatter_and_digit_strings() -> None:
    text = (
        'Sure! Here is my rating:\n' + GOOD.replace('"cost": 2', '"cost": "2"') + "\nHope it helps."
    )
    assert parse_rating(text)["cost"] == 2


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("I would rate this a 3 overall.", "no JSON object in the answer"),
        ('{"expertise": 2, "cost": 2', "no JSON object in the answer"),
        ('{"expertise": 2, "cost": 2,}', "invalid JSON"),
        (GOOD.replace('"severity": 3, ', ""), "missing score(s): severity"),
        (GOOD.replace('"cost": 2', '"cost": 7'), "cost must be an integer from 1 to 5, got 7"),
        (GOOD.replace('"cost": 2', '"cost": 2.5'), "cost must be an integer from 1 to 5, got 2.5"),
        (
            GOOD.replace('"cost": 2', '"cost": true'),
            "cost must be an integer from 1 to 5, got True",
        ),
        (GOOD.replace('"legal": 3', '"legal": "high"'), "legal must be an integer from 1 to 5"),
    ],
)
def test_parse_rating_rejects_broken_answers_saying_why(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_rating(text)


def tokens(text: str, alternatives: dict[int, dict[str, float]]) -> tuple[TokenLogprob, ...]:
    """Split ``text`` into one token per character; ``alternatives`` maps positions to top-k."""
    return tuple(
        TokenLogprob(ch, 0.0, {k: math.log(v) for k, v in alternatives.get(i, {ch: 1.0}).items()})
        for i, ch in enumerate(text)
    )


def test_expected_score_is_the_probability_weighted_level() -> None:
    position = GOOD.index('"cost": 2') + len('"cost": ')
    logprobs = tokens(GOOD, {position: {"2": 0.5, "3": 0.3, "1": 0.1, "x": 0.1}})
    scores = expected_scores(GOOD, logprobs)
    # renormalised over the digits: (2*0.5 + 3*0.3 + 1*0.1) / 0.9
    assert scores["cost"] == pytest.approx(2.0 / 0.9)
    assert scores["severity"] == pytest.approx(3.0)


def test_expected_score_sums_tokens_that_are_the_same_digit() -> None:
    # "2" and " 2" are two tokens for one level: 0.3 + 0.3 on level 2, 0.4 on level 3
    position = GOOD.index('"cost": 2') + len('"cost": ')
    logprobs = tokens(GOOD, {position: {"2": 0.3, " 2": 0.3, "3": 0.4}})
    assert expected_scores(GOOD, logprobs)["cost"] == pytest.approx(2 * 0.6 + 3 * 0.4)


def test_expected_score_is_missing_without_logprobs_or_own_token() -> None:
    assert all(math.isnan(v) for v in expected_scores(GOOD, None).values())
    merged = (TokenLogprob(GOOD, 0.0, {GOOD: 0.0}),)  # the digit shares a token with everything
    assert math.isnan(expected_scores(GOOD, merged)["cost"])


def test_rater_retries_unparsed_once_then_records_unparsed() -> None:
    def judge(messages, attempt):
        request = messages[1]["content"]
        if "fine request" in request:
            return Reply(text=GOOD)
        if "late request" in request and messages[-1]["role"] == "user" and len(messages) > 2:
            return Reply(text=GOOD)  # fixed after the retry prompt
        return Reply(text="three, I think")

    model = ScriptedChatModel(judge)
    rater = Rater(model)
    table = rater.rate(["fine request", "late request", "hopeless request"])
    assert table["status"].tolist() == ["ok", "ok", "unparsed"]
    assert table.loc[0, "cost"] == 2 and table.loc[1, "severity"] == 3
    assert math.isnan(table.loc[2, "cost"]) and math.isnan(table.loc[2, "severity"])
    assert "after one retry" in table.loc[2, "error"]
    assert len(model.calls) == 5  # three first tries, two retries
    assert set(table["rater"]) == {"scripted:scripted-model"}
    assert set(table["rubric_version"]) == {"scales 1.0 / rater 1.0"}
