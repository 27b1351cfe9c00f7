"""Where the project keeps things: the repository root, the package's data, the caches.

Every location can be moved with an environment variable, so tests, CI and workshops can point
the package at a scratch folder without touching code.

The reference labels and the safety-tuning adapter are package data (``expected_harm/data/``,
in a checkout ``src/expected_harm/data/``), so an installed package finds them anywhere. Commands
that write there (``annotate sample|rate|summary``, ``embedded train``) write into the checkout
of an editable install (``pip install -e .``, as the Makefile does) and refuse to write into an
installed copy; ``$EXPECTED_HARM_DATA_DIR`` points reads and writes at another folder with the
same layout (``annotations/``, ``models/``).
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_DIR_VAR = "EXPECTED_HARM_CACHE_DIR"
DATA_MIRROR_VAR = "EXPECTED_HARM_DATA_MIRROR"
DATA_DIR_VAR = "EXPECTED_HARM_DATA_DIR"


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


def data_dir() -> Path:
    """The package's data: ``$EXPECTED_HARM_DATA_DIR``, else ``data/`` beside this module."""
    return Path(os.environ.get(DATA_DIR_VAR) or Path(__file__).resolve().parent / "data")


def writable_data_dir() -> Path:
    """:func:`data_dir` for a command that writes labels or an adapter.

    Raises:
        PermissionError: The folder is an installed copy of the package (not in a checkout) and
            ``$EXPECTED_HARM_DATA_DIR`` is unset: a write there would vanish with the next
            install. The message says how to write into a checkout instead.
    """
    folder = data_dir()
    if os.environ.get(DATA_DIR_VAR):
        return folder
    checkout = folder.parents[2]  # <checkout>/src/expected_harm/data
    if not (checkout / "_toc.yml").is_file():
        raise PermissionError(
            f"{folder} belongs to an installed package; install the checkout in editable mode "
            f"(pip install -e .) or set {DATA_DIR_VAR} to the folder to write into"
        )
    return folder


def cache_dir() -> Path:
    """Folder for the response cache and downloaded data: ``$EXPECTED_HARM_CACHE_DIR``.

    Defaults to ``~/.cache/expected-harm``; the Makefile points it at ``data/cache`` in the
    checkout so that a book build and its cache live side by side.
    """
    folder = Path(os.environ.get(CACHE_DIR_VAR) or Path.home() / ".cache" / "expected-harm")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
