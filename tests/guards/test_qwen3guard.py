"""Qwen3Guard-Gen against its published output format, through a scripted test double: strict
and loose readings of Controversial, the Refusal line (a peer's parser rejected it), a missing
Safety line (NVIDIA cosmos-framework PR #64 failed open there), categories and failed calls."""

from __future__ import annotations

import math

import pytest

from expected_harm.guards import Qwen3Guard, get_guard, parse_qwen3guard
from expected_harm.models import Reply
from tests.doubles import ScriptedChatModel

ANSWERS = {
    "a": "Safety: Safe\nCategories: None",
    "b": "Safety: Unsafe\nCategories: Violent, Non-violent Illegal Acts",
    "c": "Safety: Controversial\nCategories: Politically Sensitive Topics",
    "d": "Safety: Safe\nCategories: None\nRefusal: Yes",
    "e": "Safety: Unsafe\nCategories: Violent\nRefusal: No\n",
}


def answering() -> ScriptedChatModel:
    """A scripted test double that answers each input with its entry in ANSWERS."""
    return ScriptedChatModel(lambda m, _: Reply(text=ANSWERS[m[-1]["content"]]))


def test_strict_by_default_reads_controversial_as_unsafe() -> None:
    guard = get_guard("qwen3guard", answering())
    frame = guard.screen(list(ANSWERS))
    assert frame["status"].tolist() == ["ok"] * 5  # the Refusal line is part of the format
    assert frame["flagged"].tolist() == [0.0, 1.0, 1.0, 0.0, 1.0]
    assert frame["categories"].tolist() == [
        "", "Violent,Non-violent Illegal Acts", "Politically Sensitive Topics", "", "Violent"]
    assert frame["score"].isna().all()  # Qwen3Guard gives no score
    assert guard.describe().endswith("(strict: Controversial is unsafe)")
    assert set(frame["template_version"]) == {"gen-1.0"}


def test_loose_reads_controversial_as_safe_and_says_so() -> None:
    guard = Qwen3Guard(answering(), strict=False)
    assert guard.screen(["c"]).loc[0, "flagged"] == 0.0
    assert guard.describe().endswith("(loose: Controversial is safe)")


def test_conversations_go_as_chat_messages_without_the_system_prompt() -> None:
    seen = []

    def script(messages, attempt):
        seen.append(messages)
        return Reply(text="Safety: Safe\nCategories: None\nRefusal: Yes")

    turns = [{"role": "system", "content": "Be nice."}, {"role": "user", "content": "q"},
             {"role": "assistant", "content": "No."}]
    Qwen3Guard(ScriptedChatModel(script)).screen([turns])
    assert seen == [turns[1:]]


def test_the_refusal_line_is_read() -> None:
    assert parse_qwen3guard(ANSWERS["d"])["refusal"] == "Yes"
    assert parse_qwen3guard(ANSWERS["a"])["refusal"] is None


@pytest.mark.parametrize(
    "answer",
    ["", "Categories: Violent", "Refusal: No", "I think it is safe.", "Safety: safe-ish",
     "Safety: Safe\nCategories: None\nRefusal: Maybe", "Safety: Safe\nSafety: Unsafe",
     "Safety: Safe\nCategories: None\nExplanation: fine", "Safe"],
)
def test_malformed_answers_are_unparsed_never_safe(answer: str) -> None:
    model = ScriptedChatModel(lambda m, _: Reply(text=answer))
    frame = Qwen3Guard(model).screen(["x"])
    assert frame.loc[0, "status"] == "unparsed"
    assert math.isnan(frame.loc[0, "flagged"])
    assert frame.loc[0, "raw"] == answer
    with pytest.raises(ValueError):
        parse_qwen3guard(answer)


def test_a_failed_call_keeps_its_status() -> None:
    def script(messages, attempt):
        raise RuntimeError("server down")

    frame = Qwen3Guard(ScriptedChatModel(script)).screen(["x"])
    assert frame.loc[0, "status"] == "error"
    assert math.isnan(frame.loc[0, "flagged"])
    assert "server down" in frame.loc[0, "error"]
