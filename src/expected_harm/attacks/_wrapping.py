"""Attacks built on other attacks: a request becomes sub-tasks, each attacked with an inner one."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

from expected_harm.attacks._base import Attack, AttackOutcome, Part
from expected_harm.models import ChatModel, ChatResult, GenerateConfig, Status

#: Statuses of a part that leave the request without data: the row takes the status.
MISSING_DATA = (Status.ERROR, Status.UNPARSED)


class WrappingAttack(Attack):
    """An attack that splits each request into sub-tasks, attacks every sub-task with ``inner``
    and combines the answers into one.

    Decomposition attacks are of this kind (the paper's finding 3; Speak Easy, Chan et al.
    2025): split a costly request into cheap sub-tasks, jailbreak each with an existing method,
    join the partial answers. Subclasses say how to split (:meth:`split`) and may say how to
    combine (:meth:`combine`; by default the answers are joined in order). Every sub-task is sent
    in one batch through ``inner``, so the inner attack's prompts and cache keys are the ones it
    would use on those sub-tasks alone.

    Each outcome keeps its sub-tasks and their outcomes in ``parts``. The missing-part rule:

    - the answer combines, in order, the parts that got an ``ok`` answer;
    - a part ``blocked`` (the provider refused that sub-task) is an outcome of the attack, not
      missing data: the answer is still formed and judged, and ``run_attack``'s
      ``parts_missing`` says how many parts it lacks;
    - a part ``error`` or ``unparsed`` is missing data: the request ends with that status and
      is never judged (never a refusal or a success);
    - every part blocked: the request is ``blocked``.

    A request that could not be split ends with the status of the failed split.

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

    def combine(
        self, requests: Sequence[str], parts: Sequence[tuple[Part, ...]], target: ChatModel
    ) -> list[ChatResult]:
        """The final answer of each request from its ``ok`` parts, in order (never empty):
        joined a paragraph each, as the paper's decomposition attack concatenates them."""
        return [
            ChatResult(
                model=target.spec,
                key="",
                status=Status.OK,
                text="\n\n".join(part.outcome.result.text for part in answered),
            )
            for answered in parts
        ]

    def run(self, requests, target, config):
        return self.attack_splits(requests, self.split(requests), target, config)

    def attack_splits(
        self,
        requests: Sequence[str],
        splits: Sequence[tuple[str, ...] | ChatResult],
        target: ChatModel,
        config: GenerateConfig,
    ) -> list[AttackOutcome]:
        """Attack every sub-task of ``splits`` (one per request) and apply the missing-part
        rule; the outcomes are in request order."""
        if len(splits) != len(requests):
            raise ValueError(f"{self.key}: split gave {len(splits)} results for {len(requests)}")
        tasks = [task for split in splits if isinstance(split, tuple) for task in split]
        answers = iter(self.inner.run(tasks, target, config) if tasks else [])
        outcomes: list[AttackOutcome | None] = []
        combined: list[tuple[int, str, tuple[Part, ...]]] = []
        for request, split in zip(requests, splits):
            if isinstance(split, ChatResult):
                if split.ok:
                    raise ValueError(f"{self.key}: split returned an ok result, not sub-tasks")
                outcomes.append(AttackOutcome(request, (), split, queries=0))
                continue
            parts = tuple(Part(task, next(answers)) for task in split)
            failure = self.failure(parts)
            if failure is None:
                combined.append((len(outcomes), request, parts))
                outcomes.append(None)
            else:
                status, error = failure
                failed = ChatResult(model=target.spec, key="", status=status,
                                    error=f"{self.key}: {error}")
                outcomes.append(self._outcome(request, parts, failed))
        results = self.combine(
            [request for _, request, _ in combined],
            [tuple(p for p in parts if p.outcome.result.ok) for _, _, parts in combined],
            target,
        )
        for (index, request, parts), result in zip(combined, results, strict=True):
            outcomes[index] = self._outcome(request, parts, result)
        return outcomes

    def failure(self, parts: tuple[Part, ...]) -> tuple[Status, str] | None:
        """The status and reason that end a request by the missing-part rule; None when its
        answer is formed from the ``ok`` parts."""
        results = [part.outcome.result for part in parts]
        missing = [r for r in results if r.status in MISSING_DATA]
        blocked = [r for r in results if r.status is Status.BLOCKED]
        if not parts:
            status, error = Status.ERROR, "no sub-tasks"
        elif missing:
            status = missing[0].status
            error = (f"{len(missing)} of {len(parts)} sub-task(s) without an answer "
                     f"(error or unparsed); first: {missing[0].error}")
        elif len(blocked) == len(parts):
            status = Status.BLOCKED
            error = f"all {len(parts)} sub-task(s) blocked; first: {blocked[0].error}"
        else:
            return None
        return status, error

    def _outcome(
        self, request: str, parts: tuple[Part, ...], result: ChatResult
    ) -> AttackOutcome:
        queries = sum(part.outcome.queries for part in parts)
        return AttackOutcome(request, (), result, queries=queries, parts=parts)
