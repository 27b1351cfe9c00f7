"""Choosing a layer, pooling and penalty by cross-validation on training rows alone.

Folds are grouped (by request for the judge, by dataset for the guard), so the score of a
setting says how it does on requests it never saw, and a held-out set never chooses its model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import GroupKFold

from expected_harm.evaluators.linear import LinearHead
from expected_harm.probing import Position

#: (features (n × hidden), targets, position, layer, penalty) → fitted head.
Fit = Callable[..., LinearHead]
#: (targets, out-of-fold predictions) → a score, higher is better.
Score = Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class Setting:
    position: Position
    layer: int
    penalty: float


def grouped_folds(groups: Sequence[str], folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Deterministic grouped folds: no group is split between training and test."""
    groups = np.asarray(groups)
    folds = min(folds, len(np.unique(groups)))
    return list(GroupKFold(n_splits=folds).split(groups, groups=groups))


def out_of_fold(features: Mapping[str, np.ndarray], y: np.ndarray, setting: Setting, fit: Fit,
                predict: Callable[[LinearHead, np.ndarray], np.ndarray],
                splits: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Predictions for every row from heads fitted without its fold.

    A fold whose training rows hold one class only (a guard's fold without any benign set)
    cannot be fitted; its rows stay NaN and the score leaves them out.
    """
    x = features[setting.position]
    predicted = np.full(len(y), np.nan)
    for train, test in splits:
        if np.unique(y[train]).size < 2:
            continue
        head = fit(x[train, setting.layer], y[train], position=setting.position,
                   layer=setting.layer, penalty=setting.penalty)
        predicted[test] = predict(head, x[test])
    return predicted


def choose(features: Mapping[str, np.ndarray], y: np.ndarray, groups: Sequence[str], *,
           layers: Sequence[int], penalties: Sequence[float], fit: Fit,
           predict: Callable[[LinearHead, np.ndarray], np.ndarray], score: Score,
           folds: int = 5) -> tuple[Setting, list[dict]]:
    """The setting with the best grouped cross-validated score, and every setting's score.

    Ties go to the first setting in (position, layer, penalty) order, so the choice is
    deterministic.
    """
    splits = grouped_folds(groups, folds)
    tried = []
    for position in features:
        for layer in layers:
            for penalty in penalties:
                setting = Setting(position, layer, penalty)
                predicted = out_of_fold(features, y, setting, fit, predict, splits)
                known = ~np.isnan(predicted)
                tried.append({"position": position, "layer": layer + 1, "penalty": penalty,
                              "cv_score": score(y[known], predicted[known])})
    best = max(range(len(tried)), key=lambda i: (tried[i]["cv_score"], -i))
    row = tried[best]
    return Setting(row["position"], row["layer"] - 1, row["penalty"]), tried
