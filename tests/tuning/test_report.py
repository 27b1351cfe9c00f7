"""The Models page's tables and sentences, and its two figures, on small frames."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from expected_harm import plots
from expected_harm.tuning import report

ROWS = pd.DataFrame({
    "model": ["a"] * 4 + ["b"] * 4,
    "role": ["eval_harmful", "eval_harmful", "eval_benign", "eval_benign"] * 2,
    "spec": ["advbench", "advbench", "xstest:safe", "xstest:safe"] * 2,
    "item_id": ["1", "2", "3", "4"] * 2,
    "refused": pd.array([1, 0, 0, pd.NA, 1, 1, 0, 0], dtype="Int64"),
})


def test_refusal_rates_pool_each_kind_and_leave_failed_calls_out() -> None:
    table = report.refusal_rates(ROWS)
    pooled = table.set_index(["model", "spec"])
    assert pooled.loc[("a", "all benign"), "n"] == 1
    assert pooled.loc[("a", "all benign"), "missing"] == 1
    assert pooled.loc[("b", "all harmful"), "rate"] == 1.0
    assert set(table["kind"]) == {"harmful", "benign"}
    grid = report.refusal_grid(table, ["a", "b"])
    assert list(grid.index) == [("harmful", "advbench"), ("harmful", "all harmful"),
                                ("benign", "xstest:safe"), ("benign", "all benign")]
    assert grid.loc[("harmful", "advbench"), "a"].startswith("1/2 = 50%<br>[")
    readings = report.pooled_readings(table, ["a", "b"])
    assert set(readings) == {"m0_harmful", "m0_benign", "m1_harmful", "m1_benign"}
    assert readings["m1_harmful"].startswith("100% [")


def test_record_agreement_counts_items_with_a_verdict_on_both_sides() -> None:
    recorded = ROWS[["model", "spec", "item_id"]].assign(
        refused=pd.array([1, 1, 0, 0, 1, 1, pd.NA, 0], dtype="Int64"))
    agreement = report.record_agreement(ROWS, recorded)
    assert agreement.loc["a", "same verdict"] == 2 and agreement.loc["a", "items in both"] == 3
    assert report.agreement_text(agreement) == "a: 2/3, b: 3/3"
    assert report.agreement_text(agreement.iloc[0:0]) == "no overlapping items"


def test_eyecheck_says_whether_the_reading_was_of_the_committed_adapter(tmp_path) -> None:
    adapter = tmp_path / "adapter.gguf"
    adapter.write_bytes(b"weights")
    eyes = pd.DataFrame({"spec": ["x", "x", "y"], "judge_refused": [1, 0, 1],
                         "eye_refused": [1, 1, 1], "adapter_sha256": ["old"] * 3})
    check, readings = report.eyecheck(eyes, adapter)
    assert check.loc["all"].tolist() == [3, 2, 2, 3]
    assert readings["eye_agree"] == "2 of 3"
    assert readings["eye_adapter"].startswith("an earlier adapter (old), not the committed one")


def test_training_mix_names_the_templated_refusals_only_when_there_are_some() -> None:
    log = {"examples": {"safety": 3, "templated": 0, "benign": 7}}
    assert report.training_mix(log) == "3 safety pairs and 7 benign examples"
    log["examples"]["templated"] = 2
    assert "2 harmful requests answered by a refusal template" in report.training_mix(log)


def test_plot_training_loss_and_refusal_rates_label_their_axes() -> None:
    fig = plots.plot_training_loss([3.0, 2.0, 1.5])
    assert fig.axes[0].get_xlabel() == "optimiser step" and len(fig.axes[0].lines) == 2
    plt.close(fig)
    fig = plots.plot_refusal_rates(report.refusal_rates(ROWS), ["a", "b"], report.TARGETS)
    top, bottom = fig.axes
    assert [t.get_text() for t in top.get_yticklabels()] == ["advbench", "all harmful"]
    assert bottom.get_xlabel() == "share refused"
    assert "target: at least 80%" in top.get_legend_handles_labels()[1]
    plt.close(fig)
