"""The decomposition attack (the paper's finding 3): sub-tasks from a decomposer, each attacked
with an existing method, the answers joined."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from expected_harm.attacks._base import (
    Attack,
    AttackOutcome,
    Part,
    load_attack_prompts,
    register_attack,
)
from expected_harm.attacks._wrapping import WrappingAttack
from expected_harm.models import ChatModel, ChatResult, GenerateConfig, Status, as_model, generate

if TYPE_CHECKING:  # at run time the decomposer is only called, so attacks need no import of it
    from expected_harm.decomposition import Decomposer, Decomposition

#: The row status of each decomposition status that is not ``ok``: the attacker's call failed
#: (``error``), its provider blocked it (``blocked``), or it gave no usable sub-tasks.
FAILED_DECOMPOSITION: dict[str, Status] = {
    "error": Status.ERROR,
    "blocked": Status.BLOCKED,
    "attacker_refused": Status.UNPARSED,
    "too_few": Status.UNPARSED,
    "unparsed": Status.UNPARSED,
    "empty": Status.UNPARSED,
    "no_published_decomposition": Status.UNPARSED,
}


@register_attack("decompose")
class DecompositionAttack(WrappingAttack):
    """Split each request with a decomposer, attack every sub-task with ``inner``, join the
    answers (Chen et al. 2026, finding 3).

    A decomposition that is not ``ok`` is never attacked or judged: the request ends ``error``
    (the attacker's call failed), ``blocked`` (its provider blocked it) or ``unparsed`` (refused,
    too few sub-tasks, unreadable, empty, or no published decomposition), with the
    decomposition's status named in ``error``. Parts follow the missing-part rule of
    :class:`WrappingAttack`.

    Each outcome's ``history`` holds one record of its decomposition (:meth:`record`), so the
    costs, scores and calls of the attacker side travel with the answer.

    Args:
        inner: The attack every sub-task goes through (``direct`` included).
        decomposer: Makes the sub-tasks (an LLM decomposer's strategy, or the published ones).
        aggregator: A model (or spec) that rewrites the partial answers into one answer to the
            original request, one call per request; None (the default, the paper's) joins them
            in order, a paragraph each.
        aggregator_max_tokens: Room for the aggregator's answer.
    """

    def __init__(
        self,
        *,
        inner: Attack,
        decomposer: Decomposer,
        aggregator: ChatModel | str | None = None,
        aggregator_max_tokens: int = 1024,
    ) -> None:
        super().__init__(inner=inner)
        self.decomposer = decomposer
        self.aggregator = None if aggregator is None else as_model(aggregator)
        self.aggregator_config = GenerateConfig(max_tokens=aggregator_max_tokens)
        prompts = load_attack_prompts()[self.prompt_key]
        self.aggregator_prompt = (prompts["aggregator_system"], prompts["aggregator_user"])

    @property
    def label(self) -> str:
        """``decompose[cost](direct)``; ``decompose[cost; aggregator](direct)`` with a model
        aggregator."""
        how = "; aggregator" if self.aggregator else ""
        return f"{self.key}[{self.decomposer.strategy}{how}]({self.inner.label})"

    def describe(self) -> str:
        how = (f"answers combined by {self.aggregator.spec} (aggregator prompt {self.version})"
               if self.aggregator else "answers concatenated")
        return (f"{self.key} {self.version} ({self.decomposer.describe()}; {how}) "
                f"of {self.inner.describe()}")

    def split(self, requests: Sequence[str]) -> list[tuple[str, ...] | ChatResult]:
        return [self.as_split(d) for d in self._decompose(requests)]

    def as_split(self, decomposition: Decomposition) -> tuple[str, ...] | ChatResult:
        """The sub-tasks of an ``ok`` decomposition, else the failed call that says why.

        Raises:
            ValueError: For a decomposition status this attack does not know.
        """
        if decomposition.ok:
            return decomposition.tasks
        try:
            status = FAILED_DECOMPOSITION[decomposition.status]
        except KeyError:
            raise ValueError(f"{self.key}: unknown decomposition status "
                             f"{decomposition.status!r}") from None
        error = f"decomposition {decomposition.status}"
        return ChatResult(model=f"decomposer:{decomposition.strategy}", key="", status=status,
                          error=f"{error}: {decomposition.error}" if decomposition.error else error)

    def run(self, requests, target, config):
        decompositions = self._decompose(requests)
        splits = [self.as_split(d) for d in decompositions]
        outcomes = self.attack_splits(requests, splits, target, config)
        return [dataclasses.replace(o, history=(self.record(d, o),))
                for d, o in zip(decompositions, outcomes)]

    def _decompose(self, requests: Sequence[str]) -> list[Decomposition]:
        decompositions = self.decomposer.decompose(list(requests))
        if len(decompositions) != len(requests):
            raise ValueError(f"{self.key}: the decomposer gave {len(decompositions)} "
                             f"decompositions for {len(requests)} requests")
        return decompositions

    def record(self, decomposition: Decomposition, outcome: AttackOutcome) -> dict[str, Any]:
        """What an outcome keeps of its decomposition: status, strategy, per-sub-task cost,
        severity, monitor score and revisions, the constraints met, the attacker's calls and
        tokens, the parts without an ``ok`` answer, and the aggregator's calls and tokens."""
        tasks = decomposition.sub_tasks
        aggregated = (self.aggregator is not None and decomposition.ok
                      and self.failure(outcome.parts) is None)
        usage = outcome.result.usage
        return {
            "status": decomposition.status,
            "strategy": decomposition.strategy,
            "costs": tuple(t.cost for t in tasks),
            "severities": tuple(t.severity for t in tasks),
            "monitor_scores": tuple(t.monitor_score for t in tasks),
            "revisions": tuple(t.revisions for t in tasks),
            "within_cost": decomposition.within_cost,
            "passes_monitor": decomposition.passes_monitor,
            "attacker_calls": decomposition.attacker_calls,
            "tokens": decomposition.tokens,
            "parts_missing": sum(not p.outcome.result.ok for p in outcome.parts),
            "aggregator_calls": int(aggregated),
            "aggregator_tokens": usage.prompt_tokens + usage.completion_tokens if aggregated else 0,
        }

    def combine(self, requests, parts, target):
        if self.aggregator is None or not requests:
            return super().combine(requests, parts, target)
        conversations = [self.aggregator_messages(r, p) for r, p in zip(requests, parts)]
        results = generate(self.aggregator, conversations, self.aggregator_config,
                           desc=f"{self.label}: aggregating with {self.aggregator.spec}")
        return [r if r.ok else dataclasses.replace(r, error=f"aggregator: {r.error}")
                for r in results]

    def aggregator_messages(self, request: str, parts: tuple[Part, ...]) -> list[dict[str, str]]:
        """The aggregator's messages: the original request and the numbered partial answers
        (``str.replace``: answers may hold braces)."""
        system, user = self.aggregator_prompt
        answers = "\n\n".join(f"{i}. {part.outcome.result.text}"
                              for i, part in enumerate(parts, start=1))
        user = user.replace("{request}", request).replace("{answers}", answers)
        return [{"role": "system", "content": system.strip()}, {"role": "user", "content": user}]
