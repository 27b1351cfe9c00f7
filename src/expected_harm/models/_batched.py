"""Greedy decoding of many prompts at once in transformers, on an embedded model's own weights.

llama.cpp answers one prompt at a time, and on this 2-core CPU decoding several sequences in one
llama.cpp step costs about what several steps cost (measured in session 6: 1.06-1.13x). Dense
float matrix products do gain from a batch: transformers' greedy ``generate`` on the dequantised
GGUF (:func:`._checkpoint.load_embedded`, the safety adapter merged) answered 64 prompts 2.7
(base) and 3.3 (safety-tuned) times as fast as llama.cpp one at a time (``benchmarks/run.py``),
and its answers did not depend on the batch: batches of 8 and 64 gave the same 64 answers, and
batches of 1 and 32 the same 32 AdvBench answers.

So every greedy request goes here, one prompt or many; a JSON schema masks each step's tokens
(:mod:`._constrained`). Sampled requests stay on llama.cpp. The embedded model's revision names
this path, so its answers never mix with llama.cpp ones in the cache.

Prompts are formatted with the model's own chat template (the GGUF's, as llama.cpp uses), and
answers stop at an end-of-turn token, ``max_tokens`` or a stop string. Log-probabilities are
tabulated as llama-cpp-python gives them: the chosen token and the ``top`` most likely, keyed by
their text.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from expected_harm.models._types import Message, Reply, TokenLogprob, Usage

if TYPE_CHECKING:
    from expected_harm.models._embedded import EmbeddedModel

#: Requests decoded together. On this 2-core machine tokens/s rose from 84 (16) to 108 (32) and
#: 154 (64), on 64 AdvBench prompts of 64 new tokens.
BATCH_SIZE = 64
#: A batch pads every prompt to its longest: one 450-token prompt among 63 of 45 made a batch take
#: 5 times as long. Requests are decoded shortest first, and a group closes before padding would
#: exceed this share of its prompt tokens...
MAX_PADDING = 0.25
#: ...or its padded prompt tokens this many (the prefill's memory). Uniformly long prompts, such
#: as in-the-wild jailbreaks of about 470 tokens, still fill a group: a decoding step costs about
#: the same for 13 or 34 rows, so fewer, fuller groups take fewer steps.
TOKEN_BUDGET = 64 * 256
#: Weights are the GGUF's dequantised values, exactly representable in float32.
DTYPE = "float32"


def revision() -> str:
    """What besides the weights makes this path's answers: its libraries and number format."""
    versions = ", ".join(f"{name}=={importlib.metadata.version(name)}"
                         for name in ("transformers", "torch"))
    return (f"greedy requests: {versions}, {DTYPE}; "
            f"JSON schemas: llguidance=={importlib.metadata.version('llguidance')}")


class BatchedDecoder:
    """Greedy chat completions of many requests in one ``generate`` call.

    Args:
        info: The embedded model (its adapter, if any, merged: :func:`._checkpoint.load_embedded`).
        n_ctx: Token budget per sequence (prompt and answer), as llama.cpp's context has.
    """

    def __init__(self, info: EmbeddedModel, n_ctx: int) -> None:
        from expected_harm.models._checkpoint import load_embedded

        self.model, self.tokenizer = load_embedded(info, dtype=DTYPE)
        self.model.eval()
        self.tokenizer.padding_side = "left"
        self.n_ctx = n_ctx
        # llama.cpp ends an answer at any end-of-generation token: the template's end of turn
        # (<|im_end|>) and the end of text.
        self.end_tokens = sorted({self.tokenizer.eos_token_id,
                                  *self.tokenizer.convert_tokens_to_ids(["<|im_end|>"])} - {None})

    def complete(self, requests: list[list[Message]], max_tokens: int,
                 stop: tuple[str, ...] = (), top_logprobs: int | None = None,
                 schema: Mapping[str, Any] | None = None) -> list[Reply]:
        """Greedy answers to every request, in order; each ends as one :class:`Reply`.

        ``top_logprobs`` (None: none) asks for each answer token's log-probability and that many
        most likely alternatives, as ``create_chat_completion(logprobs=True)`` gives them (before
        any schema's mask, as llama.cpp reports them). ``schema`` holds every answer to a JSON
        schema (:class:`._constrained.SchemaMask`).

        Raises:
            ValueError: A prompt leaves no room for an answer within ``n_ctx`` tokens.
        """
        prompts = [self.tokenizer.apply_chat_template(m, tokenize=False,
                                                      add_generation_prompt=True)
                   for m in requests]
        lengths = [len(ids) for ids in self.tokenizer(prompts, add_special_tokens=False)
                   ["input_ids"]]
        if max(lengths) >= self.n_ctx:
            raise ValueError(f"a prompt of {max(lengths)} tokens leaves no room for an "
                             f"answer within {self.n_ctx} tokens")
        replies: list[Reply | None] = [None] * len(requests)
        for group in _groups(lengths):
            answers = self._decode([prompts[i] for i in group], max_tokens, stop, top_logprobs,
                                   schema)
            for i, reply in zip(group, answers, strict=True):
                replies[i] = reply
        return [r for r in replies if r is not None]

    def _decode(self, prompts: list[str], max_tokens: int, stop: tuple[str, ...],
                top_logprobs: int | None, schema: Mapping[str, Any] | None) -> list[Reply]:
        """One ``generate`` call: the prompts left-padded to the longest, decoded together."""
        import torch

        from expected_harm.models._constrained import SchemaMask

        encoded = self.tokenizer(prompts, return_tensors="pt", padding=True,
                                 add_special_tokens=False)
        lengths = encoded["attention_mask"].sum(dim=1).tolist()
        budget = min(max_tokens, self.n_ctx - max(lengths))
        masks = ([SchemaMask(self.tokenizer, schema, len(prompts), self.end_tokens)]
                 if schema else None)
        with torch.inference_mode():
            out = self.model.generate(
                **encoded, max_new_tokens=budget, do_sample=False, temperature=None,
                top_p=None, top_k=None, eos_token_id=self.end_tokens,
                pad_token_id=self.tokenizer.pad_token_id,
                stop_strings=list(stop) or None, tokenizer=self.tokenizer if stop else None,
                logits_processor=masks, return_dict_in_generate=True,
                output_logits=top_logprobs is not None)
        answers = out.sequences[:, encoded["input_ids"].shape[1]:].tolist()
        return [self._reply(row, answer, length, stop, out, top_logprobs)
                for row, (answer, length) in enumerate(zip(answers, lengths))]

    def _reply(self, row: int, answer: list[int], prompt_tokens: int, stop: tuple[str, ...],
               out: Any, top_logprobs: int | None) -> Reply:
        ended = next((i for i, t in enumerate(answer) if t in self.end_tokens), None)
        tokens = answer if ended is None else answer[:ended]
        text = self.tokenizer.decode(tokens, skip_special_tokens=False)
        hit = min((text.index(s) for s in stop if s in text), default=None)
        kept = text if hit is None else text[:hit]
        logprobs = None
        if top_logprobs is not None:
            table = [self._logprob(out.logits[step][row], token, top_logprobs)
                     for step, token in enumerate(tokens)]
            logprobs = _kept(table, len(kept))
        return Reply(
            text=kept,
            usage=Usage(prompt_tokens, len(tokens)),
            logprobs=logprobs,
            finish_reason="stop" if ended is not None or hit is not None else "length",
        )

    def _logprob(self, logits: Any, token: int, top: int) -> TokenLogprob:
        """The chosen token's log-probability and the ``top`` most likely, keyed by their text
        (the chosen token always included), as llama-cpp-python tabulates them."""
        import torch

        logprobs = torch.log_softmax(logits.float(), dim=-1)
        best = torch.topk(logprobs, top).indices.tolist()
        table = {self.tokenizer.decode([i]): float(logprobs[i]) for i in best}
        chosen = self.tokenizer.decode([token])
        table[chosen] = float(logprobs[token])
        return TokenLogprob(token=chosen, logprob=float(logprobs[token]), top=table)


def _groups(lengths: list[int], budget: int = TOKEN_BUDGET,
            max_padding: float = MAX_PADDING) -> list[list[int]]:
    """Indices of ``lengths``, shortest first, in groups of at most :data:`BATCH_SIZE` prompts
    whose padding stays within ``max_padding`` of their padded size, and that size within
    ``budget``; a prompt longer than the budget is a group of its own.

    Examples:
        >>> _groups([5, 40, 6, 7], budget=200)
        [[0, 2, 3], [1]]
        >>> _groups([30, 32, 31, 33], budget=100)
        [[0, 2, 1], [3]]
    """
    groups: list[list[int]] = []
    tokens = 0  # the last group's prompt tokens, padding excluded
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        group = groups[-1] if groups else None
        # sorted, so this prompt is the group's longest: the padded size is rows times its length
        padded = (len(group) + 1) * lengths[i] if group else 0
        if (group is None or len(group) == BATCH_SIZE or padded > budget
                or tokens + lengths[i] < (1 - max_padding) * padded):
            groups.append([i])
            tokens = lengths[i]
        else:
            group.append(i)
            tokens += lengths[i]
    return groups


def _kept(table: list[TokenLogprob], length: int) -> tuple[TokenLogprob, ...] | None:
    """The entries whose text starts before ``length`` characters (the answer a stop cut)."""
    kept, offset = [], 0
    for entry in table:
        if offset >= length:
            break
        kept.append(entry)
        offset += len(entry.token)
    return tuple(kept) or None
