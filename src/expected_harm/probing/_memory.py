"""Results kept on disk: joblib's memory under ``cache_dir()/frames``.

For the probing section's fits, its slowest steps once every model call and activation is
cached. A result is keyed by the arguments and by the code: joblib checks the code of the
function it keeps and of nothing it calls, so the source of the helpers it calls goes in as its
last argument.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def kept(function: Callable[..., T], helpers: Sequence[Callable[..., Any] | type],
         *args: Any) -> T:
    """``function(*args, source_of_helpers)``, computed once and read back after that."""
    from joblib import Memory

    from expected_harm.paths import cache_dir

    memory = Memory(cache_dir() / "frames", verbose=0)
    source = "".join(inspect.getsource(helper) for helper in helpers)
    return memory.cache(function)(*args, source)
