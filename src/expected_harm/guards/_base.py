"""The guard interface, its registry and the one shape of every guard's frame."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from expected_harm.models import ChatModel, Message, Status, as_messages
from expected_harm.registry import Design, Registry

#: The columns of every guard's frame, in order.
GUARD_COLUMNS = (
    "guard",
    "guard_model",
    "template_version",
    "status",
    "flagged",
    "categories",
    "score",
    "raw",
    "error",
)

#: Every guard by name; see :func:`register_guard`.
GUARDS: Registry[Guard] = Registry("guard", elsewhere={"trained": "expected_harm.evaluators.guard"})


def register_guard(name: str) -> Callable[[type[Guard]], type[Guard]]:
    """Class decorator: make a guard available to :func:`get_guard` under ``name``."""
    return GUARDS.register(name)


class Guard(Design, ABC):
    """Screens inputs before they reach a target: is this text or conversation to be blocked?

    A guard (Llama Guard, Qwen3Guard, a moderation endpoint) is a deployed defence, not a judge
    of success: it sees only what a user sends. Each input gets one row of
    :data:`GUARD_COLUMNS`: ``flagged`` is 1.0 (block), 0.0 (pass) or NaN where the guard call
    failed or its answer did not parse, so that such a row is never counted as "safe";
    ``categories`` the policy categories it named, as the guard writes them (``"S1,S10"``), empty
    when it named none.

    Attributes:
        name: The registry name.
        version: Version of the guard's prompt or policy text, as captions cite it.
        model: The guard model, or None for guards that call no model.
    """

    kind = "guard"

    def screen(self, inputs: Sequence[str | Sequence[Message]]) -> pd.DataFrame:
        """One row per input with the columns of :data:`GUARD_COLUMNS`, in input order.

        Guard-model calls use the run's cache and progress setting (``models.run_settings``).

        Args:
            inputs: Texts (each one user turn) or conversations (lists of chat messages).

        Raises:
            ValueError: If the guard returns a row per input that is not one, or an ``ok`` row
                whose ``flagged`` is not 0 or 1 (a bug in the guard, never a verdict).
        """
        conversations = [as_messages(x) for x in inputs]
        rows = self._screen(conversations)
        if len(rows) != len(conversations):
            raise ValueError(f"guard {self.name!r} gave {len(rows)} rows for {len(inputs)} inputs")
        frame = self._frame(rows, list(GUARD_COLUMNS[3:]))
        ok = frame["status"] == Status.OK.value
        if not frame.loc[ok, "flagged"].isin([0.0, 1.0]).all():
            raise ValueError(f"guard {self.name!r} gave an ok row with flagged not 0 or 1")
        return frame

    @abstractmethod
    def _screen(self, conversations: list[list[Message]]) -> list[dict[str, Any]]:
        """Rows with status, flagged, categories, score, raw and error, one per conversation."""


def get_guard(name: str, model: ChatModel | str | None = None, **options: Any) -> Guard:
    """A guard by registry name, with its guard model (a ChatModel or a model spec).

    Raises:
        ValueError: For an unknown name (lists the valid ones), a missing or superfluous model.
    """
    return GUARDS.create(name, model, **options)
