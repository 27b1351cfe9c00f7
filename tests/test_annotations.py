"""The committed reference annotations and the sample they label."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from expected_harm.annotations import (
    ANNOTATED_SETS,
    PER_SET,
    RERATE_PER_SET,
    annotations_dir,
    draw_sample,
    load_labels,
    load_sample,
)


def test_committed_sample_is_the_seeded_draw() -> None:
    committed = load_sample()
    drawn = draw_sample()
    pd.testing.assert_frame_equal(committed.astype(str), drawn.astype(str))
    assert committed.groupby("dataset").size().to_dict() == {s: PER_SET for s in ANNOTATED_SETS}
    assert committed.groupby("dataset")["rerate"].sum().to_dict() == {
        s: RERATE_PER_SET for s in ANNOTATED_SETS
    }


def test_every_sampled_item_has_one_reference_label() -> None:
    labels = load_labels()
    sample = load_sample()
    assert len(labels) == len(sample) == 405
    assert set(zip(labels["dataset"], labels["item_id"])) == set(
        zip(sample["dataset"], sample["item_id"])
    )
    assert labels["rationale"].str.len().gt(10).all()


def test_rerate_pass_covers_the_rerate_items() -> None:
    rerate = load_labels("rerate")
    sample = load_sample()
    assert set(zip(rerate["dataset"], rerate["item_id"])) == set(
        zip(sample.loc[sample["rerate"], "dataset"], sample.loc[sample["rerate"], "item_id"])
    )


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
            "not in the reference sample",
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
