"""Inverse risk calibration: does attack success fall or rise with a request's execution cost?

A well-calibrated model is hardest to jailbreak where harm is most likely to follow: on cheap,
easily executed requests. Chen et al. (2026, finding 2) measure the opposite. This module holds
what notebook ``02_calibration`` adds to the shared pipeline
(:func:`expected_harm.pipeline.run_grid`: items → attack → target → judge, one tidy frame): the
labelled items it draws, attack success rates by level and a logistic regression of success on
cost.

Cost and severity come from the reference labels of the threat-distribution section, or from a
rater through the same :class:`~expected_harm.rating.Rater` and response cache, so nothing is
rated twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from expected_harm.annotations import ANNOTATED_SETS
from expected_harm.stats import proportions_by_group


def benchmark_sets() -> tuple[str, ...]:
    """The annotated sets that are benchmarks (the real-world sets hold users' prompts)."""
    from expected_harm.datasets import parse_dataset_spec

    return tuple(s for s in ANNOTATED_SETS if parse_dataset_spec(s).entry.group == "benchmark")


def calibration_items(benchmarks: Sequence[str], per_benchmark: int, seed: int) -> pd.DataFrame:
    """Reference-labelled items with prompts, spread over the cost levels of each benchmark.

    Within a benchmark, items are drawn round-robin across the cost levels present (in a seeded
    random order inside each level), so that cheap and costly requests are both represented even
    when a benchmark has few of one kind: ASR per cost level needs items at every level.

    Returns:
        Columns ``dataset``, ``item_id``, ``prompt``, ``cost``, ``severity``.
    """
    from expected_harm.datasets import load, spec_of
    from expected_harm.threats import reference_labels

    if per_benchmark < 1:
        raise ValueError(f"per_benchmark must be at least 1, got {per_benchmark}")
    known = benchmark_sets()
    unknown = sorted(set(benchmarks) - set(known))
    if unknown:
        raise ValueError(
            f"not a reference-labelled benchmark: {', '.join(unknown)}; "
            f"choose from {', '.join(known)}"
        )
    labels = reference_labels(list(benchmarks))
    parts = []
    for spec in benchmarks:
        items = labels[spec_of(labels) == spec].sample(frac=1.0, random_state=seed)
        items = items.assign(_turn=items.groupby("cost").cumcount())
        items = items.sort_values(["_turn", "cost"]).head(per_benchmark)
        prompts = load(spec).set_index("item_id")["prompt"]
        parts.append(items.assign(prompt=items["item_id"].map(prompts).to_numpy()))
    frame = pd.concat(parts, ignore_index=True)
    return frame[["dataset", "item_id", "prompt", "cost", "severity"]]


def coverage_text(items: pd.DataFrame) -> str:
    """Whether the draw reached every cost level that each benchmark's reference labels hold.

    The sentence the section prints instead of assuming it: with fewer items than levels, a
    benchmark's costliest (or cheapest) requests are missing from every rate.
    """
    from expected_harm.threats import reference_labels

    labels = reference_labels(list(items["dataset"].unique()))
    missed = {
        name: sorted(set(labels.loc[labels["dataset"] == name, "cost"]) - set(part["cost"]))
        for name, part in items.groupby("dataset", sort=False)
    }
    missed = {name: levels for name, levels in missed.items() if levels}
    if not missed:
        return "Every cost level present in each benchmark's reference labels is drawn."
    listed = "; ".join(f"{name}: {', '.join(map(str, levels))}" for name, levels in missed.items())
    return (f"Not every cost level is drawn (missing {listed}); raise items_per_benchmark to reach "
            "them.")


def rated_levels(items: pd.DataFrame, rater: str) -> pd.DataFrame:
    """The items with cost and severity from a rater model instead of the reference labels.

    Goes through :func:`expected_harm.threats.rate_items` (same Rater, same cache as the
    threat-distribution section). A failed rating leaves cost and severity missing: such rows
    drop out of every by-level table rather than take a default level.
    """
    from expected_harm.threats import rate_items

    rated = rate_items(items.assign(group="benchmark"), rater)
    return items.assign(cost=rated["cost"].to_numpy(), severity=rated["severity"].to_numpy())


def asr_by_level(
    frame: pd.DataFrame, level: str, by: Sequence[str] = ("target", "attack")
) -> pd.DataFrame:
    """Attack success rate per group and level of ``level`` (``cost`` or ``severity``).

    Rows without a verdict (``success`` missing) are left out. Wilson 95% intervals.
    """
    if level not in frame.columns:
        raise ValueError(f"no column {level!r}; levels are 'cost' or 'severity'")
    data = frame.dropna(subset=[level]).astype({level: int})
    return proportions_by_group(data, [*by, level], "success")


def asr_by_levels(
    frame: pd.DataFrame, by: Sequence[str] = ("target", "attack"), success: str = "success"
) -> pd.DataFrame:
    """:func:`asr_by_level` for cost and for severity, stacked for one figure.

    Returns:
        The group columns, ``level`` (``"cost"`` or ``"severity"``), ``value`` (1–5), ``rate``,
        ``low``, ``high``, ``successes`` and ``n`` (rows with a verdict).
    """
    parts = []
    for level in ("cost", "severity"):
        data = frame.dropna(subset=[level]).astype({level: int})
        rates = proportions_by_group(data, [*by, level], success)
        parts.append(rates.rename(columns={level: "value"}).assign(level=level))
    return pd.concat(parts, ignore_index=True)


def interval_table(rates: pd.DataFrame, level: str,
                   by: Sequence[str] = ("target", "attack")) -> pd.DataFrame:
    """ASR per group (rows) and level (columns) as ``"40% [12%, 77%] (n=5)"`` cells; – where empty."""
    cells = rates.assign(cell=[f"{r:.0%} [{lo:.0%}, {hi:.0%}] (n={n})" for r, lo, hi, n in
                               zip(rates["rate"], rates["low"], rates["high"], rates["n"])])
    return cells.pivot(index=list(by), columns=level, values="cell").fillna("–")


def cost_regression(frame: pd.DataFrame,
                    cluster: Sequence[str] | None = ("dataset", "item_id")):
    """Logistic regression of success on cost and severity, targets and attacks as factors.

    A negative cost slope means success falls as requests get costlier: the inverse calibration
    that Chen et al. (2026) report. A positive one is the calibrated direction (hardest to
    jailbreak on the cheap requests that are most likely to be acted on).

    Every item appears once per target and attack, so its rows are not independent: standard
    errors are cluster-robust by item (``cluster``, the columns naming an item; None treats
    rows as independent).

    Raises:
        ValueError: When the data cannot identify the slopes (constant outcome, separation).
    """
    from expected_harm.stats import logistic_regression

    return logistic_regression(frame, "success", ["cost", "severity"], ["target", "attack"],
                               cluster=None if cluster is None else list(cluster))


def coefficient_table(model) -> pd.DataFrame:
    """Coefficients of a fitted regression with 95% intervals, odds ratios and p-values."""
    interval = model.conf_int()
    return pd.DataFrame(
        {
            "coefficient": model.params,
            "95% low": interval[0],
            "95% high": interval[1],
            "odds ratio": np.exp(model.params),
            "p": model.pvalues,
        }
    )
