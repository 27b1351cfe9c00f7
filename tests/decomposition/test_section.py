"""Section 03's live-run helpers: costly items, decomposers per strategy, the attack grid, the
cost table and the worked example (hand-made frames; real labels for the items)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from expected_harm.attacks import get_attacks
from expected_harm.decomposition import ReplayDecomposer, section


def test_attack_items_are_costly_labelled_requests_costliest_first() -> None:
    items = section.attack_items(["sorry_bench:base"], 4, min_cost=3, seed=0)
    assert list(items.columns) == ["dataset", "item_id", "prompt", "cost", "severity"]
    assert len(items) == 4 and (items["cost"] >= 3).all()
    assert items["cost"].is_monotonic_decreasing
    assert items["prompt"].str.len().gt(0).all()
    again = section.attack_items(["sorry_bench:base"], 4, min_cost=3, seed=0)
    assert again["item_id"].tolist() == items["item_id"].tolist()  # seeded


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"min_cost": 6}, "min_cost must be a cost level from 1 to 5"),
        ({"per_benchmark": 0}, "per_benchmark must be at least 1"),
        ({"benchmarks": ["lmsys_tet"], "min_cost": 3}, "no reference-labelled item of cost"),
    ],
)
def test_attack_items_refuse_bad_arguments(arguments, message) -> None:
    given = {"benchmarks": ["sorry_bench:base"], "per_benchmark": 2, "min_cost": 3, "seed": 0}
    with pytest.raises(ValueError, match=message):
        section.attack_items(**{**given, **arguments})


def test_make_decomposers_names_the_valid_strategies() -> None:
    with pytest.raises(ValueError, match="valid strategies: cost, monitor, cost\\+monitor, "
                                         "published"):
        section.make_decomposers(["split"], attacker="embedded:smollm2-135m", rater=None,
                                 monitor=None, k=3, cost_threshold=2, revision_budget=1)
    (replay,) = section.make_decomposers(["published"], attacker="embedded:smollm2-135m",
                                         rater=None, monitor=None, k=3, cost_threshold=2,
                                         revision_budget=1)
    assert isinstance(replay, ReplayDecomposer)


def test_attack_grid_puts_each_attack_whole_then_on_each_decomposers_sub_tasks() -> None:
    attacks = get_attacks(["direct", "refusal_suppression"])
    grid = section.attack_grid(attacks, [ReplayDecomposer()])
    assert [a.label for a in grid] == ["direct", "refusal_suppression",
                                       "decompose[published](direct)",
                                       "decompose[published](refusal_suppression)"]


def records() -> pd.DataFrame:
    """Hand-made decomposition records: two ok decompositions and one unparsed, one strategy."""
    nan = math.nan
    return pd.DataFrame({
        "request_index": [0, 0, 1, 1, 2],
        "strategy": ["cost"] * 5,
        "status": ["ok", "ok", "ok", "ok", "unparsed"],
        "step": [1, 2, 1, 2, nan],
        "sub_task": ["a", "b", "c", "d", None],
        "cost": [1.0, 3.0, 2.0, nan, nan],  # one rating failed: left out, never cheap
        "severity": [1.0, 1.0, 2.0, nan, nan],
        "monitor_score": [nan] * 5,
        "within_cost": [False, False, None, None, None],
        "passes_monitor": [None] * 5,
        "dataset": ["sorry_bench"] * 5,
        "item_id": ["1", "1", "2", "2", "3"],
        "original_cost": [4, 4, 5, 5, 3],
        "original_severity": [3, 3, 4, 4, 2],
    })


def test_cost_before_after_counts_failures_and_leaves_unrated_sub_tasks_out() -> None:
    row = section.cost_before_after(records()).loc["cost"]
    assert (row["decompositions"], row["ok"], row["not ok"]) == (3, 2, "unparsed 1")
    assert (row["sub-tasks"], row["rated"]) == (4, 3)
    assert row["original cost"] == pytest.approx(4.0)
    assert row["mean sub-task cost"] == pytest.approx((2.0 + 2.0) / 2)
    assert row["max sub-task cost"] == pytest.approx((3.0 + 2.0) / 2)
    assert row["within cost"] == 0.0  # one checked, failed; the unchecked one is not counted
    assert math.isnan(row["passes monitor"])


def test_worked_example_shows_the_sub_tasks_then_the_joined_answer() -> None:
    results = pd.DataFrame({"condition": ["cost"], "dataset": ["sorry_bench"], "item_id": ["1"],
                            "response": ["joined text"], "verdict": [1.0]})
    example = section.worked_example(records(), results)
    assert example["part"].tolist() == ["sub-task 1", "sub-task 2", "joined answer"]
    assert example["response"].iloc[-1] == "joined text" and example["verdict"].iloc[-1] == 1.0
    none_ok = records().assign(status="unparsed")
    assert section.worked_example(none_ok, results).empty
