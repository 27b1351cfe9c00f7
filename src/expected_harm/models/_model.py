"""The one interface every model role goes through: target, attacker, judge, rater, guard."""

from __future__ import annotations

from abc import ABC, abstractmethod

from expected_harm.models._types import GenerateConfig, Message, Reply


class TransientError(Exception):
    """A failure worth retrying: a timeout, a dropped connection, HTTP 429 or 5xx.

    Args:
        message: What went wrong, kept in the ``error`` column if every retry fails.
        retry_after: Seconds the server asked us to wait (its ``Retry-After``), if it said.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BlockedError(Exception):
    """The provider declined to answer (a content filter or policy block); not retried."""


class ModelConfigError(ValueError):
    """A model spec cannot be used as given: unknown form, unknown model, missing key."""


class ChatModel(ABC):
    """Chat messages in, a :class:`Reply` out.

    Subclasses implement :meth:`call` for a single request and raise :class:`TransientError`
    for failures worth retrying and :class:`BlockedError` for provider blocks; any other
    exception becomes a permanent ``error`` row. Retries, concurrency, caching and progress
    live in :mod:`expected_harm.models._runner`, so every backend gets them the same way.

    Attributes:
        backend: Backend name, the spec prefix (``embedded``, ``openai``, ...).
        model_id: The model's name at that backend.
        endpoint: Where requests go; calls to one endpoint share a concurrency limit.
        revision: Anything besides the name that changes answers (weights version, runtime).
        max_concurrency: How many calls may be in flight at once.
    """

    backend: str = ""

    def __init__(
        self, model_id: str, *, endpoint: str, revision: str = "", max_concurrency: int = 1
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.model_id = model_id
        self.endpoint = endpoint
        self.revision = revision
        self.max_concurrency = max_concurrency

    @property
    def spec(self) -> str:
        """The spec string that names this model in tables and figure captions."""
        return f"{self.backend}:{self.model_id}"

    def identity(self) -> dict[str, str]:
        """What identifies this model in the cache key (never a key or a timeout)."""
        return {
            "backend": self.backend,
            "model": self.model_id,
            "endpoint": self.endpoint,
            "revision": self.revision,
        }

    @abstractmethod
    async def call(self, messages: list[Message], config: GenerateConfig) -> Reply:
        """Send one request and return the reply."""

    def batch_size(self, config: GenerateConfig) -> int:
        """How many requests with ``config`` one :meth:`call_batch` takes (1: no batching)."""
        return 1

    async def call_batch(self, requests: list[list[Message]],
                         config: GenerateConfig) -> list[Reply]:
        """Answer several requests in one go, one reply each, in order (where batch_size > 1).

        A backend that decodes sequences together (the embedded models) implements this; an
        exception fails the whole batch, and the runner then sends its requests one by one.
        """
        raise NotImplementedError(f"{type(self).__name__} does not batch requests")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r}, max_concurrency={self.max_concurrency})"
