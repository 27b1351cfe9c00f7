"""The ``cost`` decomposition strategy end to end with every role served by a real llama.cpp
server on loopback (SmolLM2-135M): attacker, rater, target and judge; then a cached re-run."""

from __future__ import annotations

import pytest

from expected_harm.attacks import get_attacks
from expected_harm.decomposition import (
    DECOMPOSITION_STATUSES,
    LLMDecomposer,
    section,
    with_conditions,
)
from expected_harm.judges import get_judge
from expected_harm.models import GenerateConfig, LlamaServer, get_model
from expected_harm.pipeline import STATUSES, run_grid
from expected_harm.rating import Rater

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server():
    with LlamaServer() as running:
        yield running


def test_cost_strategy_through_the_server_end_to_end(server, response_cache) -> None:
    spec = server.spec
    items = section.attack_items(["sorry_bench:base"], 2, min_cost=3, seed=0)
    decomposer = LLMDecomposer(spec, "cost", k=2, rater=Rater(spec), revision_budget=1)
    attacks = section.attack_grid(get_attacks(["direct"]), [decomposer])
    judge = get_judge("harmbench_classifier", spec)
    config = GenerateConfig(max_tokens=16)

    rows = with_conditions(run_grid(items, [get_model(spec)], attacks, judge, config))
    assert rows["condition"].value_counts().to_dict() == {"original": 2, "cost": 2}
    assert rows["row_status"].isin(STATUSES).all()
    # a row without an ok status carries no success: never a refusal or a jailbreak
    assert rows.loc[rows["row_status"] != "ok", "success"].isna().all()
    served = server.completions_served()
    assert served >= 2 + 2 + 2  # attacker and target at least, and the judge on the originals

    records = section.decomposition_records([decomposer], items)
    assert records["status"].isin(DECOMPOSITION_STATUSES).all()
    assert records["request_index"].nunique() == 2  # every request is accounted for
    ok = records[records["status"] == "ok"]
    assert ok["cost"].notna().any() or ok.empty  # the rater rated the sub-tasks it got

    again = with_conditions(run_grid(items, [get_model(spec)], attacks, judge, config))
    assert server.completions_served() == served  # the re-run came from the cache
    assert again["row_status"].tolist() == rows["row_status"].tolist()
