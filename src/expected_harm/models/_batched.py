"""Greedy decoding of many prompts at once on one llama.cpp model (continuous batching).

llama-cpp-python's ``Llama`` answers one prompt at a time; on a CPU most of each decoding step is
spent reading the weights, so decoding several sequences in one ``llama_decode`` call costs little
more than decoding one. :class:`BatchedDecoder` keeps up to ``slots`` sequences in its own llama.cpp
context on the same loaded weights (and LoRA adapter), feeds each new prompt in as a slot frees up,
and takes the most likely token at every step: greedy decoding, as ``temperature=0`` asks.

Only greedy requests without a JSON schema come here (a schema needs grammar-constrained
sampling); the rest stay on ``Llama.create_chat_completion``. Log-probabilities come from the
same logits as there (``Llama.logits_to_logprobs``), tabulated the same way. Prompts are formatted
with the model's own chat template, as ``create_chat_completion`` does, and answers stop at an
end-of-generation token, ``max_tokens`` or a stop string. Batched arithmetic can pick a different
token where two are nearly tied, so batched answers carry their own revision in the cache key and
are never mixed with one-at-a-time ones (``benchmarks/run.py`` measures how often the two agree).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from expected_harm.models._types import Message, Reply, TokenLogprob, Usage

if TYPE_CHECKING:
    from llama_cpp import Llama

#: Sequences decoded together. Throughput on this 2-core machine levels off around here
#: (``benchmarks/run.py``); the context holds ``slots`` times the per-sequence budget.
DEFAULT_SLOTS = 8


@dataclass
class _Slot:
    """One sequence being decoded: which request, its tokens so far, where its logits are."""

    request: int
    prompt_tokens: int
    budget: int
    stop: tuple[str, ...]
    tokens: list[int] = field(default_factory=list)
    logprobs: list[TokenLogprob] = field(default_factory=list)
    position: int = 0
    logits_row: int = -1


class BatchedDecoder:
    """Greedy chat completions of many requests on one loaded ``Llama`` (weights shared).

    Args:
        llama: The loaded model (with its LoRA adapter, if any, which this context applies too).
        slots: Sequences decoded at once.
        n_ctx: Token budget per sequence (prompt and answer).
    """

    def __init__(self, llama: Llama, slots: int = DEFAULT_SLOTS, n_ctx: int = 2048) -> None:
        import llama_cpp
        from llama_cpp import _internals
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._llama = llama
        self._cpp = llama_cpp
        self.slots = slots
        self.n_ctx = n_ctx
        # The model's own context settings (attention kernel, threads), widened to ``slots``.
        params = type(llama.context_params).from_buffer_copy(llama.context_params)
        params.n_ctx = n_ctx * slots
        # One step holds a token of every active sequence and as many new prompts as fit.
        self._capacity = n_ctx + slots
        params.n_batch = self._capacity
        params.n_ubatch = 512
        params.n_seq_max = slots
        params.kv_unified = False  # each sequence its own cells: prompts share no prefix
        self._context = _internals.LlamaContext(model=llama._model, params=params, verbose=False)
        if llama._lora_adapter is not None:
            adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(llama._lora_adapter)
            scales = (ctypes.c_float * 1)(llama.lora_scale)
            if llama_cpp.llama_set_adapters_lora(self._context.ctx, adapters, 1, scales):
                raise RuntimeError("could not apply the LoRA adapter to the batched context")
        self._batch = _internals.LlamaBatch(n_tokens=self._capacity, embd=0, n_seq_max=1,
                                            verbose=False)
        self._vocab = llama_cpp.llama_model_get_vocab(llama._model.model)
        self._n_vocab = llama.n_vocab()
        eos = llama.token_eos()
        bos = llama.token_bos()
        self._formatter = Jinja2ChatFormatter(
            template=llama.metadata["tokenizer.chat_template"],
            eos_token=llama._model.token_get_text(eos) if eos != -1 else "",
            bos_token=llama._model.token_get_text(bos) if bos != -1 else "",
            stop_token_ids=[eos],
        )

    def close(self) -> None:
        self._batch.close()
        self._context.close()

    def _prompt(self, messages: list[Message]) -> tuple[list[int], tuple[str, ...]]:
        formatted = self._formatter(messages=messages)
        tokens = self._llama.tokenize(formatted.prompt.encode("utf-8"),
                                      add_bos=not formatted.added_special, special=True)
        stop = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop]
        return tokens, tuple(s for s in stop if s)

    def complete(self, requests: list[list[Message]], max_tokens: int,
                 stop: tuple[str, ...] = (), top_logprobs: int | None = None) -> list[Reply]:
        """Greedy answers to every request, in order; each ends as one :class:`Reply`.

        ``top_logprobs`` (None: none) asks for each answer token's log-probability and that many
        most likely alternatives, as ``create_chat_completion(logprobs=True)`` gives them.

        Raises:
            ValueError: A prompt leaves no room for an answer within ``n_ctx`` tokens.
        """
        prompts = [self._prompt(m) for m in requests]
        for tokens, _ in prompts:
            if len(tokens) >= self.n_ctx:
                raise ValueError(f"a prompt of {len(tokens)} tokens leaves no room for an "
                                 f"answer within {self.n_ctx} tokens")
        waiting = list(range(len(requests)))[::-1]
        free = list(range(self.slots))[::-1]
        active: dict[int, _Slot] = {}
        replies: list[Reply | None] = [None] * len(requests)
        memory = self._cpp.llama_get_memory(self._context.ctx)
        self._cpp.llama_memory_clear(memory, True)
        while waiting or active:
            self._batch.reset()
            # Every active sequence adds its last token; free slots take new prompts while they
            # fit, so one llama_decode call serves the whole step.
            for seq, slot in active.items():
                self._add([slot.tokens[-1]], seq, slot.position)
                slot.position += 1
                slot.logits_row = self._batch.n_tokens() - 1
            while waiting and free:
                tokens, template_stop = prompts[waiting[-1]]
                if self._batch.n_tokens() + len(tokens) > self._capacity:
                    break
                request, seq = waiting.pop(), free.pop()
                budget = min(max_tokens, self.n_ctx - len(tokens))
                active[seq] = _Slot(request, len(tokens), budget, (*stop, *template_stop),
                                    position=len(tokens))
                self._add(tokens, seq, 0)
                active[seq].logits_row = self._batch.n_tokens() - 1
            self._decode_batch()
            for seq in list(active):
                slot = active[seq]
                logits = np.ctypeslib.as_array(
                    self._context.get_logits_ith(slot.logits_row), shape=(self._n_vocab,))
                token = int(np.argmax(logits))
                done = self._cpp.llama_vocab_is_eog(self._vocab, token)
                if not done:
                    slot.tokens.append(token)
                    if top_logprobs is not None:
                        slot.logprobs.append(self._logprob(logits, token, top_logprobs))
                text = self._text(slot.tokens)
                hit = min((text.index(s) for s in slot.stop if s in text), default=None)
                if done or hit is not None or len(slot.tokens) >= slot.budget:
                    reason = "length" if not done and hit is None else "stop"
                    kept = text if hit is None else text[:hit]
                    replies[slot.request] = Reply(
                        text=kept,
                        usage=Usage(slot.prompt_tokens, len(slot.tokens)),
                        logprobs=(self._kept(slot, len(kept)) if top_logprobs is not None
                                  else None),
                        finish_reason=reason,
                    )
                    self._cpp.llama_memory_seq_rm(memory, seq, -1, -1)
                    del active[seq]
                    free.append(seq)
        return [r for r in replies if r is not None]

    def _add(self, tokens: list[int], seq: int, start: int) -> None:
        """Append ``tokens`` of sequence ``seq`` from ``start``; only the last one's logits."""
        batch = self._batch.batch
        for offset, token in enumerate(tokens):
            i = batch.n_tokens
            batch.token[i] = token
            batch.pos[i] = start + offset
            batch.seq_id[i][0] = seq
            batch.n_seq_id[i] = 1
            batch.logits[i] = offset == len(tokens) - 1
            batch.n_tokens = i + 1

    def _decode_batch(self) -> None:
        if self._batch.n_tokens():
            self._context.decode(self._batch)

    def _logprob(self, logits: np.ndarray, token: int, top: int) -> TokenLogprob:
        """The chosen token's log-probability and the ``top`` most likely, as llama-cpp-python
        tabulates them (alternatives keyed by their text; the chosen token always included)."""
        logprobs = self._llama.logits_to_logprobs(logits)
        best = np.argsort(-logprobs, kind="stable")[:top]
        table = {self._text([int(i)]): float(logprobs[i]) for i in best}
        chosen = self._text([token])
        table[chosen] = float(logprobs[token])
        return TokenLogprob(token=chosen, logprob=float(logprobs[token]), top=table)

    def _kept(self, slot: _Slot, length: int) -> tuple[TokenLogprob, ...] | None:
        """The log-probabilities of the tokens whose text starts before ``length`` characters."""
        kept, offset = [], 0
        for entry in slot.logprobs:
            if offset >= length:
                break
            kept.append(entry)
            offset += len(entry.token)
        return tuple(kept) or None

    def _text(self, tokens: list[int]) -> str:
        return self._llama.detokenize(tokens).decode("utf-8", errors="ignore")
