"""Fixtures for the dataset registry tests: the mirror, a scratch mirror, and no network.

The root conftest already gives every test its own cache folder and points
``EXPECTED_HARM_DATA_MIRROR`` at ``../shared/datasets`` when it is unset.
"""

from __future__ import annotations

import os
import shutil
import urllib.error
from collections.abc import Callable
from pathlib import Path

import pytest

from expected_harm.datasets import _sources
from expected_harm.paths import DATA_MIRROR_VAR

REAL_FETCH = _sources.fetch_bytes
"""The real downloader, for tests that exercise it with ``file://`` URLs."""


def no_network(url: str) -> bytes:
    """Test double for ``fetch_bytes``: behaves like a machine without internet access."""
    raise urllib.error.URLError(f"test double: no network for {url}")


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach the internet, even when a file is missing from cache and mirror."""
    monkeypatch.setattr(_sources, "fetch_bytes", no_network)


@pytest.fixture
def mirror() -> Path:
    """The read-only mirror of the staged datasets."""
    folder = Path(os.environ.get(DATA_MIRROR_VAR, ""))
    if not os.environ.get(DATA_MIRROR_VAR) or not folder.is_dir():
        message = f"no dataset mirror: set {DATA_MIRROR_VAR} (e.g. to ../shared/datasets)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI always has the mirror beside the checkout
        pytest.skip(message)
    return folder


@pytest.fixture
def scratch_mirror(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], Path]:
    """Copy one set's folder into a writable mirror and point the loader at it.

    Returns a function ``copy(name) -> folder`` so that a test can corrupt its own copy.
    """
    root = tmp_path / "mirror"
    root.mkdir()
    monkeypatch.setenv(DATA_MIRROR_VAR, str(root))

    def copy(name: str) -> Path:
        target = root / name
        shutil.copytree(mirror / name, target)
        target.chmod(0o755)
        for path in target.rglob("*"):  # the mirror is read-only; the copy must be editable
            path.chmod(0o755 if path.is_dir() else 0o644)
        return target

    return copy
