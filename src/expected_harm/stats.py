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


def _set_arrays(sets: Sequence[Sequence[float]], name: str) -> list[np.ndarray]:
    arrays = [pd.Series(values, dtype=float).dropna().to_numpy() for values in sets]
    if not arrays or any(a.size == 0 for a in arrays):
        raise ValueError(f"{name} needs at least one set, each with a non-missing value")
    return arrays


def _two_stage_means(sets: list[np.ndarray], rng: np.random.Generator,
                     resamples: int) -> np.ndarray:
    """Bootstrap replicates of the equally weighted mean of set means, resampled in two stages.

    Each replicate draws as many sets as there are, with replacement, and then the items of each
    drawn set with replacement; a set drawn twice gets two independent item draws.
    """
    chosen = rng.integers(0, len(sets), size=(resamples, len(sets)))
    means = np.empty(chosen.shape)
    for index, values in enumerate(sets):
        slots = chosen == index
        means[slots] = rng.choice(values, size=(int(slots.sum()), values.size)).mean(axis=1)
    return means.mean(axis=1)


def two_stage_bootstrap_mean(
    sets: Sequence[Sequence[float]],
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Estimate:
    """Mean of set means (sets weighted equally), with a two-stage percentile bootstrap interval.

    Items were drawn within sets, and the sets are themselves a few of the many that could have
    been studied; the interval resamples sets, then items within each drawn set, so it carries
    the variation between sets as well as within them. Resampling both stages is the
    conservative choice (Davison & Hinkley 1997, section 3.8). ``n`` counts items.

    Examples:
        >>> two_stage_bootstrap_mean([[1, 1, 1], [3]]).value  # (1 + 3) / 2, not 6 / 4
        2.0
    """
    arrays = _set_arrays(sets, "two_stage_bootstrap_mean")
    replicates = _two_stage_means(arrays, np.random.default_rng(seed), resamples)
    low, high = np.quantile(replicates, [(1 - confidence) / 2, (1 + confidence) / 2])
    value = float(np.mean([a.mean() for a in arrays]))
    return Estimate(value, float(low), float(high), sum(a.size for a in arrays))


def two_stage_bootstrap_ratio(
    numerator: Sequence[Sequence[float]],
    denominator: Sequence[Sequence[float]],
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Estimate:
    """Ratio of two means of set means, each side resampled in two stages (sets, then items).

    Used for "benchmark prompts cost k× more than real-world prompts": each side is a few sets,
    weighted equally, so a benchmark with more items counts no more than one with fewer, and the
    interval widens with the spread between sets (see :func:`two_stage_bootstrap_mean`).

    Examples:
        >>> two_stage_bootstrap_ratio([[3, 3], [3]], [[1.5], [1.5, 1.5]]).value
        2.0
    """
    top = _set_arrays(numerator, "two_stage_bootstrap_ratio (numerator)")
    bottom = _set_arrays(denominator, "two_stage_bootstrap_ratio (denominator)")
    rng = np.random.default_rng(seed)
    ratios = _two_stage_means(top, rng, resamples) / _two_stage_means(bottom, rng, resamples)
    low, high = np.quantile(ratios, [(1 - confidence) / 2, (1 + confidence) / 2])
    value = np.mean([a.mean() for a in top]) / np.mean([a.mean() for a in bottom])
    return Estimate(float(value), float(low), float(high),
                    sum(a.size for a in top) + sum(a.size for a in bottom))


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
    Kappa is NaN when both sides give one same level throughout (0 / 0) and 0 when both are
    constant but different, as in :func:`binary_agreement`; Spearman's ρ is NaN when either side
    is constant.
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


def _cluster_groups(data: pd.DataFrame, cluster: str | Sequence[str]) -> np.ndarray:
    """One integer per row naming its cluster (the combination of the ``cluster`` columns)."""
    columns = [cluster] if isinstance(cluster, str) else list(cluster)
    groups = data.groupby(columns, sort=False).ngroup().to_numpy()
    if groups.max() < 1:
        raise ValueError(f"cluster-robust errors need at least two clusters of {columns}")
    return groups


def _columns(*parts: str | Sequence[str] | None) -> list[str]:
    """Column names in order, each once (a cluster column may also be a predictor)."""
    names: list[str] = []
    for part in parts:
        names += [] if part is None else [part] if isinstance(part, str) else list(part)
    return list(dict.fromkeys(names))


def ordinal_regression(frame: pd.DataFrame, outcome: str, predictors: Sequence[str], *,
                       cluster: str | Sequence[str] | None = None):
    """Ordered-logit regression of a 1–5 outcome (statsmodels ``OrderedModel``).

    Categorical predictors are dummy-coded (first level as reference). With ``cluster`` (column
    names whose combination identifies a cluster, e.g. the dataset a prompt came from), standard
    errors are cluster-robust (sandwich over clusters), so rows drawn together are not counted
    as independent; with few clusters those errors are themselves imprecise. Returns the fitted
    results; ``.params``, ``.conf_int()`` and ``.summary()`` as usual.
    """
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    data = frame[_columns(outcome, predictors, cluster)].dropna()
    exog = pd.get_dummies(data[list(predictors)], drop_first=True, dtype=float)
    endog = pd.Series(
        pd.Categorical(
            data[outcome].astype(int),
            categories=sorted(data[outcome].astype(int).unique()),
            ordered=True,
        ),
        index=data.index,
    )
    covariance = ({} if cluster is None else
                  {"cov_type": "cluster", "cov_kwds": {"groups": _cluster_groups(data, cluster)}})
    return OrderedModel(endog, exog, distr="logit").fit(method="bfgs", disp=False, **covariance)


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

    Cohen's kappa is (p_o − p_e) / (1 − p_e). When both sides give one and the same answer
    throughout, p_o = p_e = 1 and kappa is 0 / 0: undefined, so NaN. When both are constant but
    different, p_o = p_e = 0 and the formula gives 0 (as scikit-learn does): no agreement
    beyond chance, which is what total disagreement is.

    Raises:
        ValueError: If the reference has missing values, values other than 0/1, or lengths differ.

    Examples:
        >>> binary_agreement([1, 1, 0, 0], [1, 0, 0, 1]).accuracy
        0.5
        >>> binary_agreement([0, 0, 0], [1, 1, 1]).kappa  # constant and different: defined
        0.0
        >>> binary_agreement([1, 1, 1], [1, 1, 1]).kappa  # constant and equal: 0 / 0
        nan
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
    # kappa is undefined (0 / 0) only when both sides say one and the same thing throughout
    one_answer = ref.nunique() == 1 and ver.nunique() == 1 and ref.iloc[0] == ver.iloc[0]
    kappa = np.nan if one_answer else cohen_kappa_score(ref, ver, labels=[0, 1])
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
                        factors: Sequence[str] = (), *,
                        cluster: str | Sequence[str] | None = None):
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
        cluster: Columns whose combination names a cluster of rows that are not independent
            (e.g. ``("dataset", "item_id")`` when every item is attacked by several targets and
            attacks); standard errors are then cluster-robust (statsmodels ``cov_type="cluster"``,
            with its small-sample correction). None treats rows as independent.

    Returns:
        The fitted statsmodels results: ``.params``, ``.bse``, ``.conf_int()``, ``.pvalues``.

    Raises:
        ValueError: If a column is missing, the outcome is constant, has values other than 0/1,
            is perfectly separated, there are too few rows, or fewer than two clusters.
    """
    import warnings

    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    missing = [c for c in _columns(outcome, numeric, factors, cluster) if c not in frame.columns]
    if missing:
        raise ValueError(f"no column(s) {', '.join(missing)} in the frame")
    data = frame[_columns(outcome, numeric, factors, cluster)].dropna()
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
    covariance = ({} if cluster is None else
                  {"cov_type": "cluster", "cov_kwds": {"groups": _cluster_groups(data, cluster)}})
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)  # judged below, by the estimates
        try:
            fitted = smf.logit(formula, data=data.astype({outcome: float})).fit(
                disp=False, maxiter=200, **covariance
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
    """:func:`binary_agreement` for several judges on the same rows, with paired bootstrap CIs.

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


@dataclass(frozen=True)
class WaldTest:
    """A robust Wald test that some factors add nothing to a linear model with controls."""

    statistic: float  # Wald statistic in F form (χ² / df)
    df: int  # coefficients tested (restrictions)
    df_resid: int
    p: float
    r2_controls: float  # R² of the model without the tested factors
    r2_full: float
    n: int
    cov_type: str


def factor_wald_test(frame: pd.DataFrame, outcome: str, tested: Sequence[str],
                     controls: Sequence[str] = (), *, cov_type: str = "HC3") -> WaldTest:
    """Do the ``tested`` factors explain ``outcome`` beyond the ``controls``? (statsmodels OLS)

    Every predictor enters as a category (a U-shape counts as much as a slope). The test is a
    Wald test that all the tested factors' coefficients are zero, with heteroscedasticity-robust
    (``HC3`` by default) covariance, rather than a classical F-test, whose equal-variance
    assumption a bounded score spread unevenly over levels does not meet. Controls with a single
    level are dropped (they carry no contrast).

    Raises:
        ValueError: If a tested factor has a single level, or a level holds a single row (its
            leverage is 1, where HC3 is undefined).
    """
    import statsmodels.formula.api as smf

    data = frame[_columns(outcome, tested, controls)].dropna()
    for factor in [*tested, *controls]:
        counts = data[factor].value_counts()
        if factor in tested and len(counts) < 2:
            raise ValueError(f"{factor} has a single level; nothing to test")
        if len(counts) > 1 and (counts < 2).any():
            lonely = ", ".join(str(level) for level in counts.index[counts < 2])
            raise ValueError(f"{factor} level(s) {lonely} hold a single row; "
                             "merge or drop them (a robust test needs two rows per level)")
    kept = [f"C({c})" for c in controls if data[c].nunique() > 1]
    reduced = smf.ols(f"{outcome} ~ " + (" + ".join(kept) or "1"), data).fit()
    full = smf.ols(f"{outcome} ~ " + " + ".join([*kept, *(f"C({t})" for t in tested)]),
                   data).fit(cov_type=cov_type)
    names = list(full.params.index)
    rows = [i for i, name in enumerate(names) if any(name.startswith(f"C({t})[") for t in tested)]
    restrictions = np.zeros((len(rows), len(names)))
    restrictions[np.arange(len(rows)), rows] = 1.0
    test = full.wald_test(restrictions, use_f=True, scalar=True)
    return WaldTest(
        statistic=float(test.statistic), df=int(test.df_num), df_resid=int(test.df_denom),
        p=float(test.pvalue), r2_controls=float(reduced.rsquared), r2_full=float(full.rsquared),
        n=len(data), cov_type=cov_type,
    )
