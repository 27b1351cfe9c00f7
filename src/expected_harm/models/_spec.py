"""Model spec strings → models, through a registry of backends.

One string names a model in every notebook parameter and CLI call: ``<backend>:<rest>``. Each
backend module registers itself with :func:`register_backend` (as attacks and judges do), so a
new backend is one file: a :class:`~expected_harm.models.ChatModel` and a :class:`Backend`.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from expected_harm.models._model import ChatModel, ModelConfigError

_KEY_ENV = re.compile(r"\?key_env=([A-Za-z_][A-Za-z0-9_]*)$")


@dataclass(frozen=True)
class ModelSpec:
    """A parsed spec string."""

    backend: str
    model_id: str
    base_url: str | None = None
    key_env: str | None = None


class Backend(ABC):
    """How one backend's spec strings read and how its models are built.

    Attributes:
        name: The spec prefix (set by :func:`register_backend`).
        form: The spec form and what it means, one line as ``expected-harm models`` lists it.
    """

    name: str = ""
    form: str = ""

    @abstractmethod
    def parse(self, rest: str, key_env: str | None) -> ModelSpec | None:
        """The spec from what follows ``<name>:`` (``?key_env=`` already removed); None if
        ``rest`` is not of this backend's form."""

    @abstractmethod
    def build(self, spec: ModelSpec, *, max_concurrency: int | None, timeout: float) -> ChatModel:
        """The model ``spec`` names."""


#: Every model backend by spec prefix, in registration order; see :func:`register_backend`.
BACKENDS: dict[str, Backend] = {}


def register_backend(name: str) -> Callable[[type[Backend]], type[Backend]]:
    """Class decorator: make a backend available to :func:`get_model` under the prefix ``name``."""

    def inner(cls: type[Backend]) -> type[Backend]:
        if name in BACKENDS:
            raise ValueError(f"a model backend named {name!r} is already registered")
        cls.name = name
        BACKENDS[name] = cls()
        return cls

    return inner


def valid_forms() -> list[str]:
    """One line per registered backend: its spec form and what it means."""
    return [backend.form for backend in BACKENDS.values()]


def parse_spec(spec: str) -> ModelSpec:
    """Split a spec string into its parts; the error lists the valid forms.

    Examples:
        >>> parse_spec("embedded:smollm2-135m")
        ModelSpec(backend='embedded', model_id='smollm2-135m', base_url=None, key_env=None)
        >>> parse_spec("openai-compatible:llama@http://127.0.0.1:8000/v1").base_url
        'http://127.0.0.1:8000/v1'
    """
    prefix, sep, rest = spec.strip().partition(":")
    key_env = None
    if match := _KEY_ENV.search(rest):
        key_env, rest = match.group(1), rest[: match.start()]
    backend = BACKENDS.get(prefix) if sep else None
    parsed = backend.parse(rest, key_env) if backend is not None else None
    if parsed is None:
        raise ModelConfigError(
            f"cannot read model spec {spec!r}; valid forms:\n  " + "\n  ".join(valid_forms())
        )
    return parsed


def get_model(
    spec: str, *, max_concurrency: int | None = None, timeout: float = 120.0
) -> ChatModel:
    """Build the model a spec string names.

    Args:
        spec: See :func:`valid_forms` (or ``expected-harm models``).
        max_concurrency: Requests in flight at once (servers default to 4; embedded models
            always run one at a time).
        timeout: Per-request timeout in seconds for server backends.

    Raises:
        ModelConfigError: Unknown form or embedded name, or a required key variable unset.
    """
    parsed = parse_spec(spec)
    return BACKENDS[parsed.backend].build(parsed, max_concurrency=max_concurrency, timeout=timeout)


def as_model(model: ChatModel | str) -> ChatModel:
    """The model itself, or the one a spec string names: the one way a role takes either.

    Raises:
        ModelConfigError: For a spec :func:`get_model` cannot build.
        TypeError: For anything else.
    """
    if isinstance(model, ChatModel):
        return model
    if isinstance(model, str):
        return get_model(model)
    raise TypeError(f"expected a ChatModel or a model spec string, got {type(model).__name__}")
