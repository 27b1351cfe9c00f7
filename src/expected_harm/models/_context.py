"""The run settings (which response cache, whether to show progress bars), set once per run.

Every model call goes through the runner, and only the runner reads these settings, so no
attack, judge, guard or pipeline step takes them as arguments. They live in a
:class:`~contextvars.ContextVar`: a ``with run_settings(...)`` block applies to the calls made
inside it (also from the runner's worker thread, which gets a copy of the caller's context),
and never leaks into other threads or tasks.

>>> current_settings().progress
True
>>> with run_settings(progress=False):
...     current_settings().progress
False
>>> current_settings().progress
True
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace

from expected_harm.models._cache import ResponseCache


@dataclass(frozen=True)
class RunSettings:
    """What every model call of a run shares.

    Attributes:
        cache: Where answers are kept; None means the shared cache in the cache folder
            (``responses.sqlite`` under ``$EXPECTED_HARM_CACHE_DIR``), opened per call.
        progress: Show a progress bar with rate and ETA for each batch of calls.
    """

    cache: ResponseCache | None = None
    progress: bool = True

    def response_cache(self) -> ResponseCache:
        """The cache to use: the one set, else the shared one."""
        return self.cache if self.cache is not None else ResponseCache()


_SETTINGS: ContextVar[RunSettings] = ContextVar("expected_harm_run_settings",
                                                default=RunSettings())


def current_settings() -> RunSettings:
    """The settings in force here: those of the innermost :func:`run_settings` block."""
    return _SETTINGS.get()


@contextmanager
def run_settings(
    *, cache: ResponseCache | None = None, progress: bool | None = None
) -> Iterator[RunSettings]:
    """Use ``cache`` and/or ``progress`` for every model call inside the block.

    What is not given is kept from the enclosing settings, so blocks nest.

    Args:
        cache: The response cache (a test's temporary one, say).
        progress: False to hide the progress bars.
    """
    settings = current_settings()
    if cache is not None:
        settings = replace(settings, cache=cache)
    if progress is not None:
        settings = replace(settings, progress=progress)
    token = _SETTINGS.set(settings)
    try:
        yield settings
    finally:
        _SETTINGS.reset(token)
