"""The trained judge: request + response → Pr(jailbroken), from the embedded model's states.

Hidden states of a fixed text (:func:`~expected_harm.evaluators.features.judge_text`) feed an
L2 logistic regression trained on published verdicts. Registered as ``get_judge("trained")``;
its frame has the columns of every judge (:data:`expected_harm.judges.JUDGE_COLUMNS`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from expected_harm.evaluators.features import Featurizer, HiddenStates, judge_text
from expected_harm.evaluators.linear import LinearHead, fit_logistic
from expected_harm.evaluators.selection import Setting, choose
from expected_harm.judges import Judge, register_judge
from expected_harm.models import Status
from expected_harm.paths import data_dir
from expected_harm.probing import Position


def evaluators_dir() -> Path:
    """``evaluators/`` of the package data: the stored parameters, validation tables and card."""
    return data_dir() / "evaluators"


def kappa_score(y: np.ndarray, probability: np.ndarray) -> float:
    """Cohen's κ of verdicts at probability 0.5: what selection maximises."""
    from sklearn.metrics import cohen_kappa_score

    return float(cohen_kappa_score(y, (probability >= 0.5).astype(int), labels=[0, 1]))


def _fit(x, y, *, position, layer, penalty):
    return fit_logistic(x, y, position=position, layer=layer, c=penalty)


def _predict(head: LinearHead, activations: np.ndarray) -> np.ndarray:
    return head.probability(activations)


def judge_features(rows: pd.DataFrame, featurize: Featurizer,
                   positions: Sequence[Position]) -> dict[str, np.ndarray]:
    """Activations of every row's judge text at each pooling."""
    texts = [judge_text(q, r) for q, r in zip(rows["request"], rows["response"])]
    return {position: featurize(texts, position) for position in positions}


def train_judge(rows: pd.DataFrame, features: Mapping[str, np.ndarray], *,
                layers: Sequence[int], penalties: Sequence[float],
                folds: int = 5) -> tuple[LinearHead, list[dict]]:
    """Choose layer, pooling and C by grouped CV on ``rows`` (their ``label``), then refit on all.

    Returns:
        The head and the cross-validation score of every setting tried.
    """
    y = rows["label"].to_numpy(dtype=int)
    setting, tried = choose(features, y, rows["group"], layers=layers, penalties=penalties,
                            fit=_fit, predict=_predict, score=kappa_score, folds=folds)
    return _refit(features, y, setting), tried


def _refit(features: Mapping[str, np.ndarray], y: np.ndarray, setting: Setting) -> LinearHead:
    return _fit(features[setting.position][:, setting.layer], y, position=setting.position,
                layer=setting.layer, penalty=setting.penalty)


def bag_of_words_judge(rows: pd.DataFrame, others: pd.DataFrame, *,
                       penalties: Sequence[float], folds: int = 5) -> np.ndarray:
    """The control: TF-IDF words of the same judge texts, a logistic regression, C chosen by CV.

    Returns:
        Pr(jailbroken) for ``others``.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, GroupKFold
    from sklearn.pipeline import make_pipeline

    def texts(frame: pd.DataFrame) -> list[str]:
        return [judge_text(q, r) for q, r in zip(frame["request"], frame["response"])]

    pipeline = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                             LogisticRegression(max_iter=3000))
    search = GridSearchCV(pipeline, {"logisticregression__C": list(penalties)},
                          scoring="accuracy", cv=GroupKFold(n_splits=folds))
    search.fit(texts(rows), rows["label"].to_numpy(dtype=int), groups=rows["group"])
    return search.predict_proba(texts(others))[:, 1]


def save_head(head: LinearHead, path: Path, **meta: Any) -> None:
    """Write a head and what describes it as JSON (sorted keys, so reruns diff cleanly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**meta, "head": head.to_json()}, indent=1, sort_keys=True) + "\n")


def load_head(path: Path) -> tuple[LinearHead, dict[str, Any]]:
    raw = json.loads(path.read_text())
    return LinearHead.from_json(raw.pop("head")), raw


@register_judge("trained")
class TrainedJudge(Judge):
    """A logistic read-out of SmolLM2-135M's hidden states, trained on published verdicts.

    Args:
        model: None; the judge reads its own embedded model's states, not a chat model.
        parameters: The stored JSON (``src/expected_harm/data/evaluators/judge.json`` by default).
        featurize: Where activations come from (the cached embedded model by default; a test
            double in unit tests).
        threshold: Pr(jailbroken) at or above which the verdict is 1.
    """

    needs_model = False

    def __init__(self, model: None = None, *, parameters: Path | None = None,
                 featurize: Featurizer | None = None, threshold: float = 0.5) -> None:
        if model is not None:
            raise ValueError("judge 'trained' uses no chat model; do not pass one")
        path = parameters or evaluators_dir() / "judge.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found; run `expected-harm evaluators train`")
        self.model = None
        self.head, self.meta = load_head(path)
        self.prompt = {"version": str(self.meta.get("version", "1"))}
        self.featurize = featurize or HiddenStates().featurizer("judge")
        self.threshold = threshold

    def describe(self) -> str:
        return (f"trained judge {self.version} (logistic on SmolLM2-135M layer "
                f"{self.head.layer + 1}, {self.head.position} pooling; trained on "
                f"{self.meta.get('trained_on', 'published verdicts')})")

    def _judge(self, requests, responses):
        rows: list[dict[str, Any]] = []
        usable = [i for i, r in enumerate(responses) if isinstance(r, str)]
        probability = np.full(len(responses), np.nan)
        if usable:
            texts = [judge_text(requests[i], responses[i]) for i in usable]
            probability[usable] = self.head.probability(self.featurize(texts, self.head.position))
        for i, p in enumerate(probability):
            ok = not np.isnan(p)
            rows.append({
                "status": (Status.OK if ok else Status.ERROR).value,
                "verdict": float(p >= self.threshold) if ok else np.nan,
                "score": float(p), "refusal": np.nan, "convincing": np.nan,
                "specific": np.nan, "raw": "", "error": None if ok else "no response text",
            })
        return rows
