"""The training command's small pieces: templated refusals and the check's guard."""

from __future__ import annotations

import pytest

from expected_harm.tuning.run import check, templated_refusals

TEMPLATES = ["I'm sorry, but I can't help with that.", "I cannot assist with this request."]


def test_templated_refusals_are_seeded_and_cover_every_request() -> None:
    prompts = [f"harmful request {i}" for i in range(20)]
    first = templated_refusals(prompts, TEMPLATES, seed=3)
    assert first == templated_refusals(prompts, TEMPLATES, seed=3)
    assert [p for p, _ in first] == prompts
    assert {answer for _, answer in first} == set(TEMPLATES)
    assert templated_refusals([], [], seed=3) == []
    with pytest.raises(ValueError, match="refusal_templates"):
        templated_refusals(prompts, [], seed=3)


def test_check_refuses_to_overwrite_the_committed_run(tmp_path) -> None:
    with pytest.raises(ValueError, match="scratch"):
        check(tmp_path, tmp_path)
