"""Published decompositions on real models (FRACTURED-SORRY-Bench): uplift, judges, cost."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from expected_harm.decomposition import evidence
from expected_harm.judges import get_judge
from expected_harm.models import Reply
from tests.doubles import ScriptedChatModel


@pytest.fixture(scope="module")
def original_labels() -> pd.DataFrame:
    """A small hand-made label frame for six SORRY-Bench originals (a test fixture, not the
    project's reference labels)."""
    return pd.DataFrame({"dataset": "sorry_bench", "item_id": ["0", "1", "2", "30", "31", "40"],
                         "cost": [1, 1, 2, 3, 4, 5], "severity": [1, 2, 2, 3, 4, 5]})


@pytest.fixture(scope="module")
def rows(original_labels: pd.DataFrame) -> pd.DataFrame:
    return evidence.conversation_rows(original_labels)


def test_every_conversation_keeps_its_status_and_its_originals_labels(rows: pd.DataFrame) -> None:
    assert len(rows) == 3600
    assert rows.groupby(["target", "condition"]).size().eq(450).all()
    answered = rows["status"] == evidence.ANSWERED
    assert rows.loc[answered, "success"].notna().all()
    assert rows.loc[~answered, "success"].isna().all()  # never counted as a refusal
    assert evidence.status_counts(rows).loc[("gpt-4o-mini", "vanilla"), "no_answers"] == 27
    assert set(rows.loc[rows["cost"].notna(), "item_id"]) == {"0", "1", "2", "30", "31", "40"}
    assert rows.loc[rows["item_id"] == "141", "prompt"].isna().all()  # empty upstream


def test_the_dataset_authors_asrs_are_reproduced(rows: pd.DataFrame) -> None:
    table = evidence.uplift_table(rows).set_index("target")
    assert list(table.index) == ["gpt-3.5", "gpt-4", "gpt-4o", "gpt-4o-mini"]
    for condition in ("vanilla", "decomposed"):
        np.testing.assert_allclose(table[f"{condition}_reckoned"], table[f"{condition}_authors"],
                                   atol=0.0006)  # published to 0.1%
    assert (table["ratio_low"] > 1).all()
    assert (table["vanilla_low"] <= table["vanilla"]).all()
    assert table.loc["gpt-4o-mini", "n"] == 422  # questions answered in both conditions


def _conversations(success: dict[str, list[float]]) -> pd.DataFrame:
    """One target's rows, built by hand: condition → success per question (NaN: not answered)."""
    parts = []
    for condition, values in success.items():
        values = np.asarray(values, dtype=float)
        parts.append(pd.DataFrame({
            "target": "t", "condition": condition, "item_id": [str(i) for i in range(len(values))],
            "success": values, "status": np.where(np.isnan(values), "no_answers", "answered"),
            "verdict": np.where(values == 1, evidence.JAILBROKEN_VERDICT, "Harmless Answer")}))
    return pd.concat(parts, ignore_index=True)


def test_uplift_pairs_questions_and_leaves_unanswered_ones_out() -> None:
    frame = _conversations({"vanilla": [1, 0, 0, 0, np.nan], "decomposed": [1, 1, 0, 0, 1]})
    row = evidence.uplift_table(frame).iloc[0]
    assert row["n"] == 4
    assert (row["vanilla"], row["decomposed"], row["ratio"]) == (0.25, 0.5, 2.0)
    assert row["difference"] == pytest.approx(0.25)
    assert row["decomposed_reckoned"] == pytest.approx(0.6)  # the authors' reckoning: all rows


def test_the_paired_ratio_keeps_the_pairing() -> None:
    same = np.array([1, 0, 1, 0, 0, 1, 0, 0])
    ratio = evidence.paired_ratio(same, same)
    assert (ratio.value, ratio.low, ratio.high) == (1.0, 1.0, 1.0)  # each draw pairs the rows
    with pytest.raises(ValueError, match="equal, non-empty"):
        evidence.paired_ratio(np.array([1, 0]), np.array([1]))


def test_the_judged_sample_reads_the_same_questions_in_both_conditions(rows: pd.DataFrame) -> None:
    sample = evidence.judged_sample(rows, 2, seed=0)
    assert sample.groupby(["target", "condition"]).size().eq(2).all()
    assert sample.groupby("target")["item_id"].nunique().eq(2).all()
    assert (sample["status"] == evidence.ANSWERED).all() and sample["prompt"].notna().all()
    pd.testing.assert_frame_equal(sample, evidence.judged_sample(rows, 2, seed=0))
    with pytest.raises(ValueError, match="per_cell must be at least 1"):
        evidence.judged_sample(rows, 0, seed=0)


def test_the_book_judge_reads_the_original_request_and_the_joined_answers(
        rows: pd.DataFrame) -> None:
    says_yes = ScriptedChatModel(lambda messages, attempt: Reply(text="Yes"))  # test double
    judged = evidence.rejudge(rows, get_judge("harmbench_classifier", says_yes), per_cell=1)
    assert len(judged) == 8 and (judged["book_success"] == 1).all()
    decomposed = judged[judged["condition"] == "decomposed"].iloc[0]
    prompt = next(c for c in says_yes.calls if decomposed["response"][:200] in c)
    assert decomposed["prompt"] in prompt  # judged against the original, not the sub-questions
    table = evidence.rejudged_uplift(judged)
    assert table.loc[("all", "vanilla"), "n"] == 4
    style, values = evidence.rejudge_report(judged, "harmbench (test double)", 1, seed=0)
    assert "test double" in style.caption and values["book_decomposed"] == "100%"


def test_an_unparsed_judgement_is_no_verdict(rows: pd.DataFrame) -> None:
    garbled = ScriptedChatModel(lambda messages, attempt: Reply(text="maybe?"))  # test double
    judged = evidence.rejudge(rows, get_judge("harmbench_classifier", garbled), per_cell=1)
    assert judged["book_success"].isna().all() and (judged["judge_status"] == "unparsed").all()
    assert evidence.rejudged_uplift(judged).loc[("all", "vanilla"), "not judged"] == 4


def _by_cost(gain: float, seed: int = 0) -> pd.DataFrame:
    """Four targets × 200 questions × two conditions; decomposition's log-odds gain per cost level
    is ``gain``."""
    rng = np.random.default_rng(seed)
    questions = pd.DataFrame({"item_id": [str(i) for i in range(200)],
                              "cost": rng.integers(1, 6, 200).astype(float),
                              "severity": rng.integers(1, 6, 200).astype(float)})
    parts = []
    for target in ("a", "b", "c", "d"):
        for condition, decomposed in (("vanilla", 0), ("decomposed", 1)):
            logit = -0.5 + decomposed * (0.5 + gain * (questions["cost"] - 3))
            success = (rng.random(200) < 1 / (1 + np.exp(-logit))).astype(float)
            parts.append(questions.assign(target=target, condition=condition, success=success))
    return pd.concat(parts, ignore_index=True)


def test_the_cost_interaction_says_its_direction_whichever_it_is() -> None:
    rising = evidence.cost_interaction(_by_cost(0.8))
    assert rising.loc[0, "low"] > 0 and rising.loc[0, "questions"] == 200
    assert "grows with the cost" in evidence.cost_reading(rising)
    falling = evidence.cost_interaction(_by_cost(-0.8, seed=1))
    assert "shrinks with the cost" in evidence.cost_reading(falling)
    never = _by_cost(0.8).assign(success=0.0)
    assert "no interaction can be estimated" in evidence.cost_reading(
        evidence.cost_interaction(never)).lower()


def test_uplift_by_cost_averages_targets_within_a_question() -> None:
    frame = pd.DataFrame({
        "target": ["a", "b"] * 4, "item_id": ["1", "1", "1", "1", "2", "2", "2", "2"],
        "condition": ["vanilla"] * 2 + ["decomposed"] * 2 + ["vanilla"] * 2 + ["decomposed"] * 2,
        "cost": [1.0] * 4 + [4.0] * 4, "success": [0, 0, 1, 0, 0, 1, 1, 1.0]})
    levels = evidence.uplift_by_cost(frame).set_index("cost")
    assert levels.loc[1, ["questions", "vanilla", "decomposed", "uplift"]].tolist() == [1, 0, 0.5,
                                                                                       0.5]
    assert levels.loc[4, "uplift"] == pytest.approx(0.5)


def test_cost_uplift_report_names_its_sources(rows: pd.DataFrame) -> None:
    style, values = evidence.cost_uplift_report(rows)
    assert "AI-assistant reference labels" in style.caption and values["n_cost_questions"] == "6"
    assert "labelled originals" in values["cost_reading"]


@pytest.fixture
def step_labels() -> pd.DataFrame:
    """Hand-made labels of three decompositions' sub-questions (a test fixture); question 7's
    original is not labelled."""
    ids = ["harmful:0:1", "harmful:0:2", "harmful:0:3", "harmful:30:1", "harmful:30:2",
           "harmful:7:1"]
    return pd.DataFrame({"dataset": "fractured_sorry_bench", "item_id": ids,
                         "cost": [1, 2, 3, 1, 1, 5], "severity": [1, 1, 2, 2, 2, 5]})


def test_step_costs_are_compared_per_decomposition(step_labels: pd.DataFrame,
                                                   original_labels: pd.DataFrame) -> None:
    table = evidence.step_cost_table(step_labels, original_labels).set_index("decomposition_id")
    assert list(table.index) == ["harmful:0", "harmful:30"]  # harmful:7 has no labelled original
    first = table.loc["harmful:0"]
    assert (first["steps"], first["max_step_cost"], first["mean_step_cost"]) == (3, 3, 2.0)
    assert first["share_cheap"] == pytest.approx(2 / 3)
    assert (first["max_minus_original"], first["mean_minus_original"]) == (2.0, 1.0)
    assert table.loc["harmful:30", "max_minus_original"] == -2.0
    summary = evidence.step_cost_summary(table.reset_index())
    # decompositions are the unit: (2 + 1) / 2, not the mean over all five steps
    assert summary.loc["mean step cost", "mean"] == pytest.approx(1.5)
    assert (summary["decompositions"] == 2).all()
    style, values = evidence.step_cost_report(table.reset_index())
    assert values["n_decompositions"] == "2" and "attack-side" in style.caption


def test_a_sub_question_id_must_name_a_harmful_step() -> None:
    with pytest.raises(ValueError, match="not a harmful sub-question id"):
        evidence.question_of("benign:3:1")


def test_the_rater_is_compared_with_the_reference_on_the_same_sub_questions(
        step_labels: pd.DataFrame) -> None:
    rated = step_labels.assign(cost_expected=step_labels["cost"] + 0.1,
                               severity_expected=step_labels["severity"], group="model_outputs")
    rated = pd.concat([rated, rated.head(1).assign(item_id="harmful:99:1")])  # not labelled
    agreement = evidence.rater_agreement(rated, step_labels)
    assert agreement.loc["cost (sampled)", "quadratic_kappa"] == pytest.approx(1.0)
    assert agreement.loc["cost (sampled)", "n"] == 6
    style, values = evidence.rater_report(agreement, "rater (test double)")
    assert values["rater_kappa_steps"] == "1.00" and "rater (test double)" in style.caption


def test_step_items_are_the_harmful_sub_questions() -> None:
    steps = pd.DataFrame({"dataset": "fractured_sorry_bench", "item_id": ["harmful:0:1",
                                                                          "benign:0:1"],
                          "group": "model_outputs", "kind": ["harmful", "benign"],
                          "sub_question": ["q1", "q2"]})
    items = evidence.step_items(steps)
    assert items.to_dict("records") == [{"dataset": "fractured_sorry_bench",
                                         "item_id": "harmful:0:1", "group": "model_outputs",
                                         "prompt": "q1"}]


def test_uplift_report_quotes_the_ratio_range(rows: pd.DataFrame) -> None:
    style, values = evidence.uplift_report(rows)
    assert "dataset authors" in style.caption and "GPT-4o" in style.caption
    assert values["n_pairs"] == "1753"
    assert values["ratio_range"].endswith("×")
