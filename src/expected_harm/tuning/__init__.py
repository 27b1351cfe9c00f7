"""Safety-tuning the embedded model: data split, LoRA training, evaluation (issue 7).

After Bianchi et al. (2024), "Safety-Tuned LLaMAs": a few safety pairs (harmful instruction →
refusal) mixed into benign instruction data, trained as a LoRA adapter (Hu et al. 2021, "LoRA:
Low-Rank Adaptation of Large Language Models") on SmolLM2-135M-Instruct.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from expected_harm.paths import data_dir, writable_data_dir

SAFETY_MODEL = "smollm2-135m-safety"


def model_dir(name: str = SAFETY_MODEL, *, write: bool = False) -> Path:
    """Folder of a committed adapter: recipe, split, weights, model card and evaluation.

    Package data (see :mod:`expected_harm.paths`); ``write=True`` for a command that writes there.
    """
    return (writable_data_dir() if write else data_dir()) / "models" / name


def load_recipe(path: Path | None = None) -> dict[str, Any]:
    """The recipe YAML: every hyper-parameter of a run, so a rerun needs nothing else."""
    path = path or model_dir() / "recipe.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"recipe missing: {path}")
    return yaml.safe_load(path.read_text())
