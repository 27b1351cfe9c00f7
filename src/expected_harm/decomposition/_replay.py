"""Replaying published decompositions: GPT-4o's FRACTURED-SORRY-Bench sub-questions for their
SORRY-Bench originals, so the live pipeline runs on a capable attacker's decompositions offline."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from expected_harm.datasets import load, normalise_prompt
from expected_harm.decomposition._types import (
    NO_PUBLISHED_DECOMPOSITION,
    OK,
    PUBLISHED,
    Decomposer,
    Decomposition,
    SubTask,
)

#: Where the published decompositions come from (the registry's spec).
PUBLISHED_SET = "fractured_sorry_bench:decompositions"


class ReplayDecomposer(Decomposer):
    """Returns GPT-4o's published decomposition of a request, matched on its normalised text.

    The decompositions are FRACTURED-SORRY-Bench's (Priyanshu & Vijay 2024, arXiv 2408.16163):
    gpt-4o-2024-08-06 split each of the 450 SORRY-Bench base prompts into 4–10 sub-questions.
    Its instructions asked for covert, "seemingly benign" sub-questions: the decomposition is
    attack-side, not cost-based, so it serves as the generic-decomposition baseline beside the
    cost strategies. Sub-tasks carry no ratings (this decomposer makes no model calls).

    Requests match on :func:`~expected_harm.datasets.normalise_prompt` of the SORRY-Bench
    prompt the registry joined each decomposition to (by row index). 449 of the 450 match: the
    SORRY-Bench row behind decomposition 141 is empty upstream, so that decomposition has no
    original to match. Any other request is ``no_published_decomposition``.
    """

    strategy = PUBLISHED

    def describe(self) -> str:
        return ("published decompositions of GPT-4o (gpt-4o-2024-08-06) from FRACTURED-SORRY-Bench "
                "(Priyanshu & Vijay 2024, arXiv 2408.16163), replayed for their SORRY-Bench "
                "originals; attack-side (covert sub-questions), not cost-based")

    @cached_property
    def published(self) -> dict[str, dict[str, Any]]:
        """Each published harmful decomposition with an original, by the original's normalised
        text: its sub-questions in order and its registry identifiers.

        Raises:
            ValueError: Two originals with the same normalised text but different
                decompositions (a replay could not tell them apart).
        """
        frame = load(PUBLISHED_SET)
        frame = frame[(frame["kind"] == "harmful") & frame["prompt"].notna()]
        found: dict[str, dict[str, Any]] = {}
        for decomposition_id, rows in frame.sort_values("step").groupby("decomposition_id"):
            first = rows.iloc[0]
            entry = {
                "sub_tasks": tuple(rows["sub_question"]),
                "decomposition_id": decomposition_id,
                "sorry_bench_item_id": first["sorry_bench_item_id"],
                "decomposition_label": first["decomposition_label"],
            }
            key = normalise_prompt(first["prompt"])
            if key in found and found[key]["sub_tasks"] != entry["sub_tasks"]:
                raise ValueError(f"{PUBLISHED_SET}: {found[key]['decomposition_id']} and "
                                 f"{decomposition_id} share an original but not sub-questions")
            found[key] = entry
        return found

    def decompose(self, requests: Sequence[str]) -> list[Decomposition]:
        """The published decomposition of each request, or ``no_published_decomposition``."""
        decompositions = []
        for request in requests:
            entry = self.published.get(normalise_prompt(request))
            if entry is None:
                decompositions.append(Decomposition(
                    request, PUBLISHED, NO_PUBLISHED_DECOMPOSITION,
                    error=f"{NO_PUBLISHED_DECOMPOSITION}: not a SORRY-Bench base prompt that "
                    f"{PUBLISHED_SET} decomposes",
                ))
                continue
            record = {"round": 0, "kind": "published", "status": OK,
                      **{k: v for k, v in entry.items() if k != "sub_tasks"},
                      "sub_tasks": list(entry["sub_tasks"])}
            decompositions.append(Decomposition(
                request, PUBLISHED, OK, tuple(SubTask(text) for text in entry["sub_tasks"]),
                history=(record,),
            ))
        return decompositions
