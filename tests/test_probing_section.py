"""The probing page's steps (draws, layers, tables, sentences) and its figures, on small frames."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from expected_harm import paper, plots, probing
from expected_harm.probing import Decodability, RefusalDirection

REFERENCES = {"severity": paper.PROBE_SCORE_BY_SEVERITY, "cost": paper.PROBE_SCORE_BY_COST}


def level_table(means: dict[int, float], layers=(1, 2)) -> pd.DataFrame:
    return pd.DataFrame([{"layer": layer, "level": level, "mean": m + layer, "low": m + layer - 5,
                          "high": m + layer + 5, "n": 4} for layer in layers
                         for level, m in means.items()])


def test_layer_numbers_reads_all_or_a_checked_list() -> None:
    assert probing.layer_numbers("all", 3) == [1, 2, 3]
    assert probing.layer_numbers(["2", 3], 3) == [2, 3]
    with pytest.raises(ValueError, match=r"layers must lie in 1..3"):
        probing.layer_numbers([0, 4], 3)


def test_level_readings_name_the_trend_ends_and_peak() -> None:
    severity = level_table({1: 10.0, 3: 50.0, 5: 80.0})
    cost = level_table({1: 60.0, 2: 40.0, 5: 70.0})
    found = probing.level_readings(severity, cost, layer=2)
    assert found == {"sev_trend": "1.00", "cost_trend": "0.50", "sev_low": "12.0",
                     "sev_high": "82.0", "cost_low": "62.0", "cost_high": "72.0",
                     "cost_peak": "5"}


def test_final_layer_table_sets_the_paper_beside_the_book() -> None:
    tables = {"severity": level_table({1: 10.0, 3: 50.0}), "cost": level_table({1: 20.0})}
    shown = probing.final_layer_table(tables, 1, REFERENCES)
    assert shown.loc[("severity", "this book, layer 1"), "level 1"] == "11.0 [6.0, 16.0] (n=4)"
    assert shown.loc[("cost", "paper (reference only)"), "level 2"] == "40.8–44.2"
    assert shown.loc[("cost", "paper (reference only)"), "level 1"] == "61.9"
    assert shown.loc[("cost", "this book, layer 1"), "level 5"] == "–"


def direction(kind: str, scores: np.ndarray) -> RefusalDirection:
    return RefusalDirection(kind, "because", 0, 0, scores)


def test_compare_final_scores_the_last_layer_of_labelled_prompts_only() -> None:
    labelled = pd.DataFrame({"severity": [1, 1, 5, 5], "cost": [2, 2, 2, 2]})
    scores = np.array([[0, 0.1], [0, 0.3], [0, np.nan], [0, 0.9], [0, 0.5]])  # last row harmless
    compared = probing.compare_final({"m": direction("diff_in_means", scores)}, labelled, 7, 0)
    severity = compared[compared["label"] == "severity"].set_index("level")
    assert severity.loc[1, "mean"] == pytest.approx(20.0) and severity.loc[5, "n"] == 1
    assert set(compared["layer"]) == {7} and set(compared["model"]) == {"m"}


def test_comparison_text_names_both_directions_or_none() -> None:
    assert probing.comparison_text(None, "logistic") == "No baseline was probed (baseline='')."
    text = probing.comparison_text(direction("diff_in_means", np.zeros((1, 1))), "logistic")
    assert text.startswith("Before tuning the direction comes from the difference-in-means")
    assert "(because); after tuning from a logistic probe" in text


def test_cost_test_report_says_why_when_the_test_cannot_run() -> None:
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({"severity": rng.integers(1, 6, n), "cost": rng.integers(1, 6, n),
                          "dataset": rng.choice(["a", "b"], n)})
    frame["score"] = 10 * frame["severity"] + rng.normal(0, 1, n)
    text, table = probing.cost_test_report(frame, title="score ~", layer=3)
    assert text.startswith("Severity levels and dataset together explain R² = ")
    assert "layer 3" in table.caption and list(table.data.index) == ["severity", "cost"]
    text, table = probing.cost_test_report(frame.head(3), title="score ~", layer=3)
    assert text.startswith("The test cannot be run on these prompts (")
    assert list(table.columns) == ["why not"]


def decodable() -> tuple[dict[str, Decodability], dict[str, float]]:
    table = pd.DataFrame({"layer": [1, 2], "spearman": [0.2, 0.6], "shuffled": [0.0, 0.01]})
    found = {"severity": Decodability(table, np.linspace(0.0, 0.3, 99))}
    return found, {"severity": 0.5}


def test_decodability_summary_and_readings_agree() -> None:
    found, words = decodable()
    summary = probing.decodability_summary(found, words, layer=1)
    assert summary.loc["severity", "best layer"] == 2
    assert summary.loc["severity", "activations ρ, layer 1"] == 0.2
    readings = probing.decodability_readings(found, words)
    assert readings == {"severity_best": "0.60 (layer 2)", "severity_words": "0.50",
                        "severity_null": f"{np.quantile(np.linspace(0, 0.3, 99), 0.95):.2f}",
                        "severity_p": "0.010", "severity_margin": "+0.10"}


def test_harmless_draw_is_a_seeded_deduplicated_sample() -> None:
    drawn = probing.harmless_items(["xstest:safe"], 5, 0)
    again = probing.draw_harmless("xstest:safe", 5, 0)
    assert len(drawn) == 5 and drawn["prompt"].tolist() == again["prompt"].tolist()


# -------------------------------------------------------------------------------- figures


def test_plot_probe_levels_draws_both_panels_with_the_reference() -> None:
    tables = {"severity": level_table({1: 10.0, 3: 50.0, 5: 80.0}),
              "cost": level_table({1: 60.0, 2: 40.0, 5: 70.0})}
    fig = plots.plot_probe_levels(tables, 2, REFERENCES)
    left, right = fig.axes
    assert left.get_ylabel() == "activation score, layer 2 (0–100)"
    assert [left.get_xlabel(), right.get_title()] == ["severity level", "by cost"]
    assert len(left.patches) == 3 and left.get_ylim() == (0, 100)
    assert "paper (reference)" in left.get_legend_handles_labels()[1]
    plt.close(fig)


def test_plot_probe_layers_draws_one_line_per_level() -> None:
    fig = plots.plot_probe_layers({"severity": level_table({1: 10.0, 5: 80.0}),
                                   "cost": level_table({2: 30.0})})
    assert len(fig.axes[0].lines) == 2 and fig.axes[0].get_xlabel() == "layer"
    assert fig.axes[1].get_legend_handles_labels()[1] == ["cost 2 (n=4)"]
    plt.close(fig)


def test_plot_probe_comparison_puts_two_models_side_by_side() -> None:
    compared = pd.concat([level_table({1: 10.0, 5: 80.0}, layers=(3,)).assign(model=m, label=lab)
                          for m in ("before", "after") for lab in ("severity", "cost")])
    fig = plots.plot_probe_comparison(compared, 3)
    assert len(fig.axes[0].patches) == 4
    assert fig.axes[0].get_legend_handles_labels()[1] == ["before", "after"]
    plt.close(fig)


def test_plot_decodability_draws_each_control() -> None:
    found, words = decodable()
    decoded = found["severity"].table.assign(label="severity")
    fig = plots.plot_decodability(decoded, {"severity": 0.3}, words)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == ["severity: activations", "severity: permuted labels (mean)",
                      "severity: 95% of the best layer under permutation",
                      "severity: bag of words"]
    assert fig.axes[0].get_ylabel() == "cross-validated Spearman ρ"
    plt.close(fig)
