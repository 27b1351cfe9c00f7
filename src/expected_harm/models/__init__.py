"""One model interface for every role, with a response cache, retries and concurrency.

Typical use::

    from expected_harm.models import ResponseCache, generate, get_model, run_settings
    model = get_model("embedded:smollm2-135m")
    results = generate(model, ["What is the capital of France?"])
    with run_settings(cache=ResponseCache(tmp_path), progress=False):
        ...  # every model call in here uses that cache and shows no progress bar

Backends (``embedded``, ``openai``, ``openai-compatible``) register under their spec prefix
(:func:`register_backend`); a role that takes a model takes a ChatModel or a spec through
:func:`as_model`.
"""

from expected_harm.models._cache import ResponseCache, cache_key
from expected_harm.models._checkpoint import (
    EMBEDDED_PREFIX,
    embedded_checkpoint,
    load_causal_lm,
)
from expected_harm.models._context import RunSettings, run_settings
from expected_harm.models._embedded import EMBEDDED_MODELS, EmbeddedChatModel, embedded_model
from expected_harm.models._model import BlockedError, ChatModel, ModelConfigError, TransientError
from expected_harm.models._openai import OpenAIChatModel
from expected_harm.models._runner import (
    RetryPolicy,
    agenerate,
    as_messages,
    chat,
    generate,
    summarize,
    to_frame,
)
from expected_harm.models._server import LlamaServer, free_port
from expected_harm.models._spec import (
    BACKENDS,
    Backend,
    ModelSpec,
    as_model,
    get_model,
    parse_spec,
    register_backend,
    valid_forms,
)
from expected_harm.models._types import (
    ChatResult,
    GenerateConfig,
    Message,
    Reply,
    Status,
    TokenLogprob,
    Usage,
)

__all__ = [
    "BACKENDS",
    "EMBEDDED_MODELS",
    "EMBEDDED_PREFIX",
    "Backend",
    "BlockedError",
    "ChatModel",
    "ChatResult",
    "EmbeddedChatModel",
    "GenerateConfig",
    "LlamaServer",
    "Message",
    "ModelConfigError",
    "ModelSpec",
    "OpenAIChatModel",
    "Reply",
    "ResponseCache",
    "RetryPolicy",
    "RunSettings",
    "Status",
    "TokenLogprob",
    "TransientError",
    "Usage",
    "agenerate",
    "as_messages",
    "as_model",
    "cache_key",
    "chat",
    "embedded_checkpoint",
    "embedded_model",
    "free_port",
    "generate",
    "get_model",
    "load_causal_lm",
    "parse_spec",
    "register_backend",
    "run_settings",
    "summarize",
    "to_frame",
    "valid_forms",
]
