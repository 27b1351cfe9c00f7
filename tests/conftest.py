"""Shared fixtures: every test gets its own cache folder and a non-interactive plot backend."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the response and data caches at a fresh folder, so tests never share answers."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("EXPECTED_HARM_CACHE_DIR", str(folder))
    if not os.environ.get("EXPECTED_HARM_DATA_MIRROR") and SHARED_DATASETS.is_dir():
        monkeypatch.setenv("EXPECTED_HARM_DATA_MIRROR", str(SHARED_DATASETS))
    return folder
