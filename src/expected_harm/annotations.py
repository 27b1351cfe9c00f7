"""Reference annotations: the hand-made cost and severity labels every rater is checked against.

A stratified random sample of prompts from each benchmark and real-world set is labelled by a
person reading each prompt against the rubric in ``prompts/scales.yaml``: four cost dimensions, an
overall cost, a severity and a one-sentence rationale. About 10% of the items are labelled a second
time, blind, to measure self-agreement. Only item ids and labels are stored, never prompt text.

Files in ``data/annotations/``:
    sample.csv           the items to label (``draw_sample``; fixed seed)
    reference/<set>.csv  the labels
    rerate/<set>.csv     the blind second pass on the re-rate items
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from expected_harm.paths import project_root

#: The sets the threat-distribution section compares, as dataset specs (study subsets).
ANNOTATED_SETS: tuple[str, ...] = (
    "advbench",
    "harmbench:standard_contextual",
    "jbb_behaviors",
    "strongreject",
    "sorry_bench:base",
    "xstest:unsafe",
    "do_not_answer",
    "lmsys_tet",
    "toxicchat:toxic",
)
PER_SET = 45
RERATE_PER_SET = 5  # 45 of 405 items, 11%
SEED = 20260201

COST_DIMENSIONS = ("expertise", "equipment", "time", "legal")
LABEL_COLUMNS = (*COST_DIMENSIONS, "cost", "severity")
FILE_COLUMNS = ("dataset", "item_id", *LABEL_COLUMNS, "rationale")


def annotations_dir() -> Path:
    return project_root() / "data" / "annotations"


def draw_sample(
    sets: Sequence[str] = ANNOTATED_SETS,
    per_set: int = PER_SET,
    rerate_per_set: int = RERATE_PER_SET,
    seed: int = SEED,
) -> pd.DataFrame:
    """Draw the items to annotate: per set, a random sample stratified by category.

    Duplicated prompts are dropped first, so no prompt is labelled twice. Categories get seats
    in proportion to their size (largest remainders), then items are drawn at random within each.

    Returns:
        Columns ``dataset`` (the spec), ``item_id``, ``category``, ``rerate`` (bool).
    """
    from expected_harm.datasets import load

    rng = np.random.default_rng(seed)
    parts = []
    for spec in sets:
        frame = load(spec, drop_duplicates=True)
        strata = frame["category"].fillna("(none)")
        seats = _proportional_seats(strata.value_counts().sort_index(), per_set)
        chosen = [
            frame.loc[strata == stratum].sample(n=n, random_state=rng.integers(2**31))
            for stratum, n in seats.items()
            if n
        ]
        picked = pd.concat(chosen).sort_values("item_id", key=_natural_key)
        rerate = np.zeros(len(picked), dtype=bool)
        rerate[rng.choice(len(picked), size=rerate_per_set, replace=False)] = True
        parts.append(
            pd.DataFrame(
                {
                    "dataset": spec,
                    "item_id": picked["item_id"].astype(str).to_numpy(),
                    "category": picked["category"].to_numpy(),
                    "rerate": rerate,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _proportional_seats(sizes: pd.Series, total: int) -> pd.Series:
    """Split ``total`` seats over strata in proportion to their sizes (largest remainder)."""
    quota = sizes / sizes.sum() * total
    seats = np.floor(quota).astype(int).clip(upper=sizes)
    order = (quota - seats).sort_values(ascending=False).index
    for stratum in order:
        if seats.sum() >= total:
            break
        if seats[stratum] < sizes[stratum]:
            seats[stratum] += 1
    return seats


def _natural_key(ids: pd.Series) -> pd.Series:
    numeric = pd.to_numeric(ids, errors="coerce")
    return numeric if numeric.notna().all() else ids.astype(str)


def load_sample(path: Path | None = None) -> pd.DataFrame:
    """The committed sample (``data/annotations/sample.csv``)."""
    path = path or annotations_dir() / "sample.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing; create it with `expected-harm annotate sample`"
        )
    return pd.read_csv(path, dtype={"item_id": str})


def label_path(kind: str, dataset: str) -> Path:
    """The label file of one pass (``reference`` or ``rerate``) for one set."""
    return annotations_dir() / kind / f"{dataset.split(':')[0]}.csv"


def labelled_ids(path: Path) -> set[str]:
    """Item ids already labelled in a label file (empty when the file does not exist yet)."""
    if not path.is_file():
        return set()
    return set(pd.read_csv(path, dtype={"item_id": str})["item_id"])


def append_label(path: Path, row: Sequence[object]) -> None:
    """Append one labelled item (``FILE_COLUMNS`` order), writing the header to a new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.is_file()
    with path.open("a", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(FILE_COLUMNS)
        writer.writerow(row)


def load_labels(kind: str = "reference", folder: Path | None = None) -> pd.DataFrame:
    """Every label file of one pass (``reference`` or ``rerate``), validated and stacked.

    Raises:
        ValueError: A file lacks columns, holds a score outside 1–5, repeats an item, or
            labels an item that is not in the sample; the message names the file.
    """
    if kind not in ("reference", "rerate"):
        raise ValueError(f"kind must be 'reference' or 'rerate', got {kind!r}")
    folder = folder or annotations_dir()
    sample = load_sample(folder / "sample.csv")
    if kind == "rerate":
        sample = sample[sample["rerate"]]
    in_sample = set(zip(sample["dataset"], sample["item_id"]))
    frames = []
    for path in sorted((folder / kind).glob("*.csv")):
        frame = pd.read_csv(path, dtype={"item_id": str})
        missing = [c for c in FILE_COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        scores = frame[list(LABEL_COLUMNS)]
        if scores.isna().any().any() or not scores.isin([1, 2, 3, 4, 5]).all().all():
            raise ValueError(f"{path}: every score must be an integer from 1 to 5")
        keys = list(zip(frame["dataset"], frame["item_id"]))
        if len(set(keys)) != len(keys):
            raise ValueError(f"{path}: an item is labelled twice")
        if stray := [k for k in keys if k not in in_sample]:
            raise ValueError(f"{path}: item(s) not in the {kind} sample: {stray[:3]}")
        frames.append(frame[list(FILE_COLUMNS)])
    if not frames:
        return pd.DataFrame(columns=list(FILE_COLUMNS))
    labels = pd.concat(frames, ignore_index=True)
    labels[list(LABEL_COLUMNS)] = labels[list(LABEL_COLUMNS)].astype(int)
    return labels.merge(sample[["dataset", "item_id", "category"]], on=["dataset", "item_id"])
