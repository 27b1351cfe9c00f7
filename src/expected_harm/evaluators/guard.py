"""The trained guard: prompt → Pr(harmful), from the embedded model's hidden states.

A logistic read-out trained on benchmark harmful prompts against benign prompts. It is
validated one whole set at a time (leave one set out, the layer and penalty chosen by
cross-validation over the remaining sets alone), so its block and false-positive rates are on
sets it never saw; then it screens the FRACTURED decompositions message by message and on the
conversation so far.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from expected_harm.evaluators.features import Featurizer, HiddenStates, prompt_text
from expected_harm.evaluators.judge import _fit, _predict, evaluators_dir, load_head
from expected_harm.evaluators.linear import LinearHead
from expected_harm.evaluators.selection import choose
from expected_harm.guards import Guard, register_guard, screened_turns
from expected_harm.models import Status
from expected_harm.stats import wilson_interval


def balanced_accuracy(y: np.ndarray, probability: np.ndarray) -> float:
    """Mean of block rate and benign pass rate at 0.5: selection's score (sets are unbalanced)."""
    flagged = probability >= 0.5
    return float((flagged[y == 1].mean() + (~flagged[y == 0]).mean()) / 2)


def train_guard(rows: pd.DataFrame, features: Mapping[str, np.ndarray], *,
                layers: Sequence[int], penalties: Sequence[float],
                folds: int = 5) -> tuple[LinearHead, list[dict]]:
    """Choose layer, pooling and C by leave-sets-out CV (folds grouped by dataset), refit."""
    y = rows["label"].to_numpy(dtype=int)
    setting, tried = choose(features, y, rows["dataset"], layers=layers, penalties=penalties,
                            fit=_fit, predict=_predict, score=balanced_accuracy, folds=folds)
    x = features[setting.position][:, setting.layer]
    return _fit(x, y, position=setting.position, layer=setting.layer,
                penalty=setting.penalty), tried


def held_out_sets(rows: pd.DataFrame, features: Mapping[str, np.ndarray], *,
                  layers: Sequence[int], penalties: Sequence[float],
                  folds: int = 5) -> pd.DataFrame:
    """Each set scored by a guard trained and chosen on the other sets only.

    Returns:
        One row per set: ``dataset, kind`` (harmful/benign), ``flagged`` share with its Wilson
        interval (the block rate of a harmful set, the false-positive rate of a benign one),
        ``n`` and the setting chosen without it.
    """
    out = []
    for dataset in rows["dataset"].unique():
        test = (rows["dataset"] == dataset).to_numpy()
        train_rows = rows[~test].reset_index(drop=True)
        head, _ = train_guard(train_rows, {p: f[~test] for p, f in features.items()},
                              layers=layers, penalties=penalties, folds=folds)
        flagged = head.probability(features[head.position][test]) >= 0.5
        share = wilson_interval(int(flagged.sum()), int(test.sum()))
        harmful = bool(rows.loc[test, "label"].iloc[0])
        out.append({"dataset": dataset, "kind": "harmful" if harmful else "benign",
                    "flagged": share.value, "low": share.low, "high": share.high,
                    "n": share.n, "chosen": f"layer {head.layer + 1}, {head.position}"})
    return pd.DataFrame(out)


@register_guard("trained")
class TrainedGuard(Guard):
    """The offline guard: flags a prompt when its Pr(harmful) reaches the threshold.

    A conversation is read as its screened turns' text, one turn per line (what a guard that
    reads the history sees); a single text is read as it is. ``score`` is Pr(harmful); there
    are no policy categories, so ``categories`` is empty.

    Args:
        model: None; the guard reads its own embedded model's states, not a chat model.
        parameters: The stored JSON (``src/expected_harm/data/evaluators/guard.json`` by default).
        featurize: Where activations come from (the cached embedded model by default; a test
            double in unit tests).
        threshold: Pr(harmful) at or above which a prompt is flagged.
    """

    needs_model = False

    def __init__(self, model: None = None, *, parameters: Path | None = None,
                 featurize: Featurizer | None = None, threshold: float = 0.5) -> None:
        super().__init__(model)
        path = parameters or evaluators_dir() / "guard.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found; run `expected-harm evaluators train`")
        self.head, self.meta = load_head(path)
        self.featurize = featurize or HiddenStates().featurizer("prompt")
        self.threshold = threshold

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "1"))

    def describe(self) -> str:
        return (f"trained guard {self.version} (logistic on SmolLM2-135M layer "
                f"{self.head.layer + 1}, {self.head.position} pooling, flags at "
                f"Pr(harmful) ≥ {self.threshold:g})")

    def _screen(self, conversations):
        texts = ["\n".join(m["content"] for m in screened_turns(c)) for c in conversations]
        score = self.head.probability(self.featurize([prompt_text(t) for t in texts],
                                                     self.head.position)) if texts else []
        return [{"status": Status.OK.value, "flagged": float(p >= self.threshold),
                 "categories": "", "score": float(p), "raw": "", "error": None} for p in score]


def decomposition_block_rates(rows: pd.DataFrame, guard: TrainedGuard) -> pd.DataFrame:
    """Share of decompositions blocked, per kind: any message flagged alone, or cumulatively.

    ``per message`` screens each sub-question alone (a guard without memory); ``cumulative``
    screens the conversation so far at every step (a guard that reads the history). A
    decomposition counts as blocked when any of its screens is flagged.
    """
    frame = rows.assign(message=guard.screen(rows["sub_question"].tolist())["flagged"].to_numpy(),
                        cumulative_flag=guard.screen(rows["cumulative"].tolist())["flagged"]
                        .to_numpy())
    blocked = frame.groupby(["kind", "decomposition_id"])[["message", "cumulative_flag"]].max()
    out = []
    for kind, part in blocked.groupby(level="kind"):
        for mode, column in (("per message", "message"), ("cumulative", "cumulative_flag")):
            share = wilson_interval(int(part[column].sum()), len(part))
            out.append({"kind": kind, "screen": mode, "blocked": share.value, "low": share.low,
                        "high": share.high, "decompositions": share.n,
                        "messages_flagged": float(frame.loc[frame["kind"] == kind, column].mean())})
    return pd.DataFrame(out)
