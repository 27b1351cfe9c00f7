"""Retrain the judge, the rater and the guard from the registry, and write their validation.

``expected-harm evaluators train`` runs :func:`train`: every row comes from the dataset registry
and the reference labels, features from the cached embedded model, choices from
cross-validation on training rows; the human-labelled JBB rows and held-out sets only score.
Everything written to ``src/expected_harm/data/evaluators/`` is JSON or CSV: parameters, the
setting chosen, the validation tables the book shows, and the wall time of each stage
(``timing.json``, the one file that differs between reruns).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from expected_harm.evaluators import data, guard, judge, rater
from expected_harm.evaluators.features import Featurizer, Kind, prompt_text
from expected_harm.paths import writable_data_dir


class Features(Protocol):
    def featurizer(self, kind: Kind) -> Featurizer: ...


@dataclass(frozen=True)
class Config:
    """Sizes and search grids. Defaults fit a 2-core CPU; ``None`` sizes use every row.

    Layers are 0-based indices into SmolLM2-135M's 30 blocks.
    """

    seed: int = 0
    artifacts: int | None = None
    fractured: int | None = 500
    benign_per_set: int = 200
    decompositions_per_kind: int = 40
    judge_positions: tuple[str, ...] = ("mean",)
    prompt_positions: tuple[str, ...] = ("last", "mean")
    layers: tuple[int, ...] = (9, 14, 19, 24, 29)
    judge_penalties: tuple[float, ...] = (0.01, 0.1, 1.0)
    rater_penalties: dict[str, tuple[float, ...]] = field(default_factory=lambda: {
        "ridge": (100.0, 1000.0, 10000.0), "ordinal": (100.0, 1000.0, 10000.0)})
    guard_penalties: tuple[float, ...] = (0.01, 0.1)
    folds: int = 5
    version: str = "1"


PUBLISHED_VERDICTS = {"jbb_artifacts": "JailbreakBench judge (Llama-3-70B)",
                      "fractured_sorry_bench:conversations": "GPT-4o (FRACTURED)"}
SHORT = {"jbb_artifacts": "artifacts", "fractured_sorry_bench:conversations": "FRACTURED"}


def _write(frame: pd.DataFrame, path: Path, index: bool = False) -> None:
    frame.to_csv(path, index=index, float_format="%.6g")


def _judge_part(config: Config, features: Features, out: Path) -> dict[str, Any]:
    from expected_harm.judges import get_judge, validation_table
    from expected_harm.stats import bootstrap_binary_agreement

    featurize = features.featurizer("judge")
    human = data.human_rows()
    sources, removed = {}, {}
    for source, n in (("jbb_artifacts", config.artifacts),
                      ("fractured_sorry_bench:conversations", config.fractured)):
        sources[source], removed[source] = data.judge_training(source, n, config.seed, human)
    grid = {"layers": config.layers, "penalties": config.judge_penalties, "folds": config.folds}
    feats = {s: judge.judge_features(r, featurize, config.judge_positions)
             for s, r in sources.items()}
    human_feats = judge.judge_features(human, featurize, config.judge_positions)

    heads, selection = {}, []
    for source, rows in sources.items():
        heads[source], tried = judge.train_judge(rows, feats[source], **grid)
        selection += [{"trained_on": SHORT[source], **t} for t in tried]
    both = pd.concat(list(sources.values()), ignore_index=True)
    both_feats = {p: np.concatenate([feats[s][p] for s in sources]) for p in feats[
        "jbb_artifacts"]}
    main, tried = judge.train_judge(both, both_feats, **grid)
    selection += [{"trained_on": "both", **t} for t in tried]

    def verdicts(head, activations):
        return (head.probability(activations[head.position]) >= 0.5).astype(float)

    pens = config.judge_penalties
    ours = {
        "trained judge (artifacts + FRACTURED)": verdicts(main, human_feats),
        "trained (artifacts only)": verdicts(heads["jbb_artifacts"], human_feats),
        "trained (FRACTURED only)": verdicts(heads["fractured_sorry_bench:conversations"],
                                             human_feats),
        "bag of words (artifacts + FRACTURED)": (judge.bag_of_words_judge(
            both, human, penalties=pens, folds=config.folds) >= 0.5).astype(float),
    }
    for phrases in ("arditi", "jailbreakbench"):
        frame = get_judge("refusal_phrases", phrases=phrases).judge(
            human["request"].tolist(), human["response"].tolist())
        ours[f"refusal phrases ({phrases} list)"] = frame["verdict"].to_numpy()
    table = validation_table(human, ours, seed=config.seed)
    _write(table, out / "judge_validation.csv", index=True)

    cross = []
    for train_on, score_on in (tuple(sources), tuple(reversed(list(sources)))):
        target = sources[score_on]
        reference = target["label"].to_numpy()
        words = judge.bag_of_words_judge(sources[train_on], target, penalties=pens,
                                         folds=config.folds)
        scored = bootstrap_binary_agreement(reference, {
            "trained judge": verdicts(heads[train_on], feats[score_on]),
            "bag of words": (words >= 0.5).astype(float)}, seed=config.seed)
        cross.append(scored.assign(trained_on=SHORT[train_on], scored_on=SHORT[score_on],
                                   reference=PUBLISHED_VERDICTS[score_on]))
    _write(pd.concat(cross).rename_axis("judge").reset_index(), out / "judge_cross_source.csv")
    _write(pd.DataFrame(selection), out / "judge_selection.csv")
    judge.save_head(main, out / "judge.json", version=config.version,
                    trained_on="JBB artifacts (Llama-3-70B verdicts) and FRACTURED "
                    "conversations (GPT-4o verdicts)",
                    rows={SHORT[s]: len(r) for s, r in sources.items()},
                    removed_as_duplicates={SHORT[s]: n for s, n in removed.items()},
                    config=asdict(config))
    return {"rows": {SHORT[s]: len(r) for s, r in sources.items()}, "removed": removed}


def _rater_part(config: Config, features: Features, out: Path) -> dict[str, Any]:
    featurize = features.featurizer("prompt")
    labels = data.labelled_prompts()
    texts = [prompt_text(p) for p in labels["prompt"]]
    feats = {p: featurize(texts, p) for p in config.prompt_positions}
    grid = {"layers": config.layers, "penalties": config.rater_penalties, "folds": config.folds}
    predictions = rater.nested_predictions(feats, labels, seed=config.seed, **grid)
    _write(rater.agreement_table(predictions), out / "rater_agreement.csv")
    _write(predictions[["dataset", "item_id", "cost", "severity", "cost_expected",
                        "severity_expected", "cost_model", "severity_model"]],
           out / "rater_out_of_fold.csv")
    heads, chosen = {}, {}
    for dimension in rater.DIMENSIONS:
        y = labels[dimension].to_numpy(dtype=int)
        kind, setting, _ = rater.select(feats, y, **grid)
        heads[dimension] = (kind, rater.fit_selected(feats, y, kind, setting))
        chosen[dimension] = f"{kind}, layer {setting.layer + 1}, {setting.position}"
    rater.save_rater(heads, out / "rater.json", version=config.version, chosen=chosen,
                     trained_on=f"{len(labels)} reference labels (AI-assistant labels)",
                     config=asdict(config))
    return {"items": len(labels), "chosen": chosen}


def _guard_part(config: Config, features: Features, out: Path) -> dict[str, Any]:
    featurize = features.featurizer("prompt")
    rows = data.guard_rows(config.benign_per_set, config.seed)
    texts = [prompt_text(p) for p in rows["prompt"]]
    feats = {p: featurize(texts, p) for p in config.prompt_positions}
    grid = {"layers": config.layers, "penalties": config.guard_penalties, "folds": config.folds}
    _write(guard.held_out_sets(rows, feats, **grid), out / "guard_held_out.csv")
    head, _ = guard.train_guard(rows, feats, **grid)
    judge.save_head(head, out / "guard.json", version=config.version,
                    trained_on={d: int(n) for d, n in rows.groupby("dataset").size().items()},
                    config=asdict(config))
    screen = guard.TrainedGuard(parameters=out / "guard.json", featurize=featurize)
    decompositions = data.decomposition_rows(config.decompositions_per_kind, config.seed)
    _write(guard.decomposition_block_rates(decompositions, screen),
           out / "guard_decompositions.csv")
    return {"prompts": len(rows)}


def train(config: Config | None = None, *, features: Features | None = None,
          out: Path | None = None) -> dict[str, Any]:
    """Train and validate all three evaluators; write parameters and tables to ``out``.

    Args:
        config: Sizes and grids (:class:`Config` defaults if None).
        features: Where activations come from (the embedded model, cached, if None).
        out: Output folder (``src/expected_harm/data/evaluators/`` if None).

    Returns:
        What was trained and how long each stage took (also written to ``timing.json``).
    """
    from expected_harm.evaluators.features import HiddenStates

    config = config or Config()
    features = features or HiddenStates()
    out = out or writable_data_dir() / "evaluators"
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {}
    for name, part in (("rater", _rater_part), ("judge", _judge_part), ("guard", _guard_part)):
        start = time.perf_counter()
        report[name] = part(config, features, out)
        report[name]["seconds"] = round(time.perf_counter() - start, 1)
    (out / "timing.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    return report


#: Files :func:`train` writes that must be identical on a rerun (all but ``timing.json``).
PARAMETER_FILES = ("judge.json", "rater.json", "guard.json")
