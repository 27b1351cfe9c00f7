"""One build of the whole book, shared by every test of the rendered pages.

Every section runs with :data:`SMOKE_PARAMETERS` into a scratch copy of the book (the
repository's ``book/`` and ``_build`` are left alone), jupyter-book builds it once per test session,
and ``served_book`` serves it on 127.0.0.1 as a reader's browser would fetch it. The build runs
with a test-double API key in the environment (:data:`TEST_DOUBLE_KEY`) and records everything it
printed or logged, so the secrets test can look for the key everywhere the build left text.

Chromium comes from the Debian package (``make browser``). Without it (or without the
``playwright`` package) the browser tests skip locally but fail on CI (``CI`` set), where a
skipped browser check would hide a broken book.
"""

from __future__ import annotations

import functools
import http.server
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from expected_harm.models._cache import default_cache_path
from expected_harm.paths import project_root
from expected_harm.report import QUICK_PARAMETERS
from expected_harm.sections import SECTIONS, run_section

#: Small parameters so that every section runs in seconds; the page layout is the same.
#: A new page with parameters worth shrinking gets its line here (section name → parameters).
SMOKE_PARAMETERS: dict[str, dict[str, object]] = {
    "threat_distribution": {"per_set": 1},
    # calibration, decomposition, probing: the sizes of `expected-harm evaluate --quick`
    **QUICK_PARAMETERS,
    "guardrails": {"decompositions_per_kind": 4, "live_strategies": [],
                   "benign_prompts_per_set": 3},
    "models": {"per_set": 3},
    "workshop_rate": {"n_prompts": 4},
    "workshop_calibration": {"items_per_benchmark": 1, "attacks": ["direct"], "max_tokens": 16,
                             "port": None},
    "workshop_probe": {"per_set": 3, "harmless_per_set": 15, "layer": 3},
}

#: A test double for an API key: a value no real provider issues, set in the environment of the
#: build under the names a run reads keys from, so that a leak of it is easy to recognise.
TEST_DOUBLE_KEY = "sk-test-double-0f9e8d7c6b5a-not-a-real-key"
#: The variables it is set in: the OpenAI default and a custom one, as ``…?key_env=`` names it.
KEY_VARIABLES = ("OPENAI_API_KEY", "EXPECTED_HARM_TEST_DOUBLE_KEY")
#: Lines for the end of the test report: where the screenshots are, how long things took.
SUMMARY: list[str] = []


@dataclass(frozen=True)
class BookBuild:
    """What the shared build left: the scratch book, its HTML, the cache it used and its log."""

    root: Path
    html: Path
    cache: Path
    log: Path


def _fail_or_skip(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _scratch_copy(work: Path) -> None:
    root = project_root()
    if not (root / "book" / "_static" / "mathjax" / "tex-chtml.js").is_file():
        pytest.fail("MathJax is not vendored: run `make mathjax` first")
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(root / name, work / name)
    # MathJax is 24 MB: link the static folder instead of copying it; Sphinx copies what it needs.
    shutil.copytree(root / "book", work / "book",
                    ignore=shutil.ignore_patterns("_static", "*.ipynb"))
    (work / "book" / "_static").symlink_to(root / "book" / "_static", target_is_directory=True)
    # The annotation page includes the protocol from the package data; give the scratch copy the
    # same relative path.
    (work / "src").symlink_to(root / "src", target_is_directory=True)


class _CapturedOutput:
    """Send everything this process and its children print while the block runs to ``log``:
    file descriptors 1 and 2 (kernels, native libraries), ``sys.stdout``/``sys.stderr`` and
    the ``logging`` records (papermill's included)."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def __enter__(self) -> _CapturedOutput:
        sys.stdout.flush()
        sys.stderr.flush()
        self._binary = self.log.open("ab")
        self._text = self.log.open("a", encoding="utf-8", buffering=1)
        self._fds = [os.dup(1), os.dup(2)]
        os.dup2(self._binary.fileno(), 1)
        os.dup2(self._binary.fileno(), 2)
        self._streams = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = self._text
        self._handler = logging.StreamHandler(self._text)
        root = logging.getLogger()
        self._level = root.level
        root.addHandler(self._handler)
        root.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        root = logging.getLogger()
        root.removeHandler(self._handler)
        root.setLevel(self._level)
        sys.stdout, sys.stderr = self._streams
        self._text.close()
        for fd, saved in zip((1, 2), self._fds, strict=True):
            os.dup2(saved, fd)
            os.close(saved)
        self._binary.close()


@pytest.fixture(scope="session")
def book_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BookBuild]:
    """Execute every section into a scratch copy of the book, then build it (``--warningiserror``).

    The sections use the response cache of the environment (``$EXPECTED_HARM_CACHE_DIR``), read
    before any test's own cache folder is set, so a warm cache makes the build quick.
    """
    work = tmp_path_factory.mktemp("book")
    _scratch_copy(work)
    log = work / "build.log"
    cache = default_cache_path()
    started = time.monotonic()
    with pytest.MonkeyPatch.context() as patch:
        for name in KEY_VARIABLES:
            patch.setenv(name, TEST_DOUBLE_KEY)
        with _CapturedOutput(log):
            for section in SECTIONS.values():
                print(f"running section {section.name}", flush=True)
                run_section(section, SMOKE_PARAMETERS.get(section.name),
                            output=work / "book" / f"{section.notebook}.ipynb")
        jupyter_book = Path(sys.executable).with_name("jupyter-book")
        result = subprocess.run(
            [str(jupyter_book), "build", str(work), "--warningiserror"],
            capture_output=True, text=True, timeout=600,
        )
    with log.open("a", encoding="utf-8") as file:
        file.write(result.stdout + result.stderr)
    assert result.returncode == 0, f"book build failed:\n{result.stdout[-4000:]}\n{result.stderr}"
    SUMMARY.append(f"book build (every section with smoke parameters, then jupyter-book): "
                   f"{time.monotonic() - started:.0f} s; log {log}")
    yield BookBuild(root=work, html=work / "_build" / "html", cache=cache, log=log)


@pytest.fixture(scope="session")
def built_book(book_build: BookBuild) -> Path:
    """The built HTML folder."""
    return book_build.html


@pytest.fixture(scope="session")
def served_book(built_book: Path) -> Iterator[str]:
    """The built HTML on http://127.0.0.1:<free port>, as a reader's browser would fetch it."""

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib name)
            pass

    handler = functools.partial(QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def chromium() -> str:
    """The headless Chromium executable (the Debian package)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        _fail_or_skip("headless Chromium is not installed (make browser)")
    return found


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[object]:
    """One Playwright browser on the Debian Chromium (never ``playwright install``: offline).

    Module scope, not session: while Playwright's sync API is open it keeps an asyncio loop
    marked as running in this thread, and tests that run later and start a loop of their own
    (``asyncio.run``) would fail.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _fail_or_skip("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--disable-background-networking", "--disable-component-update"],
        )
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """The artefact folder for page screenshots, emptied first.

    ``$EXPECTED_HARM_ARTIFACTS/screenshots`` when that is set (CI uploads it), else
    ``_build/test-artifacts/screenshots`` in the checkout (ignored by git).
    """
    base = os.environ.get("EXPECTED_HARM_ARTIFACTS")
    folder = (Path(base) if base else project_root() / "_build" / "test-artifacts") / "screenshots"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    SUMMARY.append(f"page screenshots: {folder}")
    return folder


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in SUMMARY:
        terminalreporter.write_line(line)
