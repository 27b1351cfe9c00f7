"""Llama Guard 3 (Meta 2024, Llama-Guard-3-8B) in its published prompt format, as a guard."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Literal

from expected_harm.guards._base import register_guard
from expected_harm.guards._model_guard import ModelGuard, load_guard_prompts
from expected_harm.judges._logprobs import answer_probability
from expected_harm.models import ChatModel, ChatResult, GenerateConfig, Message

#: How the conversation reaches the guard model; see :class:`LlamaGuard3`.
LlamaGuardMode = Literal["chat", "raw"]

_CATEGORY = re.compile(r"S(?:[1-9]|1[0-4])")


def llama_guard_role(turns: list[Message]) -> str:
    """The role Llama Guard classifies: ``Agent`` if the assistant spoke last, else ``User``.

    Examples:
        >>> llama_guard_role([{"role": "user", "content": "q"},
        ...                   {"role": "assistant", "content": "a"}])
        'Agent'
    """
    return "Agent" if turns[-1]["role"] == "assistant" else "User"


def format_llama_guard(turns: list[Message]) -> str:
    """The published Llama Guard 3 prompt for these turns (the text of its one user turn).

    The category list, the ``User:``/``Agent:`` turns and the last-turn instruction are written as
    the model's chat template writes them (``prompts/guards.yaml``); the classified role follows
    the last turn (:func:`llama_guard_role`).
    """
    prompt = load_guard_prompts()["llama_guard_3"]
    role = llama_guard_role(turns)
    categories = "\n".join(f"{code}: {name}." for code, name in prompt["categories"].items())
    speaker = {"user": "User", "assistant": "Agent"}
    conversation = "".join(f"{speaker[t['role']]}: {t['content'].strip()}\n\n" for t in turns)
    text = prompt["user"].replace("{role}", role).replace("{categories}", categories)
    return text.replace("{conversation}", conversation)  # last: turns may hold "{role}"


def parse_llama_guard(text: str) -> tuple[bool, str]:
    """Llama Guard's answer: (unsafe?, the violated categories as written, ``"S1,S10"``).

    The first non-empty line, white space stripped, must be ``safe`` or ``unsafe`` (any case); an
    ``unsafe`` may be followed by one line of comma-separated categories S1–S14. A prefix match
    on the raw text reads "\\n\\nunsafe\\nS1" as safe (garak #1191); here the line is read whole.
    Anything else, a ``safe`` with more lines after it included, is out of format, never safe.

    Raises:
        ValueError: Saying what is out of format.

    Examples:
        >>> parse_llama_guard("\\n\\nunsafe\\nS1")
        (True, 'S1')
        >>> parse_llama_guard(" safe ")
        (False, '')
        >>> parse_llama_guard("unsafe\\nS1, S10")
        (True, 'S1,S10')
        >>> parse_llama_guard("safety first")
        Traceback (most recent call last):
        ValueError: the first line is not 'safe' or 'unsafe': 'safety first'
        >>> parse_llama_guard("unsafe\\nS15")
        Traceback (most recent call last):
        ValueError: not a category S1-S14: 'S15'
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or lines[0].lower() not in ("safe", "unsafe"):
        first = lines[0] if lines else ""
        raise ValueError(f"the first line is not 'safe' or 'unsafe': {first[:40]!r}")
    unsafe = lines[0].lower() == "unsafe"
    if len(lines) > (2 if unsafe else 1):
        raise ValueError(f"more lines than the format has after {lines[0]!r}: {lines[1][:40]!r}")
    categories = [c.strip() for c in lines[1].split(",")] if len(lines) == 2 else []
    for category in categories:
        if not _CATEGORY.fullmatch(category):
            raise ValueError(f"not a category S1-S14: {category[:40]!r}")
    return unsafe, ",".join(categories)


def unsafe_probability(result: ChatResult) -> float:
    """P("unsafe") / (P("unsafe") + P("safe")) at the answer's first token, the model card's score.

    Leading white-space tokens (the "\\n\\n" some servers let through) are skipped, so the token
    read is the one that says safe or unsafe. NaN without log-probabilities.

    Examples:
        >>> import math
        >>> from expected_harm.models import Status, TokenLogprob
        >>> tokens = (TokenLogprob("\\n\\n", 0.0), TokenLogprob("unsafe", math.log(0.8),
        ...           {"unsafe": math.log(0.8), "safe": math.log(0.2)}))
        >>> round(unsafe_probability(ChatResult("m", "k", Status.OK, logprobs=tokens)), 2)
        0.8
    """
    tokens = result.logprobs or ()
    start = next((i for i, t in enumerate(tokens) if t.token.strip()), len(tokens))
    answer = replace(result, logprobs=tokens[start:] or None)
    return answer_probability(answer, positive=("unsafe",), negative=("safe",))


@register_guard("llama_guard_3")
class LlamaGuard3(ModelGuard):
    """Llama Guard 3 (Meta 2024), through any OpenAI-compatible server or the embedded backend.

    It classifies the last turn: the ``User`` turn for a text or a conversation that ends with
    the user, the ``Agent`` turn for one that ends with the assistant (the earlier turns are
    context). A system prompt is not screened. ``score`` is P("unsafe") at the first answer token
    where the backend returns log-probabilities (the model card's recommendation for a threshold
    of one's own), else NaN; ``flagged`` is the model's own word.

    Args:
        model: The guard model.
        mode: ``"chat"`` (the default) sends the turns as chat messages, and the server (vLLM,
            Ollama, llama.cpp with the model's GGUF template) applies Llama Guard's own chat
            template, so the prompt is the published one only as far as the server's template is;
            an Ollama template that always asks about the User turn classifies the user even when
            the assistant spoke last (ollama #11440), and a template that insists on alternating
            roles refuses other conversations (an ``error`` row). ``"raw"`` writes the published
            prompt here (:func:`format_llama_guard`) and sends it as one user message; the
            tokens are the published ones only where the server wraps a user message as the
            Llama 3 template does (``<|start_header_id|>user<|end_header_id|>`` … ``<|eot_id|>``)
            and adds no system turn (Llama 3.1 templates add a date header). Sent to a server
            that applies Llama Guard's own template, the raw prompt would be nested inside it as
            a User turn: use ``"chat"`` there.
        max_tokens: Room for the answer ("unsafe" and a category line).
    """

    parser = staticmethod(parse_llama_guard)

    def __init__(
        self, model: ChatModel | None = None, *, mode: LlamaGuardMode = "chat", max_tokens: int = 32
    ) -> None:
        super().__init__(model)
        if mode not in ("chat", "raw"):
            raise ValueError(f'mode must be "chat" or "raw", got {mode!r}')
        self.mode = mode
        self.config = GenerateConfig(max_tokens=max_tokens, logprobs=True, top_logprobs=10)

    def describe(self) -> str:
        form = "published prompt sent raw" if self.mode == "raw" else "server's chat template"
        return f"{super().describe()} ({form})"

    def messages(self, turns: list[Message]) -> list[Message]:
        if self.mode == "raw":
            return [{"role": "user", "content": format_llama_guard(turns)}]
        return turns

    def _score(self, result: ChatResult) -> float:
        return unsafe_probability(result)

    def _read(self, result: ChatResult) -> dict[str, Any]:
        unsafe, categories = result.parsed
        return {"flagged": float(unsafe), "categories": categories}
