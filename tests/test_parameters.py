"""Section parameters as papermill and `expected-harm run -p` pass them (no notebook is run)."""

from __future__ import annotations

import pytest

from expected_harm.sections import checked_parameters


def test_one_string_is_a_one_item_list() -> None:
    checked = checked_parameters("calibration", {"targets": "openai:gpt-4o", "attacks": ["direct"]})
    assert checked == {"targets": ["openai:gpt-4o"], "attacks": ["direct"]}


def test_a_wrong_type_is_refused_naming_the_parameter_and_the_type() -> None:
    wrong = r"parameter 'items_per_benchmark' .* must be of type int .*'five'"
    with pytest.raises(TypeError, match=wrong):
        checked_parameters("calibration", {"items_per_benchmark": "five"})
    with pytest.raises(TypeError, match="parameter 'show_outputs'"):
        checked_parameters("calibration", {"show_outputs": "yes"})
    with pytest.raises(TypeError, match="must be of type int"):
        checked_parameters("calibration", {"seed": True})  # a bool is not a number here


def test_numbers_widen_and_sizes_may_be_unlimited() -> None:
    assert checked_parameters("probing", {"layers": [1, 2]})["layers"] == [1, 2]
    assert checked_parameters("calibration", {"published_judged_per_cell": None}) == {
        "published_judged_per_cell": None}
    defaults = checked_parameters("framework", {"exponential_rate": 1})
    assert defaults == {"exponential_rate": 1}


def test_parameters_not_given_are_left_to_the_notebook() -> None:
    assert checked_parameters("calibration", {"unrelated": 1, "__name__": "x"}) == {}


def test_papermill_reads_every_parameter_of_every_section() -> None:
    from expected_harm.sections import SECTIONS, notebook_parameters, papermill_reads_parameters

    for section in SECTIONS.values():
        papermill_reads_parameters(section)  # raises on a line papermill skips
        assert notebook_parameters(section), section.name


def test_a_line_papermill_skips_is_named(tmp_path) -> None:
    import nbformat

    from expected_harm.sections import Section, papermill_reads_parameters

    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": kernel})
    cell = nbformat.v4.new_code_cell("seed = 0\nx = 1; y = 2", metadata={"tags": ["parameters"]})
    notebook.cells = [cell]
    nbformat.write(notebook, tmp_path / "page.ipynb")

    class Page(Section):
        source = tmp_path / "page.ipynb"

    with pytest.raises(ValueError, match="papermill cannot read parameter.s. x, y of page.ipynb"):
        papermill_reads_parameters(Page("page", "page", "A page"))
