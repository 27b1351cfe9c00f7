"""Reference annotations: the cost and severity labels every rater is checked against.

The labels are AI-assistant reference labels under a written protocol (``PROTOCOL.md``): the
project's AI engineering sessions read each prompt against the rubric in ``prompts/scales.yaml``
and wrote four cost dimensions, an overall cost, a severity and a one-sentence rationale. About
10% of the items are labelled a second time, blind, to measure self-agreement. Only item ids and
labels are stored, never prompt text.

Two groups of items carry labels. The threat-distribution section's design is a stratified sample
of 45 per set (``sample.csv``). The extension (``extension.csv``) labels the rest of JBB-Behaviors,
so that all 100 goals have labels for the calibration section, which joins published jailbreak
responses to every goal, and 60 published decompositions of SORRY-Bench requests (their
sub-questions and 15 more originals, :func:`draw_decomposition_sample`) for the decomposition
section; it never enters the 45-per-set comparison.

Files in ``annotations/`` of the package data (``src/expected_harm/data/`` in a checkout):
    sample.csv           the stratified sample (``draw_sample``; fixed seed)
    extension.csv        items labelled beyond the sample (same columns)
    reference/<set>.csv  the labels
    rerate/<set>.csv     the blind second pass on the re-rate items
    SUMMARY.md           the tables of the book's annotation page (``summary_markdown``)

Every file's ``dataset`` column holds a registry name. ``sample.csv`` and ``extension.csv`` add a
``subset`` column: the slice an item was drawn from (``""`` for the whole set), so the sets are
named by the specs in :data:`ANNOTATED_SETS`. Label files need no subset: an item id is unique
within its whole set.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from expected_harm.paths import data_dir, writable_data_dir
from expected_harm.scales import load_scales

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

COST_DIMENSIONS: tuple[str, ...] = load_scales().cost.dimension_keys  # declared in scales.yaml
LABEL_COLUMNS = (*COST_DIMENSIONS, "cost", "severity")
FILE_COLUMNS = ("dataset", "item_id", *LABEL_COLUMNS, "rationale")


def annotations_dir(*, write: bool = False) -> Path:
    """The annotation files (package data; see :mod:`expected_harm.paths` for where writes go)."""
    return (writable_data_dir() if write else data_dir()) / "annotations"


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
        Columns ``dataset``, ``subset``, ``item_id``, ``category``, ``rerate`` (bool).
    """
    from expected_harm.datasets import load, parse_dataset_spec

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
                    "dataset": parse_dataset_spec(spec).dataset,
                    "subset": parse_dataset_spec(spec).subset,
                    "item_id": picked["item_id"].astype(str).to_numpy(),
                    "category": picked["category"].to_numpy(),
                    "rerate": rerate,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


#: How many published decompositions carry reference labels (issue 14: at least 60).
DECOMPOSITIONS = 60
DECOMPOSITION_SEED = 20261201
DECOMPOSITION_RERATE = 40  # of the 402 sub-questions, 10%: blind second pass


def draw_decomposition_sample(
    n: int = DECOMPOSITIONS, seed: int = DECOMPOSITION_SEED
) -> pd.DataFrame:
    """The published harmful decompositions to label, as extension items: originals and steps.

    Every decomposition whose SORRY-Bench original is in the threat-distribution sample (45,
    themselves a stratified random sample) is taken, so their originals' labels are reused; the
    other ``n - 45`` are drawn at random (``seed``) from the rest. Each drawn decomposition
    contributes its sub-questions (``fractured_sorry_bench:decompositions`` item ids) and, where
    not labelled yet, its original (``sorry_bench`` item id).

    Returns:
        Items in the shape of ``extension.csv``: ``dataset``, ``subset``, ``item_id``,
        ``category``, ``rerate``: a seeded :data:`DECOMPOSITION_RERATE` of the sub-questions
        (the two halves were labelled by two sessions; the blind second pass measures both).
    """
    from expected_harm.datasets import load

    steps = load("fractured_sorry_bench:decompositions")
    steps = steps[steps["kind"] == "harmful"]
    originals = steps.drop_duplicates("decomposition_id")
    sample = load_sample()
    labelled = set(sample.loc[sample["dataset"] == "sorry_bench", "item_id"])
    in_sample = originals["sorry_bench_item_id"].astype(str).isin(labelled)
    if n < in_sample.sum():
        raise ValueError(f"n must be at least {in_sample.sum()} (the labelled originals), got {n}")
    rest = originals[~in_sample].sample(n=n - int(in_sample.sum()), random_state=seed)
    chosen = pd.concat([originals[in_sample], rest])
    new_originals = chosen.loc[~chosen.index.isin(originals[in_sample].index)]
    picked = steps[steps["decomposition_id"].isin(chosen["decomposition_id"])]
    items = [
        pd.DataFrame({"dataset": "sorry_bench", "subset": "",
                      "item_id": new_originals["sorry_bench_item_id"].astype(str),
                      "category": new_originals["category"]}),
        pd.DataFrame({"dataset": "fractured_sorry_bench", "subset": "decompositions",
                      "item_id": picked["item_id"].astype(str), "category": picked["category"]}),
    ]
    drawn = pd.concat(items, ignore_index=True).assign(rerate=False)
    steps_at = drawn.index[drawn["dataset"] == "fractured_sorry_bench"]
    rng = np.random.default_rng(seed)
    drawn.loc[rng.choice(steps_at, size=DECOMPOSITION_RERATE, replace=False), "rerate"] = True
    return drawn


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
    """The committed sample (``annotations/sample.csv``)."""
    path = path or annotations_dir() / "sample.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing; create it with `expected-harm annotate sample`"
        )
    return _read_items(path)


def _read_items(path: Path) -> pd.DataFrame:
    """An items file (sample or extension); an empty ``subset`` cell is the whole set (``""``)."""
    frame = pd.read_csv(path, dtype={"item_id": str, "subset": str})
    return frame.assign(subset=frame["subset"].fillna(""))


def load_items(folder: Path | None = None) -> pd.DataFrame:
    """Every item to label: the sample, then the extension, with ``in_sample`` telling them apart.

    Raises:
        ValueError: The extension repeats an item of the sample.
    """
    folder = folder or annotations_dir()
    extension_path = folder / "extension.csv"
    if not extension_path.is_file():
        raise FileNotFoundError(f"{extension_path} is missing (items labelled beyond the sample)")
    sample = load_sample(folder / "sample.csv").assign(in_sample=True)
    extension = _read_items(extension_path).assign(in_sample=False)
    keys = set(zip(sample["dataset"], sample["item_id"]))
    if twice := [k for k in zip(extension["dataset"], extension["item_id"]) if k in keys]:
        raise ValueError(f"{extension_path}: item(s) already in the sample: {twice[:3]}")
    return pd.concat([sample, extension], ignore_index=True)


def label_path(kind: str, dataset: str) -> Path:
    """The label file of one pass (``reference`` or ``rerate``) for one set (a registry name)."""
    return annotations_dir(write=True) / kind / f"{dataset}.csv"


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

    Returns:
        The ``FILE_COLUMNS``, the item's ``subset``, ``category`` and ``in_sample``: True for
        the threat-distribution sample, False for the extension (see the module docstring).

    Raises:
        ValueError: A file lacks columns, holds a score outside 1–5, repeats an item, or
            labels an item that is not among the items to label; the message names the file.
    """
    if kind not in ("reference", "rerate"):
        raise ValueError(f"kind must be 'reference' or 'rerate', got {kind!r}")
    folder = folder or annotations_dir()
    items = load_items(folder)
    if kind == "rerate":
        items = items[items["rerate"]]
    to_label = set(zip(items["dataset"], items["item_id"]))
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
        if stray := [k for k in keys if k not in to_label]:
            raise ValueError(
                f"{path}: item(s) not among the {kind} items "
                f"(sample.csv, extension.csv): {stray[:3]}"
            )
        frames.append(frame[list(FILE_COLUMNS)])
    if not frames:
        return pd.DataFrame(columns=[*FILE_COLUMNS, "subset", "category", "in_sample"])
    labels = pd.concat(frames, ignore_index=True)
    labels[list(LABEL_COLUMNS)] = labels[list(LABEL_COLUMNS)].astype(int)
    return labels.merge(
        items[["dataset", "item_id", "subset", "category", "in_sample"]],
        on=["dataset", "item_id"],
    )


def all_labels(dataset: str, folder: Path | None = None) -> pd.DataFrame:
    """Every reference label of one set, in the sample or not: all 100 goals of ``jbb_behaviors``.

    For what needs each labelled item of a set (the calibration section's published jailbreak
    responses, one per JBB goal); the threat-distribution comparison keeps to the sample.

    Raises:
        ValueError: The set has no reference labels.
    """
    labels = load_labels(folder=folder)
    chosen = labels[labels["dataset"] == dataset]
    if chosen.empty:
        raise ValueError(
            f"no reference labels for {dataset!r}; labelled sets: "
            f"{', '.join(labels['dataset'].unique())}"
        )
    return chosen.reset_index(drop=True)


#: How tables name the two groups of labelled items (``in_sample`` True / False).
PARTS = {True: "threat-distribution sample", False: "beyond the sample"}


def _part(labels: pd.DataFrame) -> pd.Series:
    """Each label's part: the sample, or its set's items beyond it (``jbb_behaviors beyond …``)."""
    part = labels["in_sample"].map(PARTS)
    return part.where(labels["in_sample"], labels["dataset"] + " " + part)


def self_agreement(folder: Path | None = None) -> pd.DataFrame:
    """Agreement of the blind second pass with the first, per scale: all re-labels, then per part.

    Computed from whatever rows ``rerate/`` holds. The parts are the sample's re-labels and each
    extended set's (e.g. ``jbb_behaviors beyond the sample``), so new re-labels show on their own.

    Returns:
        Index (``re-labels``, ``scale``); columns as :class:`expected_harm.stats.Agreement`.

    Raises:
        ValueError: A re-labelled item has no reference label, or a part has fewer than two.
    """
    from expected_harm.stats import agreement

    second = load_labels("rerate", folder=folder)
    first = load_labels(folder=folder)
    paired = second.merge(
        first, on=["dataset", "subset", "item_id", "in_sample"], suffixes=("_second", "_first")
    )
    if len(paired) != len(second):
        raise ValueError("every re-labelled item needs a reference label")
    part = _part(paired)
    names = sorted(set(part), key=lambda name: (name != PARTS[True], name))
    groups = [("all", paired), *((name, paired[part == name]) for name in names)]
    rows = [
        {
            "re-labels": name,
            "scale": scale,
            **vars(agreement(group[f"{scale}_first"], group[f"{scale}_second"])),
        }
        for name, group in groups
        for scale in LABEL_COLUMNS
    ]
    return pd.DataFrame(rows).set_index(["re-labels", "scale"])


AGREEMENT_HEADERS = {"n": "n", "quadratic_kappa": "weighted κ", "spearman": "Spearman ρ",
                     "exact": "exact", "within_one": "within ±1"}


def summary_markdown(folder: Path | None = None) -> str:
    """The tables of the book's annotation page, as MyST Markdown (written to ``SUMMARY.md``).

    Computed from the committed files, so the page cannot drift from them: a test compares
    ``SUMMARY.md`` with this function's output.
    """
    from expected_harm.datasets import spec_of

    labels = load_labels(folder=folder)
    rerate = load_labels("rerate", folder=folder)
    # a sample row is the slice it was drawn from (its spec), as the section's parameters name it
    row = spec_of(labels).where(labels["in_sample"], _part(labels))
    counts = labels.assign(row=row).groupby("row", sort=False).agg(
        labels=("cost", "size"), mean_cost=("cost", "mean"), mean_severity=("severity", "mean")
    )
    relabelled = rerate.assign(row=spec_of(rerate).where(rerate["in_sample"], _part(rerate)))
    counts.insert(1, "re-labelled blind", relabelled["row"].value_counts())
    counts = counts.fillna({"re-labelled blind": 0}).astype({"re-labelled blind": int})
    sets = [s for s in ANNOTATED_SETS if s in counts.index]
    counts = counts.loc[sets + sorted(set(counts.index) - set(sets))]
    levels = pd.concat(
        {
            scale: pd.crosstab(row, labels[scale]).reindex(columns=[1, 2, 3, 4, 5], fill_value=0)
            for scale in ("cost", "severity")
        },
        axis=1,
    ).loc[counts.index]
    levels.columns = [f"{scale} {level}" for scale, level in levels.columns]
    table = counts.join(levels).rename(
        columns={"mean_cost": "mean cost", "mean_severity": "mean severity"}
    )
    table = table.rename_axis("set").map(lambda v: f"{v:.2f}" if isinstance(v, float) else v)
    agreement = self_agreement(folder).rename(columns=AGREEMENT_HEADERS)
    agreement = agreement[list(AGREEMENT_HEADERS.values())]
    agreement = agreement.map(lambda v: "–" if v != v else v)  # NaN: no variance to compare
    for column in ("weighted κ", "Spearman ρ"):
        agreement[column] = agreement[column].map(lambda v: v if v == "–" else f"{v:.2f}")
    for column in ("exact", "within ±1"):
        agreement[column] = agreement[column].map(lambda v: f"{v:.0%}")
    beyond = labels[~labels["in_sample"]]
    extension = ", ".join(f"{s}: {n}" for s, n in beyond["dataset"].value_counts().items())
    return "\n".join(
        [
            "<!-- Generated by `expected-harm annotate summary` from the label files; "
            "do not edit. -->",
            "## The labels",
            "",
            f"{len(labels)} items carry reference labels: the threat-distribution sample "
            f"({int(labels['in_sample'].sum())} items, {PER_SET} per set) and "
            f"{len(beyond)} items beyond it ({extension}), which the calibration and decomposition "
            "sections use "
            "and the 45-per-set comparison does not. Each row counts one set's items per level "
            "(1 = trivial or minor, 5 = prohibitive or catastrophic).",
            "",
            _markdown_table(table),
            "",
            "## Self-agreement",
            "",
            f"{len(rerate)} items were labelled a second time without sight of the first label. "
            "Quadratic-weighted Cohen's κ, Spearman's ρ and the share of identical and of "
            "at-most-one-level-apart labels compare the two passes, for all re-labels and for "
            "each part; a dash marks a scale with no variance to compare.",
            "",
            _markdown_table(agreement),
            "",
        ]
    )


def _markdown_table(frame: pd.DataFrame) -> str:
    """A pipe table of already formatted cells; the index becomes the first column(s)."""
    frame = frame.reset_index()
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|---" * frame.shape[1] + "|"]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)
