"""The executed notebooks re-run cleanly under nbval (lax: only cells that raise fail).

The notebooks of the shared build run again, cell by cell, against the same warm response
cache, so nothing new is asked of a model and the run is quick.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.book.conftest import SUMMARY, BookBuild

pytestmark = [pytest.mark.integration, pytest.mark.timeout(2700)]


def test_executed_notebooks_pass_nbval_lax(book_build: BookBuild):
    notebooks = sorted(str(p) for p in (book_build.root / "book").glob("*.ipynb"))
    assert notebooks
    # The notebooks read the package relative to notebooks/ of the checkout, as papermill ran them.
    env = {**os.environ, "EXPECTED_HARM_CACHE_DIR": str(book_build.cache.parent)}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-q",
         "-p", "no:cacheprovider", "--rootdir", str(book_build.root), "-o", "addopts=",
         *notebooks],
        capture_output=True, text=True, timeout=1800, env=env, cwd=book_build.root,
    )
    SUMMARY.append(f"nbval --nbval-lax over {len(notebooks)} executed notebooks: "
                   f"{time.monotonic() - started:.0f} s")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
