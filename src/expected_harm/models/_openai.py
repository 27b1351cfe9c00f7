"""OpenAI and OpenAI-compatible servers (vLLM, llama.cpp's server, Ollama, hosted gateways)."""

from __future__ import annotations

import asyncio
import email.utils
import os
import re
import time
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from expected_harm.models._model import BlockedError, ChatModel, ModelConfigError, TransientError
from expected_harm.models._spec import Backend, ModelSpec, register_backend
from expected_harm.models._types import GenerateConfig, Message, Reply, TokenLogprob, Usage

if TYPE_CHECKING:
    import openai

OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_KEY_VAR = "OPENAI_API_KEY"
_BLOCK_CODES = {"content_filter", "content_policy_violation"}


class OpenAIChatModel(ChatModel):
    """Chat completions through the ``openai`` SDK.

    The key is read from an environment variable when the model is created and never stored
    anywhere else (not in the cache key, not in results). The SDK's own retries are switched off
    so that the runner's policy (with ``Retry-After``) is the only one.

    Args:
        model_id: The model name the server knows.
        base_url: The server's ``/v1`` root.
        key_var: Environment variable holding the API key.
        key_required: Refuse to start without the key (hosted APIs); local servers often
            need none, so ``openai-compatible`` models only require it when named explicitly.
        backend: ``openai`` or ``openai-compatible`` (the spec prefix).
        max_concurrency: Requests in flight at once against this endpoint.
        timeout: Seconds before one request counts as timed out (and is retried).
    """

    def __init__(
        self,
        model_id: str,
        *,
        base_url: str,
        key_var: str,
        key_required: bool,
        backend: str,
        max_concurrency: int = 4,
        timeout: float = 120.0,
    ) -> None:
        super().__init__(model_id, endpoint=base_url, max_concurrency=max_concurrency)
        self.backend = backend
        self.key_var = key_var
        self.timeout = timeout
        api_key = os.environ.get(key_var)
        if key_required and not api_key:
            raise ModelConfigError(
                f"environment variable {key_var} is not set; export your API key there "
                f"(keys are read from the environment only, never from notebooks)"
            )
        self._api_key = api_key or "not-needed"
        # One HTTP client per event loop: an httpx client cannot outlive the loop it was made in.
        self._clients: weakref.WeakKeyDictionary[Any, openai.AsyncOpenAI] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def spec(self) -> str:
        if self.backend == "openai":
            return f"openai:{self.model_id}"
        return f"openai-compatible:{self.model_id}@{self.endpoint}"

    def _client(self) -> openai.AsyncOpenAI:
        import openai

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = openai.AsyncOpenAI(
                api_key=self._api_key,
                base_url=self.endpoint,
                max_retries=0,
                timeout=self.timeout,
            )
            self._clients[loop] = client
        return client

    def response_format(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        """How a JSON schema is asked for: OpenAI's structured output (``json_schema``), or, on
        an OpenAI-compatible server, JSON mode with the schema beside it, the one form that
        llama-cpp-python's server accepts (it enforces the schema with a grammar, as llama.cpp's
        own server does; servers that only know JSON mode ignore the schema, and the caller's
        parser decides).

        Examples:
            >>> model = OpenAIChatModel("m", base_url="http://127.0.0.1:1/v1", key_var="NO_KEY",
            ...                         key_required=False, backend="openai-compatible")
            >>> model.response_format({"type": "object"})
            {'type': 'json_object', 'schema': {'type': 'object'}}
        """
        if self.backend == "openai":
            return {"type": "json_schema", "json_schema": {"name": "answer",
                                                           "schema": dict(schema)}}
        return {"type": "json_object", "schema": dict(schema)}

    async def call(self, messages: list[Message], config: GenerateConfig) -> Reply:
        import openai

        request: dict[str, Any] = {
            "model": self.model_id,
            "messages": messages,
            "max_tokens": config.max_tokens,
            "temperature": config.temperature,
            "top_p": config.top_p,
        }
        if config.seed is not None:
            request["seed"] = config.seed
        if config.stop:
            request["stop"] = list(config.stop)
        if config.response_schema:
            request["response_format"] = self.response_format(config.response_schema)
        if config.logprobs:
            request["logprobs"] = True
            if config.top_logprobs:
                request["top_logprobs"] = config.top_logprobs
        try:
            response = await self._client().chat.completions.create(**request)
        except openai.APIConnectionError as error:  # includes timeouts
            raise TransientError(f"{type(error).__name__}: {error} ({self.endpoint})") from error
        except openai.APIStatusError as error:
            raise _classify(error, self.key_var) from error
        choice = response.choices[0]
        usage = response.usage
        return Reply(
            text=choice.message.content or "",
            usage=Usage(usage.prompt_tokens, usage.completion_tokens) if usage else Usage(),
            logprobs=_logprobs(choice),
            finish_reason=choice.finish_reason,
        )


class _Server(Backend):
    """What both server backends share: building an :class:`OpenAIChatModel` from a spec."""

    #: Refuse to start without a key even when none is named (hosted APIs); a key variable
    #: named with ``?key_env=`` is always required.
    key_required = False

    def build(self, spec: ModelSpec, *, max_concurrency: int | None, timeout: float) -> ChatModel:
        return OpenAIChatModel(
            spec.model_id,
            base_url=spec.base_url or OPENAI_BASE_URL,
            key_var=spec.key_env or DEFAULT_KEY_VAR,
            key_required=self.key_required or spec.key_env is not None,
            backend=self.name,
            max_concurrency=max_concurrency or 4,
            timeout=timeout,
        )


@register_backend("openai")
class OpenAIBackend(_Server):
    """``openai:<model>``: api.openai.com, key required."""

    form = (
        "openai:<model>[?key_env=VAR]              (api.openai.com; key in $OPENAI_API_KEY or "
        "VAR)"
    )
    key_required = True

    def parse(self, rest: str, key_env: str | None) -> ModelSpec | None:
        if not rest or "@" in rest:
            return None
        return ModelSpec("openai", rest, OPENAI_BASE_URL, key_env)


@register_backend("openai-compatible")
class OpenAICompatibleBackend(_Server):
    """``openai-compatible:<model>@<base_url>``: any server speaking the OpenAI API."""

    form = (
        "openai-compatible:<model>@<base_url>[?key_env=VAR]  (vLLM, llama.cpp server, Ollama, "
        "gateways; key optional)"
    )

    def parse(self, rest: str, key_env: str | None) -> ModelSpec | None:
        model_id, at, base_url = rest.partition("@")
        if not (model_id and at and re.match(r"https?://[^\s/]+", base_url)):
            return None
        return ModelSpec("openai-compatible", model_id, base_url.rstrip("/"), key_env)


def _classify(error: openai.APIStatusError, key_var: str) -> Exception:
    """Map an HTTP error to retry (429, 5xx), block (content filter) or a permanent error."""
    status = error.status_code
    if status == 429 or status >= 500:
        return TransientError(f"HTTP {status}: {error.message}", _retry_after(error.response))
    code = getattr(error, "code", None)
    if code in _BLOCK_CODES or "content management policy" in str(error.message).lower():
        return BlockedError(f"HTTP {status} ({code}): {error.message}")
    if status == 401:
        return PermissionError(f"HTTP 401: the key in {key_var} was rejected: {error.message}")
    return RuntimeError(f"HTTP {status}: {error.message}")


def _retry_after(response: Any) -> float | None:
    """Seconds from ``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms``."""
    headers = getattr(response, "headers", None) or {}
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _logprobs(choice: Any) -> tuple[TokenLogprob, ...] | None:
    content = getattr(getattr(choice, "logprobs", None), "content", None)
    if not content:
        return None
    return tuple(
        TokenLogprob(
            token=item.token,
            logprob=item.logprob,
            top={alt.token: alt.logprob for alt in (item.top_logprobs or [])},
        )
        for item in content
    )
