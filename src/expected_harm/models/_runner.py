"""Running many requests: cache first, then async calls under a concurrency limit, with retries.

Every request ends as exactly one :class:`ChatResult`, in input order. Answers are written to the
cache as they arrive, so an interrupted run resumes where it stopped; failures become ``error``
rows (never cached, so the next run retries them) and are summarised in one log line.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import sys
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import pandas as pd
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base, wait_exponential_jitter
from tqdm.std import tqdm

from expected_harm.models._cache import cache_key
from expected_harm.models._context import current_settings, run_settings
from expected_harm.models._model import BlockedError, ChatModel, TransientError
from expected_harm.models._types import ChatResult, GenerateConfig, Message, Reply, Status
from expected_harm.runcard import record

log = logging.getLogger("expected_harm.models")

Prompt = str | list[Message]
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before a request becomes an ``error`` row.

    Attributes:
        attempts: Total tries per request, the first included.
        initial_wait: Seconds before the first retry; doubles each time, with jitter.
        max_wait: Cap on any single wait, including a server's ``Retry-After``.
    """

    attempts: int = 5
    initial_wait: float = 1.0
    max_wait: float = 60.0


class _WaitRetryAfter(wait_base):
    """Wait what the server asked for (``Retry-After``), else back off exponentially."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._backoff = wait_exponential_jitter(
            multiplier=policy.initial_wait, max=policy.max_wait, jitter=policy.initial_wait
        )

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, TransientError) and error.retry_after is not None:
            return min(error.retry_after, self._policy.max_wait)
        return self._backoff(retry_state)


def as_messages(prompt: Prompt) -> list[Message]:
    """A bare string is one user turn; a message list passes through unchanged."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return list(prompt)


async def agenerate(
    model: ChatModel,
    prompts: Sequence[Prompt],
    config: GenerateConfig | None = None,
    *,
    retry: RetryPolicy | None = None,
    parser: Callable[[str], Any] | None = None,
    desc: str | None = None,
) -> list[ChatResult]:
    """Answer every prompt with ``model``; see :func:`generate` (this is its async form)."""
    config = config or GenerateConfig()
    retry = retry or RetryPolicy()
    settings = current_settings()
    cache = settings.response_cache()
    conversations = [as_messages(p) for p in prompts]
    identity = model.identity()
    keys = [cache_key(identity, m, config) for m in conversations]

    results: list[ChatResult | None] = [cache.get(k) for k in keys]
    n_cached = sum(r is not None for r in results)
    # Identical requests in one batch are sent once and share the answer.
    pending: dict[str, list[int]] = {}
    for i, (key, result) in enumerate(zip(keys, results)):
        if result is None:
            pending.setdefault(key, []).append(i)

    bar = tqdm(
        total=len(prompts),
        initial=n_cached,
        desc=desc or model.spec,
        unit="call",
        disable=not settings.progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    limit = asyncio.Semaphore(model.max_concurrency)

    def store(key: str, indices: list[int], result: ChatResult) -> None:
        messages = conversations[indices[0]]
        cache.put(result, {"identity": identity, "messages": messages, "config": config.as_dict()})
        for i in indices:
            results[i] = result
        bar.update(len(indices))

    async def run_one(key: str, indices: list[int]) -> None:
        async with limit:
            result = await _call_with_retries(model, key, conversations[indices[0]], config, retry)
        store(key, indices, result)

    async def run_batch(chunk: list[tuple[str, list[int]]]) -> None:
        try:
            replies = await model.call_batch([conversations[idx[0]] for _, idx in chunk], config)
        except Exception as error:  # the batch failed as a whole: each request on its own
            log.warning("%s: a batch of %d failed (%s); sending them one by one",
                        model.spec, len(chunk), error)
            await asyncio.gather(*(run_one(k, idx) for k, idx in chunk))
            return
        for (key, indices), reply in zip(chunk, replies, strict=True):
            store(key, indices, _result(model, key, reply))

    size = model.batch_size(config)
    try:
        if size > 1:
            # Each batch is cached as it ends, so an interrupted run loses one batch at most.
            # Similar lengths batch together: a batch pads every prompt to its longest.
            items = sorted(pending.items(),
                           key=lambda item: len(json.dumps(conversations[item[1][0]])))
            for start in range(0, len(items), size):
                await run_batch(items[start : start + size])
        else:
            await asyncio.gather(*(run_one(k, idx) for k, idx in pending.items()))
    finally:
        bar.close()

    done = [r for r in results if r is not None]
    if parser is not None:
        done = [_parse(r, parser) for r in done]
    _log_summary(model, done, n_cached)
    record("calls", model=model.spec, revision=identity.get("revision") or "",
           requests=len(done), cached=n_cached, sent=len(pending),
           failed=sum(r.status is not Status.OK for r in done))
    return done


def generate(
    model: ChatModel,
    prompts: Sequence[Prompt],
    config: GenerateConfig | None = None,
    *,
    retry: RetryPolicy | None = None,
    parser: Callable[[str], Any] | None = None,
    desc: str | None = None,
) -> list[ChatResult]:
    """Answer every prompt with ``model``, one :class:`ChatResult` per prompt, in order.

    Works from scripts and from inside Jupyter (whose event loop is already running). The
    response cache and the progress bar are the run's (:func:`run_settings`).

    Args:
        model: Any :class:`ChatModel`.
        prompts: Strings (one user turn each) or message lists.
        config: Sampling settings; part of the cache key.
        retry: Retry policy for transient failures.
        parser: Turns answer text into a structured value (``ChatResult.parsed``); when it
            raises ``ValueError`` the row's status becomes ``unparsed``. Parsing happens after
            the cache, so a new parser never costs a model call.
        desc: Label for the progress bar (defaults to the model spec).

    Returns:
        One result per prompt; failed calls are ``error`` rows, never dropped.
    """
    return run_sync(agenerate(model, prompts, config, retry=retry, parser=parser, desc=desc))


def chat(
    model: ChatModel, prompt: Prompt, config: GenerateConfig | None = None, **kw: Any
) -> ChatResult:
    """Answer a single prompt (through the same cache and retries as :func:`generate`), no bar."""
    with run_settings(progress=False):
        return generate(model, [prompt], config, **kw)[0]


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion, also where an event loop is already running (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        loop_running = False
    else:
        loop_running = True
    if not loop_running:
        return asyncio.run(coroutine)
    # A new thread starts with an empty context: carry the caller's (its run settings) over.
    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(context.run, asyncio.run, coroutine).result()


def to_frame(results: Sequence[ChatResult]) -> pd.DataFrame:
    """Results as a tidy table (one row per request) for analysis and reporting."""
    return pd.DataFrame(
        {
            "model": [r.model for r in results],
            "key": [r.key for r in results],
            "status": [r.status.value for r in results],
            "text": [r.text for r in results],
            "error": [r.error for r in results],
            "prompt_tokens": [r.usage.prompt_tokens for r in results],
            "completion_tokens": [r.usage.completion_tokens for r in results],
            "cached": [r.cached for r in results],
            "parsed": [r.parsed for r in results],
        }
    )


def summarize(results: Sequence[ChatResult]) -> str:
    """One line: how many rows of each status, and the first error message if any."""
    counts = Counter(r.status.value for r in results)
    parts = [f"{counts[s.value]} {s.value}" for s in Status if counts[s.value]]
    line = f"{len(results)} requests: " + ", ".join(parts or ["none"])
    first_error = next((r.error for r in results if r.status is Status.ERROR), None)
    if first_error:
        line += f"; first error: {first_error}"
    return line


async def _call_with_retries(
    model: ChatModel,
    key: str,
    messages: list[Message],
    config: GenerateConfig,
    policy: RetryPolicy,
) -> ChatResult:
    try:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(policy.attempts),
            wait=_WaitRetryAfter(policy),
            reraise=True,
        ):
            with attempt:
                reply = await model.call(messages, config)
    except TransientError as error:
        message = f"{error} (gave up after {policy.attempts} attempts)"
        return ChatResult(model=model.spec, key=key, status=Status.ERROR, error=message)
    except BlockedError as error:
        return ChatResult(model=model.spec, key=key, status=Status.BLOCKED, error=str(error))
    except Exception as error:  # any other failure is permanent for this request: record it
        message = f"{type(error).__name__}: {error}"
        return ChatResult(model=model.spec, key=key, status=Status.ERROR, error=message)
    return _result(model, key, reply)


def _result(model: ChatModel, key: str, reply: Reply) -> ChatResult:
    """The row of one reply: ``ok``, or ``blocked`` where the provider's filter stopped it."""
    status = Status.BLOCKED if reply.finish_reason == "content_filter" else Status.OK
    return ChatResult(
        model=model.spec,
        key=key,
        status=status,
        text=reply.text,
        error="provider content filter" if status is Status.BLOCKED else None,
        usage=reply.usage,
        logprobs=reply.logprobs,
    )


def _parse(result: ChatResult, parser: Callable[[str], Any]) -> ChatResult:
    if result.status is not Status.OK:
        return result
    try:
        return replace(result, parsed=parser(result.text))
    except ValueError as error:
        return replace(result, status=Status.UNPARSED, error=f"unparsed: {error}")


def _log_summary(model: ChatModel, results: Sequence[ChatResult], n_cached: int) -> None:
    line = f"{model.spec}: {summarize(results)} ({n_cached} from cache)"
    if any(r.status is not Status.OK for r in results):
        log.warning(line)
    else:
        log.info(line)
