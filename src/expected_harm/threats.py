"""The threat-distribution analysis: how costly and how severe are benchmark vs real-world prompts?

Joins the reference annotations with the dataset registry's groups, runs a configured rater on
the same items, and summarises both. The notebook ``01_threat_distribution`` calls these functions.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from expected_harm.annotations import ANNOTATED_SETS, load_labels, load_sample
from expected_harm.stats import (
    Estimate,
    bootstrap_mean,
    two_stage_bootstrap_mean,
    two_stage_bootstrap_ratio,
)

GROUP_ORDER = ("benchmark", "real_world")


def _group_of(dataset: str) -> str:
    from expected_harm.datasets import get_dataset

    return get_dataset(dataset).group


def reference_labels(sets: Sequence[str] = ANNOTATED_SETS) -> pd.DataFrame:
    """Reference labels of the chosen sets, with each set's group (``benchmark``/``real_world``)."""
    from expected_harm.datasets import spec_of

    unknown = sorted(set(sets) - set(ANNOTATED_SETS))
    if unknown:
        raise ValueError(
            f"no reference labels for {', '.join(unknown)}; "
            f"annotated sets: {', '.join(ANNOTATED_SETS)}"
        )
    labels = load_labels()
    labels = labels[spec_of(labels).isin(sets) & labels["in_sample"]].copy()  # 45 per set
    labels["group"] = labels["dataset"].map(_group_of)
    return labels.reset_index(drop=True)


def rater_items(sets: Sequence[str], per_set: int, seed: int) -> pd.DataFrame:
    """Each set's first ``per_set`` reference-sample items, in seeded random order, with prompts."""
    from expected_harm.datasets import load, spec_of

    if per_set < 1:
        raise ValueError(f"per_set must be at least 1, got {per_set}")
    sample = load_sample()
    parts = []
    for spec in sets:
        items = sample[spec_of(sample) == spec].sample(frac=1.0, random_state=seed).head(per_set)
        prompts = load(spec).set_index("item_id")["prompt"]
        parts.append(items.assign(prompt=items["item_id"].map(prompts).to_numpy()))
    frame = pd.concat(parts, ignore_index=True)
    frame["group"] = frame["dataset"].map(_group_of)
    return frame[["dataset", "item_id", "group", "prompt"]]


def rate_items(items: pd.DataFrame, rater_spec: str) -> pd.DataFrame:
    """Rate items with a model; the result keeps ids and group, drops the prompt text."""
    from expected_harm.rating import Rater

    ratings = Rater(rater_spec).rate(items["prompt"].tolist())
    return pd.concat([items.drop(columns="prompt").reset_index(drop=True), ratings], axis=1)


def _sets_of(frame: pd.DataFrame, column: str, group: str) -> list[pd.Series]:
    return [part[column] for _, part in frame[frame["group"] == group].groupby("dataset")]


def set_means(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Mean of ``column`` per set with a 95% bootstrap interval over its items."""
    rows = []
    for (group, dataset), part in frame.groupby(["group", "dataset"], sort=True):
        estimate = bootstrap_mean(part[column])
        rows.append({"group": group, "dataset": dataset, "mean": estimate.value,
                     "low": estimate.low, "high": estimate.high, "n": estimate.n})
    return pd.DataFrame(rows)


def group_means(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Mean of ``column`` per group, its sets weighted equally, with a two-stage 95% interval.

    The interval resamples sets, then items within sets
    (:func:`~expected_harm.stats.two_stage_bootstrap_mean`), so it reflects how much the sets
    of a group differ, not only how many items were read.
    """
    rows = []
    for group in sorted(frame["group"].unique()):
        estimate = two_stage_bootstrap_mean(_sets_of(frame, column, group))
        rows.append({"group": group, "mean": estimate.value, "low": estimate.low,
                     "high": estimate.high, "n": estimate.n,
                     "sets": frame.loc[frame["group"] == group, "dataset"].nunique()})
    return pd.DataFrame(rows)


def cost_ratio(frame: pd.DataFrame, column: str = "cost") -> Estimate:
    """How many times costlier benchmark prompts are than real-world ones.

    Each group's mean weighs its sets equally (a set, not an item, is the unit a benchmark is
    chosen by); the 95% interval resamples sets, then items within them, on both sides
    (:func:`~expected_harm.stats.two_stage_bootstrap_ratio`).
    """
    return two_stage_bootstrap_ratio(_sets_of(frame, column, "benchmark"),
                                     _sets_of(frame, column, "real_world"))


def level_shares(frame: pd.DataFrame, column: str, by: str = "dataset") -> pd.DataFrame:
    """Share of items at each level 1–5 of ``column`` within each ``by`` group (rows sum to 1)."""
    counts = pd.crosstab(frame[by], frame[column].astype(int)).reindex(
        columns=[1, 2, 3, 4, 5], fill_value=0
    )
    return counts.div(counts.sum(axis=1), axis=0)
