"""Analysis of probe scores and activations: by label level, decodability, cost given severity.

:func:`activation_scores` is the paper's "activation score" per level; :func:`decodability`
asks how far a label can be read out at all, against a permutation null of the best layer and
a bag-of-words baseline (:func:`text_baseline`); :func:`cost_given_severity` is the regression
test of :func:`expected_harm.stats.factor_wald_test`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from expected_harm.probing._memory import kept
from expected_harm.stats import bootstrap_mean


def activation_scores(scores: np.ndarray, levels: Sequence[int], *, layers: Sequence[int],
                      seed: int = 0) -> pd.DataFrame:
    """The paper's "activation score": mean probe probability × 100 per level and layer.

    Args:
        scores: (n, layers) probabilities from :func:`probe_scores`.
        levels: The 1–5 label (severity or cost) of each row.
        layers: 1-based layer numbers of the columns of ``scores``.
        seed: Bootstrap seed.

    Returns:
        Tidy frame: ``layer, level, mean, low, high, n`` (95% bootstrap interval).
    """
    levels = np.asarray(levels)
    rows = []
    for column, layer in enumerate(layers):
        for level in np.unique(levels):
            estimate = bootstrap_mean(100 * scores[levels == level, column], seed=seed)
            rows.append({"layer": layer, "level": int(level), "mean": estimate.value,
                         "low": estimate.low, "high": estimate.high, "n": estimate.n})
    return pd.DataFrame(rows)


def _ridge(sparse: bool = False) -> BaseEstimator:
    """Standardised ridge regression, its penalty chosen per target by efficient leave-one-out."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(with_mean=not sparse),
                         RidgeCV(alphas=np.logspace(0, 5, 11), alpha_per_target=True))


def _oof_spearman(estimator: BaseEstimator, features: Any, targets: np.ndarray, folds: int,
                  seed: int) -> np.ndarray:
    """Spearman's ρ between out-of-fold predictions and each column of ``targets`` (n, k).

    All columns share the folds and each fold's fit (a multi-target ridge decomposes the
    training activations once), so a permuted column costs a matrix product, not a refit.
    """
    from scipy.stats import spearmanr
    from sklearn.model_selection import KFold, cross_val_predict

    predicted = cross_val_predict(estimator, features, targets,
                                  cv=KFold(folds, shuffle=True, random_state=seed))
    predicted = predicted.reshape(targets.shape)  # a single target comes back flat
    return np.array([spearmanr(predicted[:, j], targets[:, j]).statistic
                     for j in range(targets.shape[1])])


@dataclass(frozen=True)
class Decodability:
    """How well each layer decodes a label, and a permutation null for the best layer.

    Attributes:
        table: ``layer, spearman, shuffled``: cross-validated ρ per layer, and the mean ρ of the
            same probe on permuted labels at that layer.
        null_max: For each permutation, the highest ρ over all layers. Picking the best of many
            layers inflates its ρ; the best layer is judged against the best layer in noise.
    """

    table: pd.DataFrame
    null_max: np.ndarray

    @property
    def best(self) -> pd.Series:
        """The row of the layer with the highest ρ."""
        return self.table.loc[self.table["spearman"].idxmax()]

    @property
    def p_value(self) -> float:
        """Permutation p-value of the best layer's ρ against the null of the maximum."""
        exceed = int((self.null_max >= self.best["spearman"]).sum())
        return (1 + exceed) / (1 + len(self.null_max))

    @property
    def threshold(self) -> float:
        """95th percentile of the maximum ρ over layers under permuted labels."""
        return float(np.quantile(self.null_max, 0.95))


def decodability(activations: np.ndarray, target: Sequence[float], *, layers: Sequence[int],
                 folds: int = 5, seed: int = 0, permutations: int = 100) -> Decodability:
    """How well a ridge probe decodes an ordinal label from each layer, against permuted labels.

    A ridge regression on standardised activations predicts the 1–5 label; Spearman's ρ between
    out-of-fold predictions and the labels is the score. The null fits the same probe, same folds,
    to ``permutations`` seeded permutations of the labels, one permutation shared by all layers,
    and keeps the maximum over layers of each: the test of the best layer that accounts for its
    being the best (a max-statistic permutation test).

    The result is kept on disk (:func:`~expected_harm.probing._memory.kept`): the permutations
    are a rebuild's slowest step once every model call and activation is cached (25 s of the
    probing section's 48).

    Raises:
        ValueError: For fewer than 100 permutations (too coarse for a 5% test of a maximum).
    """
    if permutations < 100:
        raise ValueError(f"permutations must be at least 100, got {permutations}")
    return kept(_decodability, (_ridge, _oof_spearman), np.asarray(activations),
                np.asarray(target, dtype=float), tuple(layers), folds, seed, permutations)


def _decodability(activations: np.ndarray, y: np.ndarray, layers: tuple[int, ...], folds: int,
                  seed: int, permutations: int, helpers: str) -> Decodability:
    """What :func:`decodability` computes, and keeps (``helpers``: :func:`kept`)."""
    rng = np.random.default_rng(seed)
    targets = np.column_stack([y, *(rng.permutation(y) for _ in range(permutations))])
    rho = np.stack([_oof_spearman(_ridge(), activations[:, column], targets, folds, seed)
                    for column in range(len(layers))])  # (layers, 1 + permutations)
    table = pd.DataFrame({"layer": list(layers), "spearman": rho[:, 0],
                          "shuffled": rho[:, 1:].mean(axis=1)})
    # a fold that predicts a constant has no ρ (NaN); the maximum is over the layers that have one
    return Decodability(table, np.nanmax(rho[:, 1:], axis=0))


def text_baseline(texts: Sequence[str], target: Sequence[float], *, folds: int = 5,
                  seed: int = 0) -> float:
    """Spearman's ρ of a bag-of-words ridge probe: how much of a label the words alone give away.

    A layer that decodes no better than this shows a label that is lexically obvious, not one the
    model has had to compute. The vocabulary and its weights are learnt inside each training
    fold, so a word seen only in the held-out prompts tells the probe nothing.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    words = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                          _ridge(sparse=True))
    y = np.asarray(target, dtype=float)[:, None]
    return float(_oof_spearman(words, list(texts), y, folds, seed)[0])


def cost_given_severity(frame: pd.DataFrame, score: str = "score") -> dict[str, Any]:
    """Does cost explain probe scores once severity and the prompt's dataset are known?

    A robust (HC3) Wald test on the cost levels, with severity levels and dataset as fixed
    effects (:func:`expected_harm.stats.factor_wald_test`): sets differ in style as well as in
    cost, and a probe partly reads style. Both labels enter as categories, so a U-shape in cost
    (the paper's bimodality) counts too.

    Returns:
        ``test``, the :class:`~expected_harm.stats.WaldTest` for cost; ``linear``, the fitted
        ``score ~ severity + cost + C(dataset)`` model with numeric labels and HC3 errors, for
        its slopes; ``n``.
    """
    import statsmodels.formula.api as smf

    from expected_harm.stats import factor_wald_test

    data = frame[[score, "severity", "cost", "dataset"]].dropna().rename(columns={score: "score"})
    test = factor_wald_test(data, "score", ["cost"], ["severity", "dataset"])
    dataset = " + C(dataset)" if data["dataset"].nunique() > 1 else ""
    linear = smf.ols(f"score ~ severity + cost{dataset}", data).fit(cov_type="HC3")
    return {"test": test, "linear": linear, "n": len(data)}
