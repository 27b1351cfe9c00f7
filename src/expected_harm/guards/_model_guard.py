"""What every guard run on a chat model shares: its prompt data, the turns it screens, its rows."""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

import yaml

from expected_harm.guards._base import Guard
from expected_harm.models import ChatModel, ChatResult, GenerateConfig, Message, Status, generate


@cache
def load_guard_prompts() -> dict[str, dict[str, Any]]:
    """The guard prompts and policies of ``prompts/guards.yaml``, keyed by guard name."""
    text = resources.files("expected_harm").joinpath("prompts/guards.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def screened_turns(messages: list[Message]) -> list[Message]:
    """The user and assistant turns a guard screens; the deployer's system prompt is left out.

    Guard formats (Llama Guard's ``User:``/``Agent:`` turns, Qwen3Guard's template) have no place
    for a system prompt, and it is not what a user sends.

    Raises:
        ValueError: For a role other than system, user or assistant, or no turn left to screen.

    Examples:
        >>> screened_turns([{"role": "system", "content": "Be nice."},
        ...                 {"role": "user", "content": "hi"}])
        [{'role': 'user', 'content': 'hi'}]
    """
    for message in messages:
        if message.get("role") not in ("system", "user", "assistant"):
            raise ValueError(f"a guard screens user and assistant turns, got role "
                             f"{message.get('role')!r}")
    turns = [m for m in messages if m["role"] != "system"]
    if not turns:
        raise ValueError("nothing to screen: the conversation has no user or assistant turn")
    return turns


class ModelGuard(Guard):
    """A guard that is a chat model prompted in its published format (Llama Guard, Qwen3Guard).

    Subclasses say what to send (:meth:`messages`), how to read the answer (``parser``, which
    raises ``ValueError`` for an answer out of format, so that the row is ``unparsed``) and what
    the parsed answer means (:meth:`_read`).
    """

    config: GenerateConfig  # set by each guard (its answer length, logprobs)
    parser: Callable[[str], Any]  # a module-level parser, set as a staticmethod

    def __init__(self, model: ChatModel | None = None) -> None:
        super().__init__(model)
        self.prompt = load_guard_prompts()[self.name]

    @property
    def version(self) -> str:
        return str(self.prompt["version"])

    def messages(self, turns: list[Message]) -> list[Message]:
        """The chat messages sent for one conversation's screened turns."""
        return turns

    def _screen(self, conversations):
        results = generate(
            self.model,
            [self.messages(screened_turns(c)) for c in conversations],
            self.config,
            parser=self.parser,
            desc=f"screening with {self.model.spec} ({self.name})",
        )
        return [self._row(result) for result in results]

    @abstractmethod
    def _read(self, result: ChatResult) -> dict[str, Any]:
        """``flagged`` and ``categories`` of an ``ok`` result, from ``result.parsed``."""

    def _score(self, result: ChatResult) -> float:
        """The guard's score for a result that has an answer; NaN where it gives none."""
        return math.nan

    def _row(self, result: ChatResult) -> dict[str, Any]:
        """A failed call keeps its status (``error``, ``blocked``); only ``ok`` has a verdict."""
        row = {"status": result.status.value, "flagged": math.nan, "categories": None,
               "score": math.nan, "raw": result.text, "error": result.error}
        if result.status in (Status.OK, Status.UNPARSED):
            row["score"] = self._score(result)
        if result.status is Status.OK:
            row.update(self._read(result))
        return row
