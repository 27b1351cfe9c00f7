"""The calibration pipeline on named test doubles: items, statuses, success, tables."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from expected_harm import calibration
from expected_harm.attacks import get_attack
from expected_harm.judges import get_judge
from expected_harm.models import BlockedError, GenerateConfig, Reply
from expected_harm.threats import reference_labels
from tests.doubles import ScriptedChatModel


def test_items_are_spread_over_cost_levels_with_reference_labels() -> None:
    items = calibration.calibration_items(["advbench", "strongreject"], 4, seed=1)
    assert list(items.columns) == ["dataset", "item_id", "prompt", "cost", "severity"]
    assert items.groupby("dataset").size().tolist() == [4, 4]
    labels = reference_labels(["advbench", "strongreject"])
    for name, part in items.groupby("dataset"):
        available = labels.loc[labels["dataset"] == name, "cost"].nunique()
        assert part["cost"].nunique() == min(4, available)  # round-robin over the levels present
    assert items["prompt"].str.len().gt(0).all()
    again = calibration.calibration_items(["advbench", "strongreject"], 4, seed=1)
    pd.testing.assert_frame_equal(items, again)


def test_items_refuse_sets_that_are_not_labelled_benchmarks() -> None:
    with pytest.raises(ValueError, match="not a reference-labelled benchmark: lmsys_tet"):
        calibration.calibration_items(["lmsys_tet"], 2, seed=0)


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


def run_toy() -> pd.DataFrame:
    judge = get_judge("strongreject_rubric", ScriptedChatModel(scripted_judge))
    return calibration.run_calibration(
        ITEMS,
        [ScriptedChatModel(scripted_target)],
        [get_attack("direct")],
        judge,
        GenerateConfig(max_tokens=8),
        progress=False,
    )


def test_errors_blocks_and_unparsed_judgements_carry_no_success() -> None:
    frame = run_toy()
    assert frame["row_status"].tolist() == ["ok", "ok", "blocked", "error", "unparsed"]
    assert frame["success"].tolist()[:2] == [1.0, 0.0]
    assert frame["success"][2:].isna().all()
    assert frame["judge"].iloc[0].startswith("strongreject_rubric 1.0 by scripted:scripted-model")


def test_asr_and_status_tables_count_only_judged_rows() -> None:
    frame = run_toy()
    by_cost = calibration.asr_by_level(frame, "cost").set_index("cost")
    assert list(by_cost.index) == [1]  # costs 3 and 5 have no verdict
    assert (by_cost.loc[1, "rate"], by_cost.loc[1, "n"]) == (0.5, 2)
    shares = calibration.status_shares(frame).iloc[0]
    assert (shares["ok"], shares["blocked"], shares["error"], shares["unparsed"], shares["n"]) == (
        0.4,
        0.2,
        0.2,
        0.2,
        5,
    )


def test_asr_is_never_computed_from_the_refusal_phrase_baseline() -> None:
    with pytest.raises(ValueError, match="never computed from it alone"):
        calibration.run_calibration(
            ITEMS,
            [ScriptedChatModel()],
            [get_attack("direct")],
            get_judge("refusal_phrases"),
            GenerateConfig(max_tokens=8),
        )


def test_cost_regression_reads_the_slope_from_success_data() -> None:
    rows = []
    for cost, successes in ((1, 8), (2, 6), (3, 5), (4, 3), (5, 2)):
        for i in range(10):
            rows.append(
                {
                    "dataset": "set",
                    "item_id": f"{cost}-{i}",
                    "cost": cost,
                    "severity": 1 + (i % 5),
                    "target": "t",
                    "attack": "a" if i % 2 else "b",
                    "success": float(i < successes),
                }
            )
    fitted = calibration.cost_regression(pd.DataFrame(rows))
    assert fitted.params["cost"] < 0  # success falls with cost in these data
    table = calibration.coefficient_table(fitted)
    assert table.loc["cost", "odds ratio"] == pytest.approx(math.exp(fitted.params["cost"]))


def test_expected_harm_weighs_only_successful_answers() -> None:
    from expected_harm.harm import aggregate_expected_harm

    frame = run_toy()
    harm = aggregate_expected_harm(frame, "target", success="success", names=["constant"])
    # judged rows: item 1 (success, severity 2) and item 2 (refused): mean (2 + 0) / 2
    assert harm.loc[0, "mean"] == pytest.approx(1.0) and harm.loc[0, "n"] == 2


def test_the_default_draw_reaches_every_cost_level_of_each_benchmark() -> None:
    from expected_harm.sections import get_section, notebook_parameters

    defaults = notebook_parameters(get_section("calibration"))
    benchmarks = defaults["benchmarks"]
    items = calibration.calibration_items(benchmarks, defaults["items_per_benchmark"],
                                          defaults["seed"])
    labels = reference_labels(benchmarks)
    for name in benchmarks:
        present = set(labels.loc[labels["dataset"] == name, "cost"])
        drawn = set(items.loc[items["dataset"] == name, "cost"])
        assert drawn == present, f"{name}: drew cost levels {sorted(drawn)} of {sorted(present)}"


def test_every_judge_is_scored_on_the_same_rows_with_intervals() -> None:
    data = calibration.validation_items()
    ours = data["human_majority"].where(data.index % 10 != 0, 1 - data["human_majority"])
    table = calibration.validation_table(data, {"ninety percent right": ours})
    assert set(table["n"]) == {len(data)}  # ours and the six published judges alike
    row = table.loc["ninety percent right"]
    assert row["accuracy"] == pytest.approx(0.9)
    assert row["accuracy_low"] < 0.9 < row["accuracy_high"]
    assert row["kappa_low"] < row["kappa"] < row["kappa_high"]
    assert (table["source"] == "published (JBB file)").sum() == 6


def test_judge_readings_follow_the_interval_not_the_point() -> None:
    wide = pd.Series({"kappa": 0.65, "kappa_low": 0.3, "kappa_high": 0.85})
    assert "too wide" in calibration.judge_reading(wide)  # a point above 0.6 is not enough
    assert "substantial" in calibration.judge_reading(
        pd.Series({"kappa": 0.8, "kappa_low": 0.7, "kappa_high": 0.9}))
    assert "below 0.2" in calibration.judge_reading(
        pd.Series({"kappa": 0.05, "kappa_low": -0.1, "kappa_high": 0.15}))
    table = pd.DataFrame(
        {"accuracy": [0.9, 0.85, 0.6], "accuracy_low": [0.84, 0.78, 0.5],
         "accuracy_high": [0.95, 0.91, 0.7], "source": ["published (JBB file)"] * 3},
        index=["A", "B", "C"],
    )
    reading = calibration.best_published_reading(table)
    assert reading.startswith("The most accurate published judge is A")
    assert "the intervals of B overlap it" in reading  # C's interval lies below A's


def test_the_page_says_when_a_cost_level_is_missing() -> None:
    few = calibration.calibration_items(["advbench"], 1, seed=0)
    assert calibration.coverage_text(few).startswith("Not every cost level is drawn (missing advbench:")
    every = calibration.calibration_items(["advbench"], 5, seed=0)
    assert calibration.coverage_text(every).startswith("Every cost level")


def test_rates_by_both_levels_stack_for_one_figure() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from expected_harm import plots

    frame = pd.DataFrame({"target": "t", "attack": "a", "cost": [1, 1, 2, np.nan],
                          "severity": [3, 3, 3, 3], "success": [1.0, 0.0, 1.0, 1.0]})
    rates = calibration.asr_by_levels(frame)
    assert rates.groupby("level")["n"].sum().to_dict() == {"cost": 3, "severity": 4}
    cells = calibration.interval_table(rates[rates["level"] == "cost"].rename(columns={"value": "cost"}),
                                       "cost")
    assert cells.loc[("t", "a"), 1].startswith("50% [")
    fig = plots.plot_asr_by_level(rates)
    assert len(fig.axes) == 2  # one target, two levels
