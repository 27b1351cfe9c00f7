"""The datasets page's tables, on small frames."""

from __future__ import annotations

import numpy as np
import pandas as pd

from expected_harm import datasets


def test_registry_table_shortens_citations() -> None:
    registry = pd.DataFrame({"group": ["benchmark"], "rows": [520], "licence": ["MIT"],
                             "citation": ["Zou et al., Universal attacks, 2023."]},
                            index=["advbench"])
    assert datasets.registry_table(registry).loc["advbench", "citation"] == "Zou et al."
    assert datasets.citations_markdown(registry).startswith("- **advbench**: Zou et al., Univ")


def test_set_sizes_leave_out_model_outputs() -> None:
    registry = pd.DataFrame({"group": ["benchmark", "model_outputs"], "study_subset": [None, None]},
                            index=["a", "outputs"])
    full = pd.DataFrame({"dataset": ["a", "a", "outputs"]})
    sizes = datasets.set_sizes(registry, full, full[full["dataset"] == "a"].head(1))
    assert sizes.loc["a", "rows"] == 2 and sizes.loc["a", "study_rows"] == 1
    assert pd.isna(sizes.loc["outputs", "group"])


def test_output_counts_never_count_unanswered_rows_as_jailbroken() -> None:
    artifacts = pd.DataFrame({"method": "PAIR", "attack_type": "black_box", "target": "m",
                              "status": ["answered", "no_submission"], "jailbroken": [1.0, np.nan],
                              "jailbroken_llama_guard1": [0.0, np.nan]})
    counts = datasets.artifact_counts(artifacts).iloc[0]
    assert counts.to_dict() == {"answered": 1, "jailbroken_jbb_judge": 1,
                                "jailbroken_llama_guard1": 0}
    conversations = pd.DataFrame({"condition": "vanilla", "target": "m",
                                  "status": ["answered", "empty"], "jailbroken": [1.0, np.nan]})
    row = datasets.conversation_counts(conversations).iloc[0]
    assert row["answered"] == 1 and row["empty"] == 1 and row["jailbroken_gpt4o_judge"] == 1
    decompositions = pd.DataFrame({"kind": ["harmful"] * 3, "decomposition_id": [1, 1, 2],
                                   "sub_question": ["q1", "q2", "q3"], "prompt": ["p", "p", None]})
    assert datasets.decomposition_counts(decompositions).loc["harmful"].to_dict() == {
        "decompositions": 2, "sub_questions": 3, "with_published_request": 2}
