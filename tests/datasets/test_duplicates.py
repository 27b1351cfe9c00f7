"""Exact duplicate prompts are found within and across sets, reported, and can be dropped."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from expected_harm.datasets import (
    drop_duplicate_prompts,
    duplicate_pairs,
    duplicate_report,
    find_duplicates,
    load,
    load_all,
    normalise_prompt,
)
from expected_harm.datasets._duplicates import prompt_keys


def _frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["dataset", "item_id", "prompt"])


TOY = _frame(
    [
        ("a", "1", "alpha"),
        ("a", "2", "beta"),
        ("a", "3", " alpha "),  # same text after trimming: a within-set duplicate
        ("b", "1", "beta"),  # shared with set a
        ("b", "2", "gamma"),
        ("b", "3", "Gamma"),  # case differs: not an exact duplicate
    ]
)


def test_find_duplicates_lists_later_copies_with_the_row_they_repeat() -> None:
    found = find_duplicates(TOY)
    assert found[["dataset", "item_id", "first_dataset", "first_item_id", "scope"]].to_dict(
        "records"
    ) == [
        {"dataset": "a", "item_id": "3", "first_dataset": "a", "first_item_id": "1",
         "scope": "within"},
        {"dataset": "b", "item_id": "1", "first_dataset": "a", "first_item_id": "2",
         "scope": "across"},
    ]
    assert found["prompt_sha256"].str.fullmatch(r"[0-9a-f]{12}").all()


def test_drop_duplicate_prompts_keeps_the_first_occurrence() -> None:
    kept = drop_duplicate_prompts(TOY)
    assert list(zip(kept["dataset"], kept["item_id"], strict=True)) == [
        ("a", "1"), ("a", "2"), ("b", "2"), ("b", "3")
    ]


def test_duplicate_report_and_pairs_count_within_and_across() -> None:
    report = duplicate_report(TOY)
    assert report.loc["a"].to_dict() == {
        "rows": 3, "unique_prompts": 2, "within_set": 1, "shared_with_other_sets": 1, "dropped": 1
    }
    assert report.loc["b"].to_dict() == {
        "rows": 3, "unique_prompts": 3, "within_set": 0, "shared_with_other_sets": 1, "dropped": 1
    }
    assert duplicate_pairs(TOY).to_dict("records") == [
        {"dataset_a": "a", "dataset_b": "b", "shared_prompts": 1}
    ]


def test_same_behaviour_with_different_context_is_not_a_duplicate() -> None:
    frame = _frame([("h", "1", "Explain this"), ("h", "2", "Explain this")])
    frame["context"] = ["first context", "second context"]
    assert find_duplicates(frame).empty
    assert prompt_keys(frame).nunique() == 2


def test_advbench_items_are_found_inside_strongreject(mirror: Path) -> None:
    # StrongREJECT documents 25 prompts taken from AdvBench (PROVENANCE.md, column source).
    frame = load_all(["advbench", "strongreject"])
    assert duplicate_pairs(frame)["shared_prompts"].tolist() == [25]
    assert (load("strongreject")["source"] == "AdvBench").sum() == 25


def test_harmbench_contextual_behaviours_are_not_flagged(mirror: Path) -> None:
    assert find_duplicates(load("harmbench")).empty


def test_load_can_drop_duplicates_within_and_across_sets(mirror: Path) -> None:
    single = load("hh_rlhf_harmless_base", drop_duplicates=True)
    assert len(single) == load("hh_rlhf_harmless_base")["prompt"].str.strip().nunique()
    stacked = load_all(drop_duplicates=True)
    assert prompt_keys(stacked).is_unique
    assert len(stacked) == len(load_all()) - len(find_duplicates(load_all()))


def test_duplicates_are_exact_but_the_same_request_ignores_case_and_spacing() -> None:
    # "gamma"/"Gamma" are two prompts to count (TOY above) but one request to keep out of a
    # training set or to count as a template's re-post.
    assert normalise_prompt("gamma") == normalise_prompt(" Gamma\n") == "gamma"
    assert prompt_keys(TOY).nunique() == 4
    assert TOY["prompt"].map(normalise_prompt).nunique() == 3


def test_duplicate_counts_of_the_prompt_sets_stay_exact(mirror: Path) -> None:
    keys = prompt_keys(load_all())
    assert int(keys.duplicated().sum()) == 470  # 528 if case and spacing were ignored
