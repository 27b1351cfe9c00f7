"""Statistics the sections share: bootstrap intervals, agreement, ordinal regression, proportions.

Thin, documented wrappers over scipy, statsmodels and scikit-learn, so every notebook reports
intervals and agreement the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_RESAMPLES = 2000


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a confidence interval."""

    value: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        return f"{self.value:.2f} [{self.low:.2f}, {self.high:.2f}] (n={self.n})"


def bootstrap_mean(
    values: Sequence[float] | pd.Series,
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Estimate:
    """Mean with a percentile bootstrap interval; missing values are dropped first.

    Examples:
        >>> bootstrap_mean([1, 1, 1, 1]).value
        1.0
    """
    data = pd.Series(values, dtype=float).dropna().to_numpy()
    if data.size == 0:
        raise ValueError("bootstrap_mean needs at least one non-missing value")
    rng = np.random.default_rng(seed)
    means = rng.choice(data, size=(resamples, data.size), replace=True).mean(axis=1)
    low, high = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return Estimate(float(data.mean()), float(low), float(high), int(data.size))


def bootstrap_ratio_of_means(
    numerator: Sequence[float] | pd.Series,
    denominator: Sequence[float] | pd.Series,
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Estimate:
    """mean(numerator) / mean(denominator), resampling the two groups independently.

    Used for "benchmark prompts cost k× more than real-world prompts".
    """
    top = pd.Series(numerator, dtype=float).dropna().to_numpy()
    bottom = pd.Series(denominator, dtype=float).dropna().to_numpy()
    if top.size == 0 or bottom.size == 0:
        raise ValueError("bootstrap_ratio_of_means needs values in both groups")
    rng = np.random.default_rng(seed)
    top_means = rng.choice(top, size=(resamples, top.size)).mean(axis=1)
    bottom_means = rng.choice(bottom, size=(resamples, bottom.size)).mean(axis=1)
    ratios = top_means / bottom_means
    low, high = np.quantile(ratios, [(1 - confidence) / 2, (1 + confidence) / 2])
    return Estimate(float(top.mean() / bottom.mean()), float(low), float(high), int(top.size + bottom.size))


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Estimate:
    """A proportion with its Wilson score interval (sensible at 0 and n, unlike Wald)."""
    from statsmodels.stats.proportion import proportion_confint

    if n <= 0:
        raise ValueError(f"wilson_interval needs n > 0, got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie in [0, {n}], got {successes}")
    low, high = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
    return Estimate(successes / n, float(low), float(high), n)


@dataclass(frozen=True)
class Agreement:
    """How well one set of 1–5 ratings matches another."""

    quadratic_kappa: float
    spearman: float
    exact: float  # share of identical ratings
    within_one: float  # share differing by at most one level
    n: int


def agreement(reference: Sequence[int] | pd.Series, other: Sequence[int] | pd.Series) -> Agreement:
    """Quadratic-weighted Cohen's kappa, Spearman's rho and exact / ±1 agreement on paired ratings.

    Pairs where either side is missing are dropped (a failed rating is never scored as agreement).
    """
    from scipy.stats import spearmanr
    from sklearn.metrics import cohen_kappa_score

    pairs = pd.DataFrame({"a": reference, "b": other}).astype(float).dropna()
    if len(pairs) < 2:
        raise ValueError("agreement needs at least two complete pairs")
    a, b = pairs["a"].round().astype(int), pairs["b"].round().astype(int)
    kappa = cohen_kappa_score(a, b, weights="quadratic", labels=[1, 2, 3, 4, 5])
    rho = spearmanr(pairs["a"], pairs["b"]).statistic
    return Agreement(
        quadratic_kappa=float(kappa),
        spearman=float(rho),
        exact=float((a == b).mean()),
        within_one=float(((a - b).abs() <= 1).mean()),
        n=len(pairs),
    )


def confusion(reference: pd.Series, other: pd.Series, levels: Sequence[int] = (1, 2, 3, 4, 5)) -> pd.DataFrame:
    """Counts of (reference level, other level), all levels shown even when empty."""
    pairs = pd.DataFrame({"reference": reference, "rater": other}).dropna().astype(int)
    table = pd.crosstab(pairs["reference"], pairs["rater"])
    return table.reindex(index=list(levels), columns=list(levels), fill_value=0)


def ordinal_regression(frame: pd.DataFrame, outcome: str, predictors: Sequence[str]):
    """Ordered-logit regression of a 1–5 outcome (statsmodels ``OrderedModel``).

    Categorical predictors are dummy-coded (first level as reference). Returns the fitted
    results; ``.params``, ``.conf_int()`` and ``.summary()`` as usual.
    """
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    data = frame[[outcome, *predictors]].dropna()
    exog = pd.get_dummies(data[list(predictors)], drop_first=True, dtype=float)
    endog = pd.Series(
        pd.Categorical(data[outcome].astype(int), categories=sorted(data[outcome].astype(int).unique()), ordered=True),
        index=data.index,
    )
    return OrderedModel(endog, exog, distr="logit").fit(method="bfgs", disp=False)


def apply_by_group(frame: pd.DataFrame, by: str | list[str], column: str,
                   estimator: Callable[[pd.Series], Estimate] = bootstrap_mean) -> pd.DataFrame:
    """One row per group: estimate, interval and n of ``column`` (e.g. mean cost per set)."""
    rows = []
    for key, part in frame.groupby(by, sort=True):
        estimate = estimator(part[column])
        keys = key if isinstance(key, tuple) else (key,)
        names = by if isinstance(by, list) else [by]
        rows.append({**dict(zip(names, keys)), "mean": estimate.value, "low": estimate.low,
                     "high": estimate.high, "n": estimate.n})
    return pd.DataFrame(rows)
