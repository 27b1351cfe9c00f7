"""Every registered set loads from the mirror with the documented size, schema and group."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd
import pytest

from expected_harm.datasets import (
    GROUPS,
    REGISTRY,
    SCHEMA_COLUMNS,
    list_datasets,
    load,
    load_all,
    parse_dataset_spec,
    spec_of,
    verify,
)
from expected_harm.paths import DATA_MIRROR_VAR

# Row counts and groups as documented in ../shared/datasets/*/PROVENANCE.md and README.md,
# written out here rather than read from the registry so that a registry typo cannot pass.
EXPECTED = {
    "advbench": (520, "benchmark"),
    "harmbench": (400, "benchmark"),
    "jbb_behaviors": (100, "benchmark"),
    "strongreject": (313, "benchmark"),
    "sorry_bench": (449, "benchmark"),
    "xstest": (450, "benchmark"),
    "do_not_answer": (939, "benchmark"),
    "forbidden_question_set": (390, "benchmark"),
    "lmsys_tet": (2546, "real_world"),
    "toxicchat": (5654, "real_world"),
    "inthewild_jailbreak_prompts": (1405, "jailbreak_template"),
    "hh_rlhf_harmless_base": (2312, "training"),
    "safety_tuned_llamas": (2483, "training"),
    "jbb_judge_comparison": (100, "judge_validation"),
    "jbb_artifacts": (1800, "model_outputs"),
    "fractured_sorry_bench": (9425, "model_outputs"),
}
PROMPT_SETS = [name for name, (_, group) in EXPECTED.items() if group != "model_outputs"]

# Rows whose request was never published (fractured_sorry_bench: the 2,841 benign sub-questions,
# and SORRY-Bench row 141, empty upstream, with 8 sub-questions and 8 conversations).
ROWS_WITHOUT_PROMPT = {"fractured_sorry_bench": 2841 + 8 + 8}

# Subset sizes from PROVENANCE.md: HarmBench 200 standard + 100 contextual + 100 copyright;
# XSTest 250 safe + 200 unsafe; ToxicChat toxic 384 + 362, jailbreaking 113 + 91;
# Do-Not-Answer 176 + 248 + 243 in the three harmful risk areas.
SUBSETS = {
    "harmbench:standard_contextual": 300,
    "harmbench:standard": 200,
    "harmbench:contextual": 100,
    "harmbench:copyright": 100,
    "xstest:unsafe": 200,
    "xstest:safe": 250,
    "toxicchat:toxic": 746,
    "toxicchat:non_toxic": 5654 - 746,
    "toxicchat:jailbreaking": 204,
    "sorry_bench:base": 449,
    "do_not_answer:harmful": 667,
    "jbb_artifacts:answered": 1637,
    "fractured_sorry_bench:decompositions": 2984 + 2841,
    "fractured_sorry_bench:conversations": 4 * 2 * 450,
}


def test_registry_has_one_entry_per_mirror_folder(mirror: Path) -> None:
    folders = {path.name for path in mirror.iterdir() if path.is_dir()}
    assert set(REGISTRY) == folders == set(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_registered_sha256_matches_provenance(name: str, mirror: Path) -> None:
    provenance = (mirror / name / "PROVENANCE.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"\b[0-9a-f]{64}\b", provenance))
    for file in REGISTRY[name].files:
        assert file.sha256 in documented, f"{name}/{file.name} sha256 not in PROVENANCE.md"


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_set_loads_with_documented_rows_schema_and_group(name: str, mirror: Path) -> None:
    rows, group = EXPECTED[name]
    frame = load(name)
    assert len(frame) == rows == REGISTRY[name].rows
    assert list(frame.columns[: len(SCHEMA_COLUMNS)]) == list(SCHEMA_COLUMNS)
    assert (frame["dataset"] == name).all()
    assert (frame["group"] == group).all()
    has_prompt = frame["prompt"].map(lambda text: isinstance(text, str) and text.strip() != "")
    assert (~has_prompt).sum() == ROWS_WITHOUT_PROMPT.get(name, 0)
    assert frame["item_id"].map(type).eq(str).all()
    assert frame["item_id"].is_unique


@pytest.mark.parametrize(("spec", "rows"), list(SUBSETS.items()))
def test_subsets_have_documented_sizes(spec: str, rows: int, mirror: Path) -> None:
    frame = load(spec)
    assert len(frame) == rows
    assert frame["item_id"].is_unique


def test_subsets_select_what_their_names_say(mirror: Path) -> None:
    assert set(load("xstest:unsafe")["label"]) == {"unsafe"}
    assert set(load("toxicchat:toxic")["toxicity"]) == {1}
    assert set(load("harmbench:standard_contextual")["functional_category"]) == {
        "standard",
        "contextual",
    }
    assert set(load("toxicchat")["split"]) == {"train", "test"}


def test_study_subsets_are_registered_subsets() -> None:
    for entry in REGISTRY.values():
        assert entry.group in GROUPS
        assert entry.study_subset is None or entry.study_subset in entry.subsets


def test_set_specific_columns_are_kept(mirror: Path) -> None:
    harmbench = load("harmbench")
    assert {"functional_category", "tags", "context"} <= set(harmbench.columns)
    assert (harmbench["context"] != "").sum() == 100
    judge = load("jbb_judge_comparison")
    assert judge["human_majority"].sum() == 43  # PROVENANCE.md: 43 jailbroken, 57 not
    assert {"goal", "target_response", "llama_guard", "gpt_4"} <= set(judge.columns)
    assert load("lmsys_tet")["conversation_id"].is_unique


def test_spec_errors_name_the_valid_choices() -> None:
    with pytest.raises(ValueError, match="registered: advbench"):
        parse_dataset_spec("advbench2")
    with pytest.raises(ValueError, match="its subsets: unsafe, safe"):
        parse_dataset_spec("xstest:harmful")
    with pytest.raises(ValueError, match="subsets: \\(none\\)"):
        parse_dataset_spec("advbench:x")


def test_a_spec_splits_into_dataset_and_subset_and_joins_back() -> None:
    for spec in ("advbench", "harmbench:standard_contextual"):
        parsed = parse_dataset_spec(spec)
        assert str(parsed) == spec and parsed.entry.name == parsed.dataset
        frame = pd.DataFrame({"dataset": [parsed.dataset], "subset": [parsed.subset]})
        assert spec_of(frame).tolist() == [spec]
    assert parse_dataset_spec("harmbench:standard_contextual").subset == "standard_contextual"
    assert parse_dataset_spec("harmbench").subset == ""


def test_load_all_stacks_every_prompt_set_in_seconds(mirror: Path) -> None:
    start = time.perf_counter()
    frame = load_all()
    elapsed = time.perf_counter() - start
    assert len(frame) == sum(EXPECTED[name][0] for name in PROMPT_SETS)
    assert list(frame["dataset"].unique()) == PROMPT_SETS
    assert elapsed < 30, f"loading every set took {elapsed:.1f} s"


def test_load_all_with_groups_and_study_subsets(mirror: Path) -> None:
    frame = load_all(groups=["real_world"], study_subsets=True)
    assert frame.groupby("dataset").size().to_dict() == {"lmsys_tet": 2546, "toxicchat": 746}
    with pytest.raises(ValueError, match="unknown group"):
        load_all(groups=["real-world"])


def test_list_datasets_needs_no_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(DATA_MIRROR_VAR, str(tmp_path / "nowhere"))
    table = list_datasets()
    assert list(table["name"]) == list(REGISTRY)
    assert {"name", "group", "rows", "licence", "citation"} <= set(table.columns)
    assert table["citation"].str.len().gt(10).all()
    assert table["licence"].str.len().gt(0).all()


def test_verify_reports_every_file_of_the_mirror_ok(mirror: Path) -> None:
    report = verify()
    assert set(report["status"]) == {"ok"}
    assert len(report) == sum(len(entry.files) for entry in REGISTRY.values())


def test_verify_without_mirror_reports_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(DATA_MIRROR_VAR, raising=False)
    report = verify(["xstest"])
    assert report.to_dict("records") == [
        {"dataset": "xstest", "file": "xstest_prompts.csv", "location": "-", "path": "",
         "status": "missing"}
    ]


def test_every_file_has_a_download_url_unless_derived() -> None:
    derived = {"sorry_bench", "hh_rlhf_harmless_base"}
    for entry in REGISTRY.values():
        assert bool(entry.urls) == (entry.name not in derived), entry.name
        for url in entry.urls:
            assert url.startswith("https://"), url
