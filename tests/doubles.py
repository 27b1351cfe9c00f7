"""Test doubles, named as such: they stand in for real backends in unit tests only."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from expected_harm.models import ChatModel, GenerateConfig, Message, Reply, Usage

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
