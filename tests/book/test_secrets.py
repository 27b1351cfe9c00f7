"""An API key in the environment of a run ends up nowhere the run leaves text.

The shared build runs every section with a test-double key (``TEST_DOUBLE_KEY``) in
``OPENAI_API_KEY`` and in a custom variable of the kind ``…?key_env=`` names. Whatever the run
wrote (executed notebooks, the build's log, the HTML, the response cache) must not contain it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from tests.book.conftest import TEST_DOUBLE_KEY, BookBuild

pytestmark = [pytest.mark.integration, pytest.mark.timeout(2700)]


def _files_holding(folder: Path, secret: bytes) -> list[str]:
    """Every file under ``folder`` (links not followed) whose bytes contain ``secret``."""
    found = []
    for directory, _, names in os.walk(folder):
        for name in names:
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink() and secret in path.read_bytes():
                found.append(str(path.relative_to(folder)))
    return found


def test_the_build_saw_the_test_double_key_and_wrote_it_nowhere(book_build: BookBuild):
    secret = TEST_DOUBLE_KEY.encode()
    log = book_build.log.read_text(encoding="utf-8", errors="replace")
    assert "running section" in log, "the build's output was not captured"
    notebooks = list((book_build.root / "book").glob("*.ipynb"))
    assert notebooks and any(book_build.html.rglob("*.html"))

    # The scratch book: executed notebooks, the log, the HTML and everything Sphinx kept.
    assert not (found := _files_holding(book_build.root, secret)), f"the key is in {found}"

    # The response cache, as stored bytes (with its write-ahead log) and as rows.
    cache_files = [p for p in book_build.cache.parent.glob(f"{book_build.cache.name}*")]
    assert book_build.cache in cache_files
    assert not (found := [p.name for p in cache_files if secret in p.read_bytes()]), found
    database = sqlite3.connect(f"file:{book_build.cache}?mode=ro", uri=True)
    try:
        rows = database.execute("SELECT * FROM responses").fetchall()
    finally:
        database.close()
    assert rows, "the response cache the build used is empty"
    keys = [row[0] for row in rows if any(TEST_DOUBLE_KEY in str(value) for value in row)]
    assert not keys, f"the key is in the cache rows {keys[:5]}"
