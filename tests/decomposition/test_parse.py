"""Reading an attacker's answer: good, partial and broken outputs each get their own status."""

from __future__ import annotations

import pytest

from expected_harm.decomposition import parse_revision, parse_sub_tasks, sub_tasks_schema
from expected_harm.decomposition._monitor import load_prompts

FOUR = ("Explain A.", "List B.", "Compare C.", "Summarise D.")


@pytest.mark.parametrize("text", [
    '{"sub_tasks": ["Explain A.", "List B.", "Compare C.", "Summarise D."]}',
    '```json\n{"sub_tasks": ["Explain A.", "List B.", "Compare C.", "Summarise D."]}\n```',
    'Here is the list: ["Explain A.", "List B.", "Compare C.", "Summarise D."] Done.',
    '{"steps": [{"task": "Explain A."}, "List B.", "Compare C.", "Summarise D."]}',
    "Sure! Here are the sub-tasks:\n\n1. Explain A.\n2. List B.\n3) Compare C.\n"
    "4. Summarise D.\n\nTogether they cover the goal.",
    "Step 1: Explain A.\nStep 2: List B.\nStep 3: Compare C.\nStep 4: Summarise D.",
    "**1.** **Explain A.**\n**2.** List B.\n**3.** Compare C.\n**4.** Summarise D.",
    "Sub-tasks:\n- Explain A.\n- List B.\n* Compare C.\n• Summarise D.",
])
def test_good_outputs_in_every_common_shape_give_the_four_sub_tasks(text: str) -> None:
    assert parse_sub_tasks(text, 4) == ("ok", FOUR)


def test_an_indented_line_continues_its_item_and_prose_after_a_blank_line_does_not() -> None:
    text = "1. Explain A\n   in two sentences.\n2. List B.\n\nThese steps cover it."
    assert parse_sub_tasks(text, 2) == ("ok", ("Explain A in two sentences.", "List B."))


def test_numbered_items_win_over_bullets_nested_under_them() -> None:
    text = "1. Explain A.\n   - detail one\n2. List B."
    assert parse_sub_tasks(text, 2) == ("ok", ("Explain A.", "List B."))


def test_fewer_than_k_is_too_few_and_keeps_what_was_found() -> None:
    assert parse_sub_tasks("1. Explain A.\n2. List B.", 4) == ("too_few", FOUR[:2])
    assert parse_sub_tasks('{"sub_tasks": ["Explain A."]}', 2) == ("too_few", FOUR[:1])


def test_more_than_k_are_all_kept() -> None:
    status, tasks = parse_sub_tasks("\n".join(f"{i}. Task {i}." for i in range(1, 7)), 4)
    assert status == "ok" and len(tasks) == 6


@pytest.mark.parametrize("text", ["", "  \n ", '{"sub_tasks": []}', "[]"])
def test_no_text_or_an_empty_list_is_empty(text: str) -> None:
    assert parse_sub_tasks(text, 4) == ("empty", ())


@pytest.mark.parametrize("text", [
    "I'm sorry, but I can't help with that request.",
    "I’m sorry, I cannot do this.\n1. Instead, learn about safety.\n2. Read the law.",
    '{"sub_tasks": ["I cannot help with this.", "I can\'t assist."]}',
    "This is a request I will not break down, because I cannot help plan harm.",
])
def test_an_attacker_refusal_is_its_own_status_not_a_decomposition(text: str) -> None:
    assert parse_sub_tasks(text, 2) == ("attacker_refused", ())


def test_refusing_sub_tasks_are_dropped_from_the_count() -> None:
    text = '{"sub_tasks": ["Explain A.", "I cannot help with the rest."]}'
    assert parse_sub_tasks(text, 2) == ("too_few", ("Explain A.",))


@pytest.mark.parametrize("text", [
    "Decomposing this goal is an interesting idea with several angles.",
    '{"sub_tasks": "Explain A and list B"}',
    '{"sub_tasks": [1, 2]}',
    '{"sub_tasks": ["Explain A.", "List B."',  # cut off by max_tokens
    '{"sub_tasks": ["<sub-task 1>", "<sub-task 2>"]}',  # the prompt's slots, copied
    '{"sub_tasks": ["<sub-task 1", "1. <sub-task 2>"]}',  # garbled copies (the 135M model's)
])
def test_text_without_a_readable_list_is_unparsed(text: str) -> None:
    assert parse_sub_tasks(text, 2) == ("unparsed", ())


def test_copied_slots_do_not_count_as_sub_tasks() -> None:
    text = '{"sub_tasks": ["Explain A.", "<sub-task 2>"]}'
    assert parse_sub_tasks(text, 2) == ("too_few", ("Explain A.",))


def test_the_prompts_slots_are_what_the_parser_drops() -> None:
    prompts = load_prompts()
    assert '"<sub-task 1>"' in prompts["attacker"]["user"]
    assert '"<the rewritten sub-task>"' in prompts["revision"]["user"]


def test_k_must_be_positive_and_the_schema_asks_for_exactly_k() -> None:
    with pytest.raises(ValueError, match="k must be at least 1"):
        parse_sub_tasks("1. A", 0)
    array = sub_tasks_schema(3)["properties"]["sub_tasks"]
    assert array["minItems"] == array["maxItems"] == 3


@pytest.mark.parametrize(("text", "expected"), [
    ('{"sub_task": "Describe C."}', ("ok", "Describe C.")),
    ("Describe C.", ("ok", "Describe C.")),
    ("Rewritten sub-task 2: **Describe C.**", ("ok", "Describe C.")),
    ("  ", ("empty", "")),
    ('{"sub_task": ""}', ("empty", "")),
    ("As an AI, I won't rewrite that.", ("attacker_refused", "")),
    ('{"sub_task": "<the rewritten sub-task>"}', ("unparsed", "")),
    ('{"sub_task": "1. 1. <sub-task 1>"}', ("unparsed", "")),
])
def test_revision_answers(text: str, expected: tuple[str, str]) -> None:
    assert parse_revision(text) == expected
