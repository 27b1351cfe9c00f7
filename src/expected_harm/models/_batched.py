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

The decoding loop is ``generate``'s greedy one written out, for one change: an answer that has
ended leaves the batch (its rows of the key-value cache dropped), where ``generate`` goes on
decoding it until the batch's longest answer ends. Refusals end within a few tokens, so on the
book's requests most rows leave early (1.35 times as fast on 64 AdvBench requests to the
safety-tuned model, 128 tokens; ``benchmarks/run.py``). The answers are those ``generate`` gives:
the same 64 of 64 there, and 489 of 489 answers of a cold book re-decoded this way came out word
for word the same, their log-probabilities within 1e-5 (a batch's size moves float sums in the
last digits). So the revision is unchanged and the cache keeps its answers.

The tokens that every prompt of a batch shares (the chat template's system turn: 24 of SmolLM2's
tokens; a whole jailbreak template) run once, in a pass of their own, and their keys and values
are copied to every row; each row's own tokens follow, left-padded. Re-decoding 483 greedy
requests of a cold book this way took 370 s against 507 s (1.37x) and gave the same 483 answers,
their log-probabilities within 1.4e-5, so the revision is unchanged here too.

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
        for group in length_groups(lengths):
            answers = self._decode([prompts[i] for i in group], max_tokens, stop, top_logprobs,
                                   schema)
            for i, reply in zip(group, answers, strict=True):
                replies[i] = reply
        return [r for r in replies if r is not None]

    def _decode(self, prompts: list[str], max_tokens: int, stop: tuple[str, ...],
                top_logprobs: int | None, schema: Mapping[str, Any] | None) -> list[Reply]:
        """The prompts left-padded to the longest and decoded together, one greedy step at a
        time, as ``generate`` decodes them; but their shared prefix runs once
        (:func:`shared_prefix`), and a row leaves the batch once its answer ends, so that the
        steps after cost only the rows still answering (``generate`` decodes every row until the
        longest answer ends)."""
        import torch
        from transformers import DynamicCache

        from expected_harm.models._constrained import SchemaMask

        ids = self.tokenizer(prompts, add_special_tokens=False)["input_ids"]
        lengths = [len(x) for x in ids]
        shared = shared_prefix(ids)
        own = [x[shared:] for x in ids]
        width = max(map(len, own))
        # [shared prefix][padding][own tokens]: positions count real tokens, as left padding does
        inputs = torch.tensor([[self.tokenizer.pad_token_id] * (width - len(x)) + x for x in own])
        attention = torch.tensor([[1] * shared + [0] * (width - len(x)) + [1] * len(x)
                                  for x in own])
        positions = (attention.cumsum(-1) - 1)[:, shared:].masked_fill(
            attention[:, shared:] == 0, 0)
        budget = min(max_tokens, self.n_ctx - max(lengths))
        mask = (SchemaMask(self.tokenizer, schema, len(prompts), self.end_tokens)
                if schema else None)
        answers: list[list[int]] = [[] for _ in prompts]
        tables: list[list[TokenLogprob]] = [[] for _ in prompts]
        ended = [False] * len(prompts)
        rows = list(range(len(prompts)))  # the prompt of each batch row still answering
        with torch.inference_mode():
            cache = (prefix_cache(self.model, ids[0][:shared], len(prompts), logits_to_keep=1)[0]
                     if shared else DynamicCache(config=self.model.config))
            for step in range(budget):
                out = self.model(input_ids=inputs, attention_mask=attention,
                                 position_ids=positions, cache=cache, use_cache=True,
                                 logits_to_keep=1)
                scores = out.logits[:, -1].to(copy=True, dtype=torch.float32)
                raw = scores.clone() if mask and top_logprobs is not None else scores
                if mask:
                    mask.apply(rows, scores)
                tokens = scores.argmax(dim=-1).tolist()
                going = []
                for batch_row, (row, token) in enumerate(zip(rows, tokens, strict=True)):
                    if token in self.end_tokens:
                        ended[row] = True
                        continue
                    answers[row].append(token)
                    if top_logprobs is not None:
                        tables[row].append(self._logprob(raw[batch_row], token, top_logprobs))
                    if mask:
                        mask.consume(row, token)
                    if stop and self._stopped(answers[row], stop):
                        ended[row] = True
                        continue
                    going.append(batch_row)
                if not going or step == budget - 1:
                    break
                if len(going) < len(rows):
                    kept = torch.tensor(going)
                    for layer in cache.layers:
                        layer.batch_select_indices(kept)
                    attention, positions = attention[kept], positions[kept]
                    rows = [rows[b] for b in going]
                inputs = torch.tensor([[tokens[b]] for b in going])
                attention = torch.cat([attention, attention.new_ones(len(going), 1)], dim=1)
                positions = positions[:, -1:] + 1
        return [self._reply(answers[i], ended[i], lengths[i], stop,
                            tables[i] if top_logprobs is not None else None)
                for i in range(len(prompts))]

    def _stopped(self, answer: list[int], stop: tuple[str, ...]) -> bool:
        text = self.tokenizer.decode(answer, skip_special_tokens=False)
        return any(s in text for s in stop)

    def _reply(self, tokens: list[int], ended: bool, prompt_tokens: int, stop: tuple[str, ...],
               table: list[TokenLogprob] | None) -> Reply:
        """One answer: its text cut at the first stop string, its log-probabilities likewise."""
        text = self.tokenizer.decode(tokens, skip_special_tokens=False)
        hit = min((text.index(s) for s in stop if s in text), default=None)
        kept = text if hit is None else text[:hit]
        return Reply(
            text=kept,
            usage=Usage(prompt_tokens, len(tokens)),
            logprobs=None if table is None else _kept(table, len(kept)),
            finish_reason="stop" if ended else "length",
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


def length_groups(lengths: list[int], budget: int = TOKEN_BUDGET,
                  max_padding: float = MAX_PADDING, rows: int = BATCH_SIZE) -> list[list[int]]:
    """Indices of ``lengths``, shortest first, in groups of at most ``rows`` prompts whose
    padding stays within ``max_padding`` of their padded size, and that size within ``budget``;
    a prompt longer than the budget is a group of its own.

    Examples:
        >>> length_groups([5, 40, 6, 7], budget=200)
        [[0, 2, 3], [1]]
        >>> length_groups([30, 32, 31, 33], budget=100)
        [[0, 2, 1], [3]]
    """
    groups: list[list[int]] = []
    tokens = 0  # the last group's prompt tokens, padding excluded
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        group = groups[-1] if groups else None
        # sorted, so this prompt is the group's longest: the padded size is rows times its length
        padded = (len(group) + 1) * lengths[i] if group else 0
        if (group is None or len(group) == rows or padded > budget
                or tokens + lengths[i] < (1 - max_padding) * padded):
            groups.append([i])
            tokens = lengths[i]
        else:
            group.append(i)
            tokens += lengths[i]
    return groups


#: A shared prefix shorter than this runs with the rest: its own forward pass would cost about
#: what it saves.
MIN_SHARED = 8


def shared_prefix(ids: list[list[int]], minimum: int = MIN_SHARED) -> int:
    """How many leading tokens all of several prompts share, each keeping one of its own; 0 for
    one prompt (nothing to share) or a prefix shorter than ``minimum``.

    Examples:
        >>> shared_prefix([[1, 2, 3, 4], [1, 2, 5]], minimum=1)
        2
        >>> shared_prefix([[1, 2], [1, 2, 3]], minimum=1)
        1
        >>> shared_prefix([[1, 2, 3, 4], [1, 2, 5]])
        0
        >>> shared_prefix([[1, 2, 3]], minimum=1)
        0
    """
    if len(ids) < 2:
        return 0
    shared = min(map(len, ids)) - 1
    for other in ids[1:]:
        shared = next((i for i in range(shared) if other[i] != ids[0][i]), shared)
    return shared if shared >= minimum else 0


def prefix_cache(model: Any, prefix: list[int], rows: int, **kwargs: Any) -> tuple[Any, Any]:
    """One forward pass over a prefix that ``rows`` prompts share (:func:`shared_prefix`): its
    key-value cache, copied to every row, and the pass's output (``kwargs`` go to the model)."""
    import torch
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    device = next(model.parameters()).device
    output = model(input_ids=torch.tensor([prefix], device=device), cache=cache, use_cache=True,
                   **kwargs)
    for layer in cache.layers:
        layer.batch_repeat_interleave(rows)
    return cache, output


def _kept(table: list[TokenLogprob], length: int) -> tuple[TokenLogprob, ...] | None:
    """The entries whose text starts before ``length`` characters (the answer a stop cut)."""
    kept, offset = [], 0
    for entry in table:
        if offset >= length:
            break
        kept.append(entry)
        offset += len(entry.token)
    return tuple(kept) or None
