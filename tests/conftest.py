"""Shared fixtures: every test gets its own cache folder, no progress bars and a non-interactive
plot backend; ``response_cache`` hands a test the response cache its model calls use."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import pytest

from expected_harm.models import ResponseCache, run_settings

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


@pytest.fixture(autouse=True)
def quiet_runs() -> Iterator[None]:
    """No progress bars from model calls in tests."""
    with run_settings(progress=False):
        yield


@pytest.fixture
def response_cache(tmp_path: Path) -> Iterator[ResponseCache]:
    """A response cache of the test's own, used by every model call the test makes."""
    cache = ResponseCache(tmp_path / "responses.sqlite")
    with run_settings(cache=cache):
        yield cache
