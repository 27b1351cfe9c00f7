"""Statistics the calibration section adds: Wilson intervals by group, binary agreement and
logistic regression, on data with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from expected_harm.stats import (
    binary_agreement,
    logistic_regression,
    proportions_by_group,
    wilson_interval,
)


def test_wilson_interval_matches_published_values() -> None:
    # Wilson 95% intervals as tabulated by Newcombe (1998), Statistics in Medicine 17:857, Table I:
    # 0/10 → [0, 0.2775]; 81/263 → [0.2553, 0.3662] (the paper's worked example).
    zero = wilson_interval(0, 10)
    assert (zero.value, zero.low) == (0.0, 0.0) and zero.high == pytest.approx(0.2775, abs=1e-4)
    example = wilson_interval(81, 263)
    assert example.low == pytest.approx(0.2553, abs=1e-4) and example.high == pytest.approx(
        0.3662, abs=1e-4
    )


def test_proportions_by_group_leaves_out_rows_without_verdict() -> None:
    frame = pd.DataFrame({"cost": [1, 1, 1, 2, 2], "success": [1.0, 0.0, np.nan, 1.0, 1.0]})
    table = proportions_by_group(frame, "cost", "success").set_index("cost")
    assert table.loc[1, "n"] == 2 and table.loc[1, "rate"] == 0.5
    assert table.loc[2, "rate"] == 1.0 and table.loc[2, "high"] == 1.0
    assert table.loc[2, "low"] == pytest.approx(wilson_interval(2, 2).low)


def test_binary_agreement_on_a_hand_counted_table() -> None:
    # reference 1 1 1 1 0 0 0 0 0 0 ; verdicts: 3 of 4 positives found, 1 of 6 negatives flagged
    reference = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    verdicts = [1, 1, 1, 0, 1, 0, 0, 0, 0, 0]
    result = binary_agreement(reference, verdicts)
    assert result.accuracy == 0.8
    assert result.false_negative_rate == 0.25 and result.false_positive_rate == pytest.approx(1 / 6)
    # kappa = (0.8 − pe) / (1 − pe), pe = 0.4·0.4 + 0.6·0.6 = 0.52
    assert result.kappa == pytest.approx((0.8 - 0.52) / 0.48)


def test_binary_agreement_leaves_missing_verdicts_out_and_counts_them() -> None:
    result = binary_agreement([1, 0, 1], [1, 0, math.nan])
    assert (result.n, result.missing, result.accuracy) == (2, 1, 1.0)
    with pytest.raises(ValueError, match="reference labels must all be 0 or 1"):
        binary_agreement([1, 2], [1, 0])


def test_binary_kappa_is_undefined_only_when_both_sides_give_one_same_answer() -> None:
    from sklearn.metrics import cohen_kappa_score

    # constant but different: p_o = p_e = 0, so kappa = (0 - 0) / (1 - 0) = 0, as sklearn says
    assert binary_agreement([0, 0, 0], [1, 1, 1]).kappa == 0.0
    assert cohen_kappa_score([0, 0, 0], [1, 1, 1], labels=[0, 1]) == 0.0
    # constant and equal: p_o = p_e = 1, kappa = 0 / 0
    assert math.isnan(binary_agreement([1, 1, 1], [1, 1, 1]).kappa)
    # one side constant: kappa is defined (here 0: the verdicts say nothing about the reference)
    assert binary_agreement([1, 0, 1, 0], [1, 1, 1, 1]).kappa == 0.0


def test_logistic_slope_equals_the_log_odds_ratio_for_a_two_level_predictor() -> None:
    # With one two-level predictor the ML fit reproduces the groups' log-odds exactly:
    # cost 1: 8 of 10 succeed (odds 4); cost 2: 2 of 10 (odds 1/4) → slope = ln(1/16).
    frame = pd.DataFrame(
        {
            "cost": [1] * 10 + [2] * 10,
            "success": [1] * 8 + [0] * 2 + [1] * 2 + [0] * 8,
            "target": "one model",
        }
    )
    fitted = logistic_regression(frame, "success", ["cost"], ["target"])
    assert fitted.params["cost"] == pytest.approx(-math.log(16), abs=1e-6)
    assert fitted.params["Intercept"] == pytest.approx(math.log(4) + math.log(16), abs=1e-6)
    assert list(fitted.params.index) == ["Intercept", "cost"]  # a one-level factor is dropped


def test_logistic_regression_recovers_a_simulated_slope() -> None:
    rng = np.random.default_rng(0)
    cost = rng.integers(1, 6, 4000)
    attack = rng.choice(["a", "b"], 4000)
    logit = 2.0 - 0.7 * cost + np.where(attack == "b", 0.5, 0.0)
    success = (rng.random(4000) < 1 / (1 + np.exp(-logit))).astype(int)
    fitted = logistic_regression(
        pd.DataFrame({"cost": cost, "attack": attack, "success": success}),
        "success",
        ["cost"],
        ["attack"],
    )
    low, high = fitted.conf_int().loc["cost"]
    assert low < -0.7 < high
    assert fitted.params["C(attack)[T.b]"] == pytest.approx(0.5, abs=0.2)


def test_logistic_regression_refuses_what_it_cannot_estimate() -> None:
    constant = pd.DataFrame({"cost": [1, 2, 3, 4], "success": [1, 1, 1, 1]})
    with pytest.raises(ValueError, match="constant"):
        logistic_regression(constant, "success", ["cost"])
    separated = pd.DataFrame({"cost": [1, 2, 3, 4, 5, 6], "success": [1, 1, 1, 0, 0, 0]})
    with pytest.raises(ValueError, match="perfect separation"):
        logistic_regression(separated, "success", ["cost"])


def test_logistic_regression_refuses_quasi_separation_naming_the_term() -> None:
    # attack "b" always succeeds: its coefficient has no finite maximum-likelihood value
    rng = np.random.default_rng(0)
    cost = rng.integers(1, 6, 60)
    attack = np.repeat(["a", "b"], 30)
    success = np.where(attack == "b", 1, (rng.random(60) < 0.5).astype(int))
    frame = pd.DataFrame({"success": success, "cost": cost, "attack": attack})
    with pytest.raises(ValueError, match=r"quasi-complete separation.*C\(attack\)\[T\.b\]"):
        logistic_regression(frame, "success", ["cost"], ["attack"])


def repeated_items(seed: int = 0, items: int = 40, repeats: int = 6) -> pd.DataFrame:
    """Each item attacked ``repeats`` times; items differ in a shared random intercept."""
    rng = np.random.default_rng(seed)
    cost = rng.integers(1, 6, items)
    item_effect = rng.normal(0, 2.0, items)  # some items are easy to jailbreak, some hard
    rows = []
    for item in range(items):
        for repeat in range(repeats):
            logit = 1.0 - 0.4 * cost[item] + item_effect[item]
            rows.append({"dataset": "set", "item_id": f"i{item}", "cost": cost[item],
                         "attack": "ab"[repeat % 2],
                         "success": int(rng.random() < 1 / (1 + np.exp(-logit)))})
    return pd.DataFrame(rows)


def test_clustered_errors_are_wider_than_naive_ones_when_items_repeat() -> None:
    # 40 items × 6 rows: naive errors count 240 independent rows, clustered ones 40 items
    frame = repeated_items()
    naive = logistic_regression(frame, "success", ["cost"], ["attack"])
    clustered = logistic_regression(frame, "success", ["cost"], ["attack"],
                                    cluster=["dataset", "item_id"])
    assert clustered.params["cost"] == pytest.approx(naive.params["cost"])  # same estimate
    assert clustered.cov_type == "cluster"
    assert clustered.bse["cost"] > 1.25 * naive.bse["cost"]  # 1.4–1.9 over seeds 0–5


def test_clustered_errors_match_naive_ones_roughly_when_rows_are_independent() -> None:
    frame = repeated_items(repeats=1, items=400)
    naive = logistic_regression(frame, "success", ["cost"])
    clustered = logistic_regression(frame, "success", ["cost"], cluster="item_id")
    assert clustered.bse["cost"] == pytest.approx(naive.bse["cost"], rel=0.05)


def test_clustering_needs_named_columns_and_two_clusters() -> None:
    frame = repeated_items()
    with pytest.raises(ValueError, match="no column.*item"):
        logistic_regression(frame.drop(columns="item_id"), "success", ["cost"],
                            cluster=["dataset", "item_id"])
    with pytest.raises(ValueError, match="at least two clusters"):
        logistic_regression(frame, "success", ["cost"], cluster="dataset")


def test_cost_regression_clusters_by_item() -> None:
    from expected_harm.calibration import cost_regression

    frame = repeated_items().assign(severity=lambda f: 1 + f["cost"] % 3,
                                    target=lambda f: np.where(f.index % 3, "t1", "t2"))
    clustered = cost_regression(frame)
    naive = cost_regression(frame, cluster=None)
    assert clustered.cov_type == "cluster" and naive.cov_type == "nonrobust"
    assert clustered.bse["cost"] > naive.bse["cost"]
