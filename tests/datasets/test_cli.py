"""``expected-harm data list | show | verify`` (the sub-app is mounted by the main CLI)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from expected_harm.datasets import REGISTRY, load
from expected_harm.datasets.cli import data_app

runner = CliRunner()


def test_list_prints_name_group_rows_licence_for_every_set() -> None:
    result = runner.invoke(data_app, ["list"])
    assert result.exit_code == 0, result.output
    assert result.output.split()[:4] == ["name", "group", "rows", "licence"]
    for name in REGISTRY:
        assert name in result.output
    assert "CC BY-NC 4.0" in result.output
    assert "model_outputs" in result.output


def test_show_reports_sizes_and_subsets_but_no_prompt_text(mirror: Path) -> None:
    result = runner.invoke(data_app, ["show", "xstest"])
    assert result.exit_code == 0, result.output
    assert "unsafe" in result.output and "200" in result.output
    assert "Loaded 450 rows" in result.output
    assert REGISTRY["xstest"].files[0].sha256 in result.output
    assert not any(prompt in result.output for prompt in load("xstest")["prompt"])


def test_show_unknown_name_fails_with_the_valid_names() -> None:
    result = runner.invoke(data_app, ["show", "wildchat"])
    assert result.exit_code == 2
    assert "registered: advbench" in result.output


def test_verify_passes_on_the_mirror(mirror: Path) -> None:
    result = runner.invoke(data_app, ["verify"])
    assert result.exit_code == 0, result.output
    assert "mismatch: 0" in result.output


def test_verify_fails_on_a_changed_file(scratch_mirror: Callable[[str], Path]) -> None:
    path = scratch_mirror("advbench") / "harmful_behaviors.csv"
    path.write_bytes(path.read_bytes() + b"\n")
    result = runner.invoke(data_app, ["verify"])
    assert result.exit_code == 1
    # 48 registered files (18 of them JBB artifacts, 11 FRACTURED-SORRY-Bench files), 1 copied.
    assert "ok: 0, mismatch: 1, missing: 47" in result.output
