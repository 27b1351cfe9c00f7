"""The shared pipeline on named test doubles: statuses, success, the guard stage, status shares."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from expected_harm import pipeline
from expected_harm.attacks import get_attack
from expected_harm.judges import JUDGE_COLUMNS, get_judge
from expected_harm.models import BlockedError, GenerateConfig, Reply
from tests.doubles import KeywordGuard, ScriptedChatModel


def scripted_target(messages, attempt):
    text = messages[-1]["content"]
    if "blocked" in text:
        raise BlockedError("content filter")
    if "fail" in text:
        raise RuntimeError("server down")
    return Reply(text="COMPLY" if "comply" in text else "I'm sorry.")


def scripted_judge(messages, attempt):
    text = messages[-1]["content"]
    if "AI model response: COMPLY" in text and "garbled" in text:
        return Reply(text="not json at all")
    complied = "AI model response: COMPLY" in text
    return Reply(
        text=json.dumps(
            {
                "reasoning": "r",
                "refusal": 0 if complied else 1,
                "convincing": 5 if complied else 1,
                "specific": 5 if complied else 1,
            }
        )
    )


ITEMS = pd.DataFrame(
    {
        "dataset": "toy",
        "item_id": ["1", "2", "3", "4", "5"],
        "prompt": ["please comply", "no", "blocked", "fail", "comply garbled"],
        "cost": [1, 1, 3, 5, 5],
        "severity": [2, 2, 3, 4, 4],
    }
)


def run_toy(items: pd.DataFrame = ITEMS, judge=None, **options) -> pd.DataFrame:
    judge = judge or get_judge("strongreject_rubric", ScriptedChatModel(scripted_judge))
    return pipeline.run_grid(
        items,
        [ScriptedChatModel(scripted_target)],
        [get_attack("direct")],
        judge,
        GenerateConfig(max_tokens=8),
        **options,
    )


def test_errors_blocks_and_unparsed_judgements_carry_no_success() -> None:
    frame = run_toy()
    assert frame["row_status"].tolist() == ["ok", "ok", "blocked", "error", "unparsed"]
    assert frame["success"].tolist()[:2] == [1.0, 0.0]
    assert frame["success"][2:].isna().all()
    assert frame["judge"].iloc[0].startswith("strongreject_rubric 1.0 by scripted:scripted-model")
    assert not any(c.startswith("guard") or c == "flagged" for c in frame.columns)  # no guard


def test_status_shares_count_every_row() -> None:
    shares = pipeline.status_shares(run_toy()).iloc[0]
    assert list(shares.index) == [*pipeline.CALL_STATUSES, "n"]  # guard statuses only with one
    assert (shares["ok"], shares["blocked"], shares["error"], shares["unparsed"], shares["n"]) == (
        0.4,
        0.2,
        0.2,
        0.2,
        5,
    )
    odd = pd.DataFrame({"target": ["t"], "attack": ["a"], "row_status": ["refused"]})
    with pytest.raises(ValueError, match="unknown row status refused"):
        pipeline.status_shares(odd)


def test_asr_is_never_computed_from_the_refusal_phrase_baseline() -> None:
    with pytest.raises(ValueError, match="never computed from it alone"):
        run_toy(judge=get_judge("refusal_phrases"))


def test_items_without_prompts_are_refused() -> None:
    with pytest.raises(ValueError, match="items need a 'prompt' column; they have dataset"):
        run_toy(ITEMS.drop(columns="prompt"))


def test_a_judge_without_rubric_items_gives_no_rubric_columns() -> None:
    def yes_if_complied(messages, attempt):
        return Reply(text="Yes" if "[GENERATION]:\nCOMPLY" in messages[-1]["content"] else "No")

    frame = run_toy(judge=get_judge("harmbench_classifier", ScriptedChatModel(yes_if_complied)))
    assert not {"refusal", "convincing", "specific"} & set(frame.columns)
    assert {"judge_model", "template_version", "judge_status", "verdict", "score", "raw",
            "judge_error"} <= set(frame.columns)
    assert frame["row_status"].tolist() == ["ok", "ok", "blocked", "error", "ok"]
    assert frame["success"].tolist()[:2] == [1.0, 0.0] and frame["success"][4] == 1.0


def test_a_flagged_input_is_a_failed_attack_and_is_never_judged() -> None:
    items = pd.concat(
        [ITEMS, pd.DataFrame({"dataset": "toy", "item_id": ["6", "7", "8"], "cost": 2,
                              "severity": 2,
                              "prompt": ["guard-down comply", "guard-garbled", "fail comply"]})],
        ignore_index=True,
    )
    judge_model = ScriptedChatModel(scripted_judge)
    guard = KeywordGuard()
    frame = run_toy(items, get_judge("strongreject_rubric", judge_model), guard=guard)
    assert frame["row_status"].tolist() == [
        "blocked_by_guard",  # flagged: the answer (COMPLY) is ignored
        "ok",
        "blocked",  # passed the guard; the provider's own block is still no answer
        "error",
        "blocked_by_guard",
        "guard_error",
        "guard_unparsed",
        "blocked_by_guard",  # flagged before the target's failure could matter
    ]
    assert frame["success"].tolist()[:2] == [0.0, 0.0] and frame["success"][4] == 0.0
    assert frame["success"][[2, 3, 5, 6]].isna().all()
    assert frame.loc[0, "flagged"] == 1.0 and frame.loc[0, "guard_categories"] == "K1"
    assert frame["guard"].iloc[0] == "keyword_test_double test-double"
    assert [m[-1]["content"] for m in guard.seen] == frame["attack_prompt"].tolist()
    # only the answer that passed the guard was judged
    assert len(judge_model.calls) == 1 and "AI model response: I'm sorry." in judge_model.calls[0]
    shares = pipeline.status_shares(frame)
    assert list(shares.columns) == [*pipeline.STATUSES, "n"]
    assert shares.iloc[0]["blocked_by_guard"] == pytest.approx(3 / 8)


def test_a_guard_that_passes_everything_changes_no_outcome() -> None:
    plain = run_toy()
    guarded = run_toy(guard=KeywordGuard(keyword="never-in-a-prompt"))
    pd.testing.assert_series_equal(plain["row_status"], guarded["row_status"])
    pd.testing.assert_series_equal(plain["success"], guarded["success"])
    assert set(plain.columns) < set(guarded.columns)


def test_judge_answers_judges_only_answered_rows_by_position() -> None:
    requests = pd.Series(["q1", "q2", "q3"], index=[10, 20, 30])  # positions, not labels, count
    responses = pd.Series(["I'm sorry", "Sure", "Fine"], index=[10, 20, 30])
    judged = pipeline.judge_answers(requests, responses, get_judge("refusal_phrases"),
                                    answered=[True, False, True])
    assert list(judged.columns) == [
        "judge_status" if c == "status" else "judge_error" if c == "error" else c
        for c in (*JUDGE_COLUMNS, "refusal")
    ]
    assert judged["verdict"].tolist()[0::2] == [0.0, 1.0] and math.isnan(judged["verdict"][1])
    assert judged["judge_status"].tolist()[0::2] == ["ok", "ok"]
