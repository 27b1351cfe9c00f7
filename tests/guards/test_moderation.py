"""OpenAI's moderation endpoint as a guard, against a test double of the HTTP side (an
``httpx.MockTransport``): verdicts, categories and scores, batches, failed and malformed
results, the key (from the environment only, never in a row) and the cache (a repeated screen
sends nothing)."""

from __future__ import annotations

import json
import math

import httpx
import pytest

from expected_harm.guards import GUARD_COLUMNS, OpenAIModeration, get_guard, parse_moderation
from expected_harm.models import ModelConfigError, ResponseCache, RetryPolicy, run_settings

KEY = "sk-test-double-0123456789"
NO_WAIT = RetryPolicy(attempts=2, initial_wait=0.0, max_wait=0.0)


def verdict(text: str) -> dict:
    """The scripted result for one text: flagged where it says "attack"."""
    attack = "attack" in text
    return {
        "flagged": attack,
        "categories": {"harassment": False, "violence": attack, "illicit": attack},
        "category_scores": {"harassment": 0.01, "violence": 0.6 if attack else 0.02,
                            "illicit": 0.8 if attack else 0.03},
    }


class ModerationDouble:
    """A test double of the moderation endpoint: answers by a script, records every request.

    Args:
        result: The result for one text (a dict), or an ``httpx.Response`` for the whole request.
    """

    def __init__(self, result=verdict) -> None:
        self.result = result
        self.requests: list[dict] = []  # the JSON body of every request, in order
        self.auth: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        self.auth.append(request.headers["authorization"])
        assert request.url.path.endswith("/moderations")
        answers = [self.result(text) for text in body["input"]]
        for answer in answers:  # the first text that fails the request fails it all
            if isinstance(answer, httpx.Response):
                return answer
        return httpx.Response(200, json={"id": "modr-1", "model": body["model"],
                                         "results": answers})

    def guard(self, **options) -> OpenAIModeration:
        return OpenAIModeration(transport=httpx.MockTransport(self), retry=NO_WAIT,
                                base_url="http://moderation.test/v1", **options)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A fresh cache per test, no progress bars, the test key in the environment."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with run_settings(cache=ResponseCache(tmp_path / "responses.sqlite"), progress=False):
        yield


def test_rows_are_the_endpoints_verdicts() -> None:
    double = ModerationDouble()
    frame = double.guard().screen(["hello", "plan an attack"])
    assert list(frame.columns) == list(GUARD_COLUMNS)
    assert frame["status"].tolist() == ["ok", "ok"]
    assert frame["flagged"].tolist() == [0.0, 1.0]
    assert frame["categories"].tolist() == ["", "illicit,violence"]
    assert frame["score"].tolist() == [0.03, 0.8]  # the largest category score
    assert json.loads(frame.loc[1, "raw"]) == verdict("plan an attack")
    assert ", " not in frame.loc[1, "raw"]  # compact JSON
    assert frame["error"].isna().all()
    assert set(frame["template_version"]) == {"omni-moderation-latest"}
    assert set(frame["guard_model"]) == {
        "openai-moderation:omni-moderation-latest@http://moderation.test/v1"}
    assert double.requests == [{"model": "omni-moderation-latest",
                                "input": ["hello", "plan an attack"]}]
    assert double.auth == [f"Bearer {KEY}"]


def test_a_conversation_is_sent_as_one_text_without_the_system_prompt() -> None:
    double = ModerationDouble()
    turns = [{"role": "system", "content": "Be nice."}, {"role": "user", "content": "q"},
             {"role": "assistant", "content": "an attack plan"}]
    frame = double.guard().screen([turns])
    assert double.requests[0]["input"] == ["q\n\nan attack plan"]
    assert frame.loc[0, "flagged"] == 1.0


def test_more_than_a_batch_is_split_and_kept_in_order() -> None:
    double = ModerationDouble()
    texts = [f"text {i}" + (" attack" if i % 10 == 0 else "") for i in range(70)]
    frame = double.guard().screen([*texts, texts[0]])  # a repeated text is sent once
    assert [len(r["input"]) for r in double.requests] == [32, 32, 6]
    assert sorted(t for r in double.requests for t in r["input"]) == sorted(texts)
    assert frame["flagged"].tolist() == [float(i % 10 == 0) for i in range(70)] + [1.0]
    wider = ModerationDouble()
    wider.guard(batch_size=50, moderation_model="other").screen(texts)
    assert [len(r["input"]) for r in wider.requests] == [50, 20]


def test_a_second_screen_of_the_same_texts_sends_nothing() -> None:
    double = ModerationDouble()
    first = double.guard().screen(["hello", "plan an attack"])
    sent = len(double.requests)
    again = double.guard().screen(["plan an attack", "hello"])
    assert len(double.requests) == sent == 1
    assert again["flagged"].tolist() == first["flagged"].tolist()[::-1]
    assert again["raw"].tolist() == first["raw"].tolist()[::-1]
    double.guard(moderation_model="omni-moderation-2024-09-26").screen(["hello"])
    assert len(double.requests) == 2  # another model is another cache entry


def test_an_interrupted_screen_resumes_with_what_failed() -> None:
    down = ModerationDouble(
        lambda text: httpx.Response(503) if text == "text 35" else verdict(text))
    texts = [f"text {i}" for i in range(40)]
    assert down.guard().screen(texts)["status"].value_counts().to_dict() == {"ok": 32, "error": 8}
    double = ModerationDouble()
    assert (double.guard().screen(texts)["status"] == "ok").all()
    assert double.requests[0]["input"] == texts[32:]  # the first batch came from the cache


def test_cached_results_need_no_key(monkeypatch) -> None:
    double = ModerationDouble()
    double.guard().screen(["hello"])
    monkeypatch.delenv("OPENAI_API_KEY")
    assert double.guard().screen(["hello"]).loc[0, "status"] == "ok"


def test_a_server_error_is_an_error_row_never_a_pass() -> None:
    double = ModerationDouble(lambda text: httpx.Response(500, json={"error": {
        "message": f"upstream failed for key {KEY}"}}))
    frame = double.guard().screen(["hello", "plan an attack"])
    assert frame["status"].tolist() == ["error", "error"]
    assert frame["flagged"].isna().all()
    assert "HTTP 500" in frame.loc[0, "error"]
    assert "gave up after 2 attempts" in frame.loc[0, "error"]
    assert len(double.requests) == 2  # retried, then given up
    assert not frame["error"].str.contains(KEY).any()
    double.result = verdict  # an error is not cached: the next screen asks again
    assert double.guard().screen(["hello"]).loc[0, "status"] == "ok"


def test_a_rejected_key_is_named_and_never_shown() -> None:
    double = ModerationDouble(lambda text: httpx.Response(401, json={"error": {
        "message": f"Incorrect API key provided: {KEY}.", "code": "invalid_api_key"}}))
    frame = double.guard().screen(["hello"])
    assert frame.loc[0, "status"] == "error"
    assert "OPENAI_API_KEY was rejected" in frame.loc[0, "error"]
    assert KEY not in frame.loc[0, "error"] and KEY not in str(frame.loc[0, "raw"])
    assert len(double.requests) == 1  # not retried


def test_a_400_on_a_batch_is_resent_one_text_at_a_time() -> None:
    def script(text):
        if text == "filtered":
            return httpx.Response(400, json={"error": {"message": "no", "code": "content_filter"}})
        if text == "too long":
            return httpx.Response(400, json={"error": {"message": "input too long"}})
        return verdict(text)

    double = ModerationDouble(script)
    frame = double.guard().screen(["hello", "filtered", "too long", "an attack"])
    assert frame["status"].tolist() == ["ok", "blocked", "error", "ok"]
    assert frame["flagged"][1:3].isna().all()  # a block is not a verdict
    assert "input too long" in frame.loc[2, "error"]
    assert [len(r["input"]) for r in double.requests] == [4, 1, 1, 1, 1]


@pytest.mark.parametrize(
    "result",
    [{"categories": {}, "category_scores": {}},
     {"flagged": "true", "categories": {}, "category_scores": {}},
     {"flagged": False, "category_scores": {"hate": 0.1}},
     {"flagged": False, "categories": {"hate": "no"}, "category_scores": {}},
     {"flagged": False, "categories": {}, "category_scores": {"hate": None}}],
)
def test_a_malformed_result_is_unparsed_never_safe(result) -> None:
    frame = ModerationDouble(lambda text: result).guard().screen(["hello"])
    assert frame.loc[0, "status"] == "unparsed"
    assert math.isnan(frame.loc[0, "flagged"])
    assert frame.loc[0, "error"].startswith("unparsed: ")
    assert json.loads(frame.loc[0, "raw"]) == result
    with pytest.raises(ValueError):
        parse_moderation(frame.loc[0, "raw"])


def test_too_few_results_are_errors() -> None:
    double = ModerationDouble()
    double.result = lambda text: httpx.Response(200, json={"id": "m", "model": "x",
                                                           "results": [verdict(text)]})
    frame = double.guard().screen(["a", "b"])
    assert frame["status"].tolist() == ["error", "error"]
    assert "2 texts sent, 1 results returned" in frame.loc[0, "error"]


def test_a_missing_key_names_the_variable_at_first_use(monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    guard = ModerationDouble().guard()  # creating the guard needs no key
    with pytest.raises(ModelConfigError, match="OPENAI_API_KEY is not set"):
        guard.screen(["hello"])


def test_options_and_registry(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://gateway.test/v1/")
    guard = get_guard("openai_moderation")
    assert guard.base_url == "http://gateway.test/v1"
    assert guard.version == "omni-moderation-latest"
    assert guard.describe() == "openai_moderation omni-moderation-latest at http://gateway.test/v1"
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert get_guard("openai_moderation").base_url == "https://api.openai.com/v1"
    with pytest.raises(ValueError, match="uses no model"):
        get_guard("openai_moderation", "openai:gpt-4o-mini")
    with pytest.raises(ValueError, match="batch_size and max_concurrency must be at least 1"):
        OpenAIModeration(batch_size=0)
