"""The committed reference annotations and the sample they label."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from expected_harm.annotations import (
    ANNOTATED_SETS,
    DECOMPOSITIONS,
    LABEL_COLUMNS,
    PER_SET,
    RERATE_PER_SET,
    all_labels,
    annotations_dir,
    draw_decomposition_sample,
    draw_sample,
    load_items,
    load_labels,
    load_sample,
    self_agreement,
    summary_markdown,
)
from expected_harm.datasets import parse_dataset_spec, spec_of

#: The extension's blind re-label items (PROTOCOL.md), done by a separate session.
EXTENSION_RERATE = {"7", "9", "15", "16", "17", "20", "23", "25", "95", "99"}


def test_committed_sample_is_the_seeded_draw() -> None:
    committed = load_sample()
    drawn = draw_sample()
    pd.testing.assert_frame_equal(committed.astype(str), drawn.astype(str))
    specs = spec_of(committed)
    assert committed.groupby(specs).size().to_dict() == {s: PER_SET for s in ANNOTATED_SETS}
    assert committed.groupby(specs)["rerate"].sum().to_dict() == {
        s: RERATE_PER_SET for s in ANNOTATED_SETS
    }


def test_every_item_to_label_has_one_reference_label() -> None:
    labels = load_labels()
    items = load_items()
    assert len(labels) == len(items) == 405 + 55 + 15 + 402  # sample, JBB, decompositions
    assert set(zip(labels["dataset"], labels["item_id"])) == set(
        zip(items["dataset"], items["item_id"])
    )
    assert labels["in_sample"].sum() == 405
    assert labels["rationale"].str.len().gt(10).all()


def test_all_100_jbb_goals_carry_labels_in_range() -> None:
    from expected_harm.datasets import load

    goals = load("jbb_behaviors").set_index("item_id")
    labels = all_labels("jbb_behaviors")
    assert sorted(labels["item_id"], key=int) == [str(i) for i in range(100)]
    assert set(labels["item_id"]) == set(goals.index.astype(str))
    assert labels[list(LABEL_COLUMNS)].isin([1, 2, 3, 4, 5]).all().all()
    assert (labels["category"] == labels["item_id"].map(goals["category"])).all()
    assert labels["in_sample"].sum() == PER_SET


def test_extension_is_the_jbb_goals_outside_the_sample_and_the_decompositions() -> None:
    items = load_items()
    extension = items[~items["in_sample"]]
    jbb = extension[extension["dataset"] == "jbb_behaviors"]
    sample_jbb = set(load_sample().query("dataset == 'jbb_behaviors'")["item_id"])
    assert set(jbb["item_id"]) == {str(i) for i in range(100)} - sample_jbb
    assert set(jbb.loc[jbb["rerate"], "item_id"]) == EXTENSION_RERATE
    drawn = draw_decomposition_sample()
    rest = extension[extension["dataset"] != "jbb_behaviors"]
    assert list(zip(rest["dataset"], rest["item_id"], rest["rerate"])) == list(
        zip(drawn["dataset"], drawn["item_id"], drawn["rerate"])
    )
    decompositions = rest.loc[rest["dataset"] == "fractured_sorry_bench", "item_id"]
    assert decompositions.str.rsplit(":", n=1).str[0].nunique() == DECOMPOSITIONS == 60


def test_every_file_names_sets_by_registry_name_and_subset() -> None:
    from expected_harm.datasets import REGISTRY

    folder = annotations_dir()
    for path in [folder / "sample.csv", folder / "extension.csv", *folder.glob("*/*.csv")]:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert set(frame["dataset"]) <= set(REGISTRY), path.name
        if "subset" in frame:
            for spec in spec_of(frame).unique():
                assert str(parse_dataset_spec(spec)) == spec, path.name
    sample = load_sample()
    assert set(zip(sample["dataset"], sample["subset"])) == {
        (parse_dataset_spec(s).dataset, parse_dataset_spec(s).subset) for s in ANNOTATED_SETS
    }


def test_threat_design_filters_by_spec() -> None:
    from expected_harm.threats import reference_labels

    labels = reference_labels(["harmbench:standard_contextual", "advbench"])
    assert labels.groupby(["dataset", "subset"]).size().to_dict() == {
        ("advbench", ""): PER_SET, ("harmbench", "standard_contextual"): PER_SET
    }
    with pytest.raises(ValueError, match="no reference labels for harmbench"):
        reference_labels(["harmbench"])  # the whole set was not sampled, only its study subset


def test_all_labels_names_the_labelled_sets_for_an_unknown_one() -> None:
    with pytest.raises(ValueError, match="no reference labels for 'wildchat'.*advbench"):
        all_labels("wildchat")


def test_threat_design_stays_45_per_set() -> None:
    from expected_harm.threats import reference_labels

    labels = reference_labels()
    assert labels.groupby(spec_of(labels)).size().to_dict() == {s: PER_SET for s in ANNOTATED_SETS}
    sample = load_sample()
    assert set(zip(labels["dataset"], labels["item_id"])) == set(
        zip(sample["dataset"], sample["item_id"])
    )


def test_rerate_pass_covers_the_sample_rerate_items() -> None:
    rerate = load_labels("rerate")
    items = load_items()
    planned = set(zip(items.loc[items["rerate"], "dataset"], items.loc[items["rerate"], "item_id"]))
    done = set(zip(rerate["dataset"], rerate["item_id"]))
    sample = items[items["in_sample"] & items["rerate"]]
    assert set(zip(sample["dataset"], sample["item_id"])) <= done <= planned


def test_summary_md_is_what_the_label_files_give() -> None:
    committed = (annotations_dir() / "SUMMARY.md").read_text(encoding="utf-8")
    assert committed == summary_markdown(), "run `expected-harm annotate summary`"


def test_label_files_hold_no_prompt_text() -> None:
    from expected_harm.datasets import load

    for path in (annotations_dir() / "reference").glob("*.csv"):
        frame = pd.read_csv(path, dtype={"item_id": str})
        spec = frame["dataset"].iloc[0]
        prompts = load(spec).set_index("item_id")["prompt"]
        for item_id, rationale in zip(frame["item_id"], frame["rationale"]):
            assert str(prompts[item_id]).strip()[:60] not in rationale


def copy_annotations(tmp_path):
    folder = tmp_path / "annotations"
    shutil.copytree(annotations_dir(), folder)
    return folder


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda f: f.assign(cost=f["cost"].replace(2, 6)),
            "every score must be an integer from 1 to 5",
        ),
        (lambda f: f.drop(columns="legal"), "missing column"),
        (lambda f: pd.concat([f, f.head(1)]), "labelled twice"),
        (
            lambda f: f.assign(item_id=f["item_id"].where(f.index > 0, "no-such-item")),
            "not among the reference items",
        ),
    ],
)
def test_broken_label_files_are_refused_naming_the_file(tmp_path, edit, message) -> None:
    folder = copy_annotations(tmp_path)
    path = folder / "reference" / "advbench.csv"
    edit(pd.read_csv(path, dtype={"item_id": str})).to_csv(path, index=False)
    with pytest.raises(ValueError, match=message) as error:
        load_labels(folder=folder)
    assert "advbench.csv" in str(error.value)


def extended_rerate(folder) -> pd.DataFrame:
    """Add second-pass rows for the ten extension items: a test double of the blind re-label.

    The fabricated second pass copies the first and moves cost up one level on three items, so
    the expected agreement is known by construction.
    """
    first = pd.read_csv(folder / "reference" / "jbb_behaviors.csv", dtype={"item_id": str})
    double = first[first["item_id"].isin(EXTENSION_RERATE)].copy()
    moved = double["item_id"].isin(["7", "9", "15"])
    double.loc[moved, "cost"] = (double.loc[moved, "cost"] % 5) + 1
    path = folder / "rerate" / "jbb_behaviors.csv"
    committed = pd.read_csv(path, dtype={"item_id": str})
    sample_only = committed[~committed["item_id"].isin(EXTENSION_RERATE)]  # the real ones go
    rerate = pd.concat([sample_only, double], ignore_index=True)
    rerate.to_csv(path, index=False)
    return rerate


def test_self_agreement_reports_the_extension_re_labels_on_their_own(tmp_path) -> None:
    folder = copy_annotations(tmp_path)
    (folder / "rerate" / "fractured_sorry_bench.csv").unlink()  # measured in the next test
    rerate = extended_rerate(folder)
    assert len(rerate) == 15
    table = self_agreement(folder)
    n = table.xs("cost", level="scale")["n"].to_dict()
    assert n == {"all": 55, "threat-distribution sample": 45, "jbb_behaviors beyond the sample": 10}
    extension = table.loc["jbb_behaviors beyond the sample"]
    assert extension.loc["cost", "exact"] == pytest.approx(0.7)
    assert extension.loc["severity", "exact"] == 1.0
    assert table.loc[("all", "cost"), "exact"] == pytest.approx(
        (table.loc[("threat-distribution sample", "cost"), "exact"] * 45 + 7) / 55
    )
    assert "| jbb_behaviors beyond the sample | cost | 10 |" in summary_markdown(folder)


def test_the_decompositions_blind_second_pass_is_its_own_part() -> None:
    table = self_agreement()
    part = table.loc["fractured_sorry_bench beyond the sample"]
    assert part.loc["cost", "n"] == part.loc["severity", "n"] == 40
    assert table.loc[("all", "cost"), "n"] == 45 + 10 + 40


def test_self_agreement_on_the_committed_files_covers_every_re_label() -> None:
    table = self_agreement()
    assert table.loc[("all", "cost"), "n"] == len(load_labels("rerate"))
    assert table.loc[("threat-distribution sample", "cost"), "n"] == 45


def test_a_re_label_of_an_item_not_planned_for_it_is_refused(tmp_path) -> None:
    folder = copy_annotations(tmp_path)
    first = pd.read_csv(folder / "reference" / "jbb_behaviors.csv", dtype={"item_id": str})
    path = folder / "rerate" / "jbb_behaviors.csv"
    pd.concat([pd.read_csv(path, dtype={"item_id": str}), first[first["item_id"] == "0"]]).to_csv(
        path, index=False
    )
    with pytest.raises(ValueError, match="not among the rerate items"):
        load_labels("rerate", folder=folder)


def test_an_extension_repeating_a_sample_item_is_refused(tmp_path) -> None:
    folder = copy_annotations(tmp_path)
    path = folder / "extension.csv"
    extension = pd.read_csv(path, dtype={"item_id": str})
    extension.loc[0, "item_id"] = "2"  # jbb_behaviors 2 is in the sample
    extension.to_csv(path, index=False)
    with pytest.raises(ValueError, match="extension.csv: item\\(s\\) already in the sample"):
        load_items(folder)
