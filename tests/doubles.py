"""Test doubles, named as such: they stand in for real backends in unit tests only."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from expected_harm.guards import Guard
from expected_harm.models import ChatModel, GenerateConfig, Message, Reply, Status, Usage

Script = Callable[[list[Message], int], Reply]
"""Given the messages and how many times this prompt was already tried, reply or raise."""


def echo(messages: list[Message], attempt: int) -> Reply:
    """Answer with the last user message, upper-cased."""
    text = messages[-1]["content"].upper()
    return Reply(text=text, usage=Usage(len(text), len(text)), finish_reason="stop")


class ScriptedChatModel(ChatModel):
    """A ChatModel whose answers come from a script; it counts calls and concurrency.

    Args:
        script: Produces the reply (or raises) for each call.
        max_concurrency: Passed to :class:`ChatModel`.
        delay: Seconds each call takes, so that concurrency can be observed.
    """

    backend = "scripted"

    def __init__(self, script: Script = echo, *, max_concurrency: int = 4, delay: float = 0.0):
        super().__init__("scripted-model", endpoint="test-double", max_concurrency=max_concurrency)
        self.script = script
        self.delay = delay
        self.calls: list[str] = []  # last user message of every call, in call order
        self.in_flight = 0
        self.max_in_flight = 0

    async def call(self, messages: list[Message], config: GenerateConfig) -> Reply:
        prompt = messages[-1]["content"]
        attempt = self.calls.count(prompt)
        self.calls.append(prompt)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            return self.script(messages, attempt)
        finally:
            self.in_flight -= 1


class KeywordGuard(Guard):
    """A model-free guard that flags any input containing a keyword; a test double.

    Scripted failures: an input containing ``guard-down`` is an ``error`` row and one containing
    ``guard-garbled`` an ``unparsed`` row, as a real guard's failed call or unreadable answer.

    Args:
        model: None; the double calls no model.
        keyword: The word that gets an input flagged (category ``"K1"``).
    """

    name = "keyword_test_double"
    version = "test-double"
    needs_model = False

    def __init__(self, model: ChatModel | None = None, *, keyword: str = "comply") -> None:
        super().__init__(model)
        self.keyword = keyword
        self.seen: list[list[Message]] = []  # every conversation screened, in order

    def _screen(self, conversations):
        rows = []
        for messages in conversations:
            self.seen.append(messages)
            text = " ".join(m["content"] for m in messages)
            row = {"status": Status.OK.value, "flagged": float(self.keyword in text),
                   "categories": "K1" if self.keyword in text else "", "score": float("nan"),
                   "raw": "unsafe" if self.keyword in text else "safe", "error": None}
            if "guard-down" in text:
                row = {"status": Status.ERROR.value, "flagged": float("nan"), "categories": None,
                       "score": float("nan"), "raw": "", "error": "RuntimeError: guard down"}
            elif "guard-garbled" in text:
                row = {**row, "status": Status.UNPARSED.value, "flagged": float("nan"),
                       "categories": None, "raw": "maybe?", "error": "unparsed: not safe/unsafe"}
            rows.append(row)
        return rows


class BatchingChatModel(ScriptedChatModel):
    """A ScriptedChatModel that also answers in batches, as the embedded models do; a test double.

    Args:
        size: Requests per :meth:`call_batch` (its ``batch_size`` for every config).
        fail_batches: Raise from :meth:`call_batch`, so the runner's fallback can be observed.
    """

    def __init__(self, size: int = 3, *, fail_batches: bool = False) -> None:
        super().__init__(max_concurrency=1)
        self.size = size
        self.fail_batches = fail_batches
        self.batches: list[list[str]] = []  # last user message of each request, per batch

    def batch_size(self, config: GenerateConfig) -> int:
        return self.size

    async def call_batch(self, requests: list[list[Message]],
                         config: GenerateConfig) -> list[Reply]:
        self.batches.append([m[-1]["content"] for m in requests])
        if self.fail_batches:
            raise RuntimeError("the batch fell over")
        return [self.script(m, 0) for m in requests]
