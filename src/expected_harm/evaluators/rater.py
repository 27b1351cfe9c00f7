"""The trained rater: prompt → cost and severity (1–5) with an expected value.

Two read-outs of the embedded model's hidden states compete for each dimension: a ridge
regression on the level, and an ordinal model that regresses each threshold indicator
"level > k" (k = 1…4; the cumulative decomposition of Frank & Hall 2001, with ridge instead of
logistic regressions, which keeps nested cross-validation within minutes on two cores), whose
expected level is 1 + Σ_k Pr(level > k), each term clipped to [0, 1]. The
model, layer, pooling and penalty are chosen by cross-validation; with ``nested`` the choice is
made inside each outer training fold, so every reported agreement is out of fold.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from expected_harm.evaluators.features import Featurizer, HiddenStates, prompt_text
from expected_harm.evaluators.linear import LinearHead, fit_ridge
from expected_harm.evaluators.selection import Setting, choose
from expected_harm.rating import SCORES, rubric_version
from expected_harm.stats import agreement

DIMENSIONS = ("cost", "severity")
LEVELS = (1, 2, 3, 4, 5)


def fit_ordinal(x, y, *, position, layer, penalty) -> list[LinearHead]:
    """One ridge head per threshold k = 1…4, on the indicator "level > k"."""
    return [fit_ridge(x, (y > k).astype(float), position=position, layer=layer, alpha=penalty)
            for k in LEVELS[:-1]]


def fit_ridge_level(x, y, *, position, layer, penalty) -> list[LinearHead]:
    return [fit_ridge(x, y.astype(float), position=position, layer=layer, alpha=penalty)]


def expected_level(heads: Sequence[LinearHead], activations: np.ndarray) -> np.ndarray:
    """The expected 1–5 level: a ridge head's clipped value, or 1 + Σ_k clip(Pr(level > k))."""
    if len(heads) == 1:
        return np.clip(heads[0].decision(activations), 1, 5)
    return 1 + np.sum([np.clip(h.decision(activations), 0, 1) for h in heads], axis=0)


def weighted_kappa(y: np.ndarray, expected: np.ndarray) -> float:
    """Quadratic-weighted κ of the rounded expected levels (:func:`~stats.agreement`)."""
    return agreement(y, np.round(expected)).quadratic_kappa


MODELS = {"ridge": fit_ridge_level, "ordinal": fit_ordinal}


def select(features: Mapping[str, np.ndarray], y: np.ndarray, *, layers: Sequence[int],
           penalties: Mapping[str, Sequence[float]], folds: int) -> tuple[str, Setting, list]:
    """The model kind and setting with the best cross-validated weighted κ on these rows."""
    groups = [str(i) for i in range(len(y))]  # every item its own group: plain k-fold
    best: tuple[float, str, Setting] | None = None
    tried = []
    for kind, fit in MODELS.items():
        setting, scores = choose(features, y, groups, layers=layers, penalties=penalties[kind],
                                 fit=fit, predict=expected_level, score=weighted_kappa,
                                 folds=folds)
        tried += [{"model": kind, **row} for row in scores]
        top = max(row["cv_score"] for row in scores)
        if best is None or top > best[0]:
            best = (top, kind, setting)
    assert best is not None
    return best[1], best[2], tried


def fit_selected(features: Mapping[str, np.ndarray], y: np.ndarray, kind: str,
                 setting: Setting) -> list[LinearHead]:
    x = features[setting.position][:, setting.layer]
    return MODELS[kind](x, y, position=setting.position, layer=setting.layer,
                        penalty=setting.penalty)


def nested_predictions(features: Mapping[str, np.ndarray], labels: pd.DataFrame, *,
                       layers: Sequence[int], penalties: Mapping[str, Sequence[float]],
                       folds: int = 5, seed: int = 0) -> pd.DataFrame:
    """Out-of-fold expected levels for every item, each chosen and fitted without its fold.

    Outer folds are stratified by set, so every fold holds items of every set.

    Returns:
        ``labels`` with ``<dimension>_expected`` and ``<dimension>_model`` (the choice made in
        that item's outer fold) for cost and severity.
    """
    out = labels.copy()
    outer = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for dimension in DIMENSIONS:
        y = labels[dimension].to_numpy(dtype=int)
        expected = np.full(len(y), np.nan)
        chosen = np.empty(len(y), dtype=object)
        for train, test in outer.split(y, labels["dataset"]):
            part = {p: f[train] for p, f in features.items()}
            kind, setting, _ = select(part, y[train], layers=layers, penalties=penalties,
                                      folds=folds)
            heads = fit_selected(part, y[train], kind, setting)
            expected[test] = expected_level(heads, features[setting.position][test])
            chosen[test] = f"{kind}, layer {setting.layer + 1}, {setting.position}"
        out[f"{dimension}_expected"] = expected
        out[f"{dimension}_model"] = chosen
    return out


def agreement_table(predictions: pd.DataFrame) -> pd.DataFrame:
    """Out-of-fold quadratic-weighted κ and exact agreement per dimension, overall and by set."""
    rows = []
    for dimension in DIMENSIONS:
        for name, part in [("all sets", predictions), *predictions.groupby("dataset")]:
            a = agreement(part[dimension], np.round(part[f"{dimension}_expected"]))
            rows.append({"dimension": dimension, "set": name, "weighted_kappa": a.quadratic_kappa,
                         "exact": a.exact, "within_one": a.within_one, "n": a.n})
    return pd.DataFrame(rows)


def save_rater(heads: Mapping[str, tuple[str, list[LinearHead]]], path: Path,
               **meta: Any) -> None:
    payload = {**meta, "dimensions": {d: {"model": kind, "heads": [h.to_json() for h in hs]}
                                      for d, (kind, hs) in heads.items()}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")


class TrainedRater:
    """Rates prompts for cost and severity from SmolLM2-135M's hidden states, offline.

    Its frame has the columns of :meth:`expected_harm.rating.Rater.rate`. Only overall cost and
    severity are predicted: the four cost dimensions are NaN, never a guess, and ``rationale``
    is empty (a linear read-out gives none).

    Args:
        parameters: The stored JSON (``src/expected_harm/data/evaluators/rater.json`` by default).
        featurize: Where activations come from (the cached embedded model by default).
    """

    spec = "trained:smollm2-135m"

    def __init__(self, parameters: Path | None = None, *,
                 featurize: Featurizer | None = None) -> None:
        from expected_harm.evaluators.judge import evaluators_dir

        path = parameters or evaluators_dir() / "rater.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found; run `expected-harm evaluators train`")
        raw = json.loads(path.read_text())
        self.heads = {d: [LinearHead.from_json(h) for h in raw["dimensions"][d]["heads"]]
                      for d in DIMENSIONS}
        self.featurize = featurize or HiddenStates().featurizer("prompt")

    def rate(self, prompts: Sequence[str]) -> pd.DataFrame:
        """One row per prompt: levels and expected values of cost and severity, status ``ok``.

        A prompt that is not a string gets status ``error`` and no scores.
        """
        usable = [i for i, p in enumerate(prompts) if isinstance(p, str)]
        texts = [prompt_text(prompts[i]) for i in usable]
        expected = {d: np.full(len(prompts), np.nan) for d in DIMENSIONS}
        cache: dict[str, np.ndarray] = {}
        for dimension, heads in self.heads.items():
            position = heads[0].position
            if texts and position not in cache:
                cache[position] = self.featurize(texts, position)
            if texts:
                expected[dimension][usable] = expected_level(heads, cache[position])
        rows = []
        for i in range(len(prompts)):
            ok = not np.isnan(expected["cost"][i])
            rows.append({
                **{name: np.nan for name in SCORES},
                "cost": float(np.round(expected["cost"][i])) if ok else np.nan,
                "severity": float(np.round(expected["severity"][i])) if ok else np.nan,
                "cost_expected": expected["cost"][i], "severity_expected": expected["severity"][i],
                "rationale": None, "status": "ok" if ok else "error",
                "error": None if ok else "the prompt is not text",
                "rater": self.spec, "rubric_version": rubric_version(),
            })
        return pd.DataFrame(rows)


def out_of_fold_ratings(items: pd.DataFrame, folder: Path | None = None) -> pd.DataFrame:
    """The trained rater's out-of-fold ratings of reference-labelled items, for agreement.

    The stored rater learnt every reference label, so its own rating of a labelled item is
    in-sample. Where a page compares the rater with the reference labels it reads these
    instead: each item's rating by a model chosen and fitted without that item's fold
    (``rater_out_of_fold.csv``, written by ``expected-harm evaluators train``).

    Args:
        items: ``dataset`` (a dataset name) and ``item_id`` of reference-labelled items.
        folder: Where the stored tables are (the package data's by default).

    Returns:
        One row per item with the columns of :meth:`TrainedRater.rate`.

    Raises:
        ValueError: An item has no out-of-fold rating (it carries no reference label).
    """
    from expected_harm.datasets import parse_dataset_spec
    from expected_harm.evaluators.judge import evaluators_dir
    from expected_harm.rating import rubric_version
    from expected_harm.runcard import record

    record("rater", name="trained (out-of-fold ratings)", version=rubric_version())
    stored = pd.read_csv((folder or evaluators_dir()) / "rater_out_of_fold.csv",
                         dtype={"item_id": str})
    stored["dataset"] = [parse_dataset_spec(s).dataset for s in stored["dataset"]]
    stored = stored.drop_duplicates(["dataset", "item_id"]).set_index(["dataset", "item_id"])
    keys = list(zip(items["dataset"], items["item_id"].astype(str)))
    missing = [k for k in keys if k not in stored.index]
    if missing:
        raise ValueError(f"{len(missing)} item(s) have no out-of-fold rating (no reference "
                         f"label), e.g. {missing[0]}")
    found = stored.loc[keys]
    rows = []
    for (_, row) in found.iterrows():
        rows.append({
            **{name: np.nan for name in SCORES},
            "cost": float(np.round(row["cost_expected"])),
            "severity": float(np.round(row["severity_expected"])),
            "cost_expected": row["cost_expected"], "severity_expected": row["severity_expected"],
            "rationale": None, "status": "ok", "error": None,
            "rater": f"{TrainedRater.spec} (out of fold)", "rubric_version": rubric_version(),
        })
    return pd.DataFrame(rows)
