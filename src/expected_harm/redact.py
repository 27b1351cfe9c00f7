"""Redaction of model outputs for the rendered book.

The prompts are harmful requests and some answers comply: by default the book shows only the first
words of an answer and how long it was. A notebook parameter (``show_outputs``) lifts this for
local, private use; the default never changes.
"""

from __future__ import annotations

import pandas as pd

DEFAULT_WORDS = 8


def redact(text: str | None, show: bool = False, words: int = DEFAULT_WORDS) -> str:
    """The text itself when ``show``; otherwise its first ``words`` words and a length note.

    Examples:
        >>> redact("Sure, here is how you would do that in five steps", words=3)
        'Sure, here is … [redacted: 11 words]'
        >>> redact("short", words=3)
        'short'
    """
    if text is None:
        return ""
    if show:
        return text
    tokens = text.split()
    if len(tokens) <= words:
        return " ".join(tokens)
    return f"{' '.join(tokens[:words])} … [redacted: {len(tokens)} words]"


def redact_column(frame: pd.DataFrame, column: str, show: bool = False,
                  words: int = DEFAULT_WORDS) -> pd.DataFrame:
    """A copy of ``frame`` with ``column`` redacted (see :func:`redact`)."""
    return frame.assign(**{column: frame[column].map(lambda t: redact(t, show, words))})
