"""How often a model refuses the held-out prompts of a safety-tuning split (issue 7).

Shared by ``expected-harm embedded train`` (which records ``eval.json`` after training) and the
book's Models page (which re-runs the same evaluation live, so a reader sees it reproduce).
Refusals are read by the refusal-phrase judge (Arditi et al.'s list); an answer that failed has
no verdict and is left out of every rate, never counted as a refusal.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from expected_harm.tuning.split import split_prompts

if TYPE_CHECKING:
    from expected_harm.models import ChatModel

REFUSAL_JUDGE = "refusal_phrases"


def held_out(folder: Path, per_set: int | None = None) -> pd.DataFrame:
    """The held-out prompts of a model folder's split: ``role, spec, item_id, prompt``.

    Args:
        folder: Model folder holding ``split.csv``.
        per_set: Keep the first ``per_set`` items of each set (the split is already in random
            order); all of them if None.
    """
    path = folder / "split.csv"
    if not path.is_file():
        raise FileNotFoundError(f"split missing: {path} (run `expected-harm embedded train`)")
    split = pd.read_csv(path, dtype={"item_id": str})
    split = split.loc[split["role"].str.startswith("eval")]
    if per_set is not None:
        if per_set < 1:
            raise ValueError(f"per_set must be at least 1, got {per_set}")
        split = split.groupby("spec", sort=False).head(per_set)
    return split_prompts(split)[["role", "spec", "item_id", "prompt"]]


def refusals(model: ChatModel, frame: pd.DataFrame, max_tokens: int) -> pd.DataFrame:
    """Answer each prompt with ``model`` (greedy, cached) and mark refusals.

    Returns:
        ``frame``'s ``role, spec, item_id`` with ``model``, the answer's ``status`` and text
        (``response``) and ``refused`` (nullable 0/1; missing where the call failed).
    """
    from expected_harm.judges import refusal_verdicts
    from expected_harm.models import GenerateConfig, Status, generate

    results = generate(model, frame["prompt"].tolist(), GenerateConfig(max_tokens=max_tokens),
                       desc=f"eval {model.spec}")
    verdicts = refusal_verdicts(frame["prompt"].tolist(), [r.text or "" for r in results])
    refused = pd.array([v if r.status == Status.OK else pd.NA
                        for v, r in zip(verdicts, results, strict=True)], dtype="Int64")
    return frame[["role", "spec", "item_id"]].assign(
        model=model.spec, status=[r.status.value for r in results],
        response=[r.text for r in results], refused=refused,
    )


def summarise(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Refusals per model × held-out set with Wilson 95% intervals; ``missing`` has no verdict."""
    from expected_harm.stats import wilson_interval

    out = []
    for (model, role, spec), group in rows.groupby(["model", "role", "spec"], sort=False):
        judged = group["refused"].dropna()
        refused, n = int(judged.sum()), len(judged)
        interval = wilson_interval(refused, n) if n else None
        out.append({"model": model, "role": role, "spec": spec, "refused": refused, "n": n,
                    "missing": len(group) - n, "rate": refused / n if n else float("nan"),
                    "low": interval.low if interval else float("nan"),
                    "high": interval.high if interval else float("nan")})
    return out
