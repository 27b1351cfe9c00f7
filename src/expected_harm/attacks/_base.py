"""The attack interface, its registry, and the runner that turns attacks into one tidy frame."""

from __future__ import annotations

import inspect
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
    as_model,
    generate,
)
from expected_harm.runcard import record


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
        messages: The conversation whose answer is ``result`` (what the target last saw); empty
            for an outcome made of parts, whose conversations are the parts'.
        result: The target's final answer, with its status.
        queries: Target calls spent on this request (1 for single-turn attacks), parts included.
        attack_verdict: The verdict of the judge the attack itself consulted (PAIR), else NaN.
        history: Per-iteration notes for multi-turn attacks (attack prompt status, verdict).
        parts: The sub-tasks an attack split the request into, each with the outcome of
            attacking it (:class:`WrappingAttack`); empty for an attack on the request itself.
    """

    request: str
    messages: tuple[Message, ...]
    result: ChatResult
    queries: int = 1
    attack_verdict: float = math.nan
    history: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    parts: tuple[Part, ...] = ()


@dataclass(frozen=True)
class Part:
    """One sub-task of a request and the outcome of attacking it."""

    task: str
    outcome: AttackOutcome


class Attack(ABC):
    """A jailbreak method: requests in, the target's final answers out.

    Single-turn attacks rewrite each request into messages (:class:`PromptAttack`); multi-turn
    ones (PAIR) run a procedure against the target; wrapping ones send sub-tasks through another
    attack (:class:`WrappingAttack`). All end in one :class:`AttackOutcome` per request, so every
    later stage (judging, tables, figures) treats them alike.

    Three names, three jobs: ``key`` finds the attack (:func:`get_attack`), ``prompt_key`` finds
    its text in ``prompts/attacks.yaml``, ``label`` tells attacks apart in tables.

    Attributes:
        key: The registry key (set by :func:`register_attack`).
        prompt_key: The attack's entry in ``prompts/attacks.yaml``; ``key`` unless set.
        version: Version of the attack's prompt text.
        source: Where the method comes from (the paper to cite).
    """

    key: str = ""
    prompt_key: str = ""

    def __init__(self) -> None:
        self.prompt_key = self.prompt_key or self.key
        spec = load_attack_prompts()[self.prompt_key]
        self.version = str(spec["version"])
        self.source = " ".join(str(spec["source"]).split())

    @property
    def label(self) -> str:
        """What tables show: the key, and whatever tells two attacks of one key apart."""
        return self.key

    def describe(self) -> str:
        return f"{self.label} {self.version}"

    @abstractmethod
    def run(
        self, requests: Sequence[str], target: ChatModel, config: GenerateConfig
    ) -> list[AttackOutcome]:
        """Attack ``target`` with every request; one outcome per request, in order.

        Model calls use the run's cache and progress setting (``models.run_settings``).
        """


class PromptAttack(Attack):
    """A single-turn attack: each request becomes a list of chat messages, sent once."""

    @abstractmethod
    def messages(self, request: str) -> list[Message]:
        """The messages that carry ``request`` to the target."""

    def run(self, requests, target, config):
        conversations = [self.messages(r) for r in requests]
        results = generate(target, conversations, config, desc=f"{self.label} → {target.spec}")
        return [
            AttackOutcome(request=r, messages=tuple(m), result=res)
            for r, m, res in zip(requests, conversations, results)
        ]


#: Every attack by key: a factory taking the optional argument after ":" and keyword options.
ATTACKS: dict[str, Callable[..., Attack]] = {}


def register_attack(key: str) -> Callable[[Callable[..., Attack]], Callable[..., Attack]]:
    """Decorator: make an attack factory (usually the class, whose ``key`` it sets) available
    under ``key``."""

    def inner(factory: Callable[..., Attack]) -> Callable[..., Attack]:
        if key in ATTACKS:
            raise ValueError(f"an attack named {key!r} is already registered")
        if isinstance(factory, type):
            factory.key = key
        ATTACKS[key] = factory
        return factory

    return inner


def _factory(key: str) -> Callable[..., Attack]:
    try:
        return ATTACKS[key]
    except KeyError:
        raise ValueError(f"unknown attack {key!r}; valid attacks: {', '.join(ATTACKS)}") from None


def get_attack(spec: str, **options: Any) -> Attack:
    """An attack by spec: ``key`` or ``key:argument`` (e.g. ``inthewild:31``, a template id).

    Args:
        spec: The attack's registry key, optionally with an argument.
        **options: Keyword options of that attack (e.g. PAIR's ``attacker`` and ``iterations``,
            a wrapping attack's ``inner``).

    Raises:
        ValueError: For an unknown key (lists the valid ones), or options the attack refuses.
    """
    key, _, argument = spec.partition(":")
    factory = _factory(key)
    attack = factory(argument, **options) if argument else factory(**options)
    record("attack", name=spec, version=attack.version)
    return attack


def get_attacks(specs: Sequence[str], **options: Any) -> list[Attack]:
    """The attacks a notebook's ``attacks`` parameter lists, each given the options it takes.

    Options are offered to every attack and each takes those its factory names (PAIR takes
    ``attacker``, ``judge``, ``iterations`` and ``seed``; a template attack takes none), so one
    call serves any mix of attacks. A None option counts as not given.

    Args:
        specs: Attack specs, as :func:`get_attack` reads them.
        **options: Notebook parameters by option name.

    Raises:
        ValueError: For no specs, a spec given twice, an unknown attack, an option no attack
            takes (a misspelling), or an option an attack needs and was not given.

    Examples:
        >>> [a.label for a in get_attacks(["direct", "style_injection"], judge=None)]
        ['direct', 'style_injection']
    """
    if isinstance(specs, str) or not specs:
        raise ValueError(f"attacks must be a non-empty list of attack specs, got {specs!r}")
    repeated = sorted({s for s in specs if list(specs).count(s) > 1})
    if repeated:
        raise ValueError(f"attack spec(s) listed twice: {', '.join(repeated)}")
    known = set().union(*(_options_of(factory)[0] for factory in ATTACKS.values()))
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"no attack takes the option(s) {', '.join(unknown)}")
    given = {name: value for name, value in options.items() if value is not None}
    attacks = []
    for spec in specs:
        taken, required = _options_of(_factory(spec.partition(":")[0]))
        missing = sorted(required - set(given))
        if missing:
            raise ValueError(f"attack {spec!r} needs {', '.join(missing)}; none given")
        attacks.append(get_attack(spec, **{k: v for k, v in given.items() if k in taken}))
    return attacks


def _options_of(factory: Callable[..., Attack]) -> tuple[set[str], set[str]]:
    """The keyword options a factory takes, and the keyword-only ones without a default (those
    it needs; a positional one may come from the spec's argument)."""
    parameters = inspect.signature(factory).parameters.values()
    taken = {p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    needed = {p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.default is p.empty}
    return taken, needed


def run_attack(
    attack: Attack,
    requests: Sequence[str],
    target: ChatModel | str,
    config: GenerateConfig,
) -> pd.DataFrame:
    """Run one attack on one target (a ChatModel or its spec); one row per request, in order.

    Columns: ``attack`` (the attack's label), ``target``, ``request_index``, ``status`` (the
    target call's), ``response``, ``error``, ``queries``, ``attack_verdict``, ``attack_prompt``
    (the last message the target saw), ``parts`` (sub-tasks the request was split into, 0 when
    it was attacked whole) and ``parts_missing`` (those of them without an ``ok`` answer).
    Prompts and answers stay in the frame for judging; the book redacts them.
    """
    target = as_model(target)
    outcomes = attack.run(list(requests), target, config)
    return pd.DataFrame(
        {
            "attack": attack.label,
            "target": target.spec,
            "request_index": range(len(outcomes)),
            "status": [o.result.status.value for o in outcomes],
            "response": [o.result.text for o in outcomes],
            "error": [o.result.error for o in outcomes],
            "queries": [o.queries for o in outcomes],
            "attack_verdict": [o.attack_verdict for o in outcomes],
            "attack_prompt": [o.messages[-1]["content"] if o.messages else "" for o in outcomes],
            "parts": [len(o.parts) for o in outcomes],
            "parts_missing": [sum(not p.outcome.result.ok for p in o.parts) for o in outcomes],
        }
    )
