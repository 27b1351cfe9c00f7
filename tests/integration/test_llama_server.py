"""The openai-compatible backend against a real llama.cpp server on loopback serving SmolLM2.

One scenario, in order: a concurrent cold run, a cached rerun with zero server requests, a run
during which the server is killed (error rows, nothing crashes), and a rerun after restart that
completes only what is missing.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time

import pytest

from expected_harm.models import (
    GenerateConfig,
    LlamaServer,
    RetryPolicy,
    Status,
    generate,
    get_model,
)

pytestmark = pytest.mark.integration

CONFIG = GenerateConfig(max_tokens=32)
SUMS = [(2, 2), (3, 4), (1, 1), (7, 2)]
# Greedy SmolLM2-135M gets these right (checked by hand); the rest are only checked for form.
KNOWN = {f"What is {a} plus {b}? Answer with the number only.": str(a + b) for a, b in SUMS}
OTHER = [f"Write one short sentence about the number {n}." for n in range(20)]


@pytest.fixture(scope="module")
def server():
    with LlamaServer() as running:
        yield running


def test_concurrent_cached_and_resumed_runs(server, response_cache, caplog) -> None:
    cache = response_cache
    model = get_model(server.spec, max_concurrency=4)
    assert model.max_concurrency == 4
    prompts = [*KNOWN, *OTHER]  # 24 requests

    # 1. cold: every request reaches the server, answers are real
    results = generate(model, prompts, CONFIG)
    assert server.completions_served() == 24
    assert [r.status for r in results] == [Status.OK] * 24
    for prompt, result in zip(prompts, results):
        assert result.text.strip() and result.usage.completion_tokens > 0
        if prompt in KNOWN:
            assert KNOWN[prompt] in result.text
    assert len(cache) == 24

    # 2. rerun: everything from the cache, zero server requests
    again = generate(model, prompts, CONFIG)
    assert server.completions_served() == 24
    assert all(r.cached for r in again)
    assert [r.text for r in again] == [r.text for r in results]

    # 3. kill the server half-way through a new run
    fresh = [f"Name a fruit whose name starts with the letter {c}." for c in "ABCDEFGHIJKLMNOPQRST"]
    quick = RetryPolicy(attempts=2, initial_wait=0.1, max_wait=0.2)
    outcome: dict[str, list] = {}

    def run_in_background() -> None:
        outcome["results"] = generate(model, fresh, CONFIG, retry=quick)

    with caplog.at_level(logging.WARNING, logger="expected_harm.models"):
        # a new thread starts with an empty context: give it this one (its run settings)
        worker = threading.Thread(target=contextvars.copy_context().run, args=(run_in_background,))
        worker.start()
        deadline = time.monotonic() + 120
        while len(cache) < 24 + 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()
        worker.join(timeout=120)
    assert not worker.is_alive()
    interrupted = outcome["results"]
    statuses = [r.status for r in interrupted]
    n_errors = statuses.count(Status.ERROR)
    assert len(interrupted) == 20 and set(statuses) == {Status.OK, Status.ERROR}
    assert n_errors >= 1
    assert all(
        "gave up after 2 attempts" in r.error for r in interrupted if r.status is Status.ERROR
    )
    assert len(cache) == 24 + statuses.count(Status.OK)
    summary = [r.getMessage() for r in caplog.records if "first error" in r.getMessage()]
    assert len(summary) == 1 and f"{n_errors} error" in summary[0]

    # 4. restart on the same port: the rerun calls only what failed, no duplicates
    served_before = server.completions_served()
    server.start()
    resumed = generate(model, fresh, CONFIG)
    assert [r.status for r in resumed] == [Status.OK] * 20
    assert server.completions_served() - served_before == n_errors
    assert [r.cached for r in resumed] == [s is Status.OK for s in statuses]
    assert len(cache) == 44
    assert len({r.key for r in resumed}) == 20
