from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest

from expected_harm.models import (
    BlockedError,
    GenerateConfig,
    Reply,
    RetryPolicy,
    Status,
    TransientError,
    generate,
    summarize,
    to_frame,
)
from tests.doubles import ScriptedChatModel, echo

NO_WAIT = RetryPolicy(attempts=3, initial_wait=0.0, max_wait=0.0)


def test_results_come_back_in_input_order_with_ok_status() -> None:
    model = ScriptedChatModel()
    results = generate(model, ["a", "b", "c"])
    assert [r.text for r in results] == ["A", "B", "C"]
    assert all(r.status is Status.OK and not r.cached for r in results)
    assert results[0].model == "scripted:scripted-model"


def test_repeated_run_makes_zero_model_calls() -> None:
    prompts = [f"prompt {i}" for i in range(10)]
    first = generate(ScriptedChatModel(), prompts)
    again = ScriptedChatModel()
    second = generate(again, prompts)
    assert again.calls == []
    assert [r.text for r in second] == [r.text for r in first]
    assert all(r.cached for r in second)


def test_interrupted_run_resumes_calling_only_what_is_missing() -> None:
    generate(ScriptedChatModel(), ["p0", "p1", "p2"])
    model = ScriptedChatModel()
    results = generate(model, ["p0", "p1", "p2", "p3", "p4"])
    assert sorted(model.calls) == ["p3", "p4"]
    assert [r.cached for r in results] == [True, True, True, False, False]


def test_identical_prompts_in_one_batch_are_sent_once() -> None:
    model = ScriptedChatModel()
    results = generate(model, ["same", "same", "other", "same"])
    assert sorted(model.calls) == ["other", "same"]
    assert [r.text for r in results] == ["SAME", "SAME", "OTHER", "SAME"]


def test_transient_failures_are_retried_until_success() -> None:
    def flaky(messages, attempt):
        if attempt < 2:
            raise TransientError("HTTP 503: overloaded")
        return echo(messages, attempt)

    model = ScriptedChatModel(flaky)
    [result] = generate(model, ["x"], retry=NO_WAIT)
    assert result.status is Status.OK and result.text == "X"
    assert model.calls == ["x", "x", "x"]


def test_exhausted_retries_give_an_uncached_error_row(response_cache, caplog) -> None:
    def down(messages, attempt):
        raise TransientError("APIConnectionError: Connection refused")

    model = ScriptedChatModel(down)
    with caplog.at_level(logging.WARNING, logger="expected_harm.models"):
        results = generate(model, ["x", "y"], retry=NO_WAIT)
    assert [r.status for r in results] == [Status.ERROR, Status.ERROR]
    assert results[0].error == "APIConnectionError: Connection refused (gave up after 3 attempts)"
    assert len(model.calls) == 6
    assert len(response_cache) == 0
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith("scripted:scripted-model: 2 requests: 2 error; first error: ")
    # the next run tries again and succeeds
    healed = generate(ScriptedChatModel(), ["x", "y"])
    assert [r.status for r in healed] == [Status.OK, Status.OK]


def test_retry_after_from_the_server_overrides_the_backoff() -> None:
    def rate_limited(messages, attempt):
        if attempt == 0:
            raise TransientError("HTTP 429", retry_after=0.3)
        return echo(messages, attempt)

    slow_backoff = RetryPolicy(attempts=2, initial_wait=30.0, max_wait=60.0)
    start = time.perf_counter()
    [result] = generate(ScriptedChatModel(rate_limited), ["x"], retry=slow_backoff)
    elapsed = time.perf_counter() - start
    assert result.status is Status.OK
    assert 0.3 <= elapsed < 5.0  # waited what the server asked, not the 30 s backoff


def test_retry_after_is_capped_by_max_wait() -> None:
    def rate_limited(messages, attempt):
        if attempt == 0:
            raise TransientError("HTTP 429", retry_after=3600)
        return echo(messages, attempt)

    start = time.perf_counter()
    generate(
        ScriptedChatModel(rate_limited),
        ["x"],
        retry=RetryPolicy(attempts=2, initial_wait=0.0, max_wait=0.1),
    )
    assert time.perf_counter() - start < 5.0


def test_permanent_errors_are_not_retried() -> None:
    def broken(messages, attempt):
        raise RuntimeError("HTTP 404: model not found")

    model = ScriptedChatModel(broken)
    [result] = generate(model, ["x"], retry=NO_WAIT)
    assert result.status is Status.ERROR
    assert result.error == "RuntimeError: HTTP 404: model not found"
    assert model.calls == ["x"]


def test_provider_blocks_get_their_own_status_and_are_cached(response_cache) -> None:
    def blocked(messages, attempt):
        if messages[-1]["content"] == "filtered":
            return Reply(text="", finish_reason="content_filter")
        raise BlockedError("HTTP 400 (content_filter): the prompt was filtered")

    model = ScriptedChatModel(blocked)
    results = generate(model, ["filtered", "refused"], retry=NO_WAIT)
    assert [r.status for r in results] == [Status.BLOCKED, Status.BLOCKED]
    assert results[1].error == "HTTP 400 (content_filter): the prompt was filtered"
    assert model.calls == ["filtered", "refused"]
    assert len(response_cache) == 2


def test_parser_failures_become_unparsed_without_new_calls() -> None:
    def judge(messages, attempt):
        text = '{"score": 4}' if messages[-1]["content"] == "good" else "I think it's a four"
        return Reply(text=text)

    model = ScriptedChatModel(judge)
    results = generate(model, ["good", "bad"], parser=lambda t: json.loads(t)["score"])
    assert [r.status for r in results] == [Status.OK, Status.UNPARSED]
    assert results[0].parsed == 4 and results[1].parsed is None
    assert results[1].text == "I think it's a four"
    assert results[1].error.startswith("unparsed: Expecting value")
    rerun = ScriptedChatModel(judge)
    generate(rerun, ["good", "bad"], parser=str)
    assert rerun.calls == []


def test_concurrency_never_exceeds_the_model_limit() -> None:
    model = ScriptedChatModel(max_concurrency=3, delay=0.05)
    generate(model, [f"p{i}" for i in range(12)])
    assert model.max_in_flight == 3


def test_generate_works_inside_a_running_event_loop() -> None:
    """Jupyter runs its own loop; the synchronous entry point must still work there."""

    async def notebook_cell():
        return generate(ScriptedChatModel(), ["inside"])

    [result] = asyncio.run(notebook_cell())
    assert result.text == "INSIDE"


def test_results_table_and_summary_report_every_status() -> None:
    def mixed(messages, attempt):
        content = messages[-1]["content"]
        if content == "boom":
            raise RuntimeError("bad request")
        if content == "filtered":
            return Reply(text="", finish_reason="content_filter")
        return echo(messages, attempt)

    results = generate(ScriptedChatModel(mixed), ["a", "boom", "filtered"])
    frame = to_frame(results)
    assert frame["status"].tolist() == ["ok", "error", "blocked"]
    assert summarize(results) == (
        "3 requests: 1 ok, 1 error, 1 blocked; first error: RuntimeError: bad request"
    )


def test_generate_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="max_tokens must be at least 1, got 0"):
        GenerateConfig(max_tokens=0)
    with pytest.raises(ValueError, match="temperature must lie in"):
        GenerateConfig(temperature=-1)


def test_a_batching_model_gets_the_uncached_requests_in_batches(response_cache) -> None:
    from tests.doubles import BatchingChatModel

    model = BatchingChatModel(size=3)
    generate(model, ["a"])  # cached from here on
    results = generate(model, ["a", "b", "c", "b", "d", "e"])
    assert [r.text for r in results] == ["A", "B", "C", "B", "D", "E"]
    # "a" came from the cache and the repeated "b" was asked once: four requests, batches of 3.
    assert model.batches == [["a"], ["b", "c", "d"], ["e"]]
    assert model.calls == []  # nothing went one by one
    assert all(r.cached for r in generate(model, ["b", "e"]))


def test_a_failed_batch_is_sent_one_request_at_a_time(response_cache) -> None:
    from tests.doubles import BatchingChatModel

    model = BatchingChatModel(size=2, fail_batches=True)
    results = generate(model, ["x", "y", "z"])
    assert [r.status for r in results] == [Status.OK] * 3 and results[2].text == "Z"
    assert model.batches == [["x", "y"], ["z"]] and model.calls == ["x", "y", "z"]
