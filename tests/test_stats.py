"""Statistics against answers known by construction or computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from expected_harm.stats import (
    agreement,
    bootstrap_mean,
    bootstrap_ratio_of_means,
    confusion,
    ordinal_regression,
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


def test_ratio_of_means() -> None:
    estimate = bootstrap_ratio_of_means([3, 3, 3], [1.5, 1.5])
    assert estimate.value == 2.0 and estimate.low == estimate.high == 2.0


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
