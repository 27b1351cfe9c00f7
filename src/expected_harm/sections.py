"""The book's executable pages.

Each is a parameterised notebook that papermill runs into ``book/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expected_harm.paths import project_root


class SectionError(RuntimeError):
    """A section's notebook raised while it ran; the message names the cell and the error."""


@dataclass(frozen=True)
class Section:
    """One executable page of the book."""

    name: str
    notebook: str  # file stem in notebooks/ and in book/
    title: str

    @property
    def source(self) -> Path:
        return project_root() / "notebooks" / f"{self.notebook}.ipynb"

    @property
    def output(self) -> Path:
        return project_root() / "book" / f"{self.notebook}.ipynb"


SECTIONS: dict[str, Section] = {
    s.name: s
    for s in (
        Section("framework", "framework", "The Expected Harm framework"),
        Section("datasets", "datasets", "Datasets"),
        Section("models", "models", "Models"),
        Section("threat_distribution", "01_threat_distribution", "Threat distribution"),
        Section("calibration", "02_calibration", "Inverse risk calibration"),
        Section("probing", "05_probing", "Linear probes"),
    )
}


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

    Defaults are Python literals in the cell, read back as values (papermill reports source text).
    """
    import ast

    import papermill

    inspected = papermill.inspect_notebook(str(section.source))
    return {name: ast.literal_eval(spec["default"]) for name, spec in inspected.items()}


def run_section(
    section: Section, parameters: dict[str, Any] | None = None, output: Path | None = None
) -> Path:
    """Execute a section's notebook with papermill and return the executed copy.

    Unknown parameter names are refused before anything runs, so a typo never silently falls
    back to a default.

    Args:
        section: The section to run.
        parameters: Values for the notebook's ``parameters`` cell.
        output: Where to write the executed notebook; ``book/<notebook>.ipynb`` by default,
            which is what the book renders.
    """
    import papermill

    parameters = dict(parameters or {})
    known = notebook_parameters(section)
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise ValueError(
            f"section {section.name!r} has no parameter(s) {', '.join(unknown)}; "
            f"its parameters are: {', '.join(known) or '(none)'}"
        )
    output = output or section.output
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        papermill.execute_notebook(
            str(section.source),
            str(output),
            parameters=parameters,
            cwd=str(section.source.parent),
            kernel_name="python3",
            progress_bar=False,
            # The kernel's own start-up log (e.g. ipykernel's note on local TCP transport) is
            # noise here; cell output and errors are unaffected.
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    except papermill.PapermillExecutionError as error:
        raise SectionError(
            f"section {section.name!r} failed in cell {error.exec_count}: {error.ename}: "
            f"{error.evalue}\nthe executed notebook, with the full traceback, is {output}"
        ) from None
    return output
