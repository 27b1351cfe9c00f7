"""What a decomposition is: a request's sub-tasks, with how they were made and how they rated."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: The strategies of :class:`~expected_harm.decomposition.LLMDecomposer`.
STRATEGIES: tuple[str, ...] = ("cost", "monitor", "cost+monitor")
#: The strategy of :class:`~expected_harm.decomposition.ReplayDecomposer`.
PUBLISHED = "published"

OK = "ok"
ATTACKER_REFUSED = "attacker_refused"  # the attacker declined to decompose the request
TOO_FEW = "too_few"  # fewer than k sub-tasks (those found are kept)
UNPARSED = "unparsed"  # the attacker answered, but no sub-task list could be read
EMPTY = "empty"  # the attacker's answer was empty, or an empty list
ERROR = "error"  # the attacker call failed
BLOCKED = "blocked"  # the provider blocked the attacker call
NO_PUBLISHED_DECOMPOSITION = "no_published_decomposition"  # replay: the request has none
#: Every status a decomposition can have; only ``ok`` ones are attacked.
DECOMPOSITION_STATUSES: tuple[str, ...] = (
    OK, ATTACKER_REFUSED, TOO_FEW, UNPARSED, EMPTY, ERROR, BLOCKED, NO_PUBLISHED_DECOMPOSITION,
)


@dataclass(frozen=True)
class SubTask:
    """One sub-task of a decomposition.

    Attributes:
        text: The sub-task as the target will see it.
        cost: Rated execution cost 1–5 of the sub-task alone; NaN when not rated or the rating
            failed (never a default).
        severity: Rated severity 1–5 of the sub-task alone; NaN likewise.
        monitor_score: The monitor's Pr(malicious) of the sequence up to and including this
            sub-task; NaN without a monitor or when its call failed.
        revisions: How many times the attacker rewrote this sub-task.
    """

    text: str
    cost: float = math.nan
    severity: float = math.nan
    monitor_score: float = math.nan
    revisions: int = 0


@dataclass(frozen=True)
class Decomposition:
    """One request split into sub-tasks, or the reason it was not.

    Attributes:
        request: The original request.
        strategy: ``"cost"``, ``"monitor"``, ``"cost+monitor"`` or ``"published"``.
        status: One of :data:`DECOMPOSITION_STATUSES`.
        sub_tasks: The sub-tasks in order (empty unless ``ok`` or ``too_few``).
        history: Every attacker output and revision, with its ratings and monitor scores, in the
            order they happened.
        attacker_calls: Attacker requests made for this decomposition (the same on a re-run
            served from the response cache).
        tokens: Prompt and completion tokens of the attacker and monitor calls (``Rater.rate``
            reports no token counts, so rating tokens are not included).
        error: Why the decomposition is not ``ok``; empty when it is.
        within_cost: Every sub-task's rated cost is at most the threshold; None when not checked
            (no rater, or a rating failed and no rated sub-task is above the threshold).
        passes_monitor: No prefix was flagged; None when there is no monitor (or a monitor call
            failed and no scored prefix was flagged).
    """

    request: str
    strategy: str
    status: str
    sub_tasks: tuple[SubTask, ...] = ()
    history: tuple[dict[str, Any], ...] = ()
    attacker_calls: int = 0
    tokens: int = 0
    error: str = ""
    within_cost: bool | None = None
    passes_monitor: bool | None = None

    def __post_init__(self) -> None:
        if self.status not in DECOMPOSITION_STATUSES:
            raise ValueError(f"unknown decomposition status {self.status!r}; valid statuses: "
                             f"{', '.join(DECOMPOSITION_STATUSES)}")
        if self.strategy not in (*STRATEGIES, PUBLISHED):
            raise ValueError(f"unknown strategy {self.strategy!r}; valid strategies: "
                             f"{', '.join((*STRATEGIES, PUBLISHED))}")

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def tasks(self) -> tuple[str, ...]:
        """The sub-task texts, in order."""
        return tuple(task.text for task in self.sub_tasks)


class Decomposer(ABC):
    """Splits requests into sub-tasks: an attacker model (:class:`LLMDecomposer`) or the
    published decompositions (:class:`ReplayDecomposer`).

    Attributes:
        strategy: How the sub-tasks are made; one of :data:`STRATEGIES` or ``"published"``.
    """

    strategy: str

    @abstractmethod
    def decompose(self, requests: Sequence[str]) -> list[Decomposition]:
        """One decomposition per request, in order; failures carry their own status."""

    @abstractmethod
    def describe(self) -> str:
        """For captions: the strategy, the attacker, k, thresholds and prompt versions."""
