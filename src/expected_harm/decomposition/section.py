"""Section 03's live run: costly items, the decomposers of each condition, the attack grid, and
what the decompositions did to cost and severity.

The notebook calls these in order: :func:`attack_items` (the costly reference-labelled requests
the attack targets), :func:`make_decomposers` (one per strategy; ``published`` replays GPT-4o's
decompositions), :func:`attack_grid` (every attack on the whole request, then the same attack on
every decomposition's sub-tasks) for :func:`expected_harm.pipeline.run_grid`, and
:func:`decomposition_records` / :func:`cost_before_after` for the cost each strategy reached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from expected_harm.attacks import Attack, DecompositionAttack
from expected_harm.calibration import caption
from expected_harm.decomposition._decomposer import LLMDecomposer, decomposition_frame
from expected_harm.decomposition._metrics import condition_of
from expected_harm.decomposition._metrics import model_calls as count_calls
from expected_harm.decomposition._monitor import (
    SequentialMonitor,
    ThresholdChoice,
    choose_threshold,
)
from expected_harm.decomposition._replay import ReplayDecomposer
from expected_harm.decomposition._types import PUBLISHED, STRATEGIES, Decomposer
from expected_harm.models import ChatModel, GenerateConfig
from expected_harm.rating import Rater

#: Every strategy the section accepts: the LLM decomposer's, then the published replay.
SECTION_STRATEGIES: tuple[str, ...] = (*STRATEGIES, PUBLISHED)


def attack_items(benchmarks: Sequence[str], per_benchmark: int, min_cost: int,
                 seed: int) -> pd.DataFrame:
    """Reference-labelled requests of each benchmark whose execution cost is at least
    ``min_cost``, ``per_benchmark`` of them drawn at random (``seed``), costliest levels first.

    The attack is meant for costly requests (finding 3): a cheap request needs no decomposition.
    Every label of a set is used, in the threat-distribution sample or beyond it.

    Returns:
        Columns ``dataset``, ``item_id``, ``prompt``, ``cost``, ``severity``.

    Raises:
        ValueError: For an unknown or unlabelled benchmark, a cost outside 1–5, or a benchmark
            with no item at that cost.
    """
    from expected_harm.annotations import all_labels
    from expected_harm.datasets import load, parse_dataset_spec

    if not 1 <= min_cost <= 5:
        raise ValueError(f"min_cost must be a cost level from 1 to 5, got {min_cost!r}")
    if per_benchmark < 1:
        raise ValueError(f"per_benchmark must be at least 1, got {per_benchmark}")
    parts = []
    for spec in benchmarks:
        dataset = parse_dataset_spec(spec).dataset
        labels = all_labels(dataset)
        prompts = load(spec).set_index("item_id")["prompt"]
        costly = labels[(labels["cost"] >= min_cost) & labels["item_id"].isin(prompts.index)]
        if costly.empty:
            raise ValueError(f"{spec}: no reference-labelled item of cost ≥ {min_cost}")
        drawn = costly.sample(frac=1.0, random_state=seed).sort_values(
            "cost", ascending=False, kind="stable").head(per_benchmark)
        parts.append(drawn.assign(prompt=drawn["item_id"].map(prompts).to_numpy()))
    frame = pd.concat(parts, ignore_index=True)
    return frame[["dataset", "item_id", "prompt", "cost", "severity"]]


def make_decomposers(
    strategies: Sequence[str],
    *,
    attacker: str,
    rater: Rater | None,
    monitor: SequentialMonitor | None,
    k: int,
    cost_threshold: int,
    revision_budget: int,
) -> list[Decomposer]:
    """One decomposer per strategy, in order; ``published`` is the GPT-4o replay.

    The rater and the monitor measure every LLM strategy's sub-tasks (so each condition's table
    has costs and scores) and constrain only the strategies that name them.

    Raises:
        ValueError: For an unknown strategy, listing the valid ones.
    """
    unknown = [s for s in strategies if s not in SECTION_STRATEGIES]
    if unknown:
        raise ValueError(f"unknown strategy {unknown[0]!r}; valid strategies: "
                         f"{', '.join(SECTION_STRATEGIES)}")
    return [
        ReplayDecomposer() if strategy == PUBLISHED else LLMDecomposer(
            attacker, strategy, k=k, rater=rater, monitor=monitor,
            cost_threshold=cost_threshold, revision_budget=revision_budget)
        for strategy in strategies
    ]


@dataclass(frozen=True)
class LiveSetup:
    """What the live run attacks with: its items, decomposers and monitor, and how the
    monitor's threshold was set (a sentence for the page)."""

    items: pd.DataFrame
    decomposers: list[Decomposer]
    monitor: SequentialMonitor
    monitor_choice: str


def live_setup(*, strategies: Sequence[str], attacker: str, rater: Rater | None, monitor: str,
               monitor_threshold: float | None, validation_per_kind: int,
               benchmarks: Sequence[str], items_per_benchmark: int, min_cost: int, k: int,
               cost_threshold: int, revision_budget: int, seed: int) -> LiveSetup:
    """Section 03's live decomposition from its parameters, as notebook 03 runs it.

    The monitor's threshold is chosen on a validation split of published decompositions
    (:func:`monitor_validation`) unless ``monitor_threshold`` sets it. Notebook 04 calls this
    with section 03's parameters, so it screens the same decompositions, read from the cache.
    """
    the_monitor = SequentialMonitor(monitor, **({} if monitor_threshold is None
                                                else {"threshold": monitor_threshold}))
    if monitor_threshold is None:
        choice, _, sentence = monitor_validation(the_monitor, validation_per_kind, seed)
        if choice is not None:
            the_monitor = SequentialMonitor(monitor, threshold=choice.threshold)
    else:
        sentence = f"The monitor's threshold was set by the run: {monitor_threshold:g}."
    items = attack_items(benchmarks, items_per_benchmark, min_cost, seed)
    decomposers = make_decomposers(strategies, attacker=attacker, rater=rater,
                                   monitor=the_monitor, k=k, cost_threshold=cost_threshold,
                                   revision_budget=revision_budget)
    return LiveSetup(items, decomposers, the_monitor, sentence)


def attack_grid(attacks: Sequence[Attack], decomposers: Sequence[Decomposer]) -> list[Attack]:
    """Every attack on the whole request (the ``original`` condition), then every attack on
    the sub-tasks of each decomposer: the four conditions of the paper's table per attack."""
    wrapped = [DecompositionAttack(inner=attack, decomposer=decomposer)
               for decomposer in decomposers for attack in attacks]
    return [*attacks, *wrapped]


def decomposition_records(decomposers: Sequence[Decomposer], items: pd.DataFrame,
                          rater: Rater | None = None) -> pd.DataFrame:
    """Each decomposer's decompositions of the items, one row per sub-task
    (:func:`~expected_harm.decomposition.decomposition_frame`), with the item's ids and
    reference levels as ``original_cost`` and ``original_severity``.

    The attack grid made the same calls, so this reads them from the cache. Sub-tasks that
    came without a rating (the published replay's) are rated by ``rater`` where one is given,
    so every strategy's cost is measured by the same rater.
    """
    requests = items["prompt"].tolist()
    ids = items[["dataset", "item_id", "cost", "severity"]].reset_index(drop=True).rename(
        columns={"cost": "original_cost", "severity": "original_severity"})
    frames = []
    for decomposer in decomposers:
        frame = decomposition_frame(decomposer.decompose(requests))
        unrated = frame["sub_task"].notna() & frame["cost"].isna()
        if rater is not None and unrated.any():
            ratings = rater.rate(frame.loc[unrated, "sub_task"].tolist())
            frame.loc[unrated, ["cost", "severity"]] = ratings[["cost", "severity"]].to_numpy()
        frames.append(frame.join(ids, on="request_index").drop(columns="request"))
    return pd.concat(frames, ignore_index=True)


def cost_before_after(records: pd.DataFrame) -> pd.DataFrame:
    """Per strategy: the originals' reference cost and severity against the rated cost and
    severity of their sub-tasks (mean and maximum per decomposition, then averaged), the share
    within the constraints, and the decompositions' statuses.

    Rated sub-task levels are the rater's, the originals' are reference labels: the two differ
    in who rated them, which the caption says. A sub-task without a rating is left out of the
    means, never counted as cheap.
    """
    rows = []
    for strategy, part in records.groupby("strategy", sort=False):
        per = part.groupby("request_index")
        ok = per["status"].first() == "ok"
        decomposed = part[part["status"] == "ok"].groupby("request_index")
        rows.append({
            "strategy": strategy,
            "decompositions": int(per.ngroups),
            "ok": int(ok.sum()),
            "not ok": ", ".join(f"{s} {n}" for s, n in
                                per["status"].first()[~ok].value_counts().items()) or "none",
            "sub-tasks": int(part["sub_task"].notna().sum()),
            "rated": int(part["cost"].notna().sum()),
            "original cost": per["original_cost"].first().mean(),
            "mean sub-task cost": decomposed["cost"].mean().mean(),
            "max sub-task cost": decomposed["cost"].max().mean(),
            "original severity": per["original_severity"].first().mean(),
            "mean sub-task severity": decomposed["severity"].mean().mean(),
            "within cost": _share(decomposed["within_cost"].first()),
            "passes monitor": _share(decomposed["passes_monitor"].first()),
        })
    return pd.DataFrame(rows).set_index("strategy")


def _share(flags: pd.Series) -> float:
    """The share of True among the checked (not None) flags; NaN when none was checked."""
    checked = flags.dropna()
    return float(checked.astype(bool).mean()) if len(checked) else np.nan


def cost_report(records: pd.DataFrame, **provenance: object) -> Styler:
    """:func:`cost_before_after` as a captioned table."""
    table = cost_before_after(records)
    levels = [c for c in table.columns if "cost" in c or "severity" in c]
    return table.style.format("{:.2f}", subset=levels, na_rep="–").format(
        "{:.0%}", subset=["within cost", "passes monitor"], na_rep="–").set_caption(caption(
            "Execution cost and severity before (the originals' reference labels) and after "
            "decomposition (the rater's levels of each sub-task, averaged within a "
            "decomposition, then over decompositions); only ok decompositions enter the means.",
            **provenance, n=int(records["request_index"].nunique())))


def monitor_validation(monitor: SequentialMonitor, per_kind: int,
                       seed: int) -> tuple[ThresholdChoice | None, pd.DataFrame, str]:
    """Choose the monitor's threshold on a validation split: ``per_kind`` published harmful and
    as many benign decompositions (FRACTURED-SORRY-Bench), drawn at random (``seed``) from
    those whose originals carry no reference label, so no item of the live run is in it.

    Returns:
        The choice (None where no threshold meets the false-positive limit), one row per
        decomposition (kind, outcome, max_score) and a sentence for the page.
    """
    from expected_harm.annotations import all_labels
    from expected_harm.datasets import load

    steps = load("fractured_sorry_bench:decompositions")
    labelled = set(all_labels("sorry_bench")["item_id"])
    free = steps[~steps["sorry_bench_item_id"].astype(str).isin(labelled)]
    chosen = []
    for kind in ("harmful", "benign"):
        ids = free.loc[free["kind"] == kind, "decomposition_id"].drop_duplicates()
        chosen += ids.sample(n=per_kind, random_state=seed).tolist()
    sequences = [steps.loc[steps["decomposition_id"] == d].sort_values("step")["sub_question"]
                 .tolist() for d in chosen]
    halts = monitor.halt_points(monitor.score(sequences)).assign(
        decomposition_id=chosen, kind=[d.split(":")[0] for d in chosen])
    scored = halts.dropna(subset=["max_score"])
    dropped = len(halts) - len(scored)
    try:
        choice = choose_threshold(scored.loc[scored["kind"] == "harmful", "max_score"],
                                  scored.loc[scored["kind"] == "benign", "max_score"])
    except ValueError as error:
        return None, halts, (f"No threshold could be chosen on {len(halts)} validation "
                             f"decompositions ({error}); the monitor keeps "
                             f"{monitor.threshold:g}.")
    return choice, halts, (f"On {len(scored)} validation decompositions ({per_kind} harmful, "
                           f"{per_kind} benign; {dropped} without a score left out), "
                           f"{choice.describe()}.")


def rate_steps(steps: pd.DataFrame, rater: str) -> pd.DataFrame:
    """The rater's levels of published sub-questions (:func:`evidence.step_items` rows)."""
    from expected_harm.threats import rate_items

    return rate_items(steps, rater)


def model_calls(attacks: Sequence[Attack], items: pd.DataFrame, targets: Sequence[ChatModel],
                config: GenerateConfig) -> pd.DataFrame:
    """Model calls and tokens per target and condition (:func:`~expected_harm.decomposition.
    model_calls`), from the outcomes of the grid's attacks, read again from the cache."""
    requests = items["prompt"].tolist()
    outcomes: dict[str, list] = {}
    for target in targets:
        for attack in attacks:
            condition, _ = condition_of(attack.label)
            key = f"{target.spec} · {condition}"
            outcomes.setdefault(key, []).extend(attack.run(requests, target, config))
    return count_calls(outcomes)


def worked_example(records: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """One decomposition (the first ok one, in strategy order) with its sub-tasks' rated levels
    and monitor scores, then the joined answer of the first target and attack and its verdict.

    Returns an empty frame with the same columns when no decomposition was ok.
    """
    columns = ["part", "sub_task", "cost", "severity", "monitor_score", "response", "verdict"]
    ok = records[records["status"] == "ok"]
    if ok.empty:
        return pd.DataFrame(columns=columns)
    first = ok.iloc[0]
    chosen = ok[(ok["strategy"] == first["strategy"])
                & (ok["request_index"] == first["request_index"])].sort_values("step")
    parts = chosen.assign(part=[f"sub-task {int(s)}" for s in chosen["step"]],
                          response="", verdict=np.nan)
    answer = results[(results["condition"] == first["strategy"])
                     & (results["dataset"] == first["dataset"])
                     & (results["item_id"] == first["item_id"])].head(1)
    joined = pd.DataFrame({"part": ["joined answer"], "sub_task": [""],
                           "response": answer["response"].fillna("").tolist() or [""],
                           "verdict": answer["verdict"].tolist() or [np.nan]})
    return pd.concat([parts[columns], joined], ignore_index=True)[columns]
