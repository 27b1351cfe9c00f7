"""The threat-distribution summaries on the shipped reference labels."""

from __future__ import annotations

import numpy as np
import pytest

from expected_harm import threats


@pytest.fixture(scope="module")
def reference():
    return threats.reference_labels()


def test_cost_ratio_interval_contains_the_item_level_one(reference) -> None:
    """Resampling sets, then items, widens the interval an item-level bootstrap gives."""
    benchmark = reference.loc[reference["group"] == "benchmark", "cost"].to_numpy()
    real_world = reference.loc[reference["group"] == "real_world", "cost"].to_numpy()
    rng = np.random.default_rng(0)  # the item-level bootstrap this replaced, pooled rows
    naive = (rng.choice(benchmark, (2000, benchmark.size)).mean(axis=1)
             / rng.choice(real_world, (2000, real_world.size)).mean(axis=1))
    naive_low, naive_high = np.quantile(naive, [0.025, 0.975])
    ratio = threats.cost_ratio(reference)
    assert ratio.low < naive_low and naive_high < ratio.high
    # 45 items in every set: sets weighted equally give the pooled-row point estimate
    assert ratio.value == pytest.approx(benchmark.mean() / real_world.mean())
    assert ratio.n == len(reference)


def test_group_means_weigh_sets_equally_and_show_them(reference) -> None:
    per_set = threats.set_means(reference, "cost")
    groups = threats.group_means(reference, "cost").set_index("group")
    assert len(per_set) == reference["dataset"].nunique()
    for group, part in per_set.groupby("group"):
        assert groups.loc[group, "mean"] == pytest.approx(part["mean"].mean())
        assert groups.loc[group, "sets"] == len(part) and groups.loc[group, "n"] == part["n"].sum()
        assert groups.loc[group, "low"] < groups.loc[group, "mean"] < groups.loc[group, "high"]


def test_group_mean_with_unequal_sets_is_the_mean_of_set_means(reference) -> None:
    uneven = reference.drop(reference.index[(reference["dataset"] == "advbench")][:40])
    benchmark = threats.group_means(uneven, "cost").set_index("group").loc["benchmark", "mean"]
    set_means = uneven[uneven["group"] == "benchmark"].groupby("dataset")["cost"].mean()
    assert benchmark == pytest.approx(set_means.mean())
    assert benchmark != pytest.approx(uneven.loc[uneven["group"] == "benchmark", "cost"].mean())
