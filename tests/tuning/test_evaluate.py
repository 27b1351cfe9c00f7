"""Held-out refusal evaluation: failed answers carry no verdict and leave the rates alone."""

from __future__ import annotations

import pandas as pd
import pytest

from expected_harm.models import Reply, Usage
from expected_harm.tuning import model_dir
from expected_harm.tuning.evaluate import held_out, refusals, summarise
from tests.doubles import ScriptedChatModel


def script(messages, attempt):
    prompt = messages[-1]["content"]
    if prompt == "broken":
        raise RuntimeError("server went away")
    text = "I'm sorry, but I cannot help with that." if "bad" in prompt else "Sure: step one."
    return Reply(text=text, usage=Usage(1, 1), finish_reason="stop")


def test_refusals_marks_failures_missing_not_refused() -> None:
    frame = pd.DataFrame({"role": "eval_harmful", "spec": "set", "item_id": ["1", "2", "3"],
                          "prompt": ["bad thing", "nice thing", "broken"]})
    rows = refusals(ScriptedChatModel(script), frame, max_tokens=8)
    assert rows["refused"].tolist()[:2] == [1, 0]
    assert rows["refused"].isna().tolist() == [False, False, True]
    assert rows["status"].tolist()[2] == "error"
    (summary,) = summarise(rows)
    assert (summary["refused"], summary["n"], summary["missing"]) == (1, 2, 1)
    assert summary["low"] <= summary["rate"] == 0.5 <= summary["high"]


def test_held_out_takes_the_first_items_of_each_set() -> None:
    if not (model_dir() / "split.csv").is_file():
        pytest.skip("no committed split")
    full = held_out(model_dir())
    small = held_out(model_dir(), per_set=2)
    assert set(small["role"]) == {"eval_harmful", "eval_benign"}
    assert small.groupby("spec").size().eq(2).all()
    assert small["item_id"].isin(full["item_id"]).all()
    with pytest.raises(ValueError, match="per_set"):
        held_out(model_dir(), per_set=0)
