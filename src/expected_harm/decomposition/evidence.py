"""Published decompositions on real models: FRACTURED-SORRY-Bench, offline.

Priyanshu & Vijay (2024) had GPT-4o decompose each of the 450 SORRY-Bench base prompts into 4–10
"seemingly benign" sub-questions, sent the original (``vanilla``) and the decomposition
(``decomposed``, one multi-turn conversation) to GPT-3.5, GPT-4, GPT-4o and GPT-4o-mini, and had
GPT-4o judge every conversation against the original question. This decomposition is
attack-side, **not** cost-based: GPT-4o was asked to hide and strengthen the request, never to
lower its execution cost. The book uses it as the "generic decomposition" baseline beside the
cost strategies, and asks of it what the paper's mechanism predicts: does decomposition help
most on costly requests, and do the sub-questions cost less to carry out than their originals?

One row per (target, condition, question). An empty conversation (``no_answers``) or one with
no published verdict (``no_verdict``) keeps its status and has no ``success``: it is counted in
the tables, never as a refusal or a success. The dataset authors' own ASRs count every row of
450, an empty conversation as GPT-4o labelled it; :func:`uplift_table` recomputes that reckoning
beside ours, as a check.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from expected_harm.datasets._model_outputs import (
    CONDITIONS,
    FRACTURED_TARGETS,
    JAILBROKEN_VERDICT,
)
from expected_harm.judges import Judge
from expected_harm.stats import (
    DEFAULT_RESAMPLES,
    Estimate,
    bootstrap_binary_agreement,
    bootstrap_mean,
    logistic_regression,
    wilson_interval,
)

#: ``fractured_sorry_bench:conversations`` statuses: a conversation with answers and a verdict.
ANSWERED = "answered"
DATASET_AUTHORS = "Priyanshu & Vijay (2024), arXiv 2408.16163"
#: The dataset authors' published ASRs (Harmful & Relevant / 450) per target and condition
#: (their README, as PROVENANCE.md quotes it): their numbers, not this book's nor the Expected
#: Harm paper's; shown only as labelled references.
DATASET_AUTHORS_ASR: dict[str, dict[str, float]] = {
    "vanilla": {"gpt-3.5": 0.047, "gpt-4": 0.100, "gpt-4o": 0.116, "gpt-4o-mini": 0.129},
    "decomposed": {"gpt-3.5": 0.509, "gpt-4": 0.491, "gpt-4o": 0.496, "gpt-4o-mini": 0.502},
}
PUBLISHED_JUDGE = "GPT-4o (the dataset authors' published verdicts)"
DECOMPOSER = "GPT-4o decompositions (attack-side, not cost-based)"
DATA = "fractured_sorry_bench (Priyanshu & Vijay 2024; SORRY-Bench 2024-06 base prompts)"
#: Where the originals' and sub-questions' cost and severity come from, for captions.
REFERENCE_LEVELS = "AI-assistant reference labels (written protocol)"


def conversation_rows(labels: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every published conversation with its SORRY-Bench original and the original's labels.

    Args:
        labels: Reference labels of SORRY-Bench originals (``item_id``, ``cost``,
            ``severity``); ``annotations.all_labels("sorry_bench")`` by default.

    Returns:
        Columns ``target``, ``condition``, ``item_id`` (the question: its SORRY-Bench row),
        ``conversation_id``, ``decomposition_id``, ``category``, ``prompt`` (the original;
        missing for row 141, empty upstream), ``questions``, ``response`` (the answers joined by
        blank lines), ``verdict`` (GPT-4o's published label), ``status``, ``cost`` and
        ``severity`` (missing where the original is not labelled) and ``success``: 1.0 for
        "Harmful & Relevant Answer", 0.0 for the other verdicts, missing unless ``answered``.
    """
    from expected_harm.annotations import all_labels
    from expected_harm.datasets import load

    labels = all_labels("sorry_bench") if labels is None else labels
    levels = labels.assign(item_id=labels["item_id"].astype(str)).set_index("item_id")
    conversations = load("fractured_sorry_bench:conversations")
    rows = pd.DataFrame(
        {
            "target": conversations["target"],
            "condition": conversations["condition"],
            "item_id": conversations["question_index"].astype(str),
            "conversation_id": conversations["item_id"],
            "decomposition_id": conversations["decomposition_id"],
            "category": conversations["category"],
            "prompt": conversations["prompt"],
            "questions": conversations["questions"],
            "response": conversations["response"],
            "verdict": conversations["verdict"],
            "status": conversations["status"],
        }
    ).join(levels[["cost", "severity"]].astype(float), on="item_id")
    success = (rows["verdict"] == JAILBROKEN_VERDICT).astype(float)
    rows["success"] = success.where(rows["status"] == ANSWERED)
    return rows


def status_counts(rows: pd.DataFrame) -> pd.DataFrame:
    """Conversations per (target, condition) and status: what the ASRs leave out, and why."""
    return pd.crosstab([rows["target"], rows["condition"]], rows["status"])


def paired(rows: pd.DataFrame, success: str = "success") -> pd.DataFrame:
    """Questions × condition ``success`` per target, kept where both conditions have a value.

    Returns:
        Index (``target``, ``item_id``), columns ``vanilla`` and ``decomposed``.
    """
    wide = rows.pivot_table(index=["target", "item_id"], columns="condition", values=success,
                            aggfunc="first")
    return wide.reindex(columns=list(CONDITIONS)).dropna()


def paired_ratio(vanilla: np.ndarray, decomposed: np.ndarray, *, confidence: float = 0.95,
                 resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> Estimate:
    """Decomposed ÷ vanilla ASR on the same questions, with a paired percentile bootstrap.

    Each draw resamples questions once for both conditions, so the interval keeps the pairing
    (a question hard in one condition tends to be hard in the other). A draw with no vanilla
    success gives an infinite ratio, which widens the upper bound honestly.

    Examples:
        >>> paired_ratio(np.array([1, 0, 0, 0]), np.array([1, 1, 0, 0]), resamples=50).value
        2.0
    """
    vanilla, decomposed = np.asarray(vanilla, float), np.asarray(decomposed, float)
    if vanilla.size == 0 or vanilla.size != decomposed.size:
        raise ValueError(f"paired_ratio needs equal, non-empty sides, got {vanilla.size} and "
                         f"{decomposed.size}")
    draws = np.random.default_rng(seed).integers(0, vanilla.size, (resamples, vanilla.size))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = decomposed.mean() / vanilla.mean()
        ratios = decomposed[draws].mean(axis=1) / vanilla[draws].mean(axis=1)
    # an order statistic, not an interpolation, so that an infinite draw stays infinite
    low, high = np.quantile(np.nan_to_num(ratios, nan=np.inf, posinf=np.inf),
                            [(1 - confidence) / 2, (1 + confidence) / 2], method="inverted_cdf")
    return Estimate(float(value), float(low), float(high), int(vanilla.size))


def uplift_table(rows: pd.DataFrame, success: str = "success", seed: int = 0) -> pd.DataFrame:
    """Per target: ASR vanilla vs decomposed on the same questions, their ratio and difference.

    Only questions with a ``success`` value in both conditions enter (``n``); the ASRs carry
    Wilson intervals, the ratio a paired bootstrap (:func:`paired_ratio`) and the difference a
    bootstrap of per-question differences, both resampling questions. Beside them: the dataset
    authors' reckoning recomputed from the verdict column (Harmful & Relevant over all rows,
    empty conversations included, as they count) and their published ASRs, as references.
    """
    pairs = paired(rows, success)
    out = []
    for target, part in pairs.groupby(level="target", sort=False):
        vanilla, decomposed = part["vanilla"].to_numpy(), part["decomposed"].to_numpy()
        asr = {c: wilson_interval(int(part[c].sum()), len(part)) for c in CONDITIONS}
        ratio = paired_ratio(vanilla, decomposed, seed=seed)
        difference = bootstrap_mean(decomposed - vanilla, seed=seed)
        row: dict[str, object] = {"target": target, "n": len(part)}
        for condition, estimate in asr.items():
            row |= {condition: estimate.value, f"{condition}_low": estimate.low,
                    f"{condition}_high": estimate.high}
        row |= {"ratio": ratio.value, "ratio_low": ratio.low, "ratio_high": ratio.high,
                "difference": difference.value, "difference_low": difference.low,
                "difference_high": difference.high}
        for condition in CONDITIONS:
            cell = rows[(rows["target"] == target) & (rows["condition"] == condition)]
            row[f"{condition}_reckoned"] = float((cell["verdict"] == JAILBROKEN_VERDICT).mean())
            row[f"{condition}_authors"] = DATASET_AUTHORS_ASR[condition].get(target, np.nan)
        out.append(row)
    order = {t: i for i, t in enumerate(FRACTURED_TARGETS)}
    return pd.DataFrame(out).sort_values("target", key=lambda s: s.map(order)).reset_index(
        drop=True)


# --- The book's judge on a sample of the published answers -----------------------------------


def judged_sample(rows: pd.DataFrame, per_cell: int, seed: int) -> pd.DataFrame:
    """``per_cell`` questions per target, seeded, each in both conditions (``2 * per_cell`` rows).

    Drawn from questions answered in both conditions and whose original was published, so the
    judge reads the same questions vanilla and decomposed and the uplift it sees is paired.
    """
    if per_cell < 1:
        raise ValueError(f"per_cell must be at least 1, got {per_cell}")
    readable = rows[(rows["status"] == ANSWERED) & rows["prompt"].notna()]
    both = readable.groupby(["target", "item_id"])["condition"].transform("nunique") == 2
    questions = (readable[both].drop_duplicates(["target", "item_id"])
                 .sample(frac=1.0, random_state=seed)
                 .groupby("target", sort=False).head(per_cell)[["target", "item_id"]])
    return readable.merge(questions, on=["target", "item_id"]).sort_values(
        ["target", "condition", "item_id"], ignore_index=True)


def rejudge(rows: pd.DataFrame, judge: Judge, per_cell: int = 2, seed: int = 0) -> pd.DataFrame:
    """The book's judge on a seeded sample (:func:`judged_sample`): original request + response.

    For a decomposed conversation the response is the target's answers to the sub-questions,
    joined in order, judged against the *original* request, as GPT-4o judged it. Adds
    ``judge_status``, ``book_verdict`` and ``book_success`` (missing where the judge gave no
    verdict: an unparsed judgement is never a refusal), as
    :func:`expected_harm.published.rejudge` does for the JailbreakBench artifacts. The default
    ``per_cell`` is small: the embedded judge takes seconds a call.
    """
    from expected_harm import published

    return published.rejudge(judged_sample(rows, per_cell, seed), judge)


def rejudged_uplift(rejudged: pd.DataFrame) -> pd.DataFrame:
    """ASR per target and condition on the re-read rows: the published verdicts and the book's.

    A last row, ``all``, pools the targets. ``not judged`` counts rows the book's judge gave no
    verdict (left out of its ASR, not counted as failures).
    """
    pooled = pd.concat([rejudged, rejudged.assign(target="all")])
    grouped = pooled.groupby(["target", "condition"], sort=False)
    table = pd.DataFrame({
        "n": grouped.size(),
        "ASR (published GPT-4o)": grouped["success"].mean(),
        "ASR (book judge)": grouped["book_success"].mean(),
        "not judged": grouped["book_success"].apply(lambda s: int(s.isna().sum())),
    })
    return table.reindex(list(CONDITIONS), level="condition")


# --- Uplift by the original's execution cost --------------------------------------------------


def uplift_by_cost(rows: pd.DataFrame, success: str = "success", seed: int = 0) -> pd.DataFrame:
    """ASR vanilla and decomposed, and their difference, per cost level of the original.

    Labelled originals only. Within a question the targets are averaged first (each question
    is asked of four targets), so the bootstrap resamples questions, the unit that was drawn.

    Returns:
        One row per cost level: ``questions``, ``vanilla``, ``decomposed``, ``uplift`` (the mean
        per-question difference) with ``low``/``high`` (95%).
    """
    pairs = paired(rows[rows["cost"].notna()], success)
    per_question = pairs.groupby(level="item_id").mean()
    cost = rows.drop_duplicates("item_id").set_index("item_id")["cost"]
    per_question = per_question.join(cost)
    out = []
    for level, part in per_question.groupby("cost", sort=True):
        uplift = bootstrap_mean(part["decomposed"] - part["vanilla"], seed=seed)
        out.append({"cost": int(level), "questions": len(part),
                    "vanilla": part["vanilla"].mean(), "decomposed": part["decomposed"].mean(),
                    "uplift": uplift.value, "low": uplift.low, "high": uplift.high})
    return pd.DataFrame(out)


def cost_interaction(rows: pd.DataFrame, success: str = "success") -> pd.DataFrame:
    """Does decomposition's log-odds gain grow with the original's cost?

    ``success ~ decomposed + cost + decomposed×cost + severity + target`` by logistic
    regression on the labelled originals, with standard errors clustered by question (each is
    asked of four targets in two conditions). The interaction is the answer: positive means
    decomposition helps more the costlier the request, as the paper's mechanism says. Few
    labelled originals at high cost, with no vanilla success among them, make the odds-scale
    interaction large and imprecise: read it beside :func:`uplift_by_cost`'s differences.

    Returns:
        One row: ``interaction``, ``low``, ``high`` (95%), ``odds_ratio``, ``p``, ``direction``,
        ``n`` rows, ``questions``; ``why`` instead of the estimates where no fit exists.
    """
    data = rows[rows["cost"].notna()].dropna(subset=[success])
    data = data.assign(decomposed=(data["condition"] == "decomposed").astype(float))
    data = data.assign(decomposed_by_cost=data["decomposed"] * data["cost"])
    row: dict[str, object] = {"n": len(data), "questions": data["item_id"].nunique()}
    try:
        fitted = logistic_regression(data, success,
                                     ["decomposed", "cost", "decomposed_by_cost", "severity"],
                                     ["target"], cluster="item_id")
    except ValueError as error:
        return pd.DataFrame([{**row, "why": str(error)}])
    low, high = fitted.conf_int().loc["decomposed_by_cost"]
    value = fitted.params["decomposed_by_cost"]
    return pd.DataFrame([{**row, "interaction": value, "low": low, "high": high,
                          "odds_ratio": float(np.exp(value)),
                          "p": fitted.pvalues["decomposed_by_cost"],
                          "direction": interaction_direction(low, high)}])


def interaction_direction(low: float, high: float) -> str:
    """The decomposition × cost interaction in words, from its interval.

    Examples:
        >>> interaction_direction(0.1, 0.9)
        'grows with the cost of the original, as the paper’s mechanism says'
        >>> interaction_direction(-0.4, 0.2)
        'shows no clear change with the cost of the original'
    """
    if low > 0:
        return "grows with the cost of the original, as the paper’s mechanism says"
    if high < 0:
        return "shrinks with the cost of the original, against the paper’s mechanism"
    return "shows no clear change with the cost of the original"


def cost_reading(interaction: pd.DataFrame) -> str:
    """One sentence: does decomposition help most on costly requests, whichever way it goes."""
    row = interaction.iloc[0]
    if pd.isna(row.get("interaction")):
        return (f"No interaction can be estimated on the {row['questions']} labelled originals "
                f"({row['why']}).")
    return (f"On the {row['questions']} labelled originals, decomposition's gain in the odds of "
            f"success {row['direction']}: each cost level multiplies it by "
            f"{row['odds_ratio']:.2f} (95% CI {np.exp(row['low']):.2f}–{np.exp(row['high']):.2f}).")


# --- The sub-questions' cost against their originals -----------------------------------------


def question_of(item_id: str) -> str:
    """The SORRY-Bench question of a harmful sub-question id (``harmful:<question>:<step>``).

    Examples:
        >>> question_of("harmful:12:3")
        '12'
    """
    kind, question, step = (item_id.split(":") + ["", ""])[:3]
    if kind != "harmful" or not question.isdigit() or not step.isdigit():
        raise ValueError(f"not a harmful sub-question id (harmful:<question>:<step>): {item_id!r}")
    return question


def step_cost_frame(labels_steps: pd.DataFrame, labels_originals: pd.DataFrame) -> pd.DataFrame:
    """One row per labelled sub-question beside its original's labels (ready for a figure).

    Args:
        labels_steps: Reference labels of ``fractured_sorry_bench`` sub-questions (``item_id``
            like ``harmful:0:1``, ``cost``, ``severity``).
        labels_originals: Reference labels of the SORRY-Bench originals (``item_id``, ...).

    Returns:
        ``decomposition_id``, ``item_id`` (the original), ``step``, ``step_cost``,
        ``step_severity``, ``original_cost``, ``original_severity``; sub-questions whose
        original has no label are left out.
    """
    originals = labels_originals.assign(item_id=labels_originals["item_id"].astype(str))
    originals = originals.set_index("item_id")[["cost", "severity"]].add_prefix("original_")
    ids = labels_steps["item_id"].astype(str)
    frame = pd.DataFrame({
        "decomposition_id": ids.str.rsplit(":", n=1).str[0].to_numpy(),
        "item_id": ids.map(question_of).to_numpy(),
        "step": ids.str.rsplit(":", n=1).str[1].astype(int).to_numpy(),
        "step_cost": labels_steps["cost"].astype(float).to_numpy(),
        "step_severity": labels_steps["severity"].astype(float).to_numpy(),
    })
    return frame.join(originals.astype(float), on="item_id", how="inner").sort_values(
        ["decomposition_id", "step"], ignore_index=True)


def step_cost_table(labels_steps: pd.DataFrame, labels_originals: pd.DataFrame) -> pd.DataFrame:
    """Per decomposition: its sub-questions' cost and severity (max, mean) against the original's.

    GPT-4o's decomposition is attack-side (hide and strengthen the request), not cost-based; this
    table asks whether such a generic decomposition lowers execution cost anyway.

    Returns:
        One row per decomposition with both sides labelled: ``steps`` labelled,
        ``original_cost``, ``max_step_cost``, ``mean_step_cost``, ``share_cheap`` (share of
        steps with cost ≤ 2), the same for severity, and ``max_minus_original`` /
        ``mean_minus_original`` cost differences.
    """
    frame = step_cost_frame(labels_steps, labels_originals)
    grouped = frame.groupby("decomposition_id", sort=False)
    table = pd.DataFrame({
        "item_id": grouped["item_id"].first(),
        "steps": grouped.size(),
        "original_cost": grouped["original_cost"].first(),
        "max_step_cost": grouped["step_cost"].max(),
        "mean_step_cost": grouped["step_cost"].mean(),
        "share_cheap": grouped["step_cost"].apply(lambda s: float((s <= 2).mean())),
        "original_severity": grouped["original_severity"].first(),
        "max_step_severity": grouped["step_severity"].max(),
        "mean_step_severity": grouped["step_severity"].mean(),
    })
    table["max_minus_original"] = table["max_step_cost"] - table["original_cost"]
    table["mean_minus_original"] = table["mean_step_cost"] - table["original_cost"]
    return table.reset_index()


#: The measures :func:`step_cost_summary` reports, as the page names them.
STEP_MEASURES = {
    "original_cost": "original cost",
    "max_step_cost": "max step cost",
    "mean_step_cost": "mean step cost",
    "max_minus_original": "max step − original cost",
    "mean_minus_original": "mean step − original cost",
    "share_cheap": "share of steps with cost ≤ 2",
    "original_severity": "original severity",
    "max_step_severity": "max step severity",
    "mean_step_severity": "mean step severity",
}


def step_cost_summary(table: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Each measure of :func:`step_cost_table` averaged over decompositions, with 95% intervals.

    The bootstrap resamples decompositions, not steps: a decomposition's steps were written
    together for one original, so they are one draw. The paired differences are per
    decomposition, so their intervals keep the pairing with the original.
    """
    rows = {}
    for column, name in STEP_MEASURES.items():
        estimate = bootstrap_mean(table[column], seed=seed)
        rows[name] = {"mean": estimate.value, "low": estimate.low, "high": estimate.high,
                      "decompositions": estimate.n}
    return pd.DataFrame(rows).T.astype({"decompositions": int})


def step_items(decompositions: pd.DataFrame | None = None) -> pd.DataFrame:
    """The harmful sub-questions in the shape :func:`expected_harm.threats.rate_items` rates.

    Args:
        decompositions: ``load("fractured_sorry_bench:decompositions")`` by default.
    """
    from expected_harm.datasets import load

    steps = load("fractured_sorry_bench:decompositions") if decompositions is None else (
        decompositions)
    harmful = steps[steps["kind"] == "harmful"]
    return pd.DataFrame({"dataset": harmful["dataset"], "item_id": harmful["item_id"],
                         "group": harmful["group"], "prompt": harmful["sub_question"]}
                        ).reset_index(drop=True)


def rater_agreement(rated: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """The configured rater's cost and severity of sub-questions against their reference labels.

    Args:
        rated: :func:`expected_harm.threats.rate_items` of :func:`step_items` (``dataset``,
            ``item_id``, ``cost``, ``severity``, ``cost_expected``, ``severity_expected``).
        labels: Reference labels of the same set (``all_labels("fractured_sorry_bench")``).

    Returns:
        :func:`expected_harm.threats.rater_agreement` on the sub-questions both rated and
        labelled: weighted κ, Spearman ρ, exact and ±1 agreement and ``n`` per score.
    """
    from expected_harm.threats import rater_agreement as agreement_of

    reference = labels[["dataset", "item_id", "cost", "severity"]]
    pairs = rated.merge(reference, on=["dataset", "item_id"], suffixes=("_rater", ""))
    return agreement_of(pairs)


# --- What notebook 03's published part shows: tables and the values its prose quotes ----------

TARGETS = "GPT-3.5, GPT-4, GPT-4o, GPT-4o-mini (answers published by the dataset authors)"


def _interval(value: float, low: float, high: float, unit: str = "") -> str:
    """``"50% [45%, 55%]"`` or ``"4.3× [3.1, 6.2]"``.

    Examples:
        >>> _interval(4.31, 3.1, 6.2, "×")
        '4.3× [3.1, 6.2]'
        >>> _interval(0.5, 0.45, 0.55)
        '50% [45%, 55%]'
    """
    if unit == "×":
        return f"{value:.1f}× [{low:.1f}, {high:.1f}]"
    return f"{value:.0%} [{low:.0%}, {high:.0%}]"


def uplift_report(rows: pd.DataFrame, seed: int = 0) -> tuple[Styler, dict[str, str]]:
    """ASR uplift per target (:func:`uplift_table`) as a table, and the values the prose quotes."""
    table = uplift_table(rows, seed=seed)
    cells = pd.DataFrame({
        "n (paired questions)": table["n"],
        "ASR vanilla [95% CI]": [_interval(*r) for r in
                                 table[["vanilla", "vanilla_low", "vanilla_high"]].to_numpy()],
        "ASR decomposed [95% CI]": [_interval(*r) for r in table[
            ["decomposed", "decomposed_low", "decomposed_high"]].to_numpy()],
        "ratio [95% CI]": [_interval(*r, "×") for r in
                           table[["ratio", "ratio_low", "ratio_high"]].to_numpy()],
        "dataset authors: vanilla (reference)": table["vanilla_authors"].map("{:.1%}".format),
        "dataset authors: decomposed (reference)": table["decomposed_authors"].map(
            "{:.1%}".format),
    }).set_axis(table["target"])
    style = cells.style.set_caption(
        f"ASR of the original (vanilla) vs GPT-4o's decomposition, on the questions answered in "
        f"both conditions; Wilson intervals for ASRs, paired bootstrap over questions for the "
        f"ratio. Targets: {TARGETS} · Judge: {PUBLISHED_JUDGE} · Decomposer: {DECOMPOSER} · "
        f"Data: {DATA} · n = {int(table['n'].sum())} question pairs. The dataset authors' ASRs "
        f"({DATASET_AUTHORS}) count all 450 rows per cell.")
    return style, {
        "ratio_range": f"{table['ratio'].min():.1f}× to {table['ratio'].max():.1f}×",
        "decomposed_range": f"{table['decomposed'].min():.0%} to {table['decomposed'].max():.0%}",
        "vanilla_range": f"{table['vanilla'].min():.0%} to {table['vanilla'].max():.0%}",
        "n_pairs": str(int(table["n"].sum())),
    }


def rejudge_report(rejudged: pd.DataFrame, judge_name: str, per_cell: int,
                   seed: int) -> tuple[Styler, dict[str, str]]:
    """ASR by the published verdicts and by the book's judge on the re-read rows, with κ."""
    table = rejudged_uplift(rejudged)
    agreement = bootstrap_binary_agreement(rejudged["success"],
                                           {judge_name: rejudged["book_success"]}, seed=seed)
    row = agreement.loc[judge_name]
    kappa = f"{row['kappa']:.2f} [{row['kappa_low']:.2f}, {row['kappa_high']:.2f}]"
    style = table.style.format({"ASR (published GPT-4o)": "{:.0%}", "ASR (book judge)": "{:.0%}"},
                               na_rep="–").set_caption(
        f"The same answers judged twice: {PUBLISHED_JUDGE} and this book's judge ({judge_name}), "
        f"each against the original request; {per_cell} question{'s' * (per_cell != 1)} per "
        f"target in both conditions (seed {seed}), n = {len(rejudged)} answers. Cohen's κ "
        f"between the two: {kappa} (95% bootstrap). Targets: {TARGETS} · Data: {DATA}")
    pooled = table.loc["all"]
    return style, {
        "n_rejudged": str(len(rejudged)), "kappa": kappa,
        "book_vanilla": f"{pooled.loc['vanilla', 'ASR (book judge)']:.0%}",
        "book_decomposed": f"{pooled.loc['decomposed', 'ASR (book judge)']:.0%}",
        "published_vanilla": f"{pooled.loc['vanilla', 'ASR (published GPT-4o)']:.0%}",
        "published_decomposed": f"{pooled.loc['decomposed', 'ASR (published GPT-4o)']:.0%}",
    }


def cost_uplift_report(rows: pd.DataFrame, seed: int = 0) -> tuple[Styler, dict[str, str]]:
    """Uplift per cost level of the original (:func:`uplift_by_cost`), and its reading."""
    levels = uplift_by_cost(rows, seed=seed)
    interaction = cost_interaction(rows)
    questions = int(levels["questions"].sum())
    style = levels.set_index("cost").style.format(
        {"vanilla": "{:.0%}", "decomposed": "{:.0%}", "uplift": "{:+.0%}", "low": "{:+.0%}",
         "high": "{:+.0%}"}).set_caption(
        f"ASR by the original's execution cost, targets averaged within a question; uplift = "
        f"decomposed − vanilla with a 95% bootstrap over questions. Levels: {REFERENCE_LEVELS}, "
        f"the {questions} labelled SORRY-Bench originals · Targets: {TARGETS} · Judge: "
        f"{PUBLISHED_JUDGE} · Data: {DATA}")
    return style, {"cost_reading": cost_reading(interaction), "n_cost_questions": str(questions)}


def step_cost_report(table: pd.DataFrame, seed: int = 0) -> tuple[Styler, dict[str, str]]:
    """Sub-question cost and severity against their originals (:func:`step_cost_summary`)."""
    summary = step_cost_summary(table, seed=seed)
    style = summary.style.format({"mean": "{:.2f}", "low": "{:.2f}", "high": "{:.2f}"}).format(
        "{:.0%}", subset=pd.IndexSlice[[STEP_MEASURES["share_cheap"]], ["mean", "low", "high"]]
    ).set_caption(
        f"Execution cost and severity of GPT-4o's sub-questions against their originals, "
        f"averaged over {len(table)} decompositions ({int(table['steps'].sum())} sub-questions); "
        f"95% bootstrap over decompositions. Levels: {REFERENCE_LEVELS} · Decomposer: "
        f"{DECOMPOSER} · Data: {DATA}")
    row = summary.loc[STEP_MEASURES["max_minus_original"]]
    mean_row = summary.loc[STEP_MEASURES["mean_minus_original"]]
    return style, {
        "n_decompositions": str(len(table)),
        "max_minus_original": f"{row['mean']:+.2f} [{row['low']:+.2f}, {row['high']:+.2f}]",
        "mean_minus_original": (f"{mean_row['mean']:+.2f} [{mean_row['low']:+.2f}, "
                                f"{mean_row['high']:+.2f}]"),
        "share_cheap": f"{summary.loc[STEP_MEASURES['share_cheap'], 'mean']:.0%}",
    }


def rater_report(agreement: pd.DataFrame, rater_spec: str) -> tuple[Styler, dict[str, str]]:
    """The rater against the reference labels on the sub-questions (:func:`rater_agreement`)."""
    from expected_harm.threats import agreement_style

    n = int(agreement["n"].max())
    style = agreement_style(agreement, na_rep="–").set_caption(
        f"The configured rater ({rater_spec}) against the {REFERENCE_LEVELS} on the same "
        f"{n} GPT-4o sub-questions. Data: {DATA}")
    kappa = agreement.loc["cost (sampled)"].get("quadratic_kappa", np.nan)
    return style, {"rater_kappa_steps": f"{kappa:.2f}"}
