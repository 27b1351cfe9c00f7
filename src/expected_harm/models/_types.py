"""Value types shared by every backend: sampling settings, statuses and results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

Message = dict[str, str]
"""One chat message: ``{"role": "system" | "user" | "assistant", "content": "..."}``."""


class Status(StrEnum):
    """What happened to one model call. Only ``ok`` rows carry an answer to analyse.

    An ``error`` or a ``blocked`` row is never a refusal, a success or "safe": analyses report
    these rows separately instead of counting them.
    """

    OK = "ok"
    ERROR = "error"  # the call failed (after retries); ``error`` holds the message
    BLOCKED = "blocked"  # the provider declined to answer (e.g. a content filter)
    UNPARSED = "unparsed"  # the model answered, but not in the structure asked for


@dataclass(frozen=True)
class GenerateConfig:
    """Sampling settings. Every field is part of the cache key.

    Attributes:
        max_tokens: Upper bound on generated tokens.
        temperature: 0 gives greedy decoding, the default, so that reruns are reproducible.
        top_p: Nucleus-sampling mass.
        seed: Sampling seed, passed to backends that accept one.
        logprobs: Ask for per-token log-probabilities where the backend offers them.
        top_logprobs: How many alternatives to return per token (with ``logprobs``).
        stop: Strings that end generation.
        response_schema: A JSON schema the answer must follow. Backends that can constrain
            decoding (llama.cpp grammars, OpenAI structured outputs) enforce it; others ignore it,
            and the caller's parser decides (``unparsed`` when the answer does not fit).
    """

    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = 0
    logprobs: bool = False
    top_logprobs: int = 0
    stop: tuple[str, ...] = ()
    response_schema: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {self.max_tokens}")
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature must lie in [0, 2], got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must lie in (0, 1], got {self.top_p}")
        if not 0 <= self.top_logprobs <= 20:
            raise ValueError(f"top_logprobs must lie in [0, 20], got {self.top_logprobs}")
        object.__setattr__(self, "stop", tuple(self.stop))

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "stop": list(self.stop)}


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token, its log-probability and the most likely alternatives."""

    token: str
    logprob: float
    top: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """What a backend returns for one successful call."""

    text: str
    usage: Usage = Usage()
    logprobs: tuple[TokenLogprob, ...] | None = None
    finish_reason: str | None = None


@dataclass(frozen=True)
class ChatResult:
    """One row of a run: the answer (or why there is none) and where it came from.

    Attributes:
        model: The model spec string that produced it.
        key: Cache key of the request (identical requests share it).
        status: See :class:`Status`.
        text: The answer; empty unless ``status`` is ``ok``, ``blocked`` with a partial answer,
            or ``unparsed``.
        error: Why the call failed or was blocked, else None.
        usage: Token counts reported by the backend.
        logprobs: Per-token log-probabilities when asked for and available.
        cached: True when the answer came from the response cache, not a model call.
        parsed: The structured value when a parser was given and succeeded.
    """

    model: str
    key: str
    status: Status
    text: str = ""
    error: str | None = None
    usage: Usage = Usage()
    logprobs: tuple[TokenLogprob, ...] | None = None
    cached: bool = False
    parsed: Any = None

    @property
    def ok(self) -> bool:
        return self.status is Status.OK
