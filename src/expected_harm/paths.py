"""Where the project keeps things: the repository root, the response cache, the data cache.

Every location can be moved with an environment variable, so tests, CI and workshops can point
the package at a scratch folder without touching code.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_DIR_VAR = "EXPECTED_HARM_CACHE_DIR"
DATA_MIRROR_VAR = "EXPECTED_HARM_DATA_MIRROR"


def project_root() -> Path:
    """The repository checkout that holds ``_toc.yml``, ``notebooks/`` and ``book/``.

    Looks upward from the working directory first (a user inside the checkout), then from this
    file (an editable install run from elsewhere).
    """
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            if (folder / "_toc.yml").is_file() and (folder / "notebooks").is_dir():
                return folder
    raise FileNotFoundError(
        "cannot find the expected-harm checkout (a folder with _toc.yml and notebooks/); "
        "run this command from inside the repository"
    )


def cache_dir() -> Path:
    """Folder for the response cache and downloaded data: ``$EXPECTED_HARM_CACHE_DIR``.

    Defaults to ``~/.cache/expected-harm``; the Makefile points it at ``data/cache`` in the
    checkout so that a book build and its cache live side by side.
    """
    folder = Path(os.environ.get(CACHE_DIR_VAR) or Path.home() / ".cache" / "expected-harm")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
