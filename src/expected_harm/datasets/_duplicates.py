"""Exact duplicate prompts within and across sets.

Benchmarks borrow from each other (StrongREJECT and JBB-Behaviors take items from AdvBench, and
HarmBench's sources include AdvBench), and real-user logs repeat popular prompts. Counting a
prompt twice would tilt any comparison of cost distributions, so duplicates are reported and can
be dropped.

"Exact" means the same text after stripping surrounding whitespace; for HarmBench contextual
behaviours the context string is part of the key, because one behaviour text is reused with
different contexts. Rows are reported by dataset and item id with a short hash of the text, never
with the text itself.

Keeping a prompt out of something (a training set, a count of re-posts) asks a looser question:
is this the same request, whatever its case and spacing? :func:`normalise_prompt` is the one
answer to it. Duplicates stay exact: the looser key would drop 58 more rows of the prompt sets
(470 → 528: ToxicChat, LMSYS, in-the-wild templates, HH-RLHF), real users' variants that the
book counts as distinct prompts.
"""

from __future__ import annotations

import hashlib
import re
from itertools import combinations

import pandas as pd

from expected_harm.datasets._schema import CONTEXT_COLUMN


def normalise_prompt(text: object) -> str:
    r"""A prompt's case- and whitespace-insensitive form: two prompts with the same form are the
    same request (for exclusion from training, for counting a template's re-posts).

    Examples:
        >>> normalise_prompt("  How do I\n pick a  LOCK? ")
        'how do i pick a lock?'
    """
    return re.sub(r"\s+", " ", str(text)).strip().lower()


def prompt_keys(frame: pd.DataFrame) -> pd.Series:
    """The duplicate key of every row: stripped prompt, plus the context when a row has one."""
    keys = frame["prompt"].astype(str).str.strip()
    if CONTEXT_COLUMN in frame:
        context = frame[CONTEXT_COLUMN].fillna("").astype(str).str.strip()
        keys = keys.where(context == "", keys + "\n\x1f" + context)
    return keys


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def find_duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    """Every row that repeats an earlier row's prompt, with the row it repeats.

    Args:
        frame: A tidy frame (one set or several concatenated, e.g. from ``load_all``).

    Returns:
        One row per later copy, in frame order: ``dataset, item_id, first_dataset,
        first_item_id, scope`` (``within`` a set or ``across`` sets) and ``prompt_sha256``
        (first 12 hex digits of the key), so duplicates can be inspected without printing text.
        These are exactly the rows :func:`drop_duplicate_prompts` removes.
    """
    keys = prompt_keys(frame).reset_index(drop=True)
    rows = frame.reset_index(drop=True)
    first = keys.groupby(keys, sort=False).cumcount() == 0
    first_rows = rows.loc[first, ["dataset", "item_id"]].set_axis(keys[first].to_numpy())
    later = ~first
    copies = pd.DataFrame(
        {
            "dataset": rows.loc[later, "dataset"].to_numpy(),
            "item_id": rows.loc[later, "item_id"].to_numpy(),
            "first_dataset": first_rows.loc[keys[later], "dataset"].to_numpy(),
            "first_item_id": first_rows.loc[keys[later], "item_id"].to_numpy(),
            "prompt_sha256": keys[later].map(_short_hash).to_numpy(),
        }
    )
    copies.insert(
        4, "scope", (copies["dataset"] == copies["first_dataset"]).map(
            {True: "within", False: "across"}
        ),
    )
    return copies


def drop_duplicate_prompts(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep the first row of every prompt (frame order), drop later copies.

    In a concatenation the earlier set wins, so the order of the sets decides which one keeps a
    shared prompt (benchmarks come first in the registry).
    """
    keys = prompt_keys(frame)
    return frame.loc[~keys.duplicated(keep="first").to_numpy()].reset_index(drop=True)


def duplicate_report(frame: pd.DataFrame) -> pd.DataFrame:
    """Per set: rows, distinct prompts, copies within the set, prompts shared with other sets.

    Returns:
        Indexed by dataset (in frame order): ``rows``, ``unique_prompts``, ``within_set``
        (rows that repeat a prompt of the same set), ``shared_with_other_sets`` (distinct
        prompts that also occur in another set of ``frame``), ``dropped`` (rows
        :func:`drop_duplicate_prompts` would remove from this set, given the frame order).
    """
    keys = prompt_keys(frame).to_numpy()
    data = pd.DataFrame({"dataset": frame["dataset"].to_numpy(), "key": keys})
    sets_per_key = data.drop_duplicates().groupby("key")["dataset"].nunique()
    dropped = data["key"].duplicated(keep="first")
    report = []
    for name, part in data.groupby("dataset", sort=False):
        distinct = part["key"].drop_duplicates()
        report.append(
            {
                "dataset": name,
                "rows": len(part),
                "unique_prompts": len(distinct),
                "within_set": len(part) - len(distinct),
                "shared_with_other_sets": int((sets_per_key.loc[distinct] > 1).sum()),
                "dropped": int(dropped.loc[part.index].sum()),
            }
        )
    return pd.DataFrame(report).set_index("dataset")


def duplicate_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """Distinct prompts shared by each pair of sets (pairs that share none are left out).

    Returns:
        Columns ``dataset_a, dataset_b, shared_prompts``, pairs in frame order.
    """
    keys = prompt_keys(frame).to_numpy()
    data = pd.DataFrame({"dataset": frame["dataset"].to_numpy(), "key": keys})
    per_set = {name: set(part["key"]) for name, part in data.groupby("dataset", sort=False)}
    pairs = [
        {"dataset_a": a, "dataset_b": b, "shared_prompts": len(per_set[a] & per_set[b])}
        for a, b in combinations(per_set, 2)
    ]
    result = pd.DataFrame(pairs, columns=["dataset_a", "dataset_b", "shared_prompts"])
    return result.loc[result["shared_prompts"] > 0].reset_index(drop=True)
