"""What the pages of sections 01 and 02, framework and datasets show, computed by the package.

Readings (the sentences and numbers glued into the prose), table builders and figure functions,
each on a small frame or the shipped reference labels; figures on the Agg backend.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from expected_harm import calibration, harm, plots, published, scales, threats  # noqa: E402
from expected_harm.sections import glue_all  # noqa: E402


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return threats.reference_labels()


def test_glue_all_glues_each_value_without_display(monkeypatch) -> None:
    import myst_nb

    calls = []
    monkeypatch.setattr(myst_nb, "glue", lambda *a, **k: calls.append((a, k)))
    glue_all({"ratio": 1.5, "n": 3})
    assert calls == [(("ratio", 1.5), {"display": False}), (("n", 3), {"display": False})]


# --- section 01 ------------------------------------------------------------------------------

def test_cost_values_quote_group_means_and_the_direction(reference) -> None:
    values = threats.cost_values(reference, paper_ratio=1.76)
    ratio = threats.cost_ratio(reference)
    assert values["ratio"] == f"{ratio.value:.2f}× [{ratio.low:.2f}, {ratio.high:.2f}]"
    assert values["paper_ratio"] == "1.76×"
    assert values["direction"] == ("agrees" if ratio.value > 1 else "does not agree")
    assert threats.cost_values(reference, paper_ratio=0.5)["direction"] != values["direction"]
    low, high = (float(x) for x in values["benchmark_range"].split(" to "))
    assert low <= high
    assert len(values["cheapest_benchmarks"].split(", ")) == 2


def test_cost_table_lists_each_set_then_its_group(reference) -> None:
    table = threats.cost_table(reference)
    assert list(table.columns) == ["mean cost [95% CI]", "n"]
    benchmarks = table.loc["benchmark"]
    pooled = benchmarks.index[-1]
    assert pooled.startswith("all ") and pooled.endswith("weighted equally")
    n_sets = reference.loc[reference["group"] == "benchmark", "dataset"].nunique()
    assert len(benchmarks) == n_sets + 1
    per_set, ratio = threats.cost_tables(reference, 1.76)
    assert "two-stage" in per_set.caption and "1.76" in ratio.data.iloc[0, 1]


def test_set_order_puts_benchmarks_first_cheapest_first(reference) -> None:
    order = threats.set_order(reference)
    groups = reference.drop_duplicates("dataset").set_index("dataset")["group"]
    assert list(groups[order]) == sorted(groups[order])  # benchmark < real_world
    means = reference.groupby("dataset")["cost"].mean()[order]
    benchmark = means[groups[order] == "benchmark"]
    assert benchmark.is_monotonic_increasing


def test_ordinal_cost_quotes_the_odds_of_its_coefficient(reference) -> None:
    style, values = threats.ordinal_cost(reference)
    coef = style.data.loc["real world (vs benchmark)", "coefficient"]
    assert values["odds"] == f"{np.exp(-coef):.1f}"
    assert "cluster-robust by set" in style.caption


def test_rater_agreement_scores_only_where_it_is_defined() -> None:
    paired = pd.DataFrame({"cost": [1, 2, 3, 4], "cost_rater": [1, 2, 3, 5],
                           "cost_expected": [np.nan] * 4, "severity": [2, 2, 2, 2],
                           "severity_rater": [1, 2, 3, 4], "severity_expected": [np.nan] * 4})
    table = threats.rater_agreement(paired)
    assert table.loc["cost (sampled)", "exact"] == pytest.approx(0.75)
    assert table.loc["cost (expected)", "n"] == 0 and pd.isna(table.loc["cost (expected)", "exact"])
    assert pd.isna(table.loc["severity (sampled)", "exact"])  # one reference level: undefined
    self_agreement = pd.DataFrame({"weighted κ": [0.8]}, index=["cost"])
    values = threats.rater_values(table, self_agreement)
    assert values["rater_kappa_severity"] == "nan" and values["self_kappa_cost"] == "0.80"
    assert "weighted κ" in threats.agreement_style(table, na_rep="–").data.columns


def test_harm_gaps_compare_benchmark_to_real_world(reference) -> None:
    by_group = harm.aggregate_expected_harm(reference, "group", seed=0)
    gaps = threats.harm_gaps(by_group, "exponential")
    means = by_group.set_index(["likelihood", "group"])["mean"]
    gap = means["exponential", "benchmark"] / means["exponential", "real_world"]
    assert gaps["gap_chosen"] == f"{gap:.2f}×"
    assert gaps["likelihood"] == harm.describe_likelihood("exponential")


def test_threat_figures_draw_one_panel_per_scale(reference) -> None:
    fig = plots.plot_cost_severity_shares(reference, threats.set_order(reference))
    assert [ax.get_title() for ax in fig.axes] == ["Execution cost", "Severity"]
    per_set = harm.aggregate_expected_harm(reference, "dataset", seed=0)
    ax = plots.plot_harm_by_likelihood(per_set, "linear")
    order = plots.harm_order(per_set, "linear")
    assert [t.get_text() for t in ax.get_yticklabels()] == order
    assert len(ax.get_lines()) == per_set["likelihood"].nunique()
    assert ax.get_xlabel().startswith("mean Expected Harm")
    paired = pd.DataFrame({"cost": [1, 2], "cost_rater": [1, 3], "severity": [4, 5],
                           "severity_rater": [4, np.nan]})
    fig = plots.plot_confusions(paired)
    assert [ax.get_xlabel() for ax in fig.axes] == ["rater cost", "rater severity"]


# --- section 02 ------------------------------------------------------------------------------

def _fit(low: float, high: float, slope: float = 0.0):
    class Fit:  # test double: the two attributes slope_reading reads of a statsmodels result
        params = pd.Series({"cost": slope})

        def conf_int(self):
            return pd.DataFrame([[low, high]], index=["cost"])

    return Fit()


@pytest.mark.parametrize(("low", "high", "ending"), [
    (-0.9, -0.1, "the inverse risk calibration the paper reports."),
    (0.1, 0.9, "the direction a well-calibrated model would show."),
    (-0.2, 0.3, "cannot tell which way success moves with cost."),
])
def test_slope_reading_names_the_direction_from_the_interval(low, high, ending) -> None:
    reading = calibration.slope_reading(_fit(low, high))
    assert reading.startswith("Each step up the cost scale multiplies the odds")
    assert reading.endswith(ending)


def test_regression_report_says_why_it_cannot_fit() -> None:
    rows = pd.DataFrame({"dataset": "s", "item_id": [str(i) for i in range(6)],
                         "cost": [1, 2, 3, 4, 5, 1], "severity": 2, "target": "t", "attack": "a",
                         "success": 0.0})
    style, values = calibration.regression_report(rows, Models="t", Judge="j")
    assert values["slope_reading"].startswith("The regression cannot be estimated")
    assert "why not" in style.data.columns
    assert style.caption.endswith("Models: t · Judge: j · n = 6 rows")


def test_status_table_counts_rows_without_a_verdict() -> None:
    results = pd.DataFrame({"target": "t", "attack": "a",
                            "row_status": ["ok", "ok", "error", "unparsed"]})
    style, values = calibration.status_table(results, Models="t")
    assert values == {"n_rows": 4, "not_ok": "50%"}
    assert style.caption == "Share of rows by status. Models: t · n = 4"


def test_harm_values_quote_each_target() -> None:
    frame = pd.DataFrame({"target": ["a", "b", "a"],
                          "likelihood": ["linear", "linear", "constant"],
                          "mean": [0.5, 1.0, 2.0], "low": [0.25, 0.5, 1.0],
                          "high": [1.0, 2.0, 3.0]})
    values = calibration.harm_values(frame, "linear")
    assert values["harm_chosen"] == "a: 0.50 [0.25, 1.00]; b: 1.00 [0.50, 2.00]"


def test_published_reports_quote_their_counts() -> None:
    rows = published.attack_rows()
    style, counts = published.attempts_report(rows)
    assert counts["n_published"] == len(rows) == 1800
    assert counts["n_no_submission"] == int((rows["status"] == published.NO_SUBMISSION).sum())
    assert "n = 1800" in style.caption
    slopes, reading = published.slopes_report(rows)
    assert reading["published_slopes"].startswith("For ")
    assert published.models_of(rows).count(",") == rows["target"].nunique() - 1
    table = published.harm_table(published.harm_by_target(rows, seed=0))
    assert table.shape == (rows["target"].nunique(), len(harm.LIKELIHOODS))


def test_published_rejudge_report_scores_the_book_judge() -> None:
    rejudged = pd.DataFrame({"jbb_verdict": [1.0, 0.0, 1.0, 0.0],
                             "book_success": [1.0, 0.0, 0.0, np.nan]})
    style, counts = published.rejudge_report(rejudged, "our judge", 1, seed=0)
    assert counts == {"n_rejudged": 4}
    assert "on 4 answers (1 per model and attack, seed 0)" in style.caption


# --- framework --------------------------------------------------------------------------------

def test_archetype_comparison_counts_reversals() -> None:
    params = harm.family_parameters(exponential_rate=np.log(2), linear_floor=0.1,
                                    logistic_midpoint=3.0, logistic_steepness=2.0)
    comparison, values = harm.archetype_comparison(params, "exponential")
    assert values["constant_ratio"] == pytest.approx(2.5)  # 5 / 2 under severity only
    assert values["default_ratio"] == pytest.approx(5 * 2 ** -4 / 2)
    assert values["n_reversed"] == int((comparison["ratio"].drop("constant") < 1).sum())
    assert isinstance(values["n_reversed"], int) and isinstance(values["default_ratio"], float)


def test_scale_values_and_prose_tables() -> None:
    loaded = scales.load_scales()
    values = scales.scale_values(loaded)
    assert values["scales_version"] == loaded.version
    html = scales.prose_table(loaded.cost.as_frame()).to_html()
    assert "text-align: left" in html


def test_harm_report_weighs_only_judged_rows() -> None:
    results = pd.DataFrame({"target": "t", "attack": ["a", "a", "b"], "cost": [1, 3, 5],
                            "severity": [2, 4, 5], "success": [1.0, 0.0, np.nan]})
    style, values = calibration.harm_report(results, "constant", 0, Models="t")
    assert values["harm_chosen"].startswith("t: 1.00")  # (2 × 1 + 4 × 0) / 2 judged rows
    assert "Models: t · n = 2. The items are spread evenly" in style.caption
