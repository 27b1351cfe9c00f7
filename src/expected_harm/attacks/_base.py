"""The attack interface, its registry, and the runner that turns attacks into one tidy frame."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd
import yaml

from expected_harm.models import (
    ChatModel,
    ChatResult,
    GenerateConfig,
    Message,
    ResponseCache,
    generate,
)


@cache
def load_attack_prompts() -> dict[str, dict[str, Any]]:
    """The attack templates of ``prompts/attacks.yaml``, keyed by attack name."""
    text = resources.files("expected_harm").joinpath("prompts/attacks.yaml").read_text("utf-8")
    return yaml.safe_load(text)


@dataclass(frozen=True)
class AttackOutcome:
    """What one attack on one request ended with.

    Attributes:
        request: The original harmful request.
        messages: The conversation whose answer is ``result`` (what the target last saw).
        result: The target's final answer, with its status.
        queries: Target calls spent on this request (1 for single-turn attacks).
        attack_verdict: The verdict of the judge the attack itself consulted (PAIR), else NaN.
        history: Per-iteration notes for multi-turn attacks (attack prompt status, verdict).
    """

    request: str
    messages: tuple[Message, ...]
    result: ChatResult
    queries: int = 1
    attack_verdict: float = math.nan
    history: tuple[dict[str, Any], ...] = field(default_factory=tuple)


class Attack(ABC):
    """A jailbreak method: requests in, the target's final answers out.

    Single-turn attacks rewrite each request into messages (:class:`PromptAttack`); multi-turn
    ones (PAIR) run a procedure against the target. Both end in one :class:`AttackOutcome` per
    request, so every later stage (judging, tables, figures) treats them alike.

    Attributes:
        name: The registry name, as tables show it.
        version: Version of the attack's prompt text.
        source: Where the method comes from (the paper to cite).
    """

    name: str = ""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or self.name
        spec = load_attack_prompts()[self.name.split(":")[0]]
        self.version = str(spec["version"])
        self.source = " ".join(str(spec["source"]).split())

    def describe(self) -> str:
        return f"{self.name} {self.version}"

    @abstractmethod
    def run(
        self,
        requests: Sequence[str],
        target: ChatModel,
        config: GenerateConfig,
        *,
        cache: ResponseCache | None = None,
        progress: bool = True,
    ) -> list[AttackOutcome]:
        """Attack ``target`` with every request; one outcome per request, in order."""


class PromptAttack(Attack):
    """A single-turn attack: each request becomes a list of chat messages, sent once."""

    @abstractmethod
    def messages(self, request: str) -> list[Message]:
        """The messages that carry ``request`` to the target."""

    def run(self, requests, target, config, *, cache=None, progress=True):
        conversations = [self.messages(r) for r in requests]
        results = generate(
            target,
            conversations,
            config,
            cache=cache,
            progress=progress,
            desc=f"{self.name} → {target.spec}",
        )
        return [
            AttackOutcome(request=r, messages=tuple(m), result=res)
            for r, m, res in zip(requests, conversations, results)
        ]


#: Every attack by name: a factory taking the optional argument after ":" and keyword options.
ATTACKS: dict[str, Callable[..., Attack]] = {}


def register_attack(name: str) -> Callable[[Callable[..., Attack]], Callable[..., Attack]]:
    """Decorator: make an attack factory (usually the class) available under ``name``."""

    def inner(factory: Callable[..., Attack]) -> Callable[..., Attack]:
        if name in ATTACKS:
            raise ValueError(f"an attack named {name!r} is already registered")
        ATTACKS[name] = factory
        return factory

    return inner


def get_attack(spec: str, **options: Any) -> Attack:
    """An attack by spec: ``name`` or ``name:argument`` (e.g. ``inthewild:31``, a template id).

    Args:
        spec: The attack's registry name, optionally with an argument.
        **options: Keyword options of that attack (e.g. PAIR's ``attacker`` and ``iterations``).

    Raises:
        ValueError: For an unknown name (lists the valid ones), or options the attack refuses.
    """
    name, _, argument = spec.partition(":")
    try:
        factory = ATTACKS[name]
    except KeyError:
        raise ValueError(f"unknown attack {name!r}; valid attacks: {', '.join(ATTACKS)}") from None
    return factory(argument, **options) if argument else factory(**options)


def run_attack(
    attack: Attack,
    requests: Sequence[str],
    target: ChatModel,
    config: GenerateConfig,
    *,
    cache: ResponseCache | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Run one attack on one target; one row per request, in order.

    Columns: ``attack``, ``target``, ``request_index``, ``status`` (the target call's),
    ``response``, ``error``, ``queries``, ``attack_verdict``, ``attack_prompt`` (the last message
    the target saw). Prompts and answers stay in the frame for judging; the book redacts them.
    """
    outcomes = attack.run(list(requests), target, config, cache=cache, progress=progress)
    return pd.DataFrame(
        {
            "attack": attack.name,
            "target": target.spec,
            "request_index": range(len(outcomes)),
            "status": [o.result.status.value for o in outcomes],
            "response": [o.result.text for o in outcomes],
            "error": [o.result.error for o in outcomes],
            "queries": [o.queries for o in outcomes],
            "attack_verdict": [o.attack_verdict for o in outcomes],
            "attack_prompt": [o.messages[-1]["content"] if o.messages else "" for o in outcomes],
        }
    )
