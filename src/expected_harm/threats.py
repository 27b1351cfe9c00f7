"""The threat-distribution analysis: how costly and how severe are benchmark vs real-world prompts?

Joins the reference annotations with the dataset registry's groups, runs a configured rater on
the same items, and summarises both. The notebook ``01_threat_distribution`` calls these functions.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from pandas.io.formats.style import Styler

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
    """Rate items (:func:`expected_harm.rating.get_rater`); keeps ids and group, drops prompts.

    The trained rater learnt the reference labels, so its ratings here are its out-of-fold
    ones (:func:`expected_harm.evaluators.rater.out_of_fold_ratings`): the agreement a page
    reports is never in-sample.
    """
    from expected_harm.rating import TRAINED_RATER, get_rater

    if rater_spec == TRAINED_RATER:
        from expected_harm.evaluators.rater import out_of_fold_ratings

        ratings = out_of_fold_ratings(items)
    else:
        ratings = get_rater(rater_spec).rate(items["prompt"].tolist())
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


# --- What notebook 01 shows: tables, readings and the values its prose quotes -----------------

#: Agreement columns (:class:`~expected_harm.stats.Agreement`) as the page names them, and formats.
AGREEMENT_COLUMNS = {"quadratic_kappa": "weighted κ", "spearman": "Spearman ρ", "exact": "exact",
                     "within_one": "within ±1"}
AGREEMENT_FORMAT = {"weighted κ": "{:.2f}", "Spearman ρ": "{:.2f}", "exact": "{:.0%}",
                    "within ±1": "{:.0%}", "n": "{:.0f}"}
#: How the group means and their intervals are formed, for captions.
TWO_STAGE = "sets weighted equally · 95% two-stage bootstrap (sets, then prompts within sets)"


def reference_source() -> str:
    """The provenance source of the reference labels: who wrote them, under which rubric."""
    from expected_harm.rating import rubric_version

    return f"reference labels (AI assistants, written protocol, rubric {rubric_version()})"


def reference_values(reference: pd.DataFrame) -> dict[str, object]:
    """The values the page's introduction quotes: how many reference labels, under which rubric."""
    from expected_harm.rating import rubric_version

    return {"n_reference": len(reference), "rubric": rubric_version()}


def self_agreement() -> pd.DataFrame:
    """Agreement of the reference labels' blind second pass with the first, on the sample."""
    from expected_harm import annotations

    return (annotations.self_agreement().loc["threat-distribution sample"]
            .rename(columns=AGREEMENT_COLUMNS))


def set_order(frame: pd.DataFrame, column: str = "cost") -> list[str]:
    """The sets in display order: benchmarks, then real-world sets, each by mean ``column``."""
    return (frame.groupby(["group", "dataset"])[column].mean().reset_index()
            .sort_values(["group", column])["dataset"].tolist())


def _interval(mean: float, low: float, high: float) -> str:
    """``"2.31 [2.05, 2.60]"``.

    Examples:
        >>> _interval(2.314, 2.05, 2.6)
        '2.31 [2.05, 2.60]'
    """
    return f"{mean:.2f} [{low:.2f}, {high:.2f}]"


def cost_values(reference: pd.DataFrame, paper_ratio: float) -> dict[str, str]:
    """The values the cost comparison's reading quotes: group means, ratio, cheapest benchmarks.

    ``paper_ratio`` is the paper's benchmark ÷ real-world ratio, quoted as a labelled reference
    and used only to say whether our direction agrees with it.
    """
    means = group_means(reference, "cost").set_index("group")
    ratio = cost_ratio(reference)
    set_cost = set_means(reference, "cost")
    per_set = set_cost[set_cost["group"] == "benchmark"].set_index("dataset")["mean"].sort_values()
    same_direction = (ratio.value > 1) == (paper_ratio > 1)
    return {
        "cheapest_benchmarks": ", ".join(per_set.index[:2]),
        "costliest_benchmarks": ", ".join(per_set.index[-2:]),
        "benchmark_range": f"{per_set.iloc[0]:.2f} to {per_set.iloc[-1]:.2f}",
        "direction": "agrees" if same_direction else "does not agree",
        "real_cost": _interval(*means.loc["real_world", ["mean", "low", "high"]]),
        "bench_cost": _interval(*means.loc["benchmark", ["mean", "low", "high"]]),
        "ratio": f"{ratio.value:.2f}× [{ratio.low:.2f}, {ratio.high:.2f}]",
        "paper_ratio": f"{paper_ratio:g}×",
    }


def cost_table(reference: pd.DataFrame) -> pd.DataFrame:
    """Mean cost per set, then per group (its sets weighted equally), as interval cells."""
    set_cost = set_means(reference, "cost")
    pooled = group_means(reference, "cost").assign(
        dataset=lambda f: "all " + f["sets"].astype(str) + " sets, weighted equally")
    table = pd.concat([pd.concat([part, pooled[pooled["group"] == group]])
                       for group, part in set_cost.groupby("group")], ignore_index=True)
    cells = [_interval(m, lo, hi) for m, lo, hi in zip(table["mean"], table["low"], table["high"])]
    return (table.assign(**{"mean cost [95% CI]": cells})
            .set_index(["group", "dataset"])[["mean cost [95% CI]", "n"]])


def ratio_table(reference: pd.DataFrame, paper_ratio: float) -> pd.DataFrame:
    """Benchmark ÷ real-world mean cost, ours beside the paper's (a labelled reference)."""
    ratio = cost_ratio(reference)
    return pd.DataFrame(
        {"this book (reference labels)": [f"{ratio.value:.2f} [{ratio.low:.2f}, {ratio.high:.2f}]"],
         "paper (reference only)": [f"{paper_ratio:g}"]},
        index=["benchmark ÷ real-world mean cost"],
    )


def cost_tables(reference: pd.DataFrame, paper_ratio: float) -> tuple[Styler, Styler]:
    """The per-set cost table and the ratio table, captioned with how they were computed."""
    source = reference_source()
    ratio = cost_ratio(reference)
    sets = int(group_means(reference, "cost")["sets"].sum())
    return (
        cost_table(reference).style.set_caption(
            f"Mean execution cost per set (bootstrap over prompts) and per group ({TWO_STAGE}). "
            f"{source}"),
        ratio_table(reference, paper_ratio).style.set_caption(
            f"Ratio of the group means, {TWO_STAGE} on both sides; n = {ratio.n} prompts in "
            f"{sets} sets"),
    )


def ordinal_cost(reference: pd.DataFrame) -> tuple[Styler, dict[str, str]]:
    """Ordered logit of cost on group (cluster-robust by set): its table and the odds it quotes.

    The glued ``odds`` is exp(−coefficient): how many times the odds of a higher cost level are
    for a benchmark prompt than for a real-world one.
    """
    import math

    from expected_harm.stats import ordinal_regression

    data = reference.assign(real_world=reference["group"].eq("real_world").astype(int))
    model = ordinal_regression(data, "cost", ["real_world"], cluster="dataset")
    coef = model.params["real_world"]
    low, high = model.conf_int().loc["real_world"]
    table = pd.DataFrame({"coefficient": [coef], "95% low": [low], "95% high": [high],
                          "p": [model.pvalues["real_world"]]}, index=["real world (vs benchmark)"])
    style = table.style.format({"coefficient": "{:.3f}", "95% low": "{:.3f}", "95% high": "{:.3f}",
                                "p": "{:.2g}"}).set_caption(
        f"Ordered logit of cost on group; standard errors cluster-robust by set "
        f"({reference['dataset'].nunique()} sets); n = {int(model.nobs)} prompts. "
        f"{reference_source()}")
    return style, {"odds": f"{math.exp(-coef):.1f}"}


def harm_gaps(by_group: pd.DataFrame, likelihood: str) -> dict[str, str]:
    """Benchmark ÷ real-world mean Expected Harm, severity-only and under ``likelihood``.

    Args:
        by_group: :func:`~expected_harm.harm.aggregate_expected_harm` by ``group``.
        likelihood: The page's highlighted Pr(execution | cost).

    Examples:
        >>> frame = pd.DataFrame({"likelihood": ["constant"] * 2 + ["linear"] * 2,
        ...                       "group": ["benchmark", "real_world"] * 2,
        ...                       "mean": [3.0, 2.0, 1.0, 1.0]})
        >>> harm_gaps(frame, "linear")["gap_baseline"]
        '1.50×'
    """
    from expected_harm.harm import describe_likelihood

    means = by_group.set_index(["likelihood", "group"])["mean"]
    gaps = {key: f"{means[name, 'benchmark'] / means[name, 'real_world']:.2f}×"
            for key, name in (("gap_baseline", "constant"), ("gap_chosen", likelihood))}
    return {**gaps, "likelihood": describe_likelihood(likelihood)}


def paired_ratings(rated: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """The rater's labels beside the reference labels of the same items (``*_rater`` columns)."""
    return rated.merge(reference, on=["dataset", "item_id", "group"], suffixes=("_rater", ""))


def rater_agreement(paired: pd.DataFrame) -> pd.DataFrame:
    """Agreement of the rater's sampled and expected scores with the reference labels, per scale.

    A score with fewer than two rated items, or a reference side with a single level, gets only
    its ``n`` (agreement is undefined there), never a made-up value.
    """
    from expected_harm.stats import agreement

    rows = {}
    for scale in ("cost", "severity"):
        for label, column in ((f"{scale} (sampled)", f"{scale}_rater"),
                              (f"{scale} (expected)", f"{scale}_expected")):
            ok = paired[column].notna()
            if ok.sum() >= 2 and paired.loc[ok, scale].nunique() > 1:
                rows[label] = vars(agreement(paired.loc[ok, scale], paired.loc[ok, column]))
            else:
                rows[label] = {"n": int(ok.sum())}
    return pd.DataFrame(rows).T


def rater_values(agreement: pd.DataFrame, self_agreement: pd.DataFrame) -> dict[str, str]:
    """The κ values the rater's reading quotes: rater vs reference, and the labels' own."""
    def kappa(row: str) -> str:
        return f"{agreement.loc[row].get('quadratic_kappa', float('nan')):.2f}"

    return {"rater_kappa_cost": kappa("cost (sampled)"),
            "rater_kappa_severity": kappa("severity (sampled)"),
            "self_kappa_cost": f"{self_agreement.loc['cost', 'weighted κ']:.2f}"}


def agreement_style(frame: pd.DataFrame, **format_options: object) -> Styler:
    """An agreement table with the page's column names and number formats."""
    return frame.rename(columns=AGREEMENT_COLUMNS).style.format(AGREEMENT_FORMAT, **format_options)
