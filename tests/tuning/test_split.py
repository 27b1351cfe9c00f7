"""The safety-tuning split: written down, reproducible, and disjoint from what the book measures."""

from __future__ import annotations

import ast
import json

import pandas as pd
import pytest

from expected_harm.datasets import normalise_prompt
from expected_harm.paths import project_root
from expected_harm.tuning import load_recipe, model_dir
from expected_harm.tuning.split import (
    PROBING_HARMLESS,
    PROBING_PER_SET,
    PROBING_SEED,
    ROLES,
    book_items,
    make_split,
    split_prompts,
)


@pytest.fixture(scope="module")
def manifest() -> pd.DataFrame:
    return pd.read_csv(model_dir() / "split.csv", dtype={"item_id": str})


def _notebook_parameters(name: str) -> dict[str, object]:
    notebook = json.loads((project_root() / "notebooks" / name).read_text())
    [cell] = [c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", [])]
    tree = ast.parse("".join(cell["source"]))
    return {node.targets[0].id: ast.literal_eval(node.value)
            for node in tree.body if isinstance(node, ast.Assign)}


def test_probing_draw_matches_the_notebook_defaults() -> None:
    parameters = _notebook_parameters("05_probing.ipynb")
    assert tuple(parameters["harmless"]) == PROBING_HARMLESS
    assert parameters["harmless_per_set"] == PROBING_PER_SET
    assert parameters["seed"] == PROBING_SEED


def test_manifest_is_what_the_recipe_draws(manifest: pd.DataFrame) -> None:
    recipe = load_recipe()
    pd.testing.assert_frame_equal(make_split(recipe["split"], recipe["seed"]), manifest)
    counts = manifest["role"].value_counts()
    assert set(counts.index) <= set(ROLES)
    assert counts["train_safety"] == recipe["split"]["safety_pairs"]
    templated = recipe["split"].get("templated_refusals")
    assert counts.get("train_template", 0) == (templated["n"] if templated else 0)


def test_training_never_sees_book_or_held_out_items(manifest: pd.DataFrame) -> None:
    data = split_prompts(manifest)
    train = data.loc[data["role"].str.startswith("train")]
    held_out = data.loc[data["role"].str.startswith("eval")]
    book = book_items()
    for used in (book, held_out):
        same_id = train.merge(used, on=["spec", "item_id"])
        assert same_id.empty, same_id[["spec", "item_id"]]
        texts = [set(frame["prompt"].map(normalise_prompt)) for frame in (train, used)]
        overlap = texts[0] & texts[1]
        assert not overlap, f"{len(overlap)} training prompts repeat a book or held-out prompt"


def test_held_out_items_are_not_used_by_the_book(manifest: pd.DataFrame) -> None:
    held_out = split_prompts(manifest.loc[manifest["role"].str.startswith("eval")])
    assert held_out.merge(book_items(), on=["spec", "item_id"]).empty
    assert not held_out.duplicated(["spec", "item_id"]).any()


def test_impossible_request_names_the_set() -> None:
    recipe = load_recipe()
    settings = {**recipe["split"], "xstest_safe_train": 10_000}
    with pytest.raises(ValueError, match="xstest:safe"):
        make_split(settings, recipe["seed"])
