"""The trained evaluators' validation tables, as ``expected-harm evaluators train`` wrote them.

The book reads these instead of retraining: each function returns one stored table from
``src/expected_harm/data/evaluators/`` (``CARD.md`` there says what each was trained on).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from expected_harm.evaluators.judge import evaluators_dir


def _read(name: str, folder: Path | None, **options: Any) -> pd.DataFrame:
    path = (folder or evaluators_dir()) / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; run `expected-harm evaluators train`")
    return pd.read_csv(path, **options)


def judge_table(folder: Path | None = None) -> pd.DataFrame:
    """Trained judges, the bag-of-words control, refusal phrases and the six published judges
    against the JBB human majority (100 rows), with paired bootstrap intervals.

    The shape of :func:`expected_harm.judges.validation_table`, so
    :func:`~expected_harm.judges.validation_style` shows it.
    """
    return _read("judge_validation.csv", folder, index_col=0)


def cross_source_table(folder: Path | None = None) -> pd.DataFrame:
    """Judges trained on one source of verdicts, scored against the other source's verdicts."""
    return _read("judge_cross_source.csv", folder)


def judge_selection(folder: Path | None = None) -> pd.DataFrame:
    """Every (training source, pooling, layer, C) tried and its grouped cross-validated κ."""
    return _read("judge_selection.csv", folder)


def rater_table(folder: Path | None = None) -> pd.DataFrame:
    """Out-of-fold (nested) weighted κ of the trained rater per dimension, overall and by set."""
    return _read("rater_agreement.csv", folder)


def guard_table(folder: Path | None = None) -> pd.DataFrame:
    """Share flagged on each set by a guard that never saw the set (Wilson intervals)."""
    return _read("guard_held_out.csv", folder)


def decomposition_table(folder: Path | None = None) -> pd.DataFrame:
    """Share of FRACTURED decompositions the guard blocks, per message and cumulatively."""
    return _read("guard_decompositions.csv", folder)


def stored(name: str, folder: Path | None = None) -> dict[str, Any]:
    """A stored JSON file (``judge.json``, ``rater.json``, ``guard.json``, ``timing.json``)."""
    path = (folder or evaluators_dir()) / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; run `expected-harm evaluators train`")
    return json.loads(path.read_text())
