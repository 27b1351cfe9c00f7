"""Single-turn jailbreaks: the direct request, three attacks of Wei et al. (2023), and
community templates collected in the wild (Shen et al. 2024)."""

from __future__ import annotations

import re
from functools import partial

import pandas as pd

from expected_harm.attacks._base import PromptAttack, load_attack_prompts, register_attack
from expected_harm.models import Message

#: Templates longer than this are skipped by default: a small model's context (2,048 tokens for
#: the embedded one) must hold the template, the request and the answer.
DEFAULT_MAX_TEMPLATE_CHARS = 2000


class TemplateAttack(PromptAttack):
    """A fixed template from ``prompts/attacks.yaml`` with the request written into it.

    The direct request and the attacks of Wei, Haghtalab & Steinhardt (2023), "Jailbroken: How
    Does LLM Safety Training Fail?" (arXiv 2307.02483): prefix injection and refusal suppression
    (competing objectives), style injection (mismatched generalisation).

    Args:
        key: The attack's registry key, also its entry in ``prompts/attacks.yaml``.
    """

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__()

    def messages(self, request: str) -> list[Message]:
        template = load_attack_prompts()[self.prompt_key]["user"]
        return [{"role": "user", "content": template.replace("{request}", request)}]


for _key in ("direct", "prefix_injection", "refusal_suppression", "style_injection"):
    register_attack(_key)(partial(TemplateAttack, _key))


def _placeholder() -> str:
    """Where the in-the-wild templates' authors put the request."""
    return load_attack_prompts()["inthewild"]["placeholder"]


def inthewild_templates(max_chars: int = DEFAULT_MAX_TEMPLATE_CHARS) -> pd.DataFrame:
    """The in-the-wild templates that can carry a request, most re-posted first.

    Only templates with the authors' placeholder (``[INSERT PROMPT HERE]``) can take a request
    without guessing where it goes. ``posts`` counts how often the same text was shared (across
    platforms and dates), a rough measure of how widely a template was used.

    Args:
        max_chars: Leave out longer templates (see :data:`DEFAULT_MAX_TEMPLATE_CHARS`).

    Returns:
        Columns ``item_id``, ``chars``, ``posts``, ``platform``, ``date``, ``prompt``; one row
        per distinct text (its first post), sorted by ``posts`` (descending) then ``chars``.
    """
    from expected_harm.datasets import load, normalise_prompt

    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    placeholder = _placeholder()
    frame = load("inthewild_jailbreak_prompts")
    frame = frame[frame["prompt"].str.contains(placeholder, regex=False)].copy()
    frame["text"] = frame["prompt"].map(normalise_prompt)
    frame["posts"] = frame.groupby("text")["item_id"].transform("size")
    frame["chars"] = frame["prompt"].str.len()
    frame = frame.sort_values(["date", "item_id"]).drop_duplicates("text")
    frame = frame[frame["chars"] <= max_chars]
    frame = frame.sort_values(["posts", "chars", "item_id"], ascending=[False, True, True])
    return frame[["item_id", "chars", "posts", "platform", "date", "prompt"]].reset_index(drop=True)


@register_attack("inthewild")
class InTheWildAttack(PromptAttack):
    """A community jailbreak template with the request in its placeholder (Shen et al. 2024,
    "Do Anything Now", arXiv 2308.03825; dataset ``inthewild_jailbreak_prompts``).

    Args:
        template_id: ``item_id`` of the template in the dataset; by default the most re-posted
            template that fits ``max_chars`` (the first row of :func:`inthewild_templates`).
        max_chars: Longest template considered for the default.
    """

    def __init__(
        self, template_id: str | int | None = None, *, max_chars: int = DEFAULT_MAX_TEMPLATE_CHARS
    ) -> None:
        if template_id is None:
            templates = inthewild_templates(max_chars)
            if templates.empty:
                raise ValueError(
                    f"no in-the-wild template with a placeholder fits {max_chars} chars"
                )
            row = templates.iloc[0]
        else:
            from expected_harm.datasets import load

            frame = load("inthewild_jailbreak_prompts")
            placeholder = _placeholder()
            found = frame[
                (frame["item_id"].astype(str) == str(template_id))
                & frame["prompt"].str.contains(placeholder, regex=False)
            ]
            if found.empty:
                raise ValueError(
                    f"inthewild template {template_id!r} does not exist or has no {placeholder}; "
                    "attacks.inthewild_templates() lists those that do"
                )
            row = found.iloc[0]
        self.template_id = str(row["item_id"])
        self.template = str(row["prompt"])
        super().__init__()

    @property
    def label(self) -> str:
        return f"{self.key}:{self.template_id}"

    def messages(self, request: str) -> list[Message]:
        placeholder = _placeholder()
        # A literal replacement: requests may contain backslashes that re.sub would interpret.
        text = re.sub(r"\r\n?", "\n", self.template).replace(placeholder, request)
        return [{"role": "user", "content": text}]
