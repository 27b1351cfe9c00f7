"""Rating requests for execution cost and severity with any chat model.

The rater shows the model the rubric from ``prompts/scales.yaml`` and asks for JSON: the four cost
dimensions, an overall cost, a severity and a one-sentence rationale. Where the backend returns
token log-probabilities, it also reports the expected score over the tokens "1"…"5" at each score's
position, which is steadier than the sampled digit for small models (the StrongREJECT fine-tuned
judge does the same). Where the backend can constrain output to a JSON schema, it does.

An answer that does not parse is asked for once more; if it still does not parse the row is
``unparsed`` and its scores stay missing: a failed rating never becomes a default score.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from expected_harm.models import (
    ChatModel,
    ChatResult,
    GenerateConfig,
    Status,
    TokenLogprob,
    as_model,
    generate,
)
from expected_harm.parsing import json_object
from expected_harm.runcard import record
from expected_harm.scales import Scale, load_scales

#: The scores a rating holds: the cost dimensions (keys from ``scales.yaml``), cost, severity.
SCORES: tuple[str, ...] = (*load_scales().cost.dimension_keys, "cost", "severity")
LEVEL_TOKENS = ("1", "2", "3", "4", "5")
RATING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **{name: {"type": "integer", "enum": [1, 2, 3, 4, 5]} for name in SCORES},
        "rationale": {"type": "string", "maxLength": 300},
    },
    "required": [*SCORES, "rationale"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class RaterTemplate:
    """The rater's prompt, as versioned data."""

    version: str
    source: str
    system: str
    user: str
    retry: str


@cache
def load_template() -> RaterTemplate:
    raw = yaml.safe_load(
        resources.files("expected_harm").joinpath("prompts/rater.yaml").read_text("utf-8")
    )
    return RaterTemplate(
        **{k: str(raw[k]).strip() for k in ("version", "source", "system", "user", "retry")}
    )


def rubric_version() -> str:
    """Names the exact rubric behind a rating: the scales' version and the template's."""
    return f"scales {load_scales().version} / rater {load_template().version}"


def _levels(scale: Scale) -> str:
    return "\n".join(f"  {lv.level} = {lv.label}: {lv.definition}" for lv in scale.levels)


def rating_messages(prompt: str) -> list[dict[str, str]]:
    """The chat messages that ask a model to rate one request."""
    scales, template = load_scales(), load_template()
    dimensions = "\n".join(f"  {d.key}: {d.description}" for d in scales.cost.dimensions)
    user = template.user.format(
        cost_question=scales.cost.question,
        cost_dimensions=dimensions,
        cost_levels=_levels(scales.cost),
        severity_question=scales.severity.question,
        severity_levels=_levels(scales.severity),
        prompt=prompt,
    )
    return [{"role": "system", "content": template.system}, {"role": "user", "content": user}]


def parse_rating(text: str) -> dict[str, Any]:
    """Read the rater's JSON answer; raises ``ValueError`` saying what is wrong.

    Tolerates text around the object (small models add some) but nothing else: every score must be
    present and an integer 1–5.

    Examples:
        >>> parse_rating('{"expertise": 1, "equipment": 1, "time": 2, "legal": 3, "cost": 2, '
        ...              '"severity": 2, "rationale": "Easy to act on."}')["cost"]
        2
    """
    raw = json_object(text)
    if raw is None:
        raise ValueError("no JSON object in the answer")
    missing = [name for name in SCORES if name not in raw]
    if missing:
        raise ValueError(f"missing score(s): {', '.join(missing)}")
    scores: dict[str, Any] = {}
    for name in SCORES:
        value = raw[name]
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            raise ValueError(f"{name} must be an integer from 1 to 5, got {raw[name]!r}")
        scores[name] = value
    scores["rationale"] = str(raw.get("rationale", "")).strip()
    return scores


def expected_scores(text: str, logprobs: Sequence[TokenLogprob] | None) -> dict[str, float]:
    """Expected value over the tokens "1"…"5" at the position where each score was written.

    Alternatives that differ only by surrounding space (``"2"``, ``" 2"``) are one level: their
    probabilities are summed, as :mod:`expected_harm.judges` does for yes / no.
    Returns NaN for a score whose digit is not a token of its own, or whose alternatives hold no
    probability on the digits, or when no log-probabilities were returned.
    """
    missing = {name: math.nan for name in SCORES}
    if not logprobs:
        return missing
    starts = np.cumsum([0] + [len(t.token) for t in logprobs])
    decoded = "".join(t.token for t in logprobs)
    result = dict(missing)
    for name in SCORES:
        found = re.search(rf'"{name}"\s*:\s*"?([1-5])', decoded)
        if found is None:
            continue
        index = int(np.searchsorted(starts, found.start(1), side="right") - 1)
        token = logprobs[index]
        if token.token.strip() != found.group(1):
            continue  # the digit shares its token with other characters
        # "2" and " 2" are different tokens for the same level: their probabilities add up
        probs = dict.fromkeys(range(1, 6), 0.0)
        for alt, lp in token.top.items():
            if alt.strip() in LEVEL_TOKENS:
                probs[int(alt.strip())] += math.exp(lp)
        total = sum(probs.values())
        if total > 0:
            result[name] = sum(level * p for level, p in probs.items()) / total
    return result


class Rater:
    """Rates requests for execution cost and severity with one chat model.

    Args:
        model: Any ChatModel, or its spec (``embedded:…``, ``openai:…``, ``openai-compatible:…``).
        max_tokens: Room for the JSON answer.

    Calls go through the run's response cache (``models.run_settings``), so nothing is rated
    twice.
    """

    def __init__(self, model: ChatModel | str, *, max_tokens: int = 200) -> None:
        self.model = as_model(model)
        self.config = GenerateConfig(
            max_tokens=max_tokens, logprobs=True, top_logprobs=10, response_schema=RATING_SCHEMA
        )

    def rate(self, prompts: Sequence[str]) -> pd.DataFrame:
        """One row per prompt: the six scores, expected cost and severity, rationale, status.

        Scores of rows whose status is not ``ok`` are missing (NaN), never a default.
        """
        first = [rating_messages(p) for p in prompts]
        results = generate(self.model, first, self.config, parser=parse_rating,
                           desc=f"rating with {self.model.spec}")
        retry_at = [i for i, r in enumerate(results) if r.status is Status.UNPARSED]
        if retry_at:
            retry = [
                [*first[i], {"role": "assistant", "content": results[i].text},
                 {"role": "user", "content": load_template().retry}]
                for i in retry_at
            ]
            again = generate(self.model, retry, self.config, parser=parse_rating,
                             desc="rating again (unparsed once)")
            for i, result in zip(retry_at, again):
                results[i] = _keep_first_text(result, results[i])
        return self._frame(results)

    def _frame(self, results: list[ChatResult]) -> pd.DataFrame:
        rows = []
        for result in results:
            parsed = result.parsed if result.status is Status.OK else None
            expected = expected_scores(result.text, result.logprobs) if parsed else {}
            rows.append(
                {
                    **{name: (parsed or {}).get(name, np.nan) for name in SCORES},
                    "cost_expected": expected.get("cost", np.nan),
                    "severity_expected": expected.get("severity", np.nan),
                    "rationale": (parsed or {}).get("rationale"),
                    "status": result.status.value,
                    "error": result.error,
                    "rater": self.model.spec,
                    "rubric_version": rubric_version(),
                }
            )
        return pd.DataFrame(rows)


#: The spec of the trained rater (:class:`expected_harm.evaluators.rater.TrainedRater`).
TRAINED_RATER = "trained"


def get_rater(spec: str) -> Any:
    """A rater by spec: ``"trained"`` (offline, from SmolLM2-135M's hidden states) or any model
    spec, prompted with the rubric (:class:`Rater`). Both give the frame of :meth:`Rater.rate`.
    """
    record("rater", name=spec, version=rubric_version())
    if spec == TRAINED_RATER:
        from expected_harm.evaluators.rater import TrainedRater

        return TrainedRater()
    return Rater(spec)


def _keep_first_text(retried: ChatResult, first: ChatResult) -> ChatResult:
    """After a failed retry, report the retry's status but both failures in the error."""
    if retried.status is Status.OK:
        return retried
    return replace(retried, error=f"{first.error}; after one retry: {retried.error}")
