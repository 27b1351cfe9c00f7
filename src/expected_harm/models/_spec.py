"""Model spec strings → models.

One string names a model in every notebook parameter and CLI call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from expected_harm.models._embedded import EMBEDDED_MODELS, EmbeddedChatModel
from expected_harm.models._model import ChatModel, ModelConfigError
from expected_harm.models._openai import DEFAULT_KEY_VAR, OPENAI_BASE_URL, OpenAIChatModel

VALID_FORMS = (
    f"embedded:<name>                          (in-process, offline; names: "
    f"{', '.join(EMBEDDED_MODELS)})",
    "openai:<model>[?key_env=VAR]              (api.openai.com; key in $OPENAI_API_KEY or VAR)",
    "openai-compatible:<model>@<base_url>[?key_env=VAR]  (vLLM, llama.cpp server, Ollama, "
    "gateways; key optional)",
)
_KEY_ENV = re.compile(r"\?key_env=([A-Za-z_][A-Za-z0-9_]*)$")


@dataclass(frozen=True)
class ModelSpec:
    """A parsed spec string."""

    backend: str
    model_id: str
    base_url: str | None = None
    key_env: str | None = None


def parse_spec(spec: str) -> ModelSpec:
    """Split a spec string into its parts; the error lists the valid forms.

    Examples:
        >>> parse_spec("embedded:smollm2-135m")
        ModelSpec(backend='embedded', model_id='smollm2-135m', base_url=None, key_env=None)
        >>> parse_spec("openai-compatible:llama@http://127.0.0.1:8000/v1").base_url
        'http://127.0.0.1:8000/v1'
    """
    backend, sep, rest = spec.strip().partition(":")
    key_env = None
    if match := _KEY_ENV.search(rest):
        key_env, rest = match.group(1), rest[: match.start()]
    if sep and rest and backend == "embedded" and key_env is None:
        return ModelSpec("embedded", rest)
    if sep and rest and backend == "openai" and "@" not in rest:
        return ModelSpec("openai", rest, OPENAI_BASE_URL, key_env)
    if sep and backend == "openai-compatible":
        model_id, at, base_url = rest.partition("@")
        if model_id and at and re.match(r"https?://[^\s/]+", base_url):
            return ModelSpec("openai-compatible", model_id, base_url.rstrip("/"), key_env)
    raise ModelConfigError(
        f"cannot read model spec {spec!r}; valid forms:\n  " + "\n  ".join(VALID_FORMS)
    )


def get_model(
    spec: str, *, max_concurrency: int | None = None, timeout: float = 120.0
) -> ChatModel:
    """Build the model a spec string names.

    Args:
        spec: See :data:`VALID_FORMS`.
        max_concurrency: Requests in flight at once (servers default to 4; embedded models
            always run one at a time).
        timeout: Per-request timeout in seconds for server backends.

    Raises:
        ModelConfigError: Unknown form or embedded name, or a required key variable unset.
    """
    parsed = parse_spec(spec)
    if parsed.backend == "embedded":
        return EmbeddedChatModel(parsed.model_id)
    return OpenAIChatModel(
        parsed.model_id,
        base_url=parsed.base_url or OPENAI_BASE_URL,
        key_var=parsed.key_env or DEFAULT_KEY_VAR,
        key_required=parsed.backend == "openai" or parsed.key_env is not None,
        backend=parsed.backend,
        max_concurrency=max_concurrency or 4,
        timeout=timeout,
    )
