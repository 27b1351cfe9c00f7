from __future__ import annotations

import sqlite3
from pathlib import Path

from expected_harm.models import (
    ChatResult,
    GenerateConfig,
    ResponseCache,
    Status,
    TokenLogprob,
    Usage,
    cache_key,
)

IDENTITY = {"backend": "openai-compatible", "model": "m", "endpoint": "http://x/v1", "revision": ""}
MESSAGES = [{"role": "user", "content": "hello"}]


def result(key: str, status: Status = Status.OK, **kw) -> ChatResult:
    return ChatResult(model="openai-compatible:m@http://x/v1", key=key, status=status, **kw)


def test_cache_key_is_a_stable_sha256_of_the_request() -> None:
    key = cache_key(IDENTITY, MESSAGES, GenerateConfig())
    assert key == cache_key(dict(reversed(IDENTITY.items())), MESSAGES, GenerateConfig())
    assert len(key) == 64 and int(key, 16) >= 0


def test_cache_key_changes_with_everything_that_changes_the_answer() -> None:
    base = cache_key(IDENTITY, MESSAGES, GenerateConfig())
    variants = [
        cache_key({**IDENTITY, "model": "other"}, MESSAGES, GenerateConfig()),
        cache_key({**IDENTITY, "endpoint": "http://y/v1"}, MESSAGES, GenerateConfig()),
        cache_key({**IDENTITY, "revision": "v2"}, MESSAGES, GenerateConfig()),
        cache_key(IDENTITY, [{"role": "user", "content": "hello!"}], GenerateConfig()),
        cache_key(IDENTITY, [{"role": "system", "content": "hello"}], GenerateConfig()),
        cache_key(IDENTITY, MESSAGES, GenerateConfig(max_tokens=10)),
        cache_key(IDENTITY, MESSAGES, GenerateConfig(temperature=0.7)),
        cache_key(IDENTITY, MESSAGES, GenerateConfig(seed=1)),
        cache_key(IDENTITY, MESSAGES, GenerateConfig(logprobs=True)),
        cache_key(IDENTITY, MESSAGES, GenerateConfig(stop=("\n",))),
    ]
    assert len({base, *variants}) == len(variants) + 1


def test_cache_key_excludes_timeout_concurrency_and_api_key(monkeypatch) -> None:
    from expected_harm.models import get_model

    monkeypatch.setenv("OPENAI_API_KEY", "sk-first")
    slow = get_model("openai-compatible:m@http://x/v1", max_concurrency=1, timeout=5)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-second")
    fast = get_model("openai-compatible:m@http://x/v1", max_concurrency=16, timeout=600)
    assert slow.identity() == fast.identity() == IDENTITY
    assert "sk-" not in repr(slow.identity())


def test_answers_round_trip_with_usage_and_logprobs(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    logprobs = (TokenLogprob("4", -0.1, {"4": -0.1, "5": -2.5}),)
    cache.put(result("k1", text="four", usage=Usage(3, 1), logprobs=logprobs), {"r": 1})
    got = cache.get("k1")
    assert got is not None and got.cached
    assert (got.text, got.status, got.usage, got.logprobs) == (
        "four", Status.OK, Usage(3, 1), logprobs
    )
    assert cache.get("missing") is None


def test_failed_calls_are_not_cached_but_blocks_are(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    assert cache.put(result("e", Status.ERROR, error="timeout"), {}) is False
    assert cache.put(result("b", Status.BLOCKED, error="content filter"), {}) is True
    assert cache.get("e") is None
    assert cache.get("b").status is Status.BLOCKED
    assert len(cache) == 1


def test_cache_survives_reopening_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    ResponseCache(path).put(result("k", text="kept"), {})
    assert ResponseCache(path).get("k").text == "kept"
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_stats_and_clear_by_model(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    cache.put(result("a", text="x", usage=Usage(2, 3)), {})
    cache.put(result("b", text="y", usage=Usage(4, 5)), {})
    cache.put(ChatResult(model="embedded:smollm2-135m", key="c", status=Status.OK, text="z"), {})
    stats = cache.stats().set_index("model")
    assert stats.loc["openai-compatible:m@http://x/v1", "rows"] == 2
    assert stats.loc["openai-compatible:m@http://x/v1", "completion_tokens"] == 8
    assert cache.clear("embedded:smollm2-135m") == 1
    assert len(cache) == 2
    assert cache.clear() == 2 and len(cache) == 0
