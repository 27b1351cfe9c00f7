"""The sequential monitor on scripted answers: one score per prefix, flags, halting, failures, and
the threshold rule."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from expected_harm.decomposition import (
    DEFAULT_THRESHOLD,
    MONITOR_COLUMNS,
    SequentialMonitor,
    choose_threshold,
)
from expected_harm.models import Reply, TokenLogprob
from tests.doubles import ScriptedChatModel


def yes_once_poison_is_seen(messages, attempt) -> Reply:
    """Test double: "Yes" once the sequence so far holds "poison"; scripted failures."""
    text = messages[-1]["content"]
    if "monitor-down" in text:
        raise RuntimeError("monitor down")
    if "garbled" in text:
        return Reply(text="Perhaps.")
    return Reply(text="Yes" if "poison" in text else "No")


def monitor(threshold: float = DEFAULT_THRESHOLD) -> tuple[SequentialMonitor, ScriptedChatModel]:
    model = ScriptedChatModel(yes_once_poison_is_seen)
    return SequentialMonitor(model, threshold=threshold), model


def test_every_prefix_is_scored_and_the_monitor_reads_the_whole_prefix_only() -> None:
    watcher, model = monitor()
    scores = watcher.score([["Explain A.", "Mix the poison.", "List B."], ["Explain C."]])
    assert tuple(scores.columns) == MONITOR_COLUMNS
    assert scores[["sequence", "step"]].values.tolist() == [[0, 1], [0, 2], [0, 3], [1, 1]]
    assert scores["score"].tolist() == [0.0, 1.0, 1.0, 0.0]
    assert scores["flagged"].tolist() == [0.0, 1.0, 1.0, 0.0]
    assert set(scores["source"]) == {"answer"} and set(scores["status"]) == {"ok"}
    third = next(c for c in model.calls if "3. List B." in c)
    assert "1. Explain A.\n2. Mix the poison.\n3. List B." in third
    second = next(c for c in model.calls if "2. Mix the poison." in c and "3." not in c)
    assert "List B." not in second  # the prefix, not the whole sequence


def test_log_probabilities_give_the_score_where_the_backend_returns_them() -> None:
    top = {"Yes": math.log(0.3), " No": math.log(0.6)}
    model = ScriptedChatModel(lambda m, a: Reply(text="No",
                                                 logprobs=(TokenLogprob("No", 0.0, top),)))
    scores = SequentialMonitor(model, threshold=0.3).score([["Explain A."]])
    assert scores.loc[0, "score"] == pytest.approx(1 / 3) and scores.loc[0, "source"] == "logprobs"
    assert scores.loc[0, "flagged"] == 1.0  # 0.33 ≥ 0.3, whatever the sampled word


def test_a_failed_or_unreadable_call_has_no_score_and_is_never_benign() -> None:
    watcher, _ = monitor()
    scores = watcher.score([["Explain A.", "monitor-down"], ["garbled"]])
    assert scores["status"].tolist() == ["ok", "error", "unparsed"]
    assert scores["score"].isna().tolist() == [False, True, True]
    assert scores["flagged"].isna().tolist() == [False, True, True]
    assert "monitor down" in scores.loc[1, "error"]


def test_halting_stops_at_the_first_flagged_prefix() -> None:
    watcher, _ = monitor(threshold=0.5)
    scores = pd.DataFrame({
        "sequence": [0, 0, 0, 1, 1, 2, 2, 3, 3],
        "step": [1, 2, 3, 1, 2, 1, 2, 1, 2],
        "score": [0.1, 0.7, 0.9, 0.2, 0.4, math.nan, 0.9, 0.8, math.nan],
    })
    halts = watcher.halt_points(scores)
    assert halts["outcome"].tolist() == ["halted", "passed", "no_score", "halted"]
    assert halts["halt_step"].tolist() == [2, pd.NA, pd.NA, 1]
    assert halts["max_score"].tolist()[:2] == [0.9, 0.4]
    assert math.isnan(halts["max_score"][2])


def test_halting_on_scored_sequences_end_to_end() -> None:
    watcher, _ = monitor()
    halts = watcher.halt_points(watcher.score([["A.", "poison", "B."], ["A.", "B."]]))
    assert halts[["outcome", "halt_step"]].values.tolist() == [["halted", 2], ["passed", pd.NA]]


def test_threshold_must_be_a_probability() -> None:
    with pytest.raises(ValueError, match="threshold must lie in"):
        SequentialMonitor(ScriptedChatModel(), threshold=1.5)


def test_choose_threshold_flags_most_harmful_within_the_false_positive_limit() -> None:
    harmful, benign = [0.95, 0.9, 0.6, 0.3], [0.1] * 18 + [0.7, 0.92]
    choice = choose_threshold(harmful, benign, max_false_positive=0.05)
    assert choice.threshold == 0.9 and choice.true_positive_rate == 0.5
    assert choice.false_positive_rate == 0.05  # one benign sequence of 20 (0.92) is flagged
    strict = choose_threshold(harmful, benign, max_false_positive=0.0)
    assert strict.threshold == 0.95 and strict.true_positive_rate == 0.25
    loose = choose_threshold(harmful, benign, max_false_positive=0.10)
    assert loose.threshold == 0.3 and loose.true_positive_rate == 1.0
    assert loose.false_positive_rate == 0.10 and "20 benign" in loose.describe()


def test_choose_threshold_refuses_missing_scores_and_hopeless_splits() -> None:
    with pytest.raises(ValueError, match="1 missing score"):
        choose_threshold([0.9, math.nan], [0.1])
    with pytest.raises(ValueError, match="no threshold flags"):
        choose_threshold([0.1], [0.9], max_false_positive=0.0)
    with pytest.raises(ValueError, match="needs harmful and benign"):
        choose_threshold([], [0.1])
