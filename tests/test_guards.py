"""Guards: the one frame shape, texts and conversations in, the registry, and bad guard output."""

from __future__ import annotations

import math

import pytest

from expected_harm import guards
from expected_harm.guards import GUARD_COLUMNS, Guard, get_guard, register_guard
from tests.doubles import KeywordGuard, ScriptedChatModel


@pytest.fixture
def registered():
    """The keyword test double under its name in the registry, for one test only."""
    register_guard("keyword_test_double")(KeywordGuard)
    yield
    del guards.GUARDS["keyword_test_double"]


def test_a_guard_screens_texts_and_conversations_into_one_row_each() -> None:
    guard = KeywordGuard()
    conversation = [
        {"role": "system", "content": "Be nice."},
        {"role": "user", "content": "comply"},
    ]
    frame = guard.screen(["hello", conversation, "guard-down", "guard-garbled"])
    assert list(frame.columns) == list(GUARD_COLUMNS)
    assert frame["status"].tolist() == ["ok", "ok", "error", "unparsed"]
    assert frame["flagged"].tolist()[:2] == [0.0, 1.0]
    assert frame["flagged"][2:].isna().all()  # a failed or unread screening is never a pass
    assert frame["categories"].tolist()[:2] == ["", "K1"]
    assert guard.seen[0] == [{"role": "user", "content": "hello"}]  # a text is one user turn
    assert guard.seen[1] == conversation
    assert set(frame["guard_model"]) == {"none"}
    assert set(frame["template_version"]) == {"test-double"}
    assert guard.describe() == "keyword_test_double test-double"


def test_get_guard_finds_registered_guards_and_names_the_valid_ones(registered) -> None:
    guard = get_guard("keyword_test_double", keyword="secret")
    assert isinstance(guard, KeywordGuard) and guard.keyword == "secret"
    with pytest.raises(ValueError, match="unknown guard 'llama_guard'; valid guards: .*keyword"):
        get_guard("llama_guard")
    with pytest.raises(ValueError, match="already registered"):
        register_guard("keyword_test_double")(KeywordGuard)
    with pytest.raises(ValueError, match="uses no model"):
        get_guard("keyword_test_double", ScriptedChatModel())


class NeedsModelGuard(Guard):
    """A guard that needs a model and answers badly; a test double."""

    name = "needs_model_test_double"
    version = "0"

    def __init__(self, model=None, *, rows=None) -> None:
        super().__init__(model)
        self.rows = rows or []

    def _screen(self, conversations):
        return self.rows


def test_a_guard_checks_its_model_and_its_own_rows() -> None:
    with pytest.raises(ValueError, match="needs a guard model"):
        NeedsModelGuard()
    model = ScriptedChatModel()
    with pytest.raises(ValueError, match="gave 0 rows for 1 inputs"):
        NeedsModelGuard(model).screen(["x"])
    no_verdict = {"status": "ok", "flagged": math.nan, "categories": "", "score": math.nan,
                  "raw": "", "error": None}
    with pytest.raises(ValueError, match="ok row with flagged not 0 or 1"):
        NeedsModelGuard(model, rows=[no_verdict]).screen(["x"])
    frame = NeedsModelGuard(model, rows=[{**no_verdict, "flagged": 1.0}]).screen(["x"])
    assert frame.loc[0, "guard_model"] == "scripted:scripted-model"
