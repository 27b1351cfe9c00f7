"""Named designs that run on a model (judges, guards): their common base and their registries."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import pandas as pd

from expected_harm.models import ChatModel, as_model
from expected_harm.runcard import record

T = TypeVar("T")


class Design:
    """A published design for one role (a judge, a guard), run on a model or on none.

    Attributes:
        kind: The role, as columns and messages name it (``"judge"``, ``"guard"``).
        name: The registry name.
        version: Version of the design's prompt or policy text.
        needs_model: Whether the design runs on a model.
        model: The model, or None for model-free designs.
    """

    kind: str = ""
    name: str = ""
    version: str = ""
    needs_model = True

    def __init__(self, model: ChatModel | None = None) -> None:
        kind, name = self.kind, self.name
        if self.needs_model and model is None:
            raise ValueError(f"{kind} {name!r} needs a {kind} model (any model spec)")
        if not self.needs_model and model is not None:
            raise ValueError(f"{kind} {name!r} uses no model; do not pass one")
        self.model = model

    def describe(self) -> str:
        """The design as captions name it: name, version and model."""
        by = f" by {self.model.spec}" if self.model else ""
        return f"{self.name} {self.version}{by}"

    def _frame(self, rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
        """The rows under ``columns``, after the design's name, model and version."""
        frame = pd.DataFrame(rows, columns=columns)
        frame.insert(0, self.kind, self.name)
        frame.insert(1, f"{self.kind}_model", self.model.spec if self.model else "none")
        frame.insert(2, "template_version", self.version)
        return frame


class Registry(dict[str, type[T]], Generic[T]):
    """Classes of one kind by registry name, each made with its model by :meth:`create`.

    Args:
        kind: What the classes are (``"judge"``, ``"guard"``), as error messages name it.
        elsewhere: Names registered by a module that is imported on first use, by module
            (the trained evaluators, which bring heavy dependencies), so the valid names
            do not depend on what happened to be imported first.

    Examples:
        >>> shapes: Registry[object] = Registry("shape")
        >>> shapes.create("circle")
        Traceback (most recent call last):
        ValueError: unknown shape 'circle'; valid shapes: none registered yet
    """

    def __init__(self, kind: str, elsewhere: dict[str, str] | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.elsewhere = dict(elsewhere or {})

    def names(self) -> list[str]:
        """Every valid name, registered already or on first use, sorted."""
        return sorted(set(self) | set(self.elsewhere))

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        """Class decorator: file the class under ``name`` and set its ``name`` attribute."""

        def inner(cls: type[T]) -> type[T]:
            if name in self:
                raise ValueError(f"a {self.kind} named {name!r} is already registered")
            cls.name = name
            self[name] = cls
            return cls

        return inner

    def create(self, name: str, model: ChatModel | str | None = None, **options: Any) -> T:
        """The class registered as ``name``, made with its model (a ChatModel or a model spec).

        Raises:
            ValueError: For an unknown name, listing the valid ones.
        """
        if name not in self and name in self.elsewhere:
            importlib.import_module(self.elsewhere[name])
        try:
            cls = self[name]
        except KeyError:
            valid = ", ".join(self.names()) or "none registered yet"
            raise ValueError(f"unknown {self.kind} {name!r}; valid {self.kind}s: {valid}") from None
        if model is not None:
            model = as_model(model)
        made = cls(model, **options)
        record(self.kind, name=name, model=getattr(model, "spec", ""),
               version=str(getattr(made, "version", "") or ""))
        return made
