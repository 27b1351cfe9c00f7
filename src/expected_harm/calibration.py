"""Inverse risk calibration: does attack success fall or rise with a request's execution cost?

A well-calibrated model is hardest to jailbreak where harm is most likely to follow: on cheap,
easily executed requests. Chen et al. (2026, finding 2) measure the opposite. This module runs the
pipeline behind notebook ``02_calibration``: labelled benchmark items → attack → target → judge,
one tidy frame, then attack success rates by level, a logistic regression and Expected Harm.

Cost and severity come from the reference labels of the threat-distribution section, or from a
rater through the same :class:`~expected_harm.rating.Rater` and response cache, so nothing is
rated twice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from expected_harm.annotations import ANNOTATED_SETS
from expected_harm.attacks import Attack, run_attack
from expected_harm.judges import JUDGE_COLUMNS, Judge
from expected_harm.models import ChatModel, GenerateConfig, ResponseCache, Status
from expected_harm.stats import bootstrap_binary_agreement, proportions_by_group

#: The six published judges whose verdicts ship with the JBB judge-comparison set
#: (Chao et al. 2024, JailbreakBench, Table 2), as column → display name.
PUBLISHED_JUDGES: dict[str, str] = {
    "gpt_4": "GPT-4 (JailbreakBench prompt)",
    "gpt_4_turbo": "GPT-4-Turbo (JailbreakBench prompt)",
    "gcg": "GCG refusal strings",
    "bert": "BERT classifier (GPTFuzzer)",
    "tdc": "TDC classifier (Llama-2-13B)",
    "llama_guard": "Llama Guard",
}
#: Row statuses, in the order tables show them.
STATUSES = tuple(s.value for s in Status)


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


def rated_levels(items: pd.DataFrame, rater: str, *, progress: bool = True) -> pd.DataFrame:
    """The items with cost and severity from a rater model instead of the reference labels.

    Goes through :func:`expected_harm.threats.rate_items` (same Rater, same cache as the
    threat-distribution section). A failed rating leaves cost and severity missing: such rows
    drop out of every by-level table rather than take a default level.
    """
    from expected_harm.threats import rate_items

    rated = rate_items(items.assign(group="benchmark"), rater, progress=progress)
    return items.assign(cost=rated["cost"].to_numpy(), severity=rated["severity"].to_numpy())


def run_calibration(
    items: pd.DataFrame,
    targets: Sequence[ChatModel],
    attacks: Sequence[Attack],
    judge: Judge,
    config: GenerateConfig,
    *,
    cache: ResponseCache | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Attack every target with every attack on every item, and judge the answers.

    Returns:
        One row per (target, attack, item): the item's ids and levels, the target's ``status``,
        ``response`` and ``attack_prompt``, the judge's columns (``judge_status``, ``verdict``,
        ``score``, rubric items, ``raw``), ``row_status`` (the target's status unless ``ok``,
        then the judge's) and ``success``: the verdict where ``row_status`` is ``ok``, else
        missing, so that an error, a block or an unparsed judgement is never a refusal.

    Raises:
        ValueError: For the refusal-phrase judge, which is a baseline, not a measure of success.
    """
    if not judge.needs_model:
        raise ValueError(
            f"judge {judge.name!r} reads no meaning; attack success is never computed "
            "from it alone (use strongreject_rubric or harmbench_classifier)"
        )
    requests = items["prompt"].tolist()
    parts = []
    for target in targets:
        for attack in attacks:
            answers = run_attack(attack, requests, target, config, cache=cache, progress=progress)
            ok = answers["status"] == Status.OK.value
            verdicts = pd.DataFrame(np.nan, index=answers.index, columns=list(JUDGE_COLUMNS))
            if ok.any():
                judged = judge.judge(
                    [requests[i] for i in answers.index[ok]],
                    answers.loc[ok, "response"].tolist(),
                    cache=cache,
                    progress=progress,
                )
                verdicts = judged.set_index(answers.index[ok]).reindex(answers.index)
            verdicts = verdicts.rename(columns={"status": "judge_status", "error": "judge_error"})
            parts.append(
                pd.concat(
                    [
                        items.drop(columns="prompt").reset_index(drop=True),
                        answers.drop(columns="request_index"),
                        verdicts.drop(columns=["judge"], errors="ignore"),
                    ],
                    axis=1,
                )
            )
    frame = pd.concat(parts, ignore_index=True)
    frame["judge"] = judge.describe()
    frame["row_status"] = frame["status"].where(
        frame["status"] != Status.OK.value, frame["judge_status"].fillna(Status.ERROR.value)
    )
    frame["success"] = frame["verdict"].astype(float).where(frame["row_status"] == Status.OK.value)
    return frame


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


def status_shares(frame: pd.DataFrame, by: Sequence[str] = ("target", "attack")) -> pd.DataFrame:
    """Share of rows of each ``row_status`` per group; every status gets a column."""
    counts = pd.crosstab([frame[b] for b in by], frame["row_status"])
    counts = counts.reindex(columns=list(STATUSES), fill_value=0)
    shares = counts.div(counts.sum(axis=1), axis=0)
    return shares.assign(n=counts.sum(axis=1))


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


def validation_items(n: int | None = None, seed: int = 0) -> pd.DataFrame:
    """The JBB judge-comparison set (Chao et al. 2024): 100 responses, three human labels each.

    Args:
        n: Use a seeded random subset of this size (model judges are slow on a CPU); all by default.
        seed: Which subset.
    """
    from expected_harm.datasets import load

    data = load("jbb_judge_comparison")
    if n is not None:
        if not 1 <= n <= len(data):
            raise ValueError(f"n must lie in [1, {len(data)}], got {n}")
        data = data.sample(n=n, random_state=seed).sort_index()
    return data.reset_index(drop=True)


def judge_validation(
    judge: Judge, data: pd.DataFrame, *, cache: ResponseCache | None = None, progress: bool = True
) -> pd.DataFrame:
    """The judge's verdicts on the JBB set, beside the human majority.

    The judge sees the behaviour (``goal``), as the published judges did, and the response.
    """
    verdicts = judge.judge(
        data["goal"].tolist(), data["target_response"].tolist(), cache=cache, progress=progress
    )
    return pd.concat(
        [
            data[["item_id", "human_majority"]].reset_index(drop=True),
            verdicts.reset_index(drop=True),
        ],
        axis=1,
    )


def validation_table(
    data: pd.DataFrame, ours: dict[str, pd.Series], *, seed: int = 0
) -> pd.DataFrame:
    """Agreement with the human majority: our judges (given) and the six published ones.

    Every judge is scored on the same rows (those of ``data``), with paired bootstrap intervals
    (:func:`~expected_harm.stats.bootstrap_binary_agreement`), so that a reading such as "better
    than the published judges" rests on intervals over the same items, not on point estimates.

    Args:
        data: The JBB rows (with ``human_majority`` and the published judges' columns).
        ours: Display name → our judge's verdicts on the same rows (NaN = no verdict).
        seed: Seed of the bootstrap.

    Returns:
        One row per judge: accuracy and Cohen's kappa with 95% intervals, false-positive and
        false-negative rates, n judged, n without a verdict, and whether the judge is ours or
        published.
    """
    verdicts = {name: pd.Series(v).to_numpy() for name, v in ours.items()}
    origin = dict.fromkeys(ours, "this book")
    for column, name in PUBLISHED_JUDGES.items():
        verdicts[name] = data[column].to_numpy()
        origin[name] = "published (JBB file)"
    table = bootstrap_binary_agreement(data["human_majority"], verdicts, seed=seed)
    return table.assign(source=pd.Series(origin))


#: Cohen's kappa bands (Landis & Koch 1977) used to read a judge's agreement in words.
SLIGHT_KAPPA, SUBSTANTIAL_KAPPA = 0.2, 0.6


def judge_reading(row: pd.Series) -> str:
    """What a judge's kappa interval says about how far its verdicts can be trusted.

    The reading is drawn from the whole 95% interval, never from the point estimate alone.

    Examples:
        >>> judge_reading(pd.Series({"kappa": 0.1, "kappa_low": -0.1, "kappa_high": 0.18}))[:40]
        'Its whole κ interval lies below 0.2, sli'
    """
    low, high = row["kappa_low"], row["kappa_high"]
    if math.isnan(row["kappa"]):
        return ("Its κ is undefined (it gave one verdict throughout): its verdicts, and every attack "
                "success rate below, describe the judge more than the targets.")
    if high < SLIGHT_KAPPA:
        return ("Its whole κ interval lies below 0.2, slight agreement at best: its verdicts, and "
                "every attack success rate below, describe the judge more than the targets.")
    if low >= SUBSTANTIAL_KAPPA:
        return ("Its whole κ interval lies at or above 0.6, substantial agreement: the rates below "
                "can be read as measurements of the targets.")
    if high < SUBSTANTIAL_KAPPA:
        return (f"Its κ interval ({low:.2f} to {high:.2f}) lies below 0.6: moderate agreement at "
                "best, so read the rates below as rough.")
    return (f"Its κ interval ({low:.2f} to {high:.2f}) is too wide to tell moderate from "
            "substantial agreement: read the rates below as rough.")


def best_published_reading(table: pd.DataFrame) -> str:
    """The most accurate published judge, and which others its interval cannot tell apart.

    Two judges are told apart only when their accuracy intervals do not overlap (a conservative
    rule on paired intervals).
    """
    published = table[table["source"] != "this book"]
    best = published["accuracy"].astype(float).idxmax()
    top = published.loc[best]
    level = f"{best} (accuracy {top['accuracy']:.2f} [{top['accuracy_low']:.2f}, " \
        f"{top['accuracy_high']:.2f}])"
    tied = [name for name, row in table.iterrows()
            if name != best and row["accuracy_high"] >= top["accuracy_low"]]
    if not tied:
        return f"The most accurate published judge is {level}, ahead of every other judge here."
    return (f"The most accurate published judge is {level}; the intervals of {', '.join(tied)} "
            "overlap it, so these rows cannot rank them.")


def interval_text(row: pd.Series, measure: str) -> str:
    """``"0.82 [0.74, 0.89]"`` for a measure with ``*_low``/``*_high`` columns in ``row``.

    An undefined measure (kappa when a judge says one thing throughout) reads ``"undefined"``.
    """
    if math.isnan(float(row[measure])):
        return "undefined"
    return f"{row[measure]:.2f} [{row[f'{measure}_low']:.2f}, {row[f'{measure}_high']:.2f}]"


def validation_style(table: pd.DataFrame):
    """The validation table as the book shows it: intervals in one cell, rates as percentages."""
    shown = pd.DataFrame(
        {
            "accuracy": [interval_text(row, "accuracy") for _, row in table.iterrows()],
            "Cohen's κ": [interval_text(row, "kappa") for _, row in table.iterrows()],
            "false positive": table["false_positive_rate"].astype(float),
            "false negative": table["false_negative_rate"].astype(float),
            "n": table["n"],
            "no verdict": table["missing"],
            "source": table["source"],
        },
        index=table.index,
    )
    return shown.style.format({"false positive": "{:.0%}", "false negative": "{:.0%}"}, na_rep="–")
