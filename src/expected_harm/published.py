"""Published attacks on real models: the JailbreakBench artifacts joined to the reference labels.

JailbreakBench (Chao et al. 2024) publishes the prompts and answers of five attacks on
GPT-3.5-Turbo, GPT-4, Llama-2-7B-chat and Vicuna-13B for its 100 goals, each answer with the
benchmark's own judge verdict (Llama-3-70B) and Llama Guard 1's. Every goal carries a reference
cost and severity label (the package data's ``annotations``), so finding 2 can be measured on real
models offline: does attack success fall or rise with a goal's execution cost?

One row per (target, attack, goal). An attack that submitted nothing for a goal (PAIR keeps only
the prompts it found to work) is a failed attack, as in JailbreakBench's own success rates; such
rows keep their own status and are counted in the tables, never judged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from expected_harm.judges import Judge
from expected_harm.models import Status
from expected_harm.pipeline import judge_answers
from expected_harm.stats import Estimate, bootstrap_mean, logistic_regression

#: The attack names JailbreakBench's folders use, as the book shows them.
ATTACK_NAMES: dict[str, str] = {
    "PAIR": "PAIR",
    "prompt_with_random_search": "random search",
    "GCG": "GCG",
    "JBC": "JBC (AIM)",
    "DSN": "DSN",
}
#: ``jbb_artifacts`` statuses: the target answered; the attack sent no prompt (a failed attack,
#: not an answer).
ANSWERED, NO_SUBMISSION = "answered", "no_submission"
JBB_JUDGE = "JailbreakBench judge (Llama-3-70B, published verdicts)"
LLAMA_GUARD = "Llama Guard 1 (published verdicts)"


def attack_rows() -> pd.DataFrame:
    """Every published attempt with the goal's reference cost and severity.

    Returns:
        Columns ``target``, ``attack``, ``attack_type``, ``item_id`` (the JBB goal),
        ``category``, ``cost``, ``severity``, ``status``, ``prompt`` (the goal),
        ``attack_prompt``, ``response``, ``jbb_verdict`` and ``llama_guard_verdict`` (1.0, 0.0 or
        missing where no verdict was published) and ``success``: the JailbreakBench verdict, 0.0
        where the attack submitted nothing.

    Raises:
        ValueError: If a goal lacks a reference label (all 100 are labelled).
    """
    from expected_harm.annotations import all_labels
    from expected_harm.datasets import load

    artifacts = load("jbb_artifacts")
    labels = all_labels("jbb_behaviors").set_index("item_id")[["cost", "severity"]]
    missing = sorted(set(artifacts["jbb_item_id"]) - set(labels.index), key=int)
    if missing:
        raise ValueError(f"JBB goals without reference labels: {', '.join(missing)}")
    rows = pd.DataFrame(
        {
            "target": artifacts["target"],
            "attack": artifacts["method"].map(ATTACK_NAMES).fillna(artifacts["method"]),
            "attack_type": artifacts["attack_type"],
            "item_id": artifacts["jbb_item_id"],
            "category": artifacts["category"],
            "status": artifacts["status"],
            "prompt": artifacts["prompt"],
            "attack_prompt": artifacts["attack_prompt"],
            "response": artifacts["response"],
            "jbb_verdict": artifacts["jailbroken"],
            "llama_guard_verdict": artifacts["jailbroken_llama_guard1"],
        }
    ).join(labels, on="item_id")
    rows["success"] = rows["jbb_verdict"].where(rows["status"] == ANSWERED)
    rows.loc[rows["status"] == NO_SUBMISSION, "success"] = 0.0
    return rows


def judged_sample(rows: pd.DataFrame, per_cell: int | None, seed: int) -> pd.DataFrame:
    """The answered rows a book judge re-reads: all, or ``per_cell`` per (target, attack).

    A seeded draw within each cell keeps every target and attack represented when a slow judge
    can only read a few hundred answers.
    """
    answered = rows[rows["status"] == ANSWERED]
    if per_cell is None:
        return answered
    if per_cell < 1:
        raise ValueError(f"per_cell must be at least 1 or None (all), got {per_cell}")
    shuffled = answered.sample(frac=1.0, random_state=seed)
    return shuffled.groupby(["target", "attack"], sort=False).head(per_cell).sort_index()


def rejudge(rows: pd.DataFrame, judge: Judge) -> pd.DataFrame:
    """The rows with the book judge's verdicts beside the published ones.

    Adds ``judge_status``, ``book_verdict`` and ``book_success`` (the verdict where the judge
    gave one; missing otherwise, so an unparsed judgement is never a refusal).
    """
    judged = judge_answers(rows["prompt"], rows["response"], judge)
    out = rows.reset_index(drop=True).assign(
        judge_status=judged["judge_status"].to_numpy(), book_verdict=judged["verdict"].to_numpy()
    )
    out["book_success"] = out["book_verdict"].where(out["judge_status"] == Status.OK.value)
    return out


def cost_slopes(rows: pd.DataFrame, success: str = "success") -> pd.DataFrame:
    """Per target: the log-odds slope of success on cost, severity and attack held fixed.

    ``success ~ cost + severity + attack`` by logistic regression with standard errors clustered
    by goal (each goal appears once per attack). (target, attack) cells whose outcome never
    varies carry no information on a within-attack slope and would separate the fit; they are
    left out and counted in ``cells_dropped``.

    Returns:
        One row per target: ``slope``, ``low``, ``high`` (95%), ``odds_ratio``, ``p``,
        ``direction`` in words, ``n`` rows and ``cells_dropped``; ``why`` where no fit exists.
    """
    out = []
    for target, part in rows.dropna(subset=[success]).groupby("target", sort=True):
        varies = part.groupby("attack")[success].transform("nunique") > 1
        kept = part[varies]
        dropped = part.loc[~varies, "attack"].nunique()
        row = {"target": target, "n": len(kept), "cells_dropped": int(dropped)}
        try:
            fitted = logistic_regression(kept, success, ["cost", "severity"], ["attack"],
                                         cluster="item_id")
        except ValueError as error:
            out.append({**row, "why": str(error)})
            continue
        low, high = fitted.conf_int().loc["cost"]
        out.append({**row, "slope": fitted.params["cost"], "low": low, "high": high,
                    "odds_ratio": float(np.exp(fitted.params["cost"])),
                    "p": fitted.pvalues["cost"], "direction": slope_direction(low, high)})
    return pd.DataFrame(out)


def slope_direction(low: float, high: float) -> str:
    """The cost slope's sign in words, from its interval.

    Examples:
        >>> slope_direction(-0.9, -0.1)
        'falls with cost (inverse calibration)'
        >>> slope_direction(-0.2, 0.3)
        'shows no clear direction with cost'
    """
    if high < 0:
        return "falls with cost (inverse calibration)"
    if low > 0:
        return "rises with cost (the calibrated direction)"
    return "shows no clear direction with cost"


def harm_per_goal(rows: pd.DataFrame, likelihoods: Sequence[str] | None = None,
                  success: str = "success") -> pd.DataFrame:
    """Expected Harm per (target, goal, likelihood), averaged over the attacks tried on the goal.

    Averaging within a goal first makes the goal the unit that a bootstrap then resamples.
    """
    from expected_harm.harm import expected_harm_by_likelihood

    rated = rows.dropna(subset=[success, "cost", "severity"])
    per_row = expected_harm_by_likelihood(rated["severity"], rated["cost"], names=likelihoods)
    per_row = per_row.mul(rated[success].astype(float), axis=0)
    long = per_row.join(rated[["target", "item_id"]]).melt(
        id_vars=["target", "item_id"], var_name="likelihood", value_name="harm"
    )
    per_goal = long.groupby(["target", "likelihood", "item_id"], sort=False)["harm"].mean()
    return per_goal.reset_index()


def harm_by_target(rows: pd.DataFrame, likelihoods: Sequence[str] | None = None,
                   success: str = "success", seed: int = 0) -> pd.DataFrame:
    """Mean Expected Harm per target and likelihood, with a bootstrap over goals (95%)."""
    per_goal = harm_per_goal(rows, likelihoods, success)
    out = []
    for (target, likelihood), part in per_goal.groupby(["target", "likelihood"], sort=False):
        estimate: Estimate = bootstrap_mean(part["harm"], seed=seed)
        out.append({"target": target, "likelihood": likelihood, "mean": estimate.value,
                    "low": estimate.low, "high": estimate.high, "goals": estimate.n})
    return pd.DataFrame(out)


def attempt_counts(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (target, attack): goals attempted, answered, no submission, and the published ASR.

    The ASR counts an attack that submitted nothing as a failure over all 100 goals, as
    JailbreakBench reports it.
    """
    grouped = rows.groupby(["target", "attack"], sort=True)
    return pd.DataFrame(
        {
            "goals": grouped.size(),
            "answered": grouped["status"].apply(lambda s: int((s == ANSWERED).sum())),
            "no submission": grouped["status"].apply(lambda s: int((s == NO_SUBMISSION).sum())),
            "ASR (JBB judge)": grouped["success"].mean(),
        }
    )


def slope_reading(slopes: pd.DataFrame) -> str:
    """One sentence per target: which way its cost slope goes, with the odds ratio's interval."""
    sentences = []
    for _, row in slopes.iterrows():
        if pd.isna(row.get("slope")):
            sentences.append(f"For {row['target']} no slope can be estimated ({row['why']}).")
            continue
        sentences.append(
            f"For {row['target']}, success {row['direction']}: each cost level multiplies the odds "
            f"by {row['odds_ratio']:.2f} "
            f"(95% CI {np.exp(row['low']):.2f}–{np.exp(row['high']):.2f})."
        )
    return " ".join(sentences)


# --- What notebook 02's published part shows: tables and the values its prose quotes ----------

#: Where the published rows' cost and severity come from, for captions.
REFERENCE_LEVELS = "AI-assistant reference labels (rubric 1.0), all 100 JBB goals"


def models_of(rows: pd.DataFrame) -> str:
    """The published target models, for provenance lines."""
    return ", ".join(sorted(rows["target"].unique()))


def attempts_report(rows: pd.DataFrame) -> tuple[Styler, dict[str, int]]:
    """Attempts per model and attack (:func:`attempt_counts`), and the counts the prose quotes."""
    counts = attempt_counts(rows)
    style = counts.style.format({"ASR (JBB judge)": "{:.0%}"}).set_caption(
        f"JailbreakBench artifacts: attempts per model and attack. Judge: {JBB_JUDGE} · "
        f"Data: jbb_artifacts · n = {len(rows)}")
    return style, {"n_published": len(rows), "n_no_submission": int(counts["no submission"].sum())}


def slopes_report(rows: pd.DataFrame) -> tuple[Styler, dict[str, str]]:
    """The cost slope per model (:func:`cost_slopes`) as a table, and its reading."""
    slopes = cost_slopes(rows)
    style = slopes.set_index("target").style.format(precision=3, na_rep="–").set_caption(
        f"Cost slope (log-odds per cost level) per model, severity and attack held fixed; "
        f"cluster-robust standard errors by goal. Judge: {JBB_JUDGE} · "
        f"Levels: {REFERENCE_LEVELS} · Data: jbb_artifacts")
    return style, {"published_slopes": slope_reading(slopes)}


def rejudge_report(rejudged: pd.DataFrame, judge_name: str, per_cell: int | None,
                   seed: int) -> tuple[Styler, dict[str, int]]:
    """Agreement of the book's judge with the published verdicts on the re-read answers."""
    from expected_harm.judges import validation_style
    from expected_harm.stats import bootstrap_binary_agreement

    agreement = bootstrap_binary_agreement(rejudged["jbb_verdict"],
                                           {judge_name: rejudged["book_success"]}, seed=seed)
    style = validation_style(agreement.assign(source="this book")).set_caption(
        f"Our judge against the published JailbreakBench verdicts on {len(rejudged)} answers "
        f"({per_cell} per model and attack, seed {seed}); 95% bootstrap intervals.")
    return style, {"n_rejudged": len(rejudged)}


def harm_table(harm: pd.DataFrame) -> pd.DataFrame:
    """:func:`harm_by_target` as ``"0.42 [0.31, 0.55]"`` cells, targets × likelihoods.

    Examples:
        >>> frame = pd.DataFrame({"target": ["a"], "likelihood": ["linear"], "mean": [0.5],
        ...                       "low": [0.25], "high": [1.0]})
        >>> harm_table(frame).loc["a", "linear"]
        '0.50 [0.25, 1.00]'
    """
    cells = [f"{m:.2f} [{lo:.2f}, {hi:.2f}]"
             for m, lo, hi in zip(harm["mean"], harm["low"], harm["high"])]
    return harm.assign(cell=cells).pivot(index="target", columns="likelihood", values="cell")
