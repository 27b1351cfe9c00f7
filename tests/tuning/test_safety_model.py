"""embedded:smollm2-135m-safety: the committed adapter is found, versioned and answers offline."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from expected_harm.models import EMBEDDED_MODELS, GenerateConfig, Status, chat, get_model
from expected_harm.tuning import SAFETY_MODEL, model_dir
from expected_harm.tuning.evaluate import held_out, refusals, summarise

FOLDER = model_dir()
needs_adapter = pytest.mark.skipif(
    not (FOLDER / "adapter.gguf").is_file(), reason="adapter not trained in this checkout"
)


@needs_adapter
def test_revision_names_the_adapter_bytes() -> None:
    info = EMBEDDED_MODELS[SAFETY_MODEL]
    digest = hashlib.sha256(info.adapter_path().read_bytes()).hexdigest()[:16]
    assert f"adapter sha256:{digest}" in info.revision()
    assert "adapter" not in EMBEDDED_MODELS["smollm2-135m"].revision()


@needs_adapter
def test_chat_runs_with_the_adapter() -> None:
    result = chat(get_model(f"embedded:{SAFETY_MODEL}"), "What is 2 plus 2?",
                  GenerateConfig(max_tokens=8))
    assert result.status == Status.OK and result.text.strip()


@needs_adapter
def test_committed_files_and_evaluation_are_complete() -> None:
    for name in ("adapter_config.json", "adapter_model.safetensors", "README.md", "recipe.yaml",
                 "split.csv", "train_log.json", "eval.json", "eval_items.csv", "eyecheck.csv"):
        assert (FOLDER / name).is_file(), name
    results = json.loads((FOLDER / "eval.json").read_text())["results"]
    models = {row["model"] for row in results}
    assert models == {"embedded:smollm2-135m", f"embedded:{SAFETY_MODEL}"}
    assert all(0 <= row["low"] <= row["rate"] <= row["high"] <= 1 for row in results)



@needs_adapter
def test_recorded_evaluation_summarises_its_items() -> None:
    items = pd.read_csv(FOLDER / "eval_items.csv", dtype={"item_id": str})
    recorded = json.loads((FOLDER / "eval.json").read_text())["results"]
    assert summarise(items) == recorded


@needs_adapter
def test_eye_check_was_read_on_the_committed_adapter() -> None:
    eyes = pd.read_csv(FOLDER / "eyecheck.csv", dtype={"item_id": str})
    digest = hashlib.sha256((FOLDER / "adapter.gguf").read_bytes()).hexdigest()[:16]
    assert set(eyes["adapter_sha256"]) == {digest}, "retrained adapter: read a sample by eye again"


@needs_adapter
def test_committed_adapter_reproduces_its_recorded_verdicts_on_a_subset() -> None:
    """Greedy answers of the committed weights give the verdicts the training run recorded."""
    recorded = pd.read_csv(FOLDER / "eval_items.csv", dtype={"item_id": str})
    prompts = held_out(FOLDER, per_set=3)
    live = refusals(get_model(f"embedded:{SAFETY_MODEL}"), prompts, max_tokens=48)
    both = live.merge(recorded, on=["model", "spec", "item_id"], suffixes=("", "_recorded"))
    assert len(both) == len(prompts)
    assert both["refused"].tolist() == both["refused_recorded"].tolist()
