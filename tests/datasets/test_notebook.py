"""The "Datasets" book page: committed clean, parameterised, and free of prompt text when run."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from expected_harm.datasets import load_all

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "datasets.ipynb"


def test_notebook_is_committed_without_outputs_and_has_a_parameters_cell() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert any("parameters" in cell.metadata.get("tags", []) for cell in code)


@pytest.mark.integration
def test_executed_page_shows_no_prompt_text(mirror: Path, tmp_path: Path) -> None:
    papermill = pytest.importorskip("papermill")
    output = tmp_path / "datasets.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK), str(output), cwd=str(NOTEBOOK.parent), kernel_name="python3",
        progress_bar=False,
    )
    executed = nbformat.read(output, as_version=4)
    shown = "\n".join(
        str(value)
        for cell in executed.cells
        if cell.cell_type == "code"
        for item in cell.outputs
        for value in [*item.get("data", {}).values(), item.get("text", "")]
    )
    assert "lmsys_tet" in shown  # the page did render its tables
    prompts = load_all()["prompt"].str.strip()
    leaked = [text for text in prompts if len(text) >= 15 and text in shown]
    assert not leaked, f"{len(leaked)} prompt(s) printed on the page"
