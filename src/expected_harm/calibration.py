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
from pandas.io.formats.style import Styler

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

    # Items name their dataset, not its subset ("harmbench", not "harmbench:standard_contextual");
    # each dataset has one annotated set, so its labels are found by name.
    labels = reference_labels(list(ANNOTATED_SETS))
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
    """ASR per group (rows) and level (columns) as ``"40% [12%, 77%] (n=5)"`` cells (– if none)."""
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


# --- What notebook 02 shows: tables, readings and the values its prose quotes -----------------

#: The refusal-phrase baselines shown beside the judge: label → phrase list.
PHRASE_BASELINES = {"refusal phrases (Arditi et al. list)": "arditi",
                    "refusal phrases (JailbreakBench TEST_PREFIXES)": "jailbreakbench"}
#: The baseline the prose quotes.
PHRASES = "refusal phrases (Arditi et al. list)"
#: How the live rows' levels were labelled, per ``levels`` parameter value.
REFERENCE_LEVELS = "AI-assistant reference labels (rubric 1.0, written protocol)"


def levels_label(levels: str) -> str:
    """Where the live items' cost and severity come from, for captions.

    Examples:
        >>> levels_label("reference")
        'AI-assistant reference labels (rubric 1.0, written protocol)'
        >>> levels_label("openai:gpt-4o-mini")
        'rater openai:gpt-4o-mini'
    """
    return REFERENCE_LEVELS if levels == "reference" else f"rater {levels}"


def caption(text: str, **provenance: object) -> str:
    """A table caption followed by its provenance, ``Name: value`` parts joined by `` · ``.

    Examples:
        >>> caption("ASR by cost.", Models="a, b", Judge="j", n=4)
        'ASR by cost. Models: a, b · Judge: j · n = 4'
    """
    parts = [f"n = {value}" if name == "n" else f"{name}: {value}"
             for name, value in provenance.items()]
    return f"{text} {' · '.join(parts)}"


def validation_report(judge, validation: pd.DataFrame, seed: int) -> tuple[Styler, dict[str, str]]:
    """The judge and the refusal-phrase baselines scored on the JBB judge-comparison rows.

    Returns the captioned table (every judge on the same rows, paired bootstrap intervals) and
    the values the reading quotes (``judge_*`` for ours, ``phrase_*`` for the Arditi list).
    """
    from expected_harm import judges

    name = judge.describe()
    ours = judges.judge_validation(judge, validation)
    phrases = {label: judges.judge_validation(judges.get_judge("refusal_phrases", phrases=key),
                                              validation)["verdict"]
               for label, key in PHRASE_BASELINES.items()}
    table = judges.validation_table(validation, {name: ours["verdict"], **phrases}, seed=seed)
    values = {
        "n_validation": len(validation),
        "phrase_accuracy": f"{table.loc[PHRASES, 'accuracy']:.2f}",
        "phrase_kappa": f"{table.loc[PHRASES, 'kappa']:.2f}",
        "phrase_fpr": f"{table.loc[PHRASES, 'false_positive_rate']:.0%}",
        "judge_accuracy": judges.interval_text(table.loc[name], "accuracy"),
        "judge_kappa": judges.interval_text(table.loc[name], "kappa"),
        "judge_fnr": f"{table.loc[name, 'false_negative_rate']:.0%}",
        "judge_missing": f"{int(table.loc[name, 'missing'])}",
        "judge_reading": judges.judge_reading(table.loc[name]),
        "best_published": judges.best_published_reading(table),
    }
    style = judges.validation_style(table).set_caption(
        f"Agreement with the human majority on the JBB judge-comparison set (Chao et al. 2024), "
        f"every judge on the same n = {len(validation)} rows; 95% paired bootstrap intervals "
        f"(seed {seed}). Our judge: {name}.")
    return style, values


def status_table(results: pd.DataFrame, **provenance: object) -> tuple[Styler, dict[str, object]]:
    """Share of the grid's rows by status, and the counts the prose quotes."""
    from expected_harm.pipeline import STATUSES, status_shares

    not_ok = 1 - (results["row_status"] == "ok").mean()
    style = status_shares(results).style.format({s: "{:.0%}" for s in STATUSES}).set_caption(
        caption("Share of rows by status.", **provenance, n=len(results)))
    return style, {"n_rows": len(results), "not_ok": f"{not_ok:.0%}"}


def slope_reading(fitted=None, error: Exception | None = None) -> str:
    """The cost slope of :func:`cost_regression` in words: odds ratio, interval, direction.

    ``error`` is the reason the regression could not be fitted; the reading then says so.

    Examples:
        >>> slope_reading(error=ValueError("outcome is constant"))[:60]
        'The regression cannot be estimated on these rows (outcome is'
    """
    import math

    if fitted is None:
        return (f"The regression cannot be estimated on these rows ({error}). With a judge "
                "that (nearly) always says the same thing, or too few rows, the data say nothing "
                "about the cost slope.")
    slope, (low, high) = fitted.params["cost"], fitted.conf_int().loc["cost"]
    reading = (f"Each step up the cost scale multiplies the odds of a successful attack by "
               f"{math.exp(slope):.2f} (95% CI {math.exp(low):.2f}–{math.exp(high):.2f}), "
               f"severity, target and attack held fixed. ")
    if high < 0:
        return reading + "Success falls with cost: the inverse risk calibration the paper reports."
    if low > 0:
        return (reading + "Success rises with cost: the direction a well-calibrated model "
                "would show.")
    return (reading + "The interval includes no effect: these rows cannot tell which way success "
            "moves with cost.")


def regression_report(results: pd.DataFrame, **provenance: object) -> tuple[Styler, dict[str, str]]:
    """The regression of success on cost and severity: its table, or why it cannot be fitted.

    Returns the captioned coefficient table and ``slope_reading`` for the prose.
    """
    try:
        fitted = cost_regression(results)
    except ValueError as error:
        coefficients = pd.DataFrame({"why not": [str(error)]})
        reading = slope_reading(error=error)
    else:
        coefficients = coefficient_table(fitted)
        reading = slope_reading(fitted)
    judged = results.dropna(subset=["success"])
    n_items = judged[["dataset", "item_id"]].drop_duplicates().shape[0]
    style = coefficients.style.format(precision=3).set_caption(caption(
        f"Logistic regression of success; standard errors cluster-robust by item ({n_items} "
        f"items, each attacked by every target and attack).", **provenance,
        n=f"{len(judged)} rows"))
    return style, {"slope_reading": reading}


def harm_values(per_target: pd.DataFrame, likelihood: str) -> dict[str, str]:
    """Each target's mean Expected Harm under ``likelihood`` with its interval, for the prose.

    Examples:
        >>> frame = pd.DataFrame({"target": ["a"], "likelihood": ["linear"], "mean": [0.5],
        ...                       "low": [0.25], "high": [1.0]})
        >>> harm_values(frame, "linear")["harm_chosen"]
        'a: 0.50 [0.25, 1.00]'
    """
    from expected_harm.harm import describe_likelihood

    chosen = per_target[per_target["likelihood"] == likelihood].set_index("target")
    text = "; ".join(f"{t}: {r['mean']:.2f} [{r['low']:.2f}, {r['high']:.2f}]"
                     for t, r in chosen.iterrows())
    return {"harm_chosen": text, "likelihood": describe_likelihood(likelihood)}


def harm_report(results: pd.DataFrame, likelihood: str, seed: int,
                **provenance: object) -> tuple[Styler, dict[str, str]]:
    """Mean Expected Harm per target and attack under each function, and the prose's values.

    The live items are spread evenly over cost levels, so the caption says these means stand
    for no benchmark's own cost mix.
    """
    from expected_harm.harm import aggregate_expected_harm

    per_target = aggregate_expected_harm(results, "target", success="success", seed=seed)
    per_attack = aggregate_expected_harm(results, ["target", "attack"], success="success",
                                         seed=seed)
    table = per_attack.pivot(index=["target", "attack"], columns="likelihood", values="mean")
    style = table.round(2).style.format(precision=2).set_caption(
        caption("Mean Expected Harm per answer (0–5).", **provenance,
                n=int(results["success"].notna().sum()))
        + ". The items are spread evenly over cost levels on purpose, so this mean represents no "
        "benchmark's own cost mix (the published part above does).")
    return style, harm_values(per_target, likelihood)
