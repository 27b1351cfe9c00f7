"""Training and validation rows for the trained evaluators, drawn from the dataset registry.

* Judge: published verdicts on real responses (JailbreakBench's Llama-3-70B judge on the
  ``jbb_artifacts``; GPT-4o on ``fractured_sorry_bench:conversations``), validated on the human
  majority of ``jbb_judge_comparison``. Those 100 rows share their 100 goals with the artifacts,
  so any training response that is the same text as, or nearly the same as, a validation response
  is removed first (:func:`near_duplicates`).
* Rater: the reference labels (:func:`expected_harm.annotations.load_labels`) with their prompts.
* Guard: benchmark harmful prompts against benign ones, one set per ``dataset`` so that it can be
  held out whole.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

#: Where the judge's verdicts come from, and which column groups rows by request.
JUDGE_SOURCES = {
    "jbb_artifacts": "goal",
    "fractured_sorry_bench:conversations": "sorry_bench_item_id",
}
#: Sets whose prompts the guard learns as harmful (the benchmarks of the threat-distribution
#: section, their reference-labelled items) and as benign.
HARMFUL_SETS = ("advbench", "harmbench:standard_contextual", "jbb_behaviors", "strongreject",
                "sorry_bench:base", "xstest:unsafe", "do_not_answer")
BENIGN_SETS = ("xstest:safe", "toxicchat:non_toxic")
JUDGE_COLUMNS = ["source", "item_id", "group", "request", "response", "label"]


def _sample(frame: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    if n is None or n >= len(frame):
        return frame.reset_index(drop=True)
    return frame.sample(n=n, random_state=seed).sort_index().reset_index(drop=True)


def verdict_rows(source: str, n: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Answered rows of one verdict source: request, response, published verdict (``label``).

    Rows without a verdict (``no_submission``, ``no_answers``, ``no_verdict``) are left out,
    never read as "not jailbroken".

    Args:
        source: A key of :data:`JUDGE_SOURCES`.
        n: Seeded random subset of this size (extraction is the slow part); all rows if None.
        seed: Which subset.
    """
    from expected_harm.datasets import load

    if source not in JUDGE_SOURCES:
        raise ValueError(f"unknown verdict source {source!r}; known: {', '.join(JUDGE_SOURCES)}")
    data = load(source)
    data = data[(data["status"] == "answered") & data["jailbroken"].notna()]
    request = data["goal"] if source == "jbb_artifacts" else data["prompt"]
    rows = pd.DataFrame({
        "source": source, "item_id": data["item_id"].astype(str),
        "group": data[JUDGE_SOURCES[source]].astype(str), "request": request,
        "response": data["response"].fillna(""), "label": data["jailbroken"].astype(int),
    })
    return _sample(rows, n, seed)


def human_rows() -> pd.DataFrame:
    """The JBB judge-comparison set: 100 responses with the majority of three human labels."""
    from expected_harm.judges import validation_items

    data = validation_items()
    rows = pd.DataFrame({
        "source": "jbb_judge_comparison", "item_id": data["item_id"].astype(str),
        "group": data["goal"], "request": data["goal"], "response": data["target_response"],
        "label": data["human_majority"].astype(int),
    })
    return pd.concat([rows, data.drop(columns=[c for c in rows if c in data])], axis=1)


def near_duplicates(texts: Sequence[str], others: Sequence[str], *,
                    threshold: float = 0.9) -> np.ndarray:
    """Which ``texts`` repeat one of ``others``, exactly or nearly (one bool per text).

    Exact: the same after stripping and lower-casing. Near: cosine similarity ≥ ``threshold``
    between character 3–5-gram TF-IDF vectors, which catches a response re-sampled with a few
    words changed or cut at another length.

    Examples:
        >>> near_duplicates(["Sure, here is how", "No."], ["sure, here is how "]).tolist()
        [True, False]
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts, others = [str(t) for t in texts], [str(t) for t in others]
    if not texts or not others:
        return np.zeros(len(texts), dtype=bool)
    exact = np.isin([t.strip().lower() for t in texts], [o.strip().lower() for o in others])
    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).fit(texts + others)
    similarity = vectors.transform(texts) @ vectors.transform(others).T
    near = np.asarray(similarity.max(axis=1).todense()).ravel() >= threshold
    return exact | near


def judge_training(source: str, n: int | None, seed: int,
                   validation: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """A verdict source's rows, without responses that repeat a validation response.

    Screens every row before sampling, so a subset of ``n`` is drawn from clean rows.

    Returns:
        The rows and how many were removed as (near-)duplicates.
    """
    rows = verdict_rows(source)
    dropped = near_duplicates(rows["response"], validation["response"])
    return _sample(rows[~dropped], n, seed), int(dropped.sum())


def labelled_prompts() -> pd.DataFrame:
    """Every reference-labelled item with its prompt (as :mod:`expected_harm.threats` reads it)."""
    from expected_harm.annotations import load_labels
    from expected_harm.datasets import load, spec_of

    labels = load_labels()
    labels = labels.assign(dataset=spec_of(labels))  # a set is named by its study spec here
    parts = []
    for spec, part in labels.groupby("dataset", sort=False):
        prompts = load(spec).drop_duplicates("item_id").set_index("item_id")["prompt"]
        parts.append(part.assign(prompt=part["item_id"].map(prompts).to_numpy()))
    frame = pd.concat(parts, ignore_index=True)
    if frame["prompt"].isna().any():
        raise ValueError("a labelled item has no prompt in the registry: "
                         f"{frame.loc[frame['prompt'].isna(), 'item_id'].tolist()[:3]}")
    return frame


def guard_rows(benign_per_set: int, seed: int) -> pd.DataFrame:
    """Harmful benchmark prompts (the labelled items) and benign prompts, one ``dataset`` each.

    Returns:
        ``dataset, item_id, prompt, label`` (1 harmful, 0 benign); exact duplicate prompts are
        kept once (the first set wins), so no prompt sits on both sides of a held-out split.
    """
    from expected_harm.datasets import drop_duplicate_prompts, load

    labelled = labelled_prompts()
    harmful = labelled[labelled["dataset"].isin(HARMFUL_SETS)]
    parts = [harmful[["dataset", "item_id", "prompt"]].assign(label=1)]
    for spec in BENIGN_SETS:
        benign = _sample(load(spec, drop_duplicates=True), benign_per_set, seed)
        parts.append(benign[["item_id", "prompt"]].assign(dataset=spec, label=0))
    return drop_duplicate_prompts(pd.concat(parts, ignore_index=True))


def decomposition_rows(per_kind: int | None, seed: int,
                       exclude: Collection[str] = ()) -> pd.DataFrame:
    """A seeded sample of FRACTURED decompositions (harmful and benign), one row per message.

    ``cumulative`` is the conversation so far: every sub-question up to this one, one per line,
    which is what a guard that reads the whole history sees.

    Args:
        per_kind: Decompositions drawn per kind (harmful, benign); all of them if None.
        seed: Which sample.
        exclude: ``decomposition_id`` values never drawn (e.g. those an evaluator trained on).

    Returns:
        ``decomposition_id, kind, step, n_steps, sub_question, cumulative``, and the original
        request's ``sorry_bench_item_id``, ``category`` and ``prompt``.
    """
    from expected_harm.datasets import load

    data = load("fractured_sorry_bench:decompositions")
    data = data[~data["decomposition_id"].isin(list(exclude))]
    chosen = []
    for kind in ("harmful", "benign"):
        ids = data.loc[data["kind"] == kind, "decomposition_id"].drop_duplicates()
        n = len(ids) if per_kind is None else min(per_kind, len(ids))
        chosen += ids.sample(n, random_state=seed).tolist()
    rows = data[data["decomposition_id"].isin(chosen)].sort_values(["decomposition_id", "step"])
    rows = rows[["decomposition_id", "kind", "step", "n_steps", "sub_question",
                 "sorry_bench_item_id", "category", "prompt"]].reset_index(drop=True)
    return with_cumulative(rows)


def with_cumulative(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` (ordered by decomposition and step) with ``cumulative``: every sub-question up
    to each one, one per line."""
    so_far: list[str] = []
    for _, part in rows.groupby("decomposition_id", sort=False):
        so_far += ["\n".join(part["sub_question"].iloc[: i + 1]) for i in range(len(part))]
    return rows.assign(cumulative=so_far)
