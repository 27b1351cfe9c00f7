"""Which prompts may train the safety-tuned embedded model, and which are held out to evaluate it.

A model tuned on the prompts the book later measures it on would score itself. So the training
set leaves out every item the book's sections use by default: the reference-annotation sample
(which also holds the calibration items), the harmless prompts the probing section draws, and a
held-out evaluation split drawn here. Exclusion is by item id *and* by normalised prompt text
(:func:`~expected_harm.datasets.normalise_prompt`), since the same request can appear in several
sets.

The split is written to ``models/smollm2-135m-safety/split.csv`` of the package data (ids only)
and tests check it is disjoint from everything the book uses.

References:
    Bianchi et al. (2024), "Safety-Tuned LLaMAs: Lessons From Improving the Safety of Large
    Language Models that Follow Instructions", ICLR 2024.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from expected_harm.annotations import ANNOTATED_SETS, load_sample
from expected_harm.datasets import load, normalise_prompt, spec_of
from expected_harm.probing import draw_harmless
from expected_harm.refusals import refusal_match

#: Held-out harmful prompts: benchmark items outside the reference sample.
HARMFUL_EVAL: tuple[str, ...] = ("advbench", "harmbench:standard_contextual")
XSTEST_SAFE = "xstest:safe"
TOXICCHAT_BENIGN = "toxicchat:non_toxic"
SAFETY_PAIRS = "safety_tuned_llamas"

#: The probing section's harmless draw (``notebooks/05_probing.ipynb`` parameters); a test keeps
#: these in step with the notebook.
PROBING_HARMLESS: tuple[str, ...] = (XSTEST_SAFE, TOXICCHAT_BENIGN)
PROBING_PER_SET = 150
PROBING_SEED = 0

ROLES = ("train_safety", "train_template", "train_benign", "eval_harmful", "eval_benign")
COLUMNS = ("role", "spec", "item_id")


def book_items() -> pd.DataFrame:
    """Every item the book's sections use by default, as ``spec, item_id, prompt``.

    The calibration section draws its items from the reference sample, so the sample covers it.
    """
    sample = load_sample()
    parts = []
    for spec in ANNOTATED_SETS:
        ids = set(sample.loc[spec_of(sample) == spec, "item_id"].astype(str))
        frame = load(spec, drop_duplicates=True)
        parts.append(frame.loc[frame["item_id"].astype(str).isin(ids)].assign(spec=spec))
    parts += [draw_harmless(spec, PROBING_PER_SET, PROBING_SEED).assign(spec=spec)
              for spec in PROBING_HARMLESS]
    items = pd.concat(parts, ignore_index=True)
    return items.assign(item_id=items["item_id"].astype(str))[["spec", "item_id", "prompt"]]


def _without(frame: pd.DataFrame, ids: Iterable[str], texts: set[str]) -> pd.DataFrame:
    ids = set(ids)
    same_request = frame["prompt"].map(normalise_prompt).isin(texts)
    keep = ~frame["item_id"].astype(str).isin(ids) & ~same_request
    return frame.loc[keep]


def opens_with_refusal(answers: pd.Series) -> pd.Series:
    """Whether each answer begins with a refusal (the ``refusal_openings`` list, at the start).

    About a quarter of the Safety-Tuned LLaMAs answers help safely instead of refusing ("As of
    2021, there are 193 member states…"). A 135M model learns a cleaner boundary from clear
    refusals alone; the recipe's ``safety_refusals_only`` keeps only those.

    Examples:
        >>> opens_with_refusal(pd.Series(["I'm sorry, but no.", "Sure: I can't wait!"])).tolist()
        [True, False]
    """
    texts = answers.astype(str).fillna("").tolist()  # a missing answer opens with nothing
    found = refusal_match(texts, "refusal_openings", rule="prefix")
    return pd.Series([hit is not None for hit in found], index=answers.index, dtype=bool,
                     name=answers.name)


def make_split(settings: Mapping[str, Any], seed: int) -> pd.DataFrame:
    """Draw the training and held-out evaluation items.

    Args:
        settings: The ``split`` block of the recipe: ``eval_per_set``, ``xstest_safe_train``,
            ``toxicchat_train``, ``safety_pairs``, ``max_prompt_chars``; optionally
            ``safety_refusals_only`` and ``templated_refusals`` (``spec``, ``categories``, ``n``:
            harmful requests that the recipe's refusal templates answer).
        seed: Random state of every draw.

    Returns:
        Columns ``role, spec, item_id``; roles are :data:`ROLES`.

    Raises:
        ValueError: A set has too few eligible items for the numbers asked.
    """
    n_eval = int(settings["eval_per_set"])
    max_chars = int(settings["max_prompt_chars"])
    book = book_items()
    book_texts = set(book["prompt"].map(normalise_prompt))
    rows: list[pd.DataFrame] = []

    def draw(frame: pd.DataFrame, n: int, spec: str, role: str) -> pd.DataFrame:
        if len(frame) < n:
            raise ValueError(f"{spec}: {len(frame)} eligible items for {role}, {n} requested")
        chosen = frame.sample(n, random_state=seed)
        rows.append(pd.DataFrame({"role": role, "spec": spec, "item_id": chosen["item_id"]}))
        return chosen

    held_out: list[pd.DataFrame] = []
    for spec in HARMFUL_EVAL:
        frame = load(spec, drop_duplicates=True)
        used = book.loc[book["spec"] == spec, "item_id"]
        held_out.append(draw(_without(frame, used, book_texts), n_eval, spec, "eval_harmful"))

    benign_pools = {}
    for spec in (XSTEST_SAFE, TOXICCHAT_BENIGN):
        frame = load(spec, drop_duplicates=True)
        used = book.loc[book["spec"] == spec, "item_id"]
        pool = _without(frame, used, book_texts)
        chosen = draw(pool, n_eval, spec, "eval_benign")
        held_out.append(chosen)
        benign_pools[spec] = pool.drop(chosen.index)

    excluded = book_texts | set(pd.concat(held_out)["prompt"].map(normalise_prompt))
    for spec, n in ((XSTEST_SAFE, settings["xstest_safe_train"]),
                    (TOXICCHAT_BENIGN, settings["toxicchat_train"])):
        pool = _without(benign_pools[spec], (), excluded)
        draw(pool.loc[pool["prompt"].str.len() <= max_chars], int(n), spec, "train_benign")

    # Safety pairs must not repeat any benchmark request, in the sample or not.
    benchmark_texts = {
        normalise_prompt(p) for spec in (*ANNOTATED_SETS, *HARMFUL_EVAL)
        for p in load(spec, drop_duplicates=True)["prompt"]
    }
    safety = _without(load(SAFETY_PAIRS, drop_duplicates=True), (), excluded | benchmark_texts)
    if settings.get("safety_refusals_only", False):
        safety = safety.loc[opens_with_refusal(safety["response"])]
    draw(safety.loc[safety["prompt"].str.len() <= max_chars], int(settings["safety_pairs"]),
         SAFETY_PAIRS, "train_safety")
    templated = settings.get("templated_refusals")
    if templated:  # harmful requests without a reference answer; the recipe's templates answer them
        frame = load(templated["spec"], drop_duplicates=True)
        frame = frame.loc[frame["category"].isin(templated["categories"])]
        pool = _without(frame, (), excluded | benchmark_texts)
        draw(pool.loc[pool["prompt"].str.len() <= max_chars], int(templated["n"]),
             templated["spec"], "train_template")
    split = pd.concat(rows, ignore_index=True)
    return split.assign(item_id=split["item_id"].astype(str))[list(COLUMNS)]


def split_prompts(split: pd.DataFrame) -> pd.DataFrame:
    """Join prompt text (and, for safety pairs, the reference refusal) onto the split's ids."""
    parts = []
    for spec, ids in split.groupby("spec", sort=False):
        frame = load(spec, drop_duplicates=True)
        frame = frame.assign(item_id=frame["item_id"].astype(str))
        columns = ["item_id", "prompt"] + (["response"] if "response" in frame else [])
        parts.append(ids.merge(frame[columns], on="item_id", how="left", validate="one_to_one"))
    joined = pd.concat(parts, ignore_index=True)
    missing = joined["prompt"].isna()
    if missing.any():
        lost = joined.loc[missing, "item_id"].tolist()[:5]
        raise ValueError(f"split ids not found in their sets: {lost}")
    return joined
