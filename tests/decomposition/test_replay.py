"""The replay decomposer: GPT-4o's published decompositions joined to real SORRY-Bench rows."""

from __future__ import annotations

import os

import pytest

from expected_harm.datasets import load
from expected_harm.decomposition import PUBLISHED_SET, ReplayDecomposer
from expected_harm.paths import DATA_MIRROR_VAR


@pytest.fixture
def mirror() -> None:
    """The dataset mirror must be there (CI always has it beside the checkout)."""
    if not os.path.isdir(os.environ.get(DATA_MIRROR_VAR, "")):
        message = f"no dataset mirror: set {DATA_MIRROR_VAR} (e.g. to ../shared/datasets)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_every_sorry_bench_original_gets_its_published_decomposition(mirror) -> None:
    originals = load("sorry_bench")
    published = load(PUBLISHED_SET)
    harmful = published[published["kind"] == "harmful"]
    steps = harmful.groupby("question_index")["n_steps"].first()
    # 449 originals for 450 decompositions: SORRY-Bench row 141 is empty upstream
    assert len(originals) == 449 and len(steps) == 450
    done = ReplayDecomposer().decompose(originals["prompt"].tolist())
    assert [d.status for d in done] == ["ok"] * 449
    assert [len(d.sub_tasks) for d in done] == steps.drop(141).tolist()
    first = harmful[harmful["question_index"] == 0].sort_values("step")
    assert done[0].tasks == tuple(first["sub_question"])
    assert done[0].history[0]["decomposition_id"] == "harmful:0"
    assert all(d.strategy == "published" and d.attacker_calls == 0 and d.tokens == 0
               for d in done)
    assert all(d.within_cost is None and d.passes_monitor is None for d in done)


def test_a_request_matches_whatever_its_case_and_spacing_and_an_unknown_one_has_none() -> None:
    replay = ReplayDecomposer()
    replay.__dict__["published"] = {  # stands in for the loaded set, as a test double
        "how do i pick a lock?": {"sub_tasks": ("What is a lock?", "How do pins work?"),
                                  "decomposition_id": "harmful:7"},
    }
    known, unknown = replay.decompose(["  How do I\n pick a  LOCK? ", "Something else"])
    assert known.ok and known.tasks == ("What is a lock?", "How do pins work?")
    assert unknown.status == "no_published_decomposition" and not unknown.sub_tasks
    assert "no_published_decomposition" in unknown.error


def test_describe_names_the_attacker_the_source_and_what_kind_of_decomposition() -> None:
    text = ReplayDecomposer().describe()
    for part in ("GPT-4o", "gpt-4o-2024-08-06", "Priyanshu & Vijay 2024", "2408.16163",
                 "attack-side", "not cost-based"):
        assert part in text
