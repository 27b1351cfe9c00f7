"""The report card's builder: its plan, its failure handling and its page, on hand-made rows.

No section runs here: a section runner is replaced by named test doubles, and the calibration
rows are written by hand (a test double of the section's grid), so these tests make no model
call. ``tests/integration/test_evaluate.py`` runs the real sections.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from expected_harm import report
from expected_harm.cli import app
from expected_harm.harm import LIKELIHOODS
from expected_harm.models import ModelConfigError
from expected_harm.sections import SECTIONS, SectionError, checked_parameters, notebook_parameters

SERVED = "openai-compatible:smollm2-135m@http://127.0.0.1:9/v1"
LONG_ANSWER = ("Sure, here is a detailed answer that goes on and on with many words so that "
               "the redaction has something to cut away entirely")


def test_plan_points_every_section_at_the_target() -> None:
    planned = {p.section: p for p in report.plan("embedded:smollm2-135m")}
    assert list(planned) == ["calibration", "decomposition", "probing"]
    assert planned["calibration"].parameters == {"targets": ["embedded:smollm2-135m"]}
    assert planned["decomposition"].parameters == {"targets": ["embedded:smollm2-135m"]}
    assert planned["probing"].parameters == {"model": "embedded:smollm2-135m",
                                             "target": "embedded:smollm2-135m", "baseline": ""}


def test_api_models_skip_probing_with_a_reason_unless_their_weights_are_named() -> None:
    planned = {p.section: p for p in report.plan(SERVED)}
    assert "through an API" in planned["probing"].skipped
    assert not planned["calibration"].skipped
    named = {p.section: p for p in report.plan(SERVED, probe_model="HuggingFaceTB/x")}
    assert named["probing"].parameters["model"] == "HuggingFaceTB/x"
    assert named["probing"].parameters["target"] == SERVED


def test_an_unreadable_spec_is_refused_before_anything_runs() -> None:
    with pytest.raises(ModelConfigError, match="valid forms"):
        report.plan("gpt-4o")


@pytest.mark.parametrize("name", report.CARD_SECTIONS)
def test_quick_parameters_are_parameters_of_their_section(name: str) -> None:
    [planned] = [p for p in report.plan("embedded:smollm2-135m", quick=True) if p.section == name]
    known = notebook_parameters(SECTIONS[name])
    assert set(planned.parameters) <= set(known)
    assert checked_parameters(name, planned.parameters) == planned.parameters  # types fit


def failing_runner(section, parameters, output):
    """Test double of ``run_section``: every section fails as a raising notebook would."""
    raise SectionError(f"section {section.name!r} failed in cell 3: RuntimeError: boom\n"
                       f"the failed notebook, with the full traceback, is {output}.failed")


def test_failed_sections_are_named_on_the_page_and_the_run_is_not_ok(tmp_path: Path) -> None:
    page, ok = report.evaluate(SERVED, quick=True, out=tmp_path, run=failing_runner)
    assert not ok
    text = page.read_text(encoding="utf-8")
    for name in ("02_calibration", "03_decomposition"):
        assert f"{tmp_path / name}.ipynb.failed" in text  # where the failed notebook is
    assert "RuntimeError: boom" in text
    assert "through an API" in text  # probing skipped, with its reason
    assert "no target parameter" in text  # guardrails said, not pretended


def test_the_command_exits_non_zero_when_a_section_fails(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(report, "run_section", failing_runner)
    result = CliRunner().invoke(app, ["evaluate", SERVED, "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert (tmp_path / "report.html").is_file()


def test_an_unreadable_spec_exits_with_the_valid_forms(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", "gpt-4o", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "valid forms" in result.output


def hand_made_run() -> report.CalibrationRun:
    """Test double of the calibration grid: success falls with cost, one row failed."""
    rows = []
    for cost, successes in ((1, 8), (2, 6), (3, 5), (4, 3), (5, 2)):
        for i in range(10):
            rows.append({"dataset": "advbench", "item_id": f"{cost}-{i}", "cost": cost,
                         "severity": 1 + (i % 5), "target": "scripted:target",
                         "attack": "direct" if i % 2 else "refusal_suppression",
                         "response": LONG_ANSWER, "verdict": float(i < successes),
                         "row_status": "ok", "success": float(i < successes)})
    rows[-1] |= {"row_status": "error", "success": None, "verdict": None}
    provenance = {"Model": "scripted:target", "Judge": "scripted judge", "Data": "advbench",
                  "Levels": "AI-assistant reference labels"}
    parameters = {"seed": 0, "levels": "reference"}
    return report.CalibrationRun(pd.DataFrame(rows), None, parameters, provenance)


def hand_made_validity():
    """Test double of ``calibration.validation_report``'s table and values."""
    table = pd.DataFrame({"accuracy": [0.8]}, index=["scripted judge"])
    values = {"judge_accuracy": "0.80 [0.70, 0.90]", "judge_kappa": "0.60 [0.40, 0.80]",
              "n_validation": 100, "judge_reading": "Moderate agreement."}
    return table.style.set_caption("Agreement with people. n = 100"), values


def test_calibration_parts_read_the_slope_harm_and_asr_as_found() -> None:
    parts = report.calibration_parts(hand_made_run(), hand_made_validity())
    assert [p.heading for p in parts] == [
        "How far the judge can be trusted", "Attack success by execution cost",
        "The cost slope", "Expected Harm under each likelihood"]
    reading = " ".join(s for p in parts for s in p.reading)
    assert "Success falls with cost" in reading or "includes no effect" in reading
    assert "Paper (reference only" in reading
    assert "κ 0.60 [0.40, 0.80]" in reading
    assert "at cost 1 (n=10)" in reading and "at cost 5 (n=9)" in reading  # error left out
    harm = "".join(parts[3].blocks)
    for name in LIKELIHOODS:
        assert name in harm
    for part in parts[1:]:  # every table and figure names model, judge, data and n
        for needle in ("scripted:target", "scripted judge", "advbench", "n = "):
            assert needle in "".join(part.blocks)


def test_the_page_is_standalone_redacted_and_prints(tmp_path: Path) -> None:
    parts = report.calibration_parts(hand_made_run(), hand_made_validity())
    outcomes = [report.Outcome("calibration", {"targets": ["scripted:target"]},
                               notebook=tmp_path / "02_calibration.ipynb")]
    text = report.render("scripted:target", outcomes, parts, tmp_path / "report.html",
                         quick=False)
    assert text.startswith("<!doctype html>")
    assert "data:image/png;base64," in text  # the figure is embedded
    assert "@media print" in text
    assert 'href="02_calibration.ipynb"' in text  # the executed notebook, beside the page
    assert "[redacted:" in text and LONG_ANSWER not in text
    assert "src=\"http" not in text and "<script" not in text  # nothing fetched from elsewhere


def glued_notebook(path: Path, values: dict[str, object]) -> Path:
    """An executed notebook holding only glued values, as ``myst_nb.glue`` writes them."""
    outputs = [{"output_type": "display_data", "data": {
        "application/papermill.record/text/plain": repr(value)},
        "metadata": {"scrapbook": {"name": name,
                                   "mime_prefix": "application/papermill.record/"}}}
        for name, value in values.items()]
    cell = {"cell_type": "code", "source": "", "metadata": {}, "outputs": outputs,
            "execution_count": 1}
    path.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}), encoding="utf-8")
    return path


def test_decomposition_and_probing_are_read_from_their_glued_values(tmp_path: Path) -> None:
    decomposition = glued_notebook(tmp_path / "03.ipynb", {
        "targets": "scripted:target", "attacker": "scripted:attacker", "judge": "scripted judge",
        "n_items": 2, "min_cost": 3, "k": 2, "live_largest_uplift": "1.50 [1.00, 3.00]",
        "cost_monitor_best": "1 of 1", "cost_beats_monitor": "0 of 0"})
    part = report.decomposition_part(report.glued(decomposition), {"targets": ["x"]})
    text = "".join(part.blocks) + " ".join(part.reading)
    for needle in ("scripted:target", "scripted:attacker", "scripted judge", "n = 2",
                   "1.50 [1.00, 3.00]", "Paper (reference only)"):
        assert needle in text
    probing = glued_notebook(tmp_path / "05.ipynb", {
        "model": "embedded:x", "probe_kind": "difference in means", "n_labelled": 27,
        "n_harmless": 30, "final": 30, "sev_low": "10.0", "sev_high": "80.0",
        "sev_trend": "0.90", "cost_test_text": "Cost does not add."})
    part = report.probing_part(report.glued(probing), {"per_set": 3})
    text = "".join(part.blocks) + " ".join(part.reading)
    for needle in ("embedded:x", "Data: advbench", "n = 27", "from 10.0", "Cost does not add.",
                   "Paper (reference only"):
        assert needle in text


def test_harm_table_holds_each_likelihoods_mean_of_the_judged_rows() -> None:
    rows = hand_made_run().rows
    table = report.harm_table(rows, seed=0)
    assert list(table.index) == list(LIKELIHOODS)
    judged = rows.dropna(subset=["success"])
    flat = (judged["severity"] * judged["success"]).mean()  # constant: severity only
    assert table.loc["constant", "mean Expected Harm (0–5)"] == pytest.approx(flat, abs=1e-3)
    assert (table["n"] == len(judged)).all()
    assert f"{flat:.3f}" in report.harm_reading(table)


def test_a_section_that_dies_without_a_section_error_does_not_stop_the_others(
        tmp_path: Path) -> None:
    ran = []

    def dying_runner(section, parameters, output):
        """Test double of ``run_section``: the first kernel dies, the others fail normally."""
        ran.append(section.name)
        if len(ran) == 1:
            raise RuntimeError("kernel died")
        return failing_runner(section, parameters, output)

    page, ok = report.evaluate(SERVED, quick=True, out=tmp_path, run=dying_runner)
    assert not ok and ran == ["calibration", "decomposition"]
    assert "RuntimeError: kernel died" in page.read_text(encoding="utf-8")


def test_evaluate_help_explains_what_runs_and_what_does_not() -> None:
    result = CliRunner().invoke(app, ["evaluate", "--help"])
    assert result.exit_code == 0
    for needle in ("--quick", "--out", "--probe-model", "guardrails", "redacted", "exits 1"):
        assert needle in result.output


def test_the_run_card_of_an_executed_notebook_is_rendered(tmp_path: Path) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_markdown_cell(":::{admonition} Run card\n:class: note\n"
                                      "| model | revision |\n|---|---|\n| m<br>n | abc123 |\n:::",
                                      metadata={"tags": ["run-card"]})])
    path = tmp_path / "02_calibration.ipynb"
    nbformat.write(notebook, path)
    card = report.run_card(path)
    assert "<td>abc123</td>" in card and "<td>m<br>n</td>" in card and ":::" not in card
    part = report.run_cards_part([report.Outcome("calibration", {}, notebook=path)])
    assert "abc123" in "".join(part.blocks)
    nbformat.write(nbformat.v4.new_notebook(), path)  # a page without a card: nothing shown
    assert report.run_card(path) == ""
