"""The OpenAI backend's error mapping, and its behaviour against a port where nothing listens."""

from __future__ import annotations

import socket

import httpx
import openai
import pytest

from expected_harm.models import (
    BlockedError,
    RetryPolicy,
    Status,
    TransientError,
    generate,
    get_model,
)
from expected_harm.models._openai import _classify, _retry_after

URL = "http://127.0.0.1:9/v1/chat/completions"


def status_error(cls, status: int, headers=None, body=None):
    response = httpx.Response(status, headers=headers or {}, request=httpx.Request("POST", URL))
    return cls(f"status {status}", response=response, body=body)


def test_rate_limit_is_transient_and_keeps_retry_after() -> None:
    error = _classify(status_error(openai.RateLimitError, 429, {"retry-after": "7"}), "K")
    assert isinstance(error, TransientError) and error.retry_after == 7.0


def test_server_errors_are_transient() -> None:
    error = _classify(status_error(openai.InternalServerError, 503), "K")
    assert isinstance(error, TransientError) and error.retry_after is None


def test_content_filter_is_a_block() -> None:
    body = {"code": "content_filter", "message": "filtered"}
    error = _classify(status_error(openai.BadRequestError, 400, body=body), "K")
    assert isinstance(error, BlockedError)


def test_rejected_key_names_the_variable() -> None:
    error = _classify(status_error(openai.AuthenticationError, 401), "HOST_KEY")
    assert isinstance(error, PermissionError) and "HOST_KEY" in str(error)


def test_other_client_errors_are_permanent() -> None:
    error = _classify(status_error(openai.NotFoundError, 404), "K")
    assert type(error) is RuntimeError and "HTTP 404" in str(error)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({}, None),
        ({"retry-after": "soon"}, None),
    ],
)
def test_retry_after_header_forms(headers, seconds) -> None:
    assert _retry_after(httpx.Response(429, headers=headers)) == seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_server_gives_error_rows_not_a_crash(caplog) -> None:
    model = get_model(f"openai-compatible:m@http://127.0.0.1:{free_port()}/v1", timeout=5)
    results = generate(
        model, ["a", "b", "c"], retry=RetryPolicy(attempts=2, initial_wait=0, max_wait=0),
    )
    assert [r.status for r in results] == [Status.ERROR] * 3
    assert "APIConnectionError" in results[0].error
    assert "gave up after 2 attempts" in results[0].error
    assert any("3 requests: 3 error" in r.getMessage() for r in caplog.records)
