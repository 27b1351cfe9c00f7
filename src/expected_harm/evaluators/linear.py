"""Linear read-outs on hidden states, fitted with scikit-learn and stored as plain numbers.

A :class:`LinearHead` is what a trained evaluator keeps: the layer and pooling it reads, the
standardiser's means and scales, and the weights, so a prediction is
``(x − mean) / scale · coef + intercept``. It is written as JSON (never pickle) and read back
bit-identically (Python's float repr round-trips).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler

from expected_harm.probing import Position


@dataclass(frozen=True)
class LinearHead:
    """One linear read-out of one layer (0-based index) at one pooling."""

    position: Position
    layer: int
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def decision(self, activations: np.ndarray) -> np.ndarray:
        """The linear score of each row of (n, layers, hidden) activations."""
        x = activations[:, self.layer]
        return ((x - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef) \
            + self.intercept

    def probability(self, activations: np.ndarray) -> np.ndarray:
        """The logistic of :meth:`decision`, for a head fitted as a classifier."""
        return 1 / (1 + np.exp(-self.decision(activations)))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> LinearHead:
        return cls(raw["position"], int(raw["layer"]), tuple(raw["mean"]), tuple(raw["scale"]),
                   tuple(raw["coef"]), float(raw["intercept"]))


def _scaled(x: np.ndarray) -> tuple[StandardScaler, np.ndarray]:
    scaler = StandardScaler().fit(x)
    return scaler, scaler.transform(x)


def _head(position: Position, layer: int, scaler: StandardScaler, coef: np.ndarray,
          intercept: float) -> LinearHead:
    return LinearHead(position, layer, tuple(map(float, scaler.mean_)),
                      tuple(map(float, scaler.scale_)), tuple(map(float, coef)), float(intercept))


def fit_logistic(x: np.ndarray, y: np.ndarray, *, position: Position, layer: int,
                 c: float) -> LinearHead:
    """L2 logistic regression on standardised features of one layer (x: n × hidden)."""
    scaler, z = _scaled(x)
    model = LogisticRegression(C=c, max_iter=3000).fit(z, y)
    return _head(position, layer, scaler, model.coef_[0], model.intercept_[0])


def fit_ridge(x: np.ndarray, y: np.ndarray, *, position: Position, layer: int,
              alpha: float) -> LinearHead:
    """Ridge regression on standardised features of one layer (x: n × hidden)."""
    scaler, z = _scaled(x)
    model = Ridge(alpha=alpha).fit(z, y)
    return _head(position, layer, scaler, model.coef_, model.intercept_)
