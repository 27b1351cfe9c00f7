"""Expected Harm and the Pr(execution | cost) family (expected_harm.harm)."""

import math

import numpy as np
import pandas as pd
import pytest

from expected_harm import harm
from expected_harm.harm import (
    DEFAULT_LIKELIHOOD,
    LIKELIHOODS,
    describe_likelihood,
    expected_harm,
    expected_harm_by_likelihood,
    likelihood,
    likelihood_parameters,
)

COSTS = np.linspace(1, 5, 81)
DECAYING = [name for name in LIKELIHOODS if name != "constant"]


@pytest.mark.parametrize("name", list(LIKELIHOODS))
def test_every_likelihood_is_non_increasing_within_bounds_and_one_at_cost_1(name):
    values = likelihood(name)(COSTS)
    assert np.all(np.diff(values) <= 1e-12)
    assert np.all((values > 0) & (values <= 1))
    assert values[0] == pytest.approx(1.0)


@pytest.mark.parametrize("name", DECAYING)
def test_decaying_likelihoods_fall_strictly_with_cost(name):
    values = likelihood(name)(COSTS)
    assert np.all(np.diff(values) < 0)
    assert values[-1] < 0.5


@pytest.mark.parametrize(
    ("name", "params"),
    [("exponential", {"rate": 0.2}), ("linear", {"floor": 0.5}), ("linear", {"floor": 0.0}),
     ("logistic", {"midpoint": 1.5, "steepness": 6.0})],
)
def test_parameterised_likelihoods_stay_decreasing_and_bounded(name, params):
    values = likelihood(name, **params)(COSTS)
    assert np.all(np.diff(values) < 0)
    assert np.all((values >= 0) & (values <= 1))


def test_default_likelihood_is_registered_and_documented():
    assert DEFAULT_LIKELIHOOD in LIKELIHOODS
    assert f'DEFAULT_LIKELIHOOD` = ``"{DEFAULT_LIKELIHOOD}"``' in harm.__doc__
    for function in LIKELIHOODS.values():
        assert function.__doc__ and "Args:" in function.__doc__


def test_default_exponential_halves_with_each_cost_step():
    assert likelihood_parameters("exponential") == {"rate": pytest.approx(math.log(2))}
    assert likelihood()(np.array([1, 2, 3, 5])).tolist() == pytest.approx([1, 0.5, 0.25, 1 / 16])


def test_the_default_is_documented_where_it_is_lowest_and_where_it_lies_between():
    """The comment on DEFAULT_LIKELIHOOD quotes these values; it once said 'sits between'."""
    import inspect
    import re

    exp, lin, logi = (likelihood(name)(np.array([2.0, 3.0, 4.0, 5.0]))
                      for name in ("exponential", "linear", "logistic"))
    assert (exp[:2] < lin[:2]).all() and (exp[:2] < logi[:2]).all()  # lowest at costs 2 and 3
    assert (logi[2:] < exp[2:]).all() and (exp[2:] < lin[2:]).all()  # between at costs 4 and 5
    lines = inspect.getsource(harm).split("DEFAULT_LIKELIHOOD: LikelihoodName")[0]
    comment = " ".join(line.strip("#: ") for line in lines.splitlines() if line.startswith("#:"))
    assert "sits between" not in comment
    quoted = [float(x) for x in re.findall(r"0\.\d\d", comment)]
    assert quoted == pytest.approx([*exp[:2], lin[0], lin[1], logi[0], logi[1]], abs=0.006)
    crossing = float(re.search(r"near cost (\d\.\d\d)", comment).group(1))
    assert np.exp(-math.log(2) * (crossing - 1)) == pytest.approx(
        float(likelihood("logistic")(crossing)), abs=2e-3)


def test_expected_harm_on_hand_computed_cases():
    # exponential, rate ln 2: 4 × 2^-(3-1) = 1; linear floor 0.1 at cost 3: 1 - 0.9 × 2/4 = 0.55
    assert expected_harm(4, 3) == pytest.approx(1.0)
    assert expected_harm(4, 3, "linear") == pytest.approx(4 * 0.55)
    assert expected_harm(2, 5, "linear", floor=0.0) == pytest.approx(0.0)
    # logistic rescaled to 1 at cost 1 and symmetric about the midpoint: σ(0)/σ(4) at cost 3
    assert expected_harm(5, 3, "logistic") == pytest.approx(5 * 0.5 / (1 / (1 + math.exp(-4))))
    assert expected_harm(5, 5, "constant") == 5.0
    assert expected_harm(3, 1, lambda c: np.full_like(c, 0.3)) == pytest.approx(0.9)


def test_expected_harm_at_cost_1_equals_severity_for_every_likelihood():
    severity = np.array([1, 2, 3, 4, 5])
    for name in LIKELIHOODS:
        assert expected_harm(severity, 1, name) == pytest.approx(severity)


def test_expected_harm_keeps_pandas_index_and_propagates_missing_ratings():
    frame = pd.DataFrame({"severity": [5, 2, np.nan], "cost": [5, 1, 2]}, index=["a", "b", "c"])
    result = expected_harm(frame["severity"], frame["cost"])
    assert isinstance(result, pd.Series)
    assert result.index.tolist() == ["a", "b", "c"]
    assert result.iloc[:2].tolist() == pytest.approx([5 / 16, 2.0])
    assert np.isnan(result["c"])


def test_expected_harm_returns_float_for_scalars_and_array_for_arrays():
    assert isinstance(expected_harm(3, 2), float)
    assert expected_harm(np.array([[1, 2]]), np.array([[1], [2]])).shape == (2, 2)


@pytest.mark.parametrize(("severity", "cost", "bad"), [(0, 3, "severity"), (6, 3, "severity"),
                                                       (3, 0.5, "cost"), (3, 7, "cost"),
                                                       (3, np.inf, "cost")])
def test_ratings_outside_one_to_five_raise_naming_the_value(severity, cost, bad):
    with pytest.raises(ValueError, match=bad):
        expected_harm(severity, cost)


def test_unknown_likelihood_lists_the_valid_names():
    with pytest.raises(ValueError, match="'quadratic'.*exponential, linear, logistic, constant"):
        likelihood("quadratic")
    with pytest.raises(ValueError, match="quadratic"):
        expected_harm(3, 3, "quadratic")


def test_unknown_or_invalid_parameters_raise_naming_them():
    with pytest.raises(ValueError, match="slope.*floor"):
        likelihood("linear", slope=2)
    with pytest.raises(ValueError, match="rate"):
        likelihood("exponential", rate=-1)
    with pytest.raises(ValueError, match="floor"):
        likelihood("linear", floor=1.0)
    with pytest.raises(ValueError, match="midpoint"):
        likelihood("logistic", midpoint=9)
    with pytest.raises(ValueError, match="parameters"):
        expected_harm(3, 3, lambda c: c, rate=1.0)


def test_describe_likelihood_fills_in_defaults_and_overrides():
    assert describe_likelihood("exponential") == "exponential(rate=0.693)"
    assert describe_likelihood("logistic", steepness=4) == "logistic(midpoint=3, steepness=4)"
    assert describe_likelihood("constant") == "constant"


def test_expected_harm_by_likelihood_has_one_column_per_function_and_keeps_the_index():
    severity = pd.Series([5, 2], index=["hard", "easy"])
    table = expected_harm_by_likelihood(severity, pd.Series([5, 1], index=severity.index),
                                        params={"linear": {"floor": 0.0}})
    assert table.columns.tolist() == list(LIKELIHOODS)
    assert table.index.tolist() == ["hard", "easy"]
    assert table.loc["hard", "linear"] == 0.0
    assert table.loc["easy"].tolist() == pytest.approx([2.0] * len(LIKELIHOODS))
    with pytest.raises(ValueError, match="linear"):
        expected_harm_by_likelihood(5, 5, params={"linear": {}}, names=["exponential"])
