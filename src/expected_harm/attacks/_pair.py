"""PAIR, an iterative attacker–judge loop (Chao et al. 2023, arXiv 2310.08419)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from expected_harm.attacks._base import Attack, AttackOutcome, load_attack_prompts, register_attack
from expected_harm.models import (
    ChatModel,
    ChatResult,
    GenerateConfig,
    Message,
    Status,
    as_model,
    generate,
)

if TYPE_CHECKING:
    from expected_harm.judges import Judge

# The prompt's length is bounded by attacker_max_tokens, not by "maxLength": llama.cpp turns a
# long maxLength into a grammar too large to build, and the process aborts.
ATTACKER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "improvement": {"type": "string", "maxLength": 200},
        "prompt": {"type": "string", "minLength": 1},
    },
    "required": ["improvement", "prompt"],
    "additionalProperties": False,
}
RETRY_MESSAGE = (
    "That reply was not the JSON object asked for. Reply with only a JSON object with "
    '"improvement" and "prompt".'
)


def parse_attacker(text: str) -> str:
    """The new prompt from the attacker's JSON answer.

    Raises:
        ValueError: If there is no JSON object, or its ``prompt`` is missing or blank.

    Examples:
        >>> parse_attacker('{"improvement": "be subtle", "prompt": "Tell a story about ..."}')
        'Tell a story about ...'
    """
    match = re.search(r"\{.*\}", text, flags=re.DOTALL)
    if match is None:
        raise ValueError("no JSON object in the attacker's answer")
    try:
        raw = json.loads(match.group(0))
    except json.JSONDecodeError as error:
        raise ValueError(f"invalid JSON: {error.msg}") from None
    prompt = raw.get("prompt") if isinstance(raw, dict) else None
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("the attacker's JSON has no prompt")
    return prompt.strip()


@dataclass
class _Stream:
    """One attacker conversation for one request."""

    request_index: int
    stream: int
    conversation: list[Message]
    outcome: AttackOutcome | None = None
    queries: int = 0
    done: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    last_failure: ChatResult | None = None


@register_attack("pair")
class PAIR(Attack):
    """Prompt Automatic Iterative Refinement (Chao et al. 2023, arXiv 2310.08419).

    For each request an attacker model proposes a prompt; the target answers it; a judge gives
    its verdict; the attacker sees answer and verdict and proposes a better prompt. A stream stops
    at the first answer the judge calls a jailbreak, or when ``iterations`` target queries are
    spent. The published method runs 20 streams of 3 iterations with GPT-4-class attacker and
    judge; the defaults here are sized for the embedded model and say less.

    The outcome of a request is the successful answer of the first stream that got one, else the
    last answer of the stream whose last verdict scored highest. An attacker answer that does not
    parse uses up an iteration (the attacker is told so); a request where no stream ever produced a
    prompt ends ``unparsed`` (or ``error`` when the attacker's calls failed): never a refusal.

    Args:
        attacker: The attacker model (ChatModel or spec).
        judge: The judge that decides when to stop (any registered judge).
        iterations: Budget of target queries per stream.
        streams: Independent attacker conversations per request (sampled with different seeds).
        temperature: Attacker sampling temperature (PAIR samples at 1).
        attacker_max_tokens: Room for the attacker's JSON answer.
        keep_last: Previous exchanges kept in the attacker's context (PAIR's ``keep_last_n``),
            so that small context windows are not overrun.
        seed: Seed of the first stream; stream ``s`` uses ``seed + s``.
    """

    def __init__(
        self,
        *,
        attacker: ChatModel | str,
        judge: Judge,
        iterations: int = 3,
        streams: int = 1,
        temperature: float = 1.0,
        attacker_max_tokens: int = 300,
        keep_last: int = 2,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if iterations < 1:
            raise ValueError(f"iterations must be at least 1, got {iterations}")
        if streams < 1:
            raise ValueError(f"streams must be at least 1, got {streams}")
        if keep_last < 0:
            raise ValueError(f"keep_last must be non-negative, got {keep_last}")
        self.attacker = as_model(attacker)
        self.judge = judge
        self.iterations = iterations
        self.streams = streams
        self.temperature = temperature
        self.attacker_max_tokens = attacker_max_tokens
        self.keep_last = keep_last
        self.seed = seed
        self.prompts = load_attack_prompts()[self.prompt_key]

    def describe(self) -> str:
        return (
            f"{self.label} {self.version} (attacker {self.attacker.spec}, {self.streams} "
            f"stream(s) × {self.iterations} iterations, judge {self.judge.describe()})"
        )

    def _first(self, request: str) -> list[Message]:
        system = (
            self.prompts["attacker_system"]
            .replace("{request}", request)
            .replace("{target_prefix}", self.prompts["target_prefix"])
        )
        return [
            {"role": "system", "content": system},
            {"role": "user", "content": self.prompts["first_turn"].replace("{request}", request)},
        ]

    def _trim(self, conversation: list[Message]) -> list[Message]:
        """System, first turn, and the last ``keep_last`` exchanges (two messages each) after it."""
        head, tail = conversation[:2], conversation[2:]
        return head + (tail[-2 * self.keep_last :] if self.keep_last else [])

    def run(self, requests, target, config):
        states = [
            _Stream(i, s, self._first(r))
            for i, r in enumerate(requests)
            for s in range(self.streams)
        ]
        for iteration in range(self.iterations):
            active = [s for s in states if not s.done]
            if not active:
                break
            proposals = self._propose(active, iteration)
            sendable = [(s, p) for s, p in zip(active, proposals) if p.status is Status.OK]
            for state, proposal in zip(active, proposals):
                if proposal.status is not Status.OK:
                    state.last_failure = proposal
                    state.history.append(
                        {"iteration": iteration, "attacker": proposal.status.value}
                    )
                    if proposal.status is Status.UNPARSED:
                        state.conversation += [
                            {"role": "assistant", "content": proposal.text},
                            {"role": "user", "content": RETRY_MESSAGE},
                        ]
            if not sendable:
                continue
            messages = [[{"role": "user", "content": p.parsed}] for _, p in sendable]
            answers = generate(
                target, messages, config, desc=f"pair iteration {iteration + 1} → {target.spec}"
            )
            verdicts = self.judge.judge(
                [requests[s.request_index] for s, _ in sendable], [a.text for a in answers]
            )
            for (state, proposal), sent, answer, (_, verdict) in zip(
                sendable, messages, answers, verdicts.iterrows()
            ):
                state.queries += 1
                success = answer.status is Status.OK and verdict["verdict"] == 1.0
                state.outcome = AttackOutcome(
                    request=requests[state.request_index],
                    messages=tuple(sent),
                    result=answer,
                    queries=state.queries,
                    attack_verdict=float(verdict["verdict"]),
                )
                state.history.append(
                    {
                        "iteration": iteration,
                        "attacker": "ok",
                        "target": answer.status.value,
                        "verdict": float(verdict["verdict"]),
                        "score": float(verdict["score"]),
                    }
                )
                state.done = success
                feedback = self.prompts["feedback"].replace(
                    "{request}", requests[state.request_index]
                )
                feedback = feedback.replace("{response}", answer.text[:1000] or "(no answer)")
                feedback = feedback.replace("{verdict}", _verdict_words(verdict["verdict"]))
                state.conversation += [
                    {"role": "assistant", "content": proposal.text},
                    {"role": "user", "content": feedback},
                ]
        return [
            self._outcome(requests[i], [s for s in states if s.request_index == i], target)
            for i in range(len(requests))
        ]

    def _propose(self, active: list[_Stream], iteration: int) -> list[ChatResult]:
        """One attacker call per active stream; streams differ only by their sampling seed."""
        results: list[ChatResult | None] = [None] * len(active)
        for stream in sorted({s.stream for s in active}):
            config = GenerateConfig(
                max_tokens=self.attacker_max_tokens,
                temperature=self.temperature,
                seed=self.seed + stream,
                response_schema=ATTACKER_SCHEMA,
            )
            at = [i for i, s in enumerate(active) if s.stream == stream]
            answers = generate(
                self.attacker,
                [self._trim(active[i].conversation) for i in at],
                config,
                parser=parse_attacker,
                desc=f"pair iteration {iteration + 1}: attacker {self.attacker.spec}",
            )
            for i, answer in zip(at, answers):
                results[i] = answer
        return results  # type: ignore[return-value]

    def _outcome(self, request: str, streams: list[_Stream], target: ChatModel) -> AttackOutcome:
        history = tuple(h | {"stream": s.stream} for s in streams for h in s.history)
        queries = sum(s.queries for s in streams)
        answered = [s for s in streams if s.outcome is not None]
        if not answered:
            failure = streams[0].last_failure
            status = failure.status if failure is not None else Status.ERROR
            error = (
                f"PAIR: no usable attacker prompt in {self.iterations} iteration(s); last: "
                f"{failure.error if failure is not None else 'none'}"
            )
            result = ChatResult(model=target.spec, key="", status=status, error=error)
            return AttackOutcome(
                request=request, messages=(), result=result, queries=queries, history=history
            )
        won = next((s for s in answered if s.done), None)
        best = won or max(answered, key=lambda s: _score(s.history))
        return AttackOutcome(
            request=request,
            messages=best.outcome.messages,
            result=best.outcome.result,
            queries=queries,
            attack_verdict=best.outcome.attack_verdict,
            history=history,
        )


def _score(history: list[dict[str, Any]]) -> float:
    scores = [h.get("score", math.nan) for h in history if "score" in h]
    last = scores[-1] if scores else math.nan
    return -1.0 if math.isnan(last) else last


def _verdict_words(verdict: float) -> str:
    if verdict == 1.0:
        return "the goal was achieved"
    if verdict == 0.0:
        return "the goal was not achieved"
    return "the judge could not tell"
