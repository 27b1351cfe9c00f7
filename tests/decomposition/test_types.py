"""Decomposition value types: statuses and strategies are checked, sub-tasks read in order."""

from __future__ import annotations

import math

import pytest

from expected_harm.decomposition import (
    DECOMPOSITION_STATUSES,
    STRATEGIES,
    Decomposition,
    SubTask,
)


def test_a_sub_task_is_unrated_until_rated() -> None:
    task = SubTask("Explain A.")
    assert math.isnan(task.cost) and math.isnan(task.severity) and math.isnan(task.monitor_score)
    assert task.revisions == 0


def test_only_an_ok_decomposition_is_ok_and_tasks_keep_their_order() -> None:
    done = Decomposition("goal", "cost", "ok", (SubTask("first"), SubTask("second")))
    assert done.ok and done.tasks == ("first", "second")
    partial = Decomposition("goal", "cost", "too_few", (SubTask("first"),))
    assert not partial.ok and partial.within_cost is None and partial.passes_monitor is None


def test_unknown_status_or_strategy_is_refused_with_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="attacker_refused"):
        Decomposition("goal", "cost", "refused")
    with pytest.raises(ValueError, match="cost\\+monitor, published"):
        Decomposition("goal", "generic", "ok")
    assert STRATEGIES == ("cost", "monitor", "cost+monitor")
    assert "no_published_decomposition" in DECOMPOSITION_STATUSES
