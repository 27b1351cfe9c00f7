"""The book's pages: the executable sections and the table of contents built from them.

Each section is a parameterised notebook that papermill runs into ``book/``. :data:`PAGES` lists
every page of the book in order, sections and prose pages alike, each with its part; the
sections registry (:data:`SECTIONS`) and ``_toc.yml`` are both read off it, so adding a page is
one line there (``expected-harm book`` rewrites ``_toc.yml``; a test checks the committed file).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expected_harm.paths import project_root
from expected_harm.runcard import (
    RUN_LOG_VAR,
    Provenance,
    card_markdown,
    read_log,
    run_summary,
)


class SectionError(RuntimeError):
    """A section's notebook raised while it ran; the message names the cell and the error."""


@dataclass(frozen=True)
class Section:
    """One executable page of the book.

    Attributes:
        name: What ``expected-harm run`` calls it.
        part: The part of the book it belongs to (``Foundations``, ``Findings``, ``Workshop``).
        notebook: File stem in ``notebooks/`` and in ``book/``.
        title: The page title.
        also_accepts: Types a parameter takes besides its default's (``layers``: ``"all"`` or
            a list), for :func:`checked_parameters`.
        after: Sections whose model calls this one repeats, so that it finds them cached:
            :func:`run_sections` starts it once they have finished.
        cold_seconds: About how long it takes on its defaults with nothing cached, on one
            thread (measured on the 2-core machine: session 9's cold book). Of the sections
            ready to start, :func:`run_sections` starts the longest first, so that the longest
            does not start last.
    """

    name: str
    notebook: str
    title: str
    also_accepts: Mapping[str, tuple[type, ...]] = field(default_factory=dict)
    part: str = "Findings"
    after: tuple[str, ...] = ()
    cold_seconds: int = 10

    @property
    def file(self) -> str:
        """The page's path in ``_toc.yml``: the executed copy in ``book/``."""
        return f"book/{self.notebook}"

    @property
    def source(self) -> Path:
        return project_root() / "notebooks" / f"{self.notebook}.ipynb"

    @property
    def output(self) -> Path:
        return project_root() / "book" / f"{self.notebook}.ipynb"


@dataclass(frozen=True)
class Prose:
    """A page of the book written in Markdown (``book/<stem>.md``); nothing runs for it."""

    stem: str
    part: str

    @property
    def file(self) -> str:
        return f"book/{self.stem}"


#: The book's first page, before any part.
ROOT = Prose("intro", part="")

#: Every page of the book after :data:`ROOT`, in reading order: the one place to add a page.
#: One job runs the sections in this order; several start the longest ready one first.
PAGES: tuple[Section | Prose, ...] = (
    Section("framework", "framework", "The Expected Harm framework", part="Foundations"),
    Section("datasets", "datasets", "Datasets", part="Foundations"),
    Section("models", "models", "Models", part="Foundations", cold_seconds=260),
    Prose("annotations", part="Foundations"),
    Section("evaluators", "evaluators", "Trained evaluators", part="Foundations"),
    Section("threat_distribution", "01_threat_distribution", "Threat distribution"),
    Section("calibration", "02_calibration", "Inverse risk calibration", cold_seconds=450),
    Section("decomposition", "03_decomposition", "Decomposition", cold_seconds=270),
    Section("guardrails", "04_guardrails", "Guardrails", after=("decomposition",),
            cold_seconds=160),
    Section("probing", "05_probing", "Linear probes", also_accepts={"layers": (list,)},
            cold_seconds=700),
    Prose("workshop", part="Workshop"),
    Section("workshop_rate", "workshop_1_rate", "Exercise 1: rate ten prompts", part="Workshop"),
    Section("workshop_calibration", "workshop_2_calibration",
            "Exercise 2: calibration through a server", part="Workshop", cold_seconds=60),
    Section("workshop_probe", "workshop_3_probe", "Exercise 3: probe a layer", part="Workshop",
            cold_seconds=75),
)

SECTIONS: dict[str, Section] = {page.name: page for page in PAGES if isinstance(page, Section)}

_TOC_HEADER = """\
# Table of contents (jb-book), written by `expected-harm book` from expected_harm.sections.PAGES:
# add a page there, not here. Files are named without extension; the sections' pages in book/
# are notebooks that papermill executes from notebooks/ (generated, not committed).
"""


def toc_yaml(pages: tuple[Section | Prose, ...] = PAGES) -> str:
    """The text of ``_toc.yml`` for ``pages``: one numbered part per ``part``, in first-use order.

    Examples:
        >>> print(toc_yaml((Prose("a", "One"), Prose("b", "Two"))).split("\\n", 3)[3])
        format: jb-book
        root: book/intro
        parts:
          - caption: One
            numbered: true
            chapters:
              - file: book/a
          - caption: Two
            numbered: true
            chapters:
              - file: book/b
        <BLANKLINE>
    """
    parts: dict[str, list[str]] = {}
    for page in pages:
        parts.setdefault(page.part, []).append(page.file)
    lines = [_TOC_HEADER.rstrip("\n"), "format: jb-book", f"root: {ROOT.file}", "parts:"]
    for caption, files in parts.items():
        lines += [f"  - caption: {caption}", "    numbered: true", "    chapters:"]
        lines += [f"      - file: {file}" for file in files]
    return "\n".join(lines) + "\n"


def write_toc(root: Path | None = None) -> Path:
    """Write ``_toc.yml`` from :data:`PAGES` into the checkout (unchanged if it already agrees)."""
    path = (root or project_root()) / "_toc.yml"
    text = toc_yaml()
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def get_section(name: str) -> Section:
    """Look a section up by name; the error lists the valid names."""
    try:
        return SECTIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown section {name!r}; valid sections: {', '.join(SECTIONS)}"
        ) from None


def notebook_parameters(section: Section) -> dict[str, Any]:
    """The parameters (name → default value) declared in the notebook's ``parameters`` cell.

    Read with :mod:`ast`, not papermill: the notebooks call this from their first cell (through
    :func:`checked_parameters`), and importing papermill there cost each kernel 0.9 s.
    :func:`papermill_reads_parameters` checks that papermill reads the same names.
    """
    import ast

    return {node.targets[0].id: ast.literal_eval(node.value)
            for node in ast.parse(_parameters_source(section)).body
            if isinstance(node, ast.Assign)}


def papermill_reads_parameters(section: Section) -> None:
    """Check that papermill reads every parameter the cell assigns (:func:`run_section` does).

    Raises:
        ValueError: Papermill cannot read an assignment of the cell (it would skip it silently,
            and ``-p`` would then refuse that parameter as unknown).
    """
    import papermill

    inspected = papermill.inspect_notebook(str(section.source))
    unread = [name for name in notebook_parameters(section) if name not in inspected]
    if unread:
        raise ValueError(f"papermill cannot read parameter(s) {', '.join(unread)} of "
                         f"{section.source.name}; simplify the line or its comment")


def _parameters_source(section: Section) -> str:
    notebook = json.loads(section.source.read_text(encoding="utf-8"))
    cells = [c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{section.source.name} needs one cell tagged 'parameters', "
                         f"found {len(cells)}")
    return "".join(cells[0]["source"])


def checked_parameters(section: Section | str, given: dict[str, Any]) -> dict[str, Any]:
    """The values of a section's parameters in ``given``, checked against the defaults' types.

    Papermill hands ``-p targets openai:gpt-4o`` to a notebook as a string; a list parameter then
    reads it as one item, not as its characters. Any other value of the wrong type is refused,
    naming the parameter and the type its default has. A parameter whose default is ``None`` takes
    any value; a numeric one also takes ``None`` (a size without a limit: "all"); an int is
    accepted where a float is expected.

    The notebooks call this right after their parameters cell, so that papermill users and
    ``expected-harm run -p`` get the same checks.

    Raises:
        TypeError: A value does not fit its parameter's type.

    Examples:
        >>> checked_parameters("calibration", {"targets": "openai:gpt-4o"})["targets"]
        ['openai:gpt-4o']
    """
    section = get_section(section) if isinstance(section, str) else section
    defaults = notebook_parameters(section)
    checked = {}
    for name, default in defaults.items():
        if name not in given:
            continue
        value = given[name]
        if isinstance(default, list) and isinstance(value, str):
            value = [value]
        expected = type(default)
        numeric = expected in (int, float)
        fits = (
            default is None
            or isinstance(value, section.also_accepts.get(name, ()))
            or value is None and numeric
            or isinstance(value, expected) and not (expected is int and isinstance(value, bool))
            or expected is float and isinstance(value, int) and not isinstance(value, bool)
        )
        if not fits:
            raise TypeError(
                f"parameter {name!r} of section {section.name!r} must be of type "
                f"{expected.__name__} (like its default {default!r}), "
                f"got {type(value).__name__} {value!r}"
            )
        checked[name] = value
    return checked


def run_section(
    section: Section, parameters: dict[str, Any] | None = None, output: Path | None = None
) -> Path:
    """Execute a section's notebook with papermill and return the executed copy.

    Unknown parameter names are refused before anything runs, so a typo never silently falls
    back to a default; values are checked as :func:`checked_parameters` does. The notebook runs
    into a temporary file beside ``output`` that replaces it only on success: a failed run
    leaves the last good page in place and names where the failed notebook is. A successful
    run's page opens with its run card (:mod:`expected_harm.runcard`): models with their
    revisions, evaluators, datasets, parameters, commit, date, time taken and model calls.

    Args:
        section: The section to run.
        parameters: Values for the notebook's ``parameters`` cell.
        output: Where to write the executed notebook; ``book/<notebook>.ipynb`` by default,
            which is what the book renders.

    Raises:
        ValueError: An unknown parameter name.
        TypeError: A value of the wrong type.
        SectionError: The notebook raised; the failed copy is kept as ``<output>.failed.ipynb``.
    """
    import papermill

    parameters = dict(parameters or {})
    papermill_reads_parameters(section)
    known = notebook_parameters(section)
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise ValueError(
            f"section {section.name!r} has no parameter(s) {', '.join(unknown)}; "
            f"its parameters are: {', '.join(known) or '(none)'}"
        )
    parameters = checked_parameters(section, parameters)
    output = output or section.output
    output.parent.mkdir(parents=True, exist_ok=True)
    running = output.with_name(f"{output.stem}.running.ipynb")
    failed = output.with_name(f"{output.stem}.failed.ipynb")
    run_log = output.with_name(f"{output.stem}.runlog.jsonl")
    run_log.unlink(missing_ok=True)
    started = dt.datetime.now(dt.timezone.utc)
    clock = time.perf_counter()
    try:
        with _environment(RUN_LOG_VAR, str(run_log)):
            papermill.execute_notebook(
                str(section.source),
                str(running),
                parameters=parameters,
                cwd=str(section.source.parent),
                kernel_name="python3",
                progress_bar=False,
                # The kernel's own start-up log (e.g. ipykernel's note on local TCP transport)
                # is noise here; cell output and errors are unaffected.
                extra_arguments=["--IPKernelApp.log_level=ERROR"],
            )
    except papermill.PapermillExecutionError as error:
        running.replace(failed)
        run_log.unlink(missing_ok=True)
        kept = f"; the last good page {output} is unchanged" if output.exists() else ""
        raise SectionError(
            f"section {section.name!r} failed in cell {error.exec_count}: {error.ename}: "
            f"{error.evalue}\nthe failed notebook, with the full traceback, is {failed}{kept}"
        ) from None
    except BaseException:
        running.unlink(missing_ok=True)
        run_log.unlink(missing_ok=True)
        raise
    records, seconds = read_log(run_log), time.perf_counter() - clock
    card = card_markdown(
        notebook=section.source.name,
        parameters={**known, **parameters},
        given=parameters,
        records=records,
        started=started,
        seconds=seconds,
        provenance=Provenance.here(project_root()),
    )
    _add_card(running, card, run_summary(records, seconds))
    run_log.unlink(missing_ok=True)
    running.replace(output)
    failed.unlink(missing_ok=True)
    return output


def run_sections(sections: Sequence[Section], jobs: int = 1,
                 folder: Path | None = None) -> Iterator[tuple[Section, Path]]:
    """Run sections on their defaults, up to ``jobs`` at once, and yield each as it finishes.

    Pages go to ``folder`` (``book/`` by default), as :func:`run_section` writes them.

    With more than one job each section runs in a process of its own (its kernel inherits that
    process's environment, so run logs never cross), its kernel given an equal share of the
    CPU's threads, and a section starts only after those it names in :attr:`Section.after`,
    the longest ready one first (:attr:`Section.cold_seconds`: in the book's order, probing
    started last and ran alone for its last 340 s). On 2 cores two jobs overlap what one
    kernel leaves idle: start-up, imports, pandas and plotting.

    Raises:
        SectionError: The first section that failed, once the running ones have finished; no
            new section starts after a failure.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    def output(section: Section) -> Path | None:
        return folder / section.output.name if folder else None

    if jobs == 1:
        for section in sections:
            yield section, run_section(section, output=output(section))
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

    names = {s.name for s in sections}
    waiting, done = list(sections), set()
    running: dict[Future[Path], Section] = {}
    failure: BaseException | None = None
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_share_threads, initargs=(threads,)) as pool:
        while waiting or running:
            ready = ready_sections(waiting, done, names)
            while failure is None and ready and len(running) < jobs:
                section = ready.pop(0)
                waiting.remove(section)
                running[pool.submit(run_section, section, None, output(section))] = section
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                section = running.pop(future)
                done.add(section.name)
                if future.exception() is not None:
                    failure = failure or future.exception()
                else:
                    yield section, future.result()
    if failure is not None:
        raise failure


def ready_sections(waiting: Sequence[Section], done: set[str],
                   names: set[str]) -> list[Section]:
    """The sections of ``waiting`` whose ``after`` (among ``names``) are ``done``, the longest
    (:attr:`Section.cold_seconds`) first, in the book's order where they tie."""
    ready = [s for s in waiting if set(s.after) & names <= done]
    return sorted(ready, key=lambda s: -s.cold_seconds)


def _share_threads(threads: str) -> None:
    """A worker's kernels use ``threads`` threads (torch and BLAS read these at start-up)."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, threads)


def run_totals(notebook: Path) -> dict[str, float]:
    """Seconds and model requests (cached, sent) of the run that wrote an executed notebook."""
    return json.loads(notebook.read_text(encoding="utf-8"))["metadata"]["expected_harm"]["run"]


def _add_card(notebook: Path, card: str, totals: dict[str, float]) -> None:
    """Put the run card under the page's title and hide papermill's injected parameters.

    The card lists every parameter, so the injected cell would only repeat it; it stays in the
    notebook (tagged ``remove-cell``, which the book honours) for anyone who re-executes it.
    """
    import nbformat

    executed = nbformat.read(notebook, as_version=4)
    for cell in executed.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    title = next((i for i, c in enumerate(executed.cells)
                  if c.cell_type == "markdown" and c.source.lstrip().startswith("# ")), -1)
    executed.cells.insert(title + 1, nbformat.v4.new_markdown_cell(
        card, metadata={"tags": ["run-card"]}))
    executed.metadata["expected_harm"] = {"run": totals}
    nbformat.write(executed, notebook)


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    """Set one environment variable for the block (the notebook's kernel inherits it)."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def glue_all(values: Mapping[str, Any]) -> None:
    """Glue each value under its name for the page's prose, without displaying it.

    The package computes a page's readings as one mapping (name → value); this hands them to
    ``myst_nb.glue`` as the notebooks did one call at a time, so the glued text is the same.
    """
    from myst_nb import glue

    for name, value in values.items():
        glue(name, value, display=False)


def glued_values(notebook: Path) -> dict[str, str]:
    """Every value an executed notebook glued (``myst_nb.glue``), as its plain-text display.

    These are the numbers the page's prose quotes, so comparing them before and after a change
    that should not move any number (a refactor, a faster backend) checks the whole book at once.

    Examples:
        >>> import json, tempfile
        >>> cell = {"cell_type": "code", "source": "", "metadata": {}, "outputs": [
        ...     {"output_type": "display_data", "metadata": {"scrapbook": {
        ...         "name": "ratio", "mime_prefix": "application/papermill.record/"}},
        ...      "data": {"application/papermill.record/text/plain": "'1.76'"}}]}
        >>> path = Path(tempfile.mkdtemp()) / "page.ipynb"
        >>> _ = path.write_text(json.dumps({"cells": [cell]}))
        >>> glued_values(path)
        {'ratio': "'1.76'"}
    """
    values = {}
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook")
            if not scrap:
                continue
            prefix = scrap.get("mime_prefix", "")
            values[scrap["name"]] = output["data"].get(f"{prefix}text/plain", "")
    return values
