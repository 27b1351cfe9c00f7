"""OpenAI's moderation endpoint (``omni-moderation-latest``) as a guard, cached per input text."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import sys
from typing import TYPE_CHECKING, Any

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt
from tqdm.std import tqdm

from expected_harm.guards._base import Guard, register_guard
from expected_harm.guards._model_guard import screened_turns
from expected_harm.models import (
    BlockedError,
    ChatModel,
    ChatResult,
    GenerateConfig,
    ModelConfigError,
    RetryPolicy,
    Status,
    TransientError,
    cache_key,
    summarize,
)
from expected_harm.models._context import current_settings
from expected_harm.models._openai import DEFAULT_KEY_VAR, OPENAI_BASE_URL, _classify
from expected_harm.models._runner import _WaitRetryAfter, run_sync

if TYPE_CHECKING:
    import httpx
    import openai

log = logging.getLogger("expected_harm.models")

#: The sampling settings in the cache key: the endpoint has none, so the defaults stand in.
_NO_SAMPLING = GenerateConfig()


def parse_moderation(text: str) -> dict[str, Any]:
    """One moderation result (its JSON): ``flagged``, the ``categories`` set, the top ``score``.

    ``flagged`` must be a boolean, ``categories`` a mapping of names to booleans and
    ``category_scores`` one of names to numbers; anything else is out of format, never safe.
    ``categories`` lists the names that are true, sorted (the order of a result's keys is the
    SDK's); ``score`` is the largest category score (NaN for none).

    Raises:
        ValueError: Saying what is missing or out of format.

    Examples:
        >>> parse_moderation('{"flagged": true, "categories": {"hate": false, "violence": true,'
        ...                  ' "illicit": true}, "category_scores": {"hate": 0.1, "violence": 0.7,'
        ...                  ' "illicit": 0.9}}')
        {'flagged': True, 'categories': 'illicit,violence', 'score': 0.9}
        >>> parse_moderation('{"categories": {}, "category_scores": {}}')
        Traceback (most recent call last):
        ValueError: no boolean 'flagged' in the result
    """
    try:
        result = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error}") from None
    if not isinstance(result, dict) or not isinstance(result.get("flagged"), bool):
        raise ValueError("no boolean 'flagged' in the result")
    categories = result.get("categories")
    if not isinstance(categories, dict) or not all(isinstance(v, bool)
                                                   for v in categories.values()):
        raise ValueError("'categories' is not a mapping of names to booleans")
    scores = result.get("category_scores")
    if not isinstance(scores, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in scores.values()
    ):
        raise ValueError("'category_scores' is not a mapping of names to numbers")
    return {
        "flagged": result["flagged"],
        "categories": ",".join(sorted(name for name, on in categories.items() if on)),
        "score": float(max(scores.values(), default=math.nan)),
    }


@register_guard("openai_moderation")
class OpenAIModeration(Guard):
    """OpenAI's moderation endpoint, or a server that speaks its API, as a deployed input filter.

    Each input is sent as one text: a conversation's user and assistant turns
    (:func:`screened_turns`, no system prompt) joined with a blank line, as a deployer who
    checks the conversation so far sends it; the endpoint gives one verdict per text, not per
    turn. ``flagged`` is the endpoint's own ``flagged``, ``categories`` the names it set true
    (``"illicit,violence"``), ``score`` the largest category score and ``raw`` the result as
    compact JSON. A failed call is an ``error`` row and a refused one (HTTP 400 with a
    content-filter code) ``blocked``, as for chat models; a result without a boolean
    ``flagged`` is ``unparsed``. None of these is a pass.

    Requests carry up to ``batch_size`` texts; an HTTP 400 on a batch of several is resent one
    text at a time, so that a rejected or blocked text does not take its batch with it. Every
    result is kept in the run's response cache under (endpoint, moderation model, text), with
    the chat models' answers, so a repeated screen sends nothing and an interrupted one resumes.
    The API key is read from ``OPENAI_API_KEY`` only when a text has to be sent, and is never
    stored.

    Args:
        model: None; the guard calls an endpoint, not a chat model.
        moderation_model: The moderation model's name (``get_guard``'s ``model`` is the chat
            model, which this guard has none of).
        base_url: The API's ``/v1`` root; defaults to ``$OPENAI_BASE_URL``, else OpenAI's.
        batch_size: Texts per request.
        max_concurrency: Requests in flight at once.
        timeout: Seconds before one request counts as timed out (and is retried).
        retry: Retry policy for 429s, 5xx and dropped connections.
        transport: An httpx transport for the requests (a proxy's; a test double's in unit
            tests); None uses the SDK's own HTTP client.
    """

    needs_model = False

    def __init__(
        self,
        model: ChatModel | None = None,
        *,
        moderation_model: str = "omni-moderation-latest",
        base_url: str | None = None,
        batch_size: int = 32,
        max_concurrency: int = 4,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(model)
        if batch_size < 1 or max_concurrency < 1:
            raise ValueError(f"batch_size and max_concurrency must be at least 1, got "
                             f"{batch_size} and {max_concurrency}")
        self.moderation_model = moderation_model
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL
        self.base_url = base_url.rstrip("/")
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.transport = transport

    @property
    def version(self) -> str:
        return self.moderation_model

    @property
    def spec(self) -> str:
        """The endpoint as the ``guard_model`` column and the cache name it."""
        return f"openai-moderation:{self.moderation_model}@{self.base_url}"

    def describe(self) -> str:
        return f"{self.name} {self.version} at {self.base_url}"

    def identity(self) -> dict[str, str]:
        """What identifies the endpoint in the cache key (never the key)."""
        return {"backend": "openai-moderation", "model": self.moderation_model,
                "endpoint": self.base_url, "revision": ""}

    def _frame(self, rows, columns):
        frame = super()._frame(rows, columns)
        frame["guard_model"] = self.spec
        return frame

    def _screen(self, conversations):
        texts = ["\n\n".join(t["content"] for t in screened_turns(c)) for c in conversations]
        results = run_sync(self._amoderate(texts))
        return [self._row(result) for result in results]

    async def _amoderate(self, texts: list[str]) -> list[ChatResult]:
        """One result per text: from the cache, else from the endpoint, stored as it arrives."""
        settings = current_settings()
        cache = settings.response_cache()
        keys = [self._key(text) for text in texts]
        found = {key: result for key in dict.fromkeys(keys)
                 if (result := cache.get(key)) is not None}
        n_cached = sum(key in found for key in keys)
        pending = [(key, text) for key, text in dict(zip(keys, texts)).items() if key not in found]
        if pending:
            api_key = os.environ.get(DEFAULT_KEY_VAR)
            if not api_key:
                raise ModelConfigError(
                    f"environment variable {DEFAULT_KEY_VAR} is not set; export your API key "
                    f"there (keys are read from the environment only, never from notebooks)")
            bar = tqdm(total=len(pending), desc=f"screening with {self.spec}", unit="text",
                       disable=not settings.progress, file=sys.stderr, dynamic_ncols=True)
            limit = asyncio.Semaphore(self.max_concurrency)

            async def run_batch(client: openai.AsyncOpenAI, batch: list[tuple[str, str]]) -> None:
                async with limit:
                    results = await self._send(client, batch, api_key)
                for (key, text), result in zip(batch, results):
                    cache.put(result, {"identity": self.identity(), "input": text})
                    found[key] = result
                bar.update(len(batch))

            batches = [pending[i:i + self.batch_size]
                       for i in range(0, len(pending), self.batch_size)]
            try:
                async with self._client(api_key) as client:
                    await asyncio.gather(*(run_batch(client, b) for b in batches))
            finally:
                bar.close()
        results = [found[key] for key in keys]
        line = f"{self.spec}: {summarize(results)} ({n_cached} from cache)"
        log.log(logging.INFO if all(r.ok for r in results) else logging.WARNING, line)
        return results

    def _key(self, text: str) -> str:
        return cache_key(self.identity(), [{"role": "user", "content": text}], _NO_SAMPLING)

    def _client(self, api_key: str) -> openai.AsyncOpenAI:
        import openai

        http_client = None
        if self.transport is not None:
            import httpx

            http_client = httpx.AsyncClient(transport=self.transport)
        return openai.AsyncOpenAI(api_key=api_key, base_url=self.base_url, max_retries=0,
                                  timeout=self.timeout, http_client=http_client)

    async def _send(
        self, client: openai.AsyncOpenAI, batch: list[tuple[str, str]], api_key: str
    ) -> list[ChatResult]:
        """Results for one batch of (key, text); a failure is a row per text, never raised."""
        import openai

        def failed(status: Status, message: str) -> list[ChatResult]:
            message = message.replace(api_key, f"<{DEFAULT_KEY_VAR}>")
            return [ChatResult(self.spec, key, status, error=message) for key, _ in batch]

        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(TransientError),
                stop=stop_after_attempt(self.retry.attempts),
                wait=_WaitRetryAfter(self.retry),
                reraise=True,
            ):
                with attempt:
                    response = await self._request(client, [text for _, text in batch])
        except openai.BadRequestError as error:
            if len(batch) > 1:  # one text at a time, within this batch's turn
                return [r for item in batch for r in await self._send(client, [item], api_key)]
            reason = _classify(error, DEFAULT_KEY_VAR)
            blocked = isinstance(reason, BlockedError)
            return failed(Status.BLOCKED if blocked else Status.ERROR, str(reason))
        except TransientError as error:
            return failed(Status.ERROR, f"{error} (gave up after {self.retry.attempts} attempts)")
        except Exception as error:  # any other failure is permanent for this batch: record it
            return failed(Status.ERROR, f"{type(error).__name__}: {error}")
        results = getattr(response, "results", None) or []
        if len(results) != len(batch):
            return failed(Status.ERROR, f"{len(batch)} texts sent, {len(results)} results returned")
        return [
            ChatResult(self.spec, key, Status.OK,
                       text=json.dumps(result.to_dict(mode="json", warnings=False),
                                       separators=(",", ":")))
            for (key, _), result in zip(batch, results)
        ]

    async def _request(self, client: openai.AsyncOpenAI, texts: list[str]) -> Any:
        """One request; HTTP errors other than a 400 become the models' error classes."""
        import openai

        try:
            return await client.moderations.create(model=self.moderation_model, input=texts)
        except openai.APIConnectionError as error:  # includes timeouts
            raise TransientError(f"{type(error).__name__}: {error} ({self.base_url})") from error
        except openai.BadRequestError:
            raise  # the caller splits the batch or records the block
        except openai.APIStatusError as error:
            raise _classify(error, DEFAULT_KEY_VAR) from error

    def _row(self, result: ChatResult) -> dict[str, Any]:
        """Only an ``ok`` result that parses has a verdict; the rest keep their status."""
        row = {"status": result.status.value, "flagged": math.nan, "categories": None,
               "score": math.nan, "raw": result.text, "error": result.error}
        if result.status is Status.OK:
            try:
                verdict = parse_moderation(result.text)
            except ValueError as error:
                row.update(status=Status.UNPARSED.value, error=f"unparsed: {error}")
            else:
                row.update(verdict, flagged=float(verdict["flagged"]))
        return row
