"""Loading registered sets into tidy frames, listing them and verifying their files.

Loading is all-or-nothing: files are read, parsed, validated (row count, prompts, ids, subset
size) and checksummed before a frame is returned, so an error never leaves half a set behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from expected_harm.datasets._duplicates import drop_duplicate_prompts
from expected_harm.datasets._registry import (
    REGISTRY,
    Dataset,
    DatasetSpec,
    get_dataset,
    parse_dataset_spec,
)
from expected_harm.datasets._schema import (
    GROUPS,
    MODEL_OUTPUTS,
    PROMPT_GROUPS,
    SCHEMA_COLUMNS,
    DatasetError,
    order_columns,
    validate_tidy,
)
from expected_harm.datasets._sources import (
    cache_path,
    check_sha256,
    mirror_path,
    read_raw,
    sha256_bytes,
)
from expected_harm.runcard import record


def _load_entry(entry: Dataset) -> pd.DataFrame:
    raw = read_raw(entry.name, entry.files)
    frame = entry.parse(raw)
    source = ", ".join(str(file.path) for file in raw.values())
    validate_tidy(
        frame, source=source, expected_rows=entry.rows,
        rows_without_prompt=entry.rows_without_prompt,
    )
    for file in entry.files:
        check_sha256(file, raw[file.name])
    extras = [column for column in frame.columns if column not in SCHEMA_COLUMNS]
    frame = frame.assign(dataset=entry.name, group=entry.group)
    return order_columns(frame, extras)


def load(spec: str, *, drop_duplicates: bool = False) -> pd.DataFrame:
    """Load one registered set, or one of its subsets, as a tidy frame.

    Args:
        spec: ``"name"`` or ``"name:subset"``, e.g. ``"xstest:unsafe"`` or
            ``"toxicchat:toxic"``; ``expected-harm data list`` shows the names.
        drop_duplicates: Drop rows whose prompt repeats an earlier row of the same set.

    Returns:
        Columns ``dataset, item_id, prompt, category, group`` then the set's own columns (for
        a subset that names its columns, only those).

    Raises:
        ValueError: Unknown set or subset; ``drop_duplicates`` on a set of model outputs (its
            requests repeat by design, once per model and attack).
        DatasetError: The file is unavailable, corrupted or malformed (message names the file).
    """
    parsed = parse_dataset_spec(spec)
    entry, subset = parsed.entry, parsed.subset
    if drop_duplicates and entry.group == MODEL_OUTPUTS:
        raise ValueError(f"{spec}: a {MODEL_OUTPUTS} set repeats each request by design; "
                         "duplicates are not dropped from it")
    frame = _load_entry(entry)
    if subset:
        chosen = entry.subsets[subset]
        frame = frame.loc[chosen.select(frame).to_numpy()].reset_index(drop=True)
        if len(frame) != chosen.rows:
            raise DatasetError(
                f"{spec}: expected {chosen.rows} rows in the subset, selected {len(frame)}"
            )
        if chosen.columns is not None:
            frame = order_columns(frame, chosen.columns)
    frame = drop_duplicate_prompts(frame) if drop_duplicates else frame
    record("dataset", spec=str(parsed), rows=len(frame))
    return frame


def load_all(
    names: Iterable[str] | None = None,
    *,
    groups: Sequence[str] | None = None,
    study_subsets: bool = False,
    drop_duplicates: bool = False,
) -> pd.DataFrame:
    """Load several sets and stack them into one tidy frame.

    Args:
        names: Specs as for :func:`load`; default every registered set, in registry order.
        groups: Keep only sets of these groups (e.g. ``["benchmark", "real_world"]``). The
            default, when ``names`` is also left out, is every group of prompt sets: the
            ``model_outputs`` sets repeat each request once per model and attack, so stacking
            them with prompt sets would count those requests many times.
        study_subsets: Replace each set by the subset the study analyses (XSTest unsafe,
            ToxicChat toxic, HarmBench standard+contextual, ...) where it has one.
        drop_duplicates: Drop exact duplicate prompts within and across sets, keeping the first
            occurrence in the order of ``names``.

    Returns:
        The concatenated frame; set-specific columns are missing (NaN) for the other sets.

    Raises:
        ValueError: Unknown set, subset or group.
    """
    if groups is not None:
        unknown = sorted(set(groups) - set(GROUPS))
        if unknown:
            raise ValueError(f"unknown group(s) {', '.join(unknown)}; groups: {', '.join(GROUPS)}")
    if names is None and groups is None:
        groups = PROMPT_GROUPS
    specs = list(REGISTRY) if names is None else list(names)
    frames = []
    for spec in specs:
        parsed = parse_dataset_spec(spec)
        if groups is not None and parsed.entry.group not in groups:
            continue
        if study_subsets and not parsed.subset and parsed.entry.study_subset is not None:
            parsed = DatasetSpec(parsed.dataset, parsed.entry.study_subset)
        frames.append(load(str(parsed)))
    if not frames:
        return pd.DataFrame(columns=list(SCHEMA_COLUMNS))
    frame = pd.concat(frames, ignore_index=True)
    return drop_duplicate_prompts(frame) if drop_duplicates else frame


def list_datasets() -> pd.DataFrame:
    """The registry as a table (no file access): one row per set.

    Returns:
        Columns ``name, title, group, rows, licence, citation, origin, subsets, study_subset``.
    """
    return pd.DataFrame(
        [
            {
                "name": entry.name,
                "title": entry.title,
                "group": entry.group,
                "rows": entry.rows,
                "licence": entry.licence,
                "citation": entry.citation,
                "origin": entry.origin,
                "subsets": ", ".join(f"{name} ({s.rows})" for name, s in entry.subsets.items()),
                "study_subset": entry.study_subset or "",
            }
            for entry in REGISTRY.values()
        ]
    )


def verify(names: Iterable[str] | None = None) -> pd.DataFrame:
    """Check the sha256 of every registered file found in the cache or the mirror (no download).

    Args:
        names: Sets to check; default all.

    Returns:
        One row per file and location: ``dataset, file, location`` (``cache``/``mirror``/``-``),
        ``path``, ``status`` (``ok``, ``mismatch`` or ``missing``: in neither place).
    """
    rows = []
    for name in list(REGISTRY) if names is None else list(names):
        entry = get_dataset(name)
        for file in entry.files:
            found = False
            for location, path in (
                ("cache", cache_path(entry.name, file)),
                ("mirror", mirror_path(entry.name, file)),
            ):
                if path is None or not path.is_file():
                    continue
                found = True
                status = "ok" if sha256_bytes(path.read_bytes()) == file.sha256 else "mismatch"
                rows.append((entry.name, file.name, location, str(path), status))
            if not found:
                rows.append((entry.name, file.name, "-", "", "missing"))
    return pd.DataFrame(rows, columns=["dataset", "file", "location", "path", "status"])
