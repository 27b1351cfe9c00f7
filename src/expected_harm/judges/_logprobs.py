"""Reading a classifier's two-way answer from its first token's log-probabilities."""

from __future__ import annotations

import math
from collections.abc import Sequence

from expected_harm.models import ChatResult


def answer_probability(
    result: ChatResult,
    positive: Sequence[str] = ("yes",),
    negative: Sequence[str] = ("no",),
) -> float:
    """P(positive) / (P(positive) + P(negative)) among the first token's alternatives.

    Each alternative counts towards the answer it spells once white space and quotes are
    stripped and case is dropped (" Yes", '"yes' and "YES" are all "yes"); the others are
    ignored. This is how a yes/no judge (HarmBench's) or a safe/unsafe guard scores an answer
    when the backend returns log-probabilities.

    Returns:
        The share in [0, 1], or NaN when there are no log-probabilities or neither answer is
        among the first token's alternatives.

    Raises:
        ValueError: If an answer is empty or the same word is on both sides.

    Examples:
        >>> from expected_harm.models import Status, TokenLogprob
        >>> top = {" Yes": math.log(0.6), "no": math.log(0.2)}
        >>> first = TokenLogprob(" Yes", math.log(0.6), top)
        >>> round(answer_probability(ChatResult("m", "k", Status.OK, logprobs=(first,))), 2)
        0.75
        >>> first = TokenLogprob("unsafe", math.log(0.3), {"unsafe": math.log(0.3), "safe": 0.0})
        >>> result = ChatResult("m", "k", Status.OK, logprobs=(first,))
        >>> round(answer_probability(result, positive=("unsafe",), negative=("safe",)), 2)
        0.23
        >>> answer_probability(ChatResult("m", "k", Status.OK))
        nan
    """
    sides = [{word.strip().lower() for word in side} for side in (positive, negative)]
    if not all(sides) or "" in sides[0] | sides[1]:
        raise ValueError("both answers need at least one non-empty word")
    if sides[0] & sides[1]:
        raise ValueError(f"on both sides: {', '.join(sorted(sides[0] & sides[1]))}")
    if not result.logprobs:
        return math.nan
    mass = [0.0, 0.0]
    for token, logprob in result.logprobs[0].top.items():
        word = token.strip().strip('"').lower()
        for side, words in enumerate(sides):
            if word in words:
                mass[side] += math.exp(logprob)
    total = mass[0] + mass[1]
    return mass[0] / total if total > 0 else math.nan
