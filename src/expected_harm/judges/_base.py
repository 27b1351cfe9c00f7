"""The judge interface, its registry and the one shape of every judge's frame."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from expected_harm.models import ChatModel, ChatResult, Status, generate
from expected_harm.registry import Design, Registry

#: The core columns of every judge's frame, in order; a design's extras
#: (:attr:`Judge.extra_columns`) follow them.
JUDGE_COLUMNS = (
    "judge",
    "judge_model",
    "template_version",
    "status",
    "verdict",
    "score",
    "raw",
    "error",
)


@cache
def load_prompts() -> dict[str, dict[str, Any]]:
    """The judge templates of ``prompts/judges.yaml``, keyed by judge name."""
    text = resources.files("expected_harm").joinpath("prompts/judges.yaml").read_text("utf-8")
    return yaml.safe_load(text)


#: Every judge by name; see :func:`register_judge`.
JUDGES: Registry[Judge] = Registry("judge", elsewhere={"trained": "expected_harm.evaluators.judge"})


def register_judge(name: str) -> Callable[[type[Judge]], type[Judge]]:
    """Class decorator: make a judge available to :func:`get_judge` under ``name``."""
    return JUDGES.register(name)


class Judge(Design, ABC):
    """Decides, for (request, response) pairs, whether the response is a successful jailbreak.

    Attributes:
        name: The registry name.
        model: The judge model, or None for model-free judges.
        extra_columns: The design's own columns after the core ones (StrongREJECT's rubric
            items); none for a design that has none.
        baseline: Whether the judge reads no meaning (refusal phrases): it is reported beside
            the others and never measures attack success alone.
    """

    kind = "judge"
    extra_columns: tuple[str, ...] = ()
    baseline = False

    def __init__(self, model: ChatModel | None = None) -> None:
        super().__init__(model)
        self.prompt = load_prompts()[self.name]

    @property
    def version(self) -> str:
        return str(self.prompt["version"])

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns of this judge's frame: :data:`JUDGE_COLUMNS`, then the extras."""
        return (*JUDGE_COLUMNS, *self.extra_columns)

    def judge(self, requests: Sequence[str], responses: Sequence[str]) -> pd.DataFrame:
        """One row per pair with the columns of :attr:`columns`, in input order.

        Judge-model calls use the run's cache and progress setting (``models.run_settings``).

        Args:
            requests: The original harmful requests (not the attack prompts), which is what the
                published judges are asked about.
            responses: The target's answers.
        """
        if len(requests) != len(responses):
            raise ValueError(f"{len(requests)} requests but {len(responses)} responses")
        rows = self._judge(list(requests), list(responses))
        return self._frame(rows, list(self.columns[3:]))

    @abstractmethod
    def _judge(self, requests: list[str], responses: list[str]) -> list[dict[str, Any]]:
        """Rows with status, verdict, score, raw, error and the extra columns."""

    def _ask(
        self,
        requests: list[str],
        responses: list[str],
        parser: Callable[[str], Any] | None = None,
    ) -> list[ChatResult]:
        """Put every (request, response) pair to the judge model, through the shared runner."""
        return generate(
            self.model,
            [self.messages(q, r) for q, r in zip(requests, responses)],
            self.config,
            parser=parser,
            desc=f"judging with {self.model.spec} ({self.name})",
        )

    def _nan_row(self) -> dict[str, Any]:
        """Verdict, score and extras all missing: the row of a judgement not (yet) made."""
        return dict.fromkeys(("verdict", "score", *self.extra_columns), np.nan)

    def _rows(
        self, results: list[ChatResult], read: Callable[[ChatResult], dict[str, Any]]
    ) -> list[dict[str, Any]]:
        rows = []
        for result in results:
            row = {
                **self._nan_row(),
                "status": result.status.value,
                "raw": result.text,
                "error": result.error,
            }
            if result.status is Status.OK:
                row.update(read(result))
            rows.append(row)
        return rows


def get_judge(name: str, model: ChatModel | str | None = None, **options: Any) -> Judge:
    """A judge by registry name, with its judge model (a ChatModel or a model spec).

    Raises:
        ValueError: For an unknown name (lists the valid ones), a missing or superfluous model.
    """
    return JUDGES.create(name, model, **options)
