"""The tidy schema every registered dataset is parsed into, and the one error type for bad files.

Every set, whatever its file format, becomes a pandas DataFrame with the columns
``dataset, item_id, prompt, category, group`` followed by the set's own columns (snake_case).
One schema lets the notebooks compare benchmarks with real-world prompts without per-set code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import pandas as pd

Group = Literal[
    "benchmark", "real_world", "jailbreak_template", "training", "judge_validation",
    "model_outputs",
]
GROUPS: tuple[str, ...] = get_args(Group)

MODEL_OUTPUTS: Group = "model_outputs"
"""Sets of published model answers (one row per model, attack and request), not prompt sets.

One request repeats across models and attacks by design, so these sets stay out of anything that
counts or de-duplicates prompts (:func:`~expected_harm.datasets.load_all` leaves them out unless
asked for them).
"""

PROMPT_GROUPS: tuple[str, ...] = tuple(group for group in GROUPS if group != MODEL_OUTPUTS)
"""Groups whose rows are one prompt each."""

SCHEMA_COLUMNS: tuple[str, ...] = ("dataset", "item_id", "prompt", "category", "group")
"""Columns every loaded frame starts with, in this order; set-specific columns follow."""

CONTEXT_COLUMN = "context"
"""Optional column: text that is sent together with the prompt (HarmBench contextual behaviours).

Two rows are duplicates only when both prompt and context match, because HarmBench reuses one
behaviour text with different context strings.
"""


class DatasetError(ValueError):
    """A dataset file is missing, corrupted or not in the expected shape.

    The message always names the file and the problem, so a user can fix or delete that one
    file instead of guessing which of the sets failed.
    """


def validate_tidy(
    frame: pd.DataFrame, *, source: str, expected_rows: int, rows_without_prompt: int = 0
) -> pd.DataFrame:
    """Check a parsed frame before anyone sees it, so a bad file never half-loads.

    Args:
        frame: Output of a dataset parser with at least ``item_id``, ``prompt``, ``category``.
        source: The file(s) the frame came from, for error messages.
        expected_rows: Row count recorded in the registry (from PROVENANCE.md).
        rows_without_prompt: Rows known to have no prompt (a set of model answers whose request
            was not published); any other number of empty prompts is an error.

    Returns:
        The same frame, unchanged.

    Raises:
        DatasetError: Wrong row count, an unexpected number of empty prompts or repeated ids.
    """
    if len(frame) != expected_rows:
        raise DatasetError(f"{source}: expected {expected_rows} rows, parsed {len(frame)}")
    prompts = frame["prompt"]
    empty = ~prompts.map(lambda text: isinstance(text, str) and bool(text.strip()))
    if int(empty.sum()) != rows_without_prompt:
        ids = ", ".join(frame.loc[empty, "item_id"].astype(str).head(5))
        expected = f" (expected {rows_without_prompt})" if rows_without_prompt else ""
        raise DatasetError(
            f"{source}: {int(empty.sum())} empty prompt(s){expected}, e.g. item_id {ids}"
        )
    repeated = frame["item_id"].duplicated(keep=False)
    if repeated.any():
        ids = ", ".join(sorted(set(frame.loc[repeated, "item_id"].astype(str)))[:5])
        raise DatasetError(f"{source}: item_id values are not unique, e.g. {ids}")
    return frame


def order_columns(frame: pd.DataFrame, extras: Sequence[str]) -> pd.DataFrame:
    """Schema columns first, then the set's own columns in the order the parser gave them."""
    return frame.loc[:, [*SCHEMA_COLUMNS, *extras]]
