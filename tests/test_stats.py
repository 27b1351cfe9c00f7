"""Statistics against answers known by construction or computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from expected_harm.stats import (
    agreement,
    bootstrap_mean,
    confusion,
    ordinal_regression,
    two_stage_bootstrap_mean,
    two_stage_bootstrap_ratio,
    wilson_interval,
)


def test_bootstrap_mean_of_a_constant_has_no_width() -> None:
    estimate = bootstrap_mean([2, 2, 2, None])
    assert (estimate.value, estimate.low, estimate.high, estimate.n) == (2.0, 2.0, 2.0, 3)


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_n() -> None:
    rng = np.random.default_rng(1)
    small = bootstrap_mean(rng.normal(3, 1, 50))
    large = bootstrap_mean(rng.normal(3, 1, 5000))
    assert small.low < 3 < small.high and large.low < 3 < large.high
    assert (large.high - large.low) < (small.high - small.low) / 5


def test_ratio_of_means_weighs_sets_equally() -> None:
    estimate = two_stage_bootstrap_ratio([[3, 3, 3]], [[1.5, 1.5]])
    assert estimate.value == 2.0 and estimate.low == estimate.high == 2.0
    # a set of one item counts as much as a set of four
    assert two_stage_bootstrap_ratio([[4, 4, 4, 4], [2]], [[1]]).value == 3.0
    with pytest.raises(ValueError, match="denominator"):
        two_stage_bootstrap_ratio([[1]], [[None]])


def test_two_stage_interval_carries_the_spread_between_sets() -> None:
    # Six sets whose means differ (1.3 to 2.7, as the benchmarks do) but whose items barely vary
    # around them: an item-level bootstrap treats the 270 items as one sample, a narrow interval;
    # the two-stage one resamples sets too, and its interval spans the between-set spread.
    rng = np.random.default_rng(0)
    centres = np.linspace(1.3, 2.7, 6)
    sets = [centre + rng.normal(0, 0.05, 45) for centre in centres]
    pooled = bootstrap_mean(np.concatenate(sets))
    two_stage = two_stage_bootstrap_mean(sets)
    assert two_stage.value == pytest.approx(pooled.value)  # equal sizes: the same point estimate
    assert two_stage.low < pooled.low and pooled.high < two_stage.high
    assert (two_stage.high - two_stage.low) > 5 * (pooled.high - pooled.low)
    # the sampling sd of a mean of 6 set means drawn from this spread: sd(centres) / sqrt(6)
    half_width = (two_stage.high - two_stage.low) / 2
    assert half_width == pytest.approx(1.96 * np.std(centres) / np.sqrt(6), rel=0.25)


def test_wilson_interval_matches_the_textbook_value() -> None:
    # 8 of 10: Wilson 95% interval [0.4902, 0.9433] (Agresti & Coull 1998, eq. 2)
    estimate = wilson_interval(8, 10)
    assert estimate.value == 0.8
    assert estimate.low == pytest.approx(0.4902, abs=1e-4)
    assert estimate.high == pytest.approx(0.9433, abs=1e-4)
    with pytest.raises(ValueError, match="successes must lie in"):
        wilson_interval(11, 10)


def test_agreement_perfect_and_hand_computed() -> None:
    perfect = agreement([1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
    assert perfect.quadratic_kappa == pytest.approx(1.0) and perfect.exact == 1.0
    # one disagreement by one level out of four: exact 3/4, all within one
    partial = agreement([1, 2, 3, 4], [1, 2, 3, 5])
    assert partial.exact == 0.75 and partial.within_one == 1.0 and partial.n == 4
    # missing ratings are dropped, never scored as agreement
    assert agreement([1, 2, None, 4], [1, 2, 3, None]).n == 2


def test_kappa_of_constant_raters_is_nan_only_when_they_agree() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy and sklearn warn that ρ and κ are undefined
        same, different = agreement([3, 3, 3], [3, 3, 3]), agreement([3, 3, 3], [4, 4, 4])
    assert np.isnan(same.quadratic_kappa) and same.exact == 1.0
    assert different.quadratic_kappa == 0.0 and np.isnan(different.spearman)


def test_confusion_shows_every_level() -> None:
    table = confusion(pd.Series([1, 1, 5]), pd.Series([1, 2, 5]))
    assert table.shape == (5, 5)
    assert table.loc[1, 1] == 1 and table.loc[1, 2] == 1 and table.loc[5, 5] == 1
    assert table.to_numpy().sum() == 3


def test_ordinal_regression_recovers_a_planted_shift() -> None:
    rng = np.random.default_rng(0)
    n = 3000
    group = rng.integers(0, 2, n)
    latent = 1.5 * group + rng.logistic(size=n)
    level = np.digitize(latent, [-1.0, 0.5, 1.5, 2.5]) + 1
    fit = ordinal_regression(pd.DataFrame({"level": level, "g": group}), "level", ["g"])
    assert fit.params["g"] == pytest.approx(1.5, abs=0.15)
