"""embedded:smollm2-135m-safety: the committed adapter is found, versioned and answers offline."""

from __future__ import annotations

import hashlib
import json

import pytest

from expected_harm.models import EMBEDDED_MODELS, GenerateConfig, Status, chat, get_model
from expected_harm.tuning import SAFETY_MODEL, model_dir

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
                 "split.csv", "train_log.json", "eval.json"):
        assert (FOLDER / name).is_file(), name
    results = json.loads((FOLDER / "eval.json").read_text())["results"]
    models = {row["model"] for row in results}
    assert models == {"embedded:smollm2-135m", f"embedded:{SAFETY_MODEL}"}
    assert all(0 <= row["low"] <= row["rate"] <= row["high"] <= 1 for row in results)
