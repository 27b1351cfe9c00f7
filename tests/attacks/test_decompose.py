"""The decomposition attack against named test doubles: sub-tasks, failed decompositions, the
record each outcome keeps, and the optional aggregator."""

from __future__ import annotations

import pandas as pd
import pytest

from expected_harm import pipeline
from expected_harm.attacks import DecompositionAttack, get_attack, get_attacks, run_attack
from expected_harm.decomposition import Decomposer, Decomposition, SubTask
from expected_harm.models import BlockedError, GenerateConfig, Reply
from tests.attacks.test_pair import strongreject_judge
from tests.doubles import ScriptedChatModel

CONFIG = GenerateConfig(max_tokens=16)


class ScriptedDecomposer(Decomposer):
    """A test double: returns the decomposition given for each request, with no model calls.

    Args:
        decompositions: The decomposition of each request, by request.
        strategy: What it claims to be.
    """

    def __init__(self, decompositions: dict[str, Decomposition], strategy: str = "cost") -> None:
        self.strategy = strategy
        self.decompositions = decompositions
        self.seen: list[list[str]] = []

    def decompose(self, requests):
        self.seen.append(list(requests))
        return [self.decompositions[r] for r in requests]

    def describe(self) -> str:
        return f"scripted test double ({self.strategy})"


def split(request: str, *tasks: str, status: str = "ok", error: str = "") -> Decomposition:
    """A decomposition of ``request`` into rated ``tasks``."""
    sub_tasks = tuple(SubTask(t, cost=1.0, severity=2.0, monitor_score=0.1, revisions=i)
                      for i, t in enumerate(tasks))
    return Decomposition(request, "cost", status, sub_tasks, attacker_calls=2, tokens=30,
                         error=error, within_cost=True, passes_monitor=None)


def decompose(*decompositions: Decomposition, **options) -> DecompositionAttack:
    decomposer = ScriptedDecomposer({d.request: d for d in decompositions})
    return get_attack("decompose", decomposer=decomposer, inner=get_attack("direct"), **options)


def test_each_sub_task_is_attacked_on_its_own_and_the_answers_joined_in_order() -> None:
    target = ScriptedChatModel()  # echoes, upper-cased
    attack = decompose(split("goal", "step one", "step two"))
    [outcome] = attack.run(["goal"], target, CONFIG)
    assert target.calls == ["step one", "step two"]
    assert outcome.result.ok and outcome.result.text == "STEP ONE\n\nSTEP TWO"
    assert outcome.queries == 2
    [record] = outcome.history
    assert record == {
        "status": "ok", "strategy": "cost", "costs": (1.0, 1.0), "severities": (2.0, 2.0),
        "monitor_scores": (0.1, 0.1), "revisions": (0, 1), "within_cost": True,
        "passes_monitor": None, "attacker_calls": 2, "tokens": 30, "parts_missing": 0,
        "aggregator_calls": 0, "aggregator_tokens": 0,
    }


def test_labels_name_the_strategy_and_the_inner_attack_and_get_attacks_passes_options() -> None:
    decomposer = ScriptedDecomposer({}, strategy="cost+monitor")
    attacks = get_attacks(["direct", "decompose"], decomposer=decomposer,
                          inner=get_attack("style_injection"))
    assert [a.label for a in attacks] == ["direct", "decompose[cost+monitor](style_injection)"]
    assert attacks[1].describe().startswith("decompose 1.0 (scripted test double (cost+monitor);")
    assert "20" in attacks[1].source and attacks[1].key == attacks[1].prompt_key == "decompose"
    with pytest.raises(ValueError, match="attack 'decompose' needs decomposer; none given"):
        get_attacks(["decompose"], inner=get_attack("direct"))


@pytest.mark.parametrize(
    ("status", "row_status"),
    [("error", "error"), ("blocked", "blocked"), ("attacker_refused", "unparsed"),
     ("too_few", "unparsed"), ("unparsed", "unparsed"), ("empty", "unparsed")],
)
def test_a_failed_decomposition_is_its_own_status_never_attacked(status, row_status) -> None:
    target = ScriptedChatModel()
    tasks = ("only one",) if status == "too_few" else ()
    attack = decompose(split("goal", *tasks, status=status, error="why"))
    frame = run_attack(attack, ["goal"], target, CONFIG)
    assert frame.loc[0, "status"] == row_status
    assert frame.loc[0, "error"] == f"decomposition {status}: why"
    assert target.calls == [] and frame.loc[0, "queries"] == 0


def test_failed_decompositions_are_never_judged_in_the_grid() -> None:
    judge = strongreject_judge()
    attack = decompose(split("goal", "a", "b"),
                       Decomposition("lost", "published", "no_published_decomposition"))
    items = pd.DataFrame({"dataset": "toy", "item_id": ["1", "2"], "prompt": ["goal", "lost"]})
    rows = pipeline.run_grid(items, [ScriptedChatModel()], [attack], judge, CONFIG)
    assert rows["row_status"].tolist() == ["ok", "unparsed"]
    assert rows["success"].isna().tolist() == [False, True]
    assert len(judge.model.calls) == 1  # the judge saw only the decomposed request's answer
    assert "AI model response: A\n\nB" in judge.model.calls[0]


def test_the_record_counts_parts_the_answer_lacks() -> None:
    def target(messages, attempt):
        if messages[-1]["content"] == "b":
            raise BlockedError("content filter")
        return Reply(text="fine")

    attack = decompose(split("goal", "a", "b", "c"))
    [outcome] = attack.run(["goal"], ScriptedChatModel(target), CONFIG)
    assert outcome.result.text == "fine\n\nfine"
    assert outcome.history[0]["parts_missing"] == 1


def test_the_aggregator_combines_the_partial_answers_once_per_request() -> None:
    def aggregate(messages, attempt):
        user = messages[-1]["content"]
        if "TASK: fragile" in user:
            raise RuntimeError("aggregator down")
        return Reply(text="COMBINED")

    aggregator = ScriptedChatModel(aggregate)
    attack = decompose(split("goal", "a", "b"), split("fragile", "c"),
                       split("refused", status="attacker_refused"), aggregator=aggregator)
    assert attack.label == "decompose[cost; aggregator](direct)"
    outcomes = attack.run(["goal", "fragile", "refused"], ScriptedChatModel(), CONFIG)
    assert len(aggregator.calls) == 2  # the failed decomposition never reaches it
    assert aggregator.calls[0].startswith("TASK: goal\n\nPARTIAL ANSWERS:\n1. A\n\n2. B")
    assert [o.result.status.value for o in outcomes] == ["ok", "error", "unparsed"]
    assert outcomes[0].result.text == "COMBINED"
    assert outcomes[1].result.error.startswith("aggregator: ")
    assert [o.history[0]["aggregator_calls"] for o in outcomes] == [1, 1, 0]
    assert outcomes[0].queries == 2  # target calls only; the aggregator's are in the record


def test_a_decomposer_that_loses_requests_is_an_error() -> None:
    class Losing(ScriptedDecomposer):
        def decompose(self, requests):
            return []

    attack = get_attack("decompose", decomposer=Losing({}), inner=get_attack("direct"))
    with pytest.raises(ValueError, match="0 decompositions for 1 requests"):
        attack.run(["goal"], ScriptedChatModel(), CONFIG)


def test_every_failed_decomposition_status_has_a_row_status() -> None:
    from expected_harm.attacks import FAILED_DECOMPOSITION
    from expected_harm.decomposition import DECOMPOSITION_STATUSES

    assert set(FAILED_DECOMPOSITION) == set(DECOMPOSITION_STATUSES) - {"ok"}
