"""No model answer and no dataset prompt reaches the built book in full.

The prompts are harmful requests and some answers comply, so pages show model text only through
``expected_harm.redact`` (its first words and a length note). This test reads every answer in the
response cache the build used and every prompt (and published answer) of every registered dataset,
and fails if a run of more than :data:`WORDS` consecutive words of any of them appears on a page.
Words are compared case-folded, without punctuation, after HTML tags are stripped and entities
unescaped, so a table cell, a quote or a line break does not hide a leak.
"""

from __future__ import annotations

import html
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from expected_harm.datasets import REGISTRY, load
from expected_harm.redact import redact
from tests.book.conftest import BookBuild

pytestmark = [pytest.mark.integration, pytest.mark.timeout(2700)]

#: The longest run of a text's words a page may show (redaction shows 8).
WORDS = 12
#: Columns of the registered sets that hold a prompt or a model's text.
TEXT_COLUMNS = ("prompt", "context", "attack_prompt", "response", "target_response",
                "sub_question")


def _words(text: str) -> list[str]:
    """Case-folded words without punctuation.

    Examples:
        >>> _words("Sure, here is HOW: step 1")
        ['sure', 'here', 'is', 'how', 'step', '1']
    """
    return re.findall(r"\w+", text.casefold())


def _strings(value: object) -> Iterator[str]:
    """Every string inside a parsed JSON value (a notebook's cells and outputs)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _reader_text(path: Path) -> str:
    """What a reader can see in one served file: an HTML page's text, a notebook's strings."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        raw = " ".join(_strings(json.loads(raw)))
    return html.unescape(re.sub(r"<[^>]+>", " ", raw))


def _served_texts(built_book: Path) -> dict[str, list[str]]:
    """Words of every HTML page, and of the page sources the download button serves."""
    files = [*built_book.rglob("*.html"), *built_book.glob("_sources/**/*.ipynb"),
             *built_book.glob("_sources/**/*.md")]
    return {str(f.relative_to(built_book)): _words(_reader_text(f)) for f in files}


def _runs(words: list[str]) -> Iterator[str]:
    for start in range(len(words) - WORDS):
        yield " ".join(words[start:start + WORDS + 1])


def _model_and_dataset_texts(cache: Path) -> Iterator[tuple[str, str]]:
    """(where it comes from, text) for every cached answer and every registered set's texts."""
    database = sqlite3.connect(f"file:{cache}?mode=ro", uri=True)
    try:
        for model, text in database.execute("SELECT model, text FROM responses"):
            yield f"cached answer of {model}", text
    finally:
        database.close()
    for name in REGISTRY:
        frame = load(name)
        for column in TEXT_COLUMNS:
            if column in frame:
                for text in frame[column].dropna():
                    yield f"{name}.{column}", str(text)


def test_no_cached_answer_or_dataset_text_appears_in_full_on_a_page(book_build: BookBuild):
    pages = _served_texts(book_build.html)
    assert any(name.startswith("book/") for name in pages), "no page of the book was read"
    shown = {hash(run) for words in pages.values() for run in _runs(words)}
    joined = {name: f" {' '.join(words)} " for name, words in pages.items()}

    leaks, checked = [], 0
    for origin, text in _model_and_dataset_texts(book_build.cache):
        checked += 1
        where = {name for run in _runs(_words(text)) if hash(run) in shown
                 for name, page in joined.items() if f" {run} " in page}
        if where:
            # The message shows only the redacted opening: the text itself is harmful.
            leaks.append(f"{origin}: {redact(text)} on {', '.join(sorted(where))}")
    assert checked > 1000, f"only {checked} texts were read; is the cache or the mirror empty?"
    assert not leaks, f"{len(leaks)} texts appear on a page in full:\n" + "\n".join(leaks[:20])
