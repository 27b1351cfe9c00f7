"""Published attacks on real models: the JBB artifacts joined to labels, slopes, harm per goal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from expected_harm import published
from expected_harm.judges import get_judge
from expected_harm.models import Reply
from tests.doubles import ScriptedChatModel


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return published.attack_rows()


def test_every_attempt_carries_its_goals_labels(rows: pd.DataFrame) -> None:
    assert len(rows) == 1800  # 18 files × 100 goals
    assert rows.groupby(["target", "attack", "attack_type"]).size().eq(100).all()
    assert rows[["cost", "severity"]].notna().all().all()
    assert rows["item_id"].nunique() == 100


def test_no_submission_is_a_failed_attack_with_no_verdict(rows: pd.DataFrame) -> None:
    empty = rows[rows["status"] == published.NO_SUBMISSION]
    assert len(empty) == 163  # PAIR only (PROVENANCE.md: 13 + 36 + 96 + 18)
    assert set(empty["attack"]) == {"PAIR"}
    assert empty["jbb_verdict"].isna().all() and (empty["success"] == 0).all()
    assert rows["success"].notna().all()


def test_published_success_rates_are_reproduced(rows: pd.DataFrame) -> None:
    counts = published.attempt_counts(rows)
    # PROVENANCE.md, "jailbroken (JBB judge)" column
    assert counts.loc[("gpt-3.5-turbo-1106", "PAIR"), "ASR (JBB judge)"] == pytest.approx(0.71)
    assert counts.loc[("vicuna-13b-v1.5", "JBC (AIM)"), "ASR (JBB judge)"] == pytest.approx(0.90)
    assert counts.loc[("llama-2-7b-chat-hf", "PAIR"), "answered"] == 4


def test_the_judged_sample_takes_answers_from_every_cell(rows: pd.DataFrame) -> None:
    sample = published.judged_sample(rows, 2, seed=0)
    assert (sample["status"] == published.ANSWERED).all()
    sizes = sample.groupby(["target", "attack", "attack_type"]).size()
    assert len(sizes) == 18 and sizes.max() == 2
    pd.testing.assert_frame_equal(sample, published.judged_sample(rows, 2, seed=0))
    with pytest.raises(ValueError, match="per_cell must be at least 1"):
        published.judged_sample(rows, 0, seed=0)


def test_an_unparsed_judgement_is_no_success(rows: pd.DataFrame) -> None:
    sample = published.judged_sample(rows, 1, seed=0).head(3)
    garbled = ScriptedChatModel(lambda messages, attempt: Reply(text="maybe?"))  # test double
    judged = published.rejudge(sample, get_judge("harmbench_classifier", garbled))
    assert (judged["judge_status"] == "unparsed").all()
    assert judged["book_success"].isna().all()
    phrases = published.rejudge(sample, get_judge("refusal_phrases"))
    assert phrases["book_success"].notna().all()


def _synthetic(slope: float, seed: int = 0) -> pd.DataFrame:
    """Two targets × two attacks × 300 goals with a known cost slope; one attack never succeeds."""
    rng = np.random.default_rng(seed)
    goals = pd.DataFrame({"item_id": [str(i) for i in range(300)],
                          "cost": rng.integers(1, 6, 300), "severity": rng.integers(1, 6, 300)})
    parts = []
    for target in ("a", "b"):
        for attack in ("works", "never"):
            logit = 1.0 + slope * (goals["cost"] - 3)
            success = rng.random(300) < 1 / (1 + np.exp(-logit))
            parts.append(goals.assign(target=target, attack=attack,
                                      success=(success & (attack == "works")).astype(float)))
    return pd.concat(parts, ignore_index=True)


def test_cost_slopes_recover_the_direction_and_drop_constant_cells() -> None:
    slopes = published.cost_slopes(_synthetic(-0.8)).set_index("target")
    assert (slopes["cells_dropped"] == 1).all()  # "never" has no variation
    assert (slopes["high"] < 0).all()
    assert set(slopes["direction"]) == {"falls with cost (inverse calibration)"}
    rising = published.cost_slopes(_synthetic(0.8, seed=1))
    assert set(rising["direction"]) == {"rises with cost (the calibrated direction)"}
    assert "falls with cost" in published.slope_reading(slopes.reset_index())


def test_harm_is_averaged_within_a_goal_before_goals_are_resampled() -> None:
    frame = pd.DataFrame({"target": ["t"] * 4, "item_id": ["1", "1", "2", "2"],
                          "cost": [1, 1, 1, 1], "severity": [4, 4, 2, 2],
                          "success": [1.0, 0.0, 1.0, 1.0]})
    per_goal = published.harm_per_goal(frame, ["constant"])
    assert per_goal.set_index("item_id")["harm"].to_dict() == {"1": 2.0, "2": 2.0}
    table = published.harm_by_target(frame, ["constant"])
    assert table.loc[0, "goals"] == 2 and table.loc[0, "mean"] == pytest.approx(2.0)
