"""The tables the datasets page shows: the registry, set sizes and the published outputs' counts.

Counts only, never a prompt: the page is public and the sets hold harmful text.
"""

from __future__ import annotations

import pandas as pd

from expected_harm.datasets._schema import PROMPT_GROUPS


def registry_table(registry: pd.DataFrame) -> pd.DataFrame:
    """Group, rows, licence and a short citation (up to the first comma) per registered set.

    Args:
        registry: :func:`~expected_harm.datasets.list_datasets` indexed by ``name``.
    """
    short_citation = registry["citation"].str.split(",").str[0]
    return registry.assign(citation=short_citation)[["group", "rows", "licence", "citation"]]


def citations_markdown(registry: pd.DataFrame) -> str:
    """The full citation of each set as a Markdown list, ``- **name**: citation``.

    Examples:
        >>> registry = pd.DataFrame({"citation": ["Zou et al., 2023."]}, index=["advbench"])
        >>> citations_markdown(registry)
        '- **advbench**: Zou et al., 2023.'
    """
    return "\n".join(f"- **{name}**: {citation}" for name, citation in registry["citation"].items())


def set_sizes(registry: pd.DataFrame, full: pd.DataFrame, study: pd.DataFrame) -> pd.DataFrame:
    """Rows per prompt set, whole and in its study subset (``model_outputs`` sets left out).

    Args:
        registry: :func:`~expected_harm.datasets.list_datasets` indexed by ``name``.
        full: Every set loaded (``load_all()``).
        study: The study subsets loaded (``load_all(study_subsets=True)``).
    """
    prompt_sets = registry[registry["group"].isin(PROMPT_GROUPS)]
    return pd.DataFrame(
        {
            "group": prompt_sets["group"],
            "rows": full.groupby("dataset", sort=False).size(),
            "study_subset": prompt_sets["study_subset"],
            "study_rows": study.groupby("dataset", sort=False).size(),
        }
    )


def artifact_counts(artifacts: pd.DataFrame) -> pd.DataFrame:
    """JBB artifacts: goals answered and judged jailbroken by either published judge, per cell."""
    return artifacts.groupby(["method", "attack_type", "target"]).agg(
        answered=("status", lambda status: int((status == "answered").sum())),
        jailbroken_jbb_judge=("jailbroken", "sum"),
        jailbroken_llama_guard1=("jailbroken_llama_guard1", "sum"),
    ).astype(int)


def conversation_counts(conversations: pd.DataFrame) -> pd.DataFrame:
    """FRACTURED-SORRY-Bench conversations by status, and those GPT-4o judged jailbroken.

    Only answered conversations can count as jailbroken: ``jailbroken`` is missing elsewhere.
    """
    by = [conversations["condition"], conversations["target"]]
    jailbroken = conversations.groupby(["condition", "target"])["jailbroken"].sum().astype(int)
    return pd.crosstab(by, conversations["status"]).assign(jailbroken_gpt4o_judge=jailbroken)


def decomposition_counts(decompositions: pd.DataFrame) -> pd.DataFrame:
    """Decompositions and sub-questions by kind, and how many join a published request."""
    return decompositions.groupby("kind").agg(
        decompositions=("decomposition_id", "nunique"),
        sub_questions=("sub_question", "size"),
        with_published_request=("prompt", lambda prompt: prompt.notna().sum()),
    )
