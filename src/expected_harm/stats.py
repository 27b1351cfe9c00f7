"""Statistics the sections share: bootstrap intervals, agreement, ordinal regression, proportions.

Thin, documented wrappers over scipy, statsmodels and scikit-learn, so every notebook reports
intervals and agreement the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_RESAMPLES = 2000
#: A logistic coefficient beyond this (an odds ratio above ~3 million) is a fit drifting to
#: infinity under separation, not an estimate.
RUNAWAY_LOG_ODDS = 15.0


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
    return Estimate(
        float(top.mean() / bottom.mean()), float(low), float(high), int(top.size + bottom.size)
    )


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


def confusion(
    reference: pd.Series, other: pd.Series, levels: Sequence[int] = (1, 2, 3, 4, 5)
) -> pd.DataFrame:
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
        pd.Categorical(
            data[outcome].astype(int),
            categories=sorted(data[outcome].astype(int).unique()),
            ordered=True,
        ),
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


@dataclass(frozen=True)
class BinaryAgreement:
    """How well yes/no verdicts (1 = jailbroken) match reference labels.

    ``n`` counts the pairs compared; ``missing`` the items where the verdict was absent (a judge
    call that failed or did not parse), which are left out rather than scored as either answer.
    """

    accuracy: float
    kappa: float
    false_positive_rate: float  # verdict 1 where the reference says 0, share of reference 0s
    false_negative_rate: float  # verdict 0 where the reference says 1, share of reference 1s
    n: int
    missing: int


def binary_agreement(reference: Sequence[float] | pd.Series,
                     verdicts: Sequence[float] | pd.Series) -> BinaryAgreement:
    """Accuracy, Cohen's kappa, false-positive and false-negative rates of 0/1 verdicts.

    The measures JailbreakBench reports for its judge comparison (Chao et al. 2024, Table 2).
    A rate whose denominator is empty is NaN.

    Raises:
        ValueError: If the reference has missing values, values other than 0/1, or lengths differ.

    Examples:
        >>> binary_agreement([1, 1, 0, 0], [1, 0, 0, 1]).accuracy
        0.5
    """
    from sklearn.metrics import cohen_kappa_score

    ref = pd.Series(np.asarray(reference, dtype=float))
    ver = pd.Series(np.asarray(verdicts, dtype=float))
    if len(ref) != len(ver):
        raise ValueError(f"{len(ref)} reference labels but {len(ver)} verdicts")
    if ref.isna().any() or not ref.isin([0, 1]).all():
        raise ValueError("reference labels must all be 0 or 1")
    if not ver.dropna().isin([0, 1]).all():
        raise ValueError("verdicts must be 0, 1 or missing")
    keep = ver.notna()
    ref, ver = ref[keep].astype(int), ver[keep].astype(int)
    if ref.empty:
        raise ValueError("binary_agreement needs at least one verdict")
    negatives, positives = ref == 0, ref == 1
    # kappa is undefined (0 / 0) when both sides say one and the same thing throughout
    one_value = ref.nunique() == 1 and ver.nunique() == 1
    kappa = np.nan if one_value else cohen_kappa_score(ref, ver, labels=[0, 1])
    return BinaryAgreement(
        accuracy=float((ref == ver).mean()),
        kappa=float(kappa),
        false_positive_rate=float((ver[negatives] == 1).mean()) if negatives.any() else np.nan,
        false_negative_rate=float((ver[positives] == 0).mean()) if positives.any() else np.nan,
        n=int(keep.sum()),
        missing=int((~keep).sum()),
    )


def proportions_by_group(frame: pd.DataFrame, by: str | list[str], column: str,
                         confidence: float = 0.95) -> pd.DataFrame:
    """One row per group: the share of 1s in a 0/1 ``column`` with its Wilson interval.

    Missing values (no verdict) are left out of numerator and denominator alike.
    """
    keys = [by] if isinstance(by, str) else list(by)
    rows = []
    for key, part in frame.dropna(subset=[column]).groupby(keys, sort=True):
        estimate = wilson_interval(int(part[column].sum()), len(part), confidence)
        rows.append({**dict(zip(keys, key if isinstance(key, tuple) else (key,))),
                     "rate": estimate.value, "low": estimate.low, "high": estimate.high,
                     "successes": int(part[column].sum()), "n": estimate.n})
    return pd.DataFrame(rows)


def logistic_regression(frame: pd.DataFrame, outcome: str, numeric: Sequence[str],
                        factors: Sequence[str] = ()):
    """Logistic regression of a 0/1 outcome by maximum likelihood (statsmodels ``logit``).

    Factors with a single level are dropped (they carry no contrast); the others are treatment
    coded against their first level. When the outcome is perfectly separated (e.g. every attack
    succeeds above some cost), maximum likelihood has no finite answer; the fit then raises
    rather than report runaway slopes as numbers.

    Args:
        frame: One row per trial.
        outcome: 0/1 column (rows where it is missing are left out).
        numeric: Predictors entered as numbers (e.g. cost 1–5).
        factors: Predictors entered as categories (e.g. target model, attack).

    Returns:
        The fitted statsmodels results: ``.params``, ``.bse``, ``.conf_int()``, ``.pvalues``.

    Raises:
        ValueError: If the outcome is constant, has values other than 0/1, is perfectly
            separated, or there are too few rows.
    """
    import warnings

    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    data = frame[[outcome, *numeric, *factors]].dropna()
    if not data[outcome].isin([0, 1]).all():
        raise ValueError(f"{outcome} must be 0/1")
    if data[outcome].nunique() < 2:
        value = data[outcome].iloc[0] if len(data) else "no rows"
        raise ValueError(
            f"{outcome} is constant ({value}); a logistic regression needs both outcomes"
        )
    used = [f for f in factors if data[f].nunique() > 1]
    terms = [*numeric, *(f"C({f})" for f in used)]
    if len(data) <= len(terms) + 1:
        raise ValueError(f"{len(data)} rows are too few for {len(terms) + 1} coefficients")
    formula = f"{outcome} ~ " + " + ".join(terms)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)  # judged below, by the estimates
        try:
            fitted = smf.logit(formula, data=data.astype({outcome: float})).fit(
                disp=False, maxiter=200
            )
        except PerfectSeparationWarning as warning:
            raise ValueError(f"perfect separation, no finite estimate: {warning}") from None
    # Quasi-complete separation (one factor level always succeeds, say) leaves the optimiser
    # drifting towards infinity: runaway coefficients are not estimates, so say which terms.
    runaway = [term for term, value in fitted.params.items() if abs(value) > RUNAWAY_LOG_ODDS]
    if runaway or not fitted.mle_retvals.get("converged", True):
        raise ValueError(
            "quasi-complete separation, no finite estimate for "
            + (", ".join(runaway) or "the model (did not converge)")
            + "; more items (or fewer factors) are needed"
        )
    return fitted


def bootstrap_binary_agreement(
    reference: Sequence[float] | pd.Series,
    verdicts: Mapping[str, Sequence[float] | pd.Series],
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`binary_agreement` for several judges on the same rows, with paired bootstrap intervals.

    Every judge is scored on the same rows, and each bootstrap draw resamples those rows once
    for all judges, so two judges' intervals describe the same uncertainty about the same items.
    Within a draw a judge's missing verdicts are left out, as in :func:`binary_agreement`.

    Returns:
        One row per judge: ``accuracy`` and ``kappa`` with ``*_low``/``*_high`` percentile
        bounds, ``false_positive_rate``, ``false_negative_rate``, ``n`` and ``missing``.

    Examples:
        >>> table = bootstrap_binary_agreement([1, 0, 1, 0], {"perfect": [1, 0, 1, 0]},
        ...                                    resamples=50)
        >>> table.loc["perfect", ["accuracy", "accuracy_low", "accuracy_high"]].tolist()
        [1.0, 1.0, 1.0]
    """
    ref = np.asarray(reference, dtype=float)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, ref.size, size=(resamples, ref.size))
    tails = [(1 - confidence) / 2, (1 + confidence) / 2]
    rows = {}
    for name, values in verdicts.items():
        point = binary_agreement(ref, values)
        ver = np.asarray(values, dtype=float)
        accuracy, kappa = _agreement_draws(ref[draws], ver[draws])
        rows[name] = {
            "accuracy": point.accuracy,
            "accuracy_low": float(np.nanquantile(accuracy, tails[0])),
            "accuracy_high": float(np.nanquantile(accuracy, tails[1])),
            "kappa": point.kappa,
            "kappa_low": float(np.nanquantile(kappa, tails[0])),
            "kappa_high": float(np.nanquantile(kappa, tails[1])),
            "false_positive_rate": point.false_positive_rate,
            "false_negative_rate": point.false_negative_rate,
            "n": point.n,
            "missing": point.missing,
        }
    return pd.DataFrame(rows).T.astype({"n": int, "missing": int})


def _agreement_draws(ref: np.ndarray, ver: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and Cohen's kappa of each row of two (draws × items) 0/1 arrays (NaN = missing)."""
    keep = ~np.isnan(ver)
    n = keep.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        agree = ((ref == ver) & keep).sum(axis=1) / n
        ref_yes = (ref * keep).sum(axis=1) / n
        ver_yes = (np.nan_to_num(ver) * keep).sum(axis=1) / n
        chance = ref_yes * ver_yes + (1 - ref_yes) * (1 - ver_yes)
        kappa = (agree - chance) / (1 - chance)
    return agree, kappa
