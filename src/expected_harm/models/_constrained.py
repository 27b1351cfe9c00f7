"""Greedy decoding held to a JSON schema, in transformers: llguidance masks each step's tokens.

llama.cpp checks its grammar against every one of the 49,152 candidate tokens at each step, one
sequence at a time: the section-03 rater's 26 requests of 200 tokens took 327 s of a cold book.
llguidance (the Rust grammar engine behind Guidance and llama.cpp's ``%llguidance`` grammars)
computes the mask of allowed tokens in well under a millisecond, so schema-held requests decode in
batches like free-form ones (:mod:`._batched`).

Whitespace between JSON tokens is allowed as llama.cpp's JSON-schema grammar allows it (one space,
or a newline and up to 20 spaces or tabs), so a model formats its JSON as it would there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

#: llama.cpp's ``space`` rule of its JSON-schema grammars (``json_schema_to_grammar``).
WHITESPACE = r"(?: |\n[ \t]{0,20})?"


class SchemaMask:
    """Each answer's next token must continue JSON valid under ``schema``; once the JSON is
    complete, only an end token may follow.

    One grammar matcher per answer (``rows`` of them): :meth:`apply` masks a batch's scores,
    :meth:`consume` advances an answer by the token chosen. End tokens are never consumed: an
    answer that chose one has ended and leaves the batch.
    """

    def __init__(self, tokenizer: Any, schema: Mapping[str, Any], rows: int,
                 end_tokens: list[int]) -> None:
        import llguidance

        grammar = llguidance.LLMatcher.grammar_from_json_schema(
            json.dumps(schema, default=dict),
            overrides={"whitespace_flexible": True, "whitespace_pattern": WHITESPACE})
        lltokenizer = _lltokenizer(tokenizer, tuple(end_tokens))
        self.matchers = [llguidance.LLMatcher(lltokenizer, grammar, log_level=0)
                         for _ in range(rows)]
        error = self.matchers[0].get_error() if self.matchers[0].is_error() else None
        if error:
            raise ValueError(f"JSON schema not usable as a grammar: {error}")
        self.end_tokens = sorted(end_tokens)

    def apply(self, rows: list[int], scores: Any) -> None:
        """Mask, in place, the tokens that answer ``rows[i]`` may not take next in ``scores[i]``."""
        import numpy as np
        import torch

        for batch_row, row in enumerate(rows):
            matcher = self.matchers[row]
            if matcher.is_error():  # cannot happen with the mask applied; end the answer
                blocked = torch.ones(scores.shape[1], dtype=torch.bool)
                blocked[self.end_tokens] = False
                scores[batch_row].masked_fill_(blocked, float("-inf"))
                continue
            allowed = np.frombuffer(matcher.compute_logit_bias(), dtype=np.uint8)
            blocked = torch.from_numpy(allowed[: scores.shape[1]] == 0)
            scores[batch_row, : len(blocked)].masked_fill_(blocked, float("-inf"))

    def consume(self, row: int, token: int) -> None:
        """Advance answer ``row`` by ``token`` (not an end token)."""
        self.matchers[row].consume_token(token)


@cache
def _lltokenizer(tokenizer: Any, end_tokens: tuple[int, ...]) -> Any:
    """llguidance's view of a transformers tokenizer (about a second to build, so kept)."""
    import llguidance.hf

    return llguidance.hf.from_tokenizer(tokenizer, eos_token=list(end_tokens))
