"""Calibration on named test doubles: the item draw, ASR by level, the regression, harm."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from expected_harm import calibration
from expected_harm.threats import reference_labels
from tests.test_pipeline import run_toy


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


def test_asr_by_level_counts_only_judged_rows() -> None:
    frame = run_toy()
    by_cost = calibration.asr_by_level(frame, "cost").set_index("cost")
    assert list(by_cost.index) == [1]  # costs 3 and 5 have no verdict
    assert (by_cost.loc[1, "rate"], by_cost.loc[1, "n"]) == (0.5, 2)


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


def test_the_page_says_when_a_cost_level_is_missing() -> None:
    few = calibration.calibration_items(["advbench"], 1, seed=0)
    missing = "Not every cost level is drawn (missing advbench:"
    assert calibration.coverage_text(few).startswith(missing)
    every = calibration.calibration_items(["advbench"], 5, seed=0)
    assert calibration.coverage_text(every).startswith("Every cost level")


def test_coverage_reads_the_labels_of_a_benchmark_subset() -> None:
    # the section's default benchmarks include a subset; its items name only "harmbench"
    items = calibration.calibration_items(["harmbench:standard_contextual"], 1, seed=0)
    assert calibration.coverage_text(items).startswith("Not every cost level is drawn "
                                                       "(missing harmbench:")


def test_rates_by_both_levels_stack_for_one_figure() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from expected_harm import plots

    frame = pd.DataFrame({"target": "t", "attack": "a", "cost": [1, 1, 2, np.nan],
                          "severity": [3, 3, 3, 3], "success": [1.0, 0.0, 1.0, 1.0]})
    rates = calibration.asr_by_levels(frame)
    assert rates.groupby("level")["n"].sum().to_dict() == {"cost": 3, "severity": 4}
    by_cost = rates[rates["level"] == "cost"].rename(columns={"value": "cost"})
    cells = calibration.interval_table(by_cost, "cost")
    assert cells.loc[("t", "a"), 1].startswith("50% [")
    fig = plots.plot_asr_by_level(rates)
    assert len(fig.axes) == 2  # one target, two levels
