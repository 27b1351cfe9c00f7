"""Attacks built on other attacks: a request becomes sub-tasks, each attacked with an inner one."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

from expected_harm.attacks._base import Attack, AttackOutcome, Part
from expected_harm.models import ChatModel, ChatResult, Status


class WrappingAttack(Attack):
    """An attack that splits each request into sub-tasks, attacks every sub-task with ``inner``
    and combines the answers into one.

    Decomposition attacks are of this kind (the paper's finding 3; Speak Easy, Chan et al.
    2025): split a costly request into cheap sub-tasks, jailbreak each with an existing method,
    join the partial answers. Subclasses say how to split (:meth:`split`) and may say how to
    combine (:meth:`combine`; by default the answers are joined in order). Every sub-task is sent
    in one batch through ``inner``, so the inner attack's prompts and cache keys are the ones it
    would use on those sub-tasks alone.

    Each outcome keeps its sub-tasks and their outcomes in ``parts``. A request that could not be
    split ends with the status of the failed split; one with a part that got no ``ok`` answer
    ends with that part's status and says how many are missing: never a refusal or a success.

    Args:
        inner: The attack every sub-task goes through (any attack, PAIR included).
    """

    def __init__(self, *, inner: Attack) -> None:
        self.inner = inner
        super().__init__()

    @property
    def label(self) -> str:
        return f"{self.key}({self.inner.label})"

    def describe(self) -> str:
        return f"{self.key} {self.version} of {self.inner.describe()}"

    @abstractmethod
    def split(self, requests: Sequence[str]) -> list[tuple[str, ...] | ChatResult]:
        """The sub-tasks of each request, in order; for a request that cannot be split, the
        failed call whose status and error say why."""

    def combine(self, request: str, parts: tuple[Part, ...], target: ChatModel) -> ChatResult:
        """The final answer from the parts' (all ``ok``) answers: joined in order, a paragraph
        each, as the paper's decomposition attack concatenates them."""
        text = "\n\n".join(part.outcome.result.text for part in parts)
        return ChatResult(model=target.spec, key="", status=Status.OK, text=text)

    def run(self, requests, target, config):
        splits = self.split(requests)
        if len(splits) != len(requests):
            raise ValueError(f"{self.key}: split gave {len(splits)} results for {len(requests)}")
        tasks = [task for split in splits if isinstance(split, tuple) for task in split]
        answers = iter(self.inner.run(tasks, target, config) if tasks else [])
        outcomes = []
        for request, split in zip(requests, splits):
            if isinstance(split, ChatResult):
                if split.ok:
                    raise ValueError(f"{self.key}: split returned an ok result, not sub-tasks")
                outcomes.append(AttackOutcome(request, (), split, queries=0))
            else:
                parts = tuple(Part(task, next(answers)) for task in split)
                outcomes.append(self._outcome(request, parts, target))
        return outcomes

    def _outcome(self, request: str, parts: tuple[Part, ...], target: ChatModel) -> AttackOutcome:
        failed = [part.outcome.result for part in parts if not part.outcome.result.ok]
        if not parts:
            result = ChatResult(
                model=target.spec, key="", status=Status.ERROR, error=f"{self.key}: no sub-tasks"
            )
        elif failed:
            result = ChatResult(
                model=target.spec,
                key="",
                status=failed[0].status,
                error=f"{self.key}: {len(failed)} of {len(parts)} sub-task(s) without an ok "
                f"answer; first: {failed[0].error}",
            )
        else:
            result = self.combine(request, parts, target)
        queries = sum(part.outcome.queries for part in parts)
        return AttackOutcome(request, (), result, queries=queries, parts=parts)
