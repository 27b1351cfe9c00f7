"""``expected-harm embedded train``: split, self-distil, LoRA-train, convert, evaluate.

Every step reads the recipe (``models/smollm2-135m-safety/recipe.yaml`` of the package data) and
writes into the
model folder: ``split.csv`` (ids only), the peft adapter (fp16 safetensors), its GGUF conversion
for llama-cpp-python, ``train_log.json`` (loss per step, time, checksum) and ``eval.json``
(refusal counts before and after, per held-out set). No prompt or answer text is written.

References:
    Bianchi et al. (2024), "Safety-Tuned LLaMAs", ICLR 2024 (the data recipe).
    Hu et al. (2021), "LoRA: Low-Rank Adaptation of Large Language Models" (the adapter).
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from expected_harm.judges import refusal_verdicts
from expected_harm.tuning import SAFETY_MODEL, load_recipe, model_dir
from expected_harm.tuning.evaluate import REFUSAL_JUDGE, held_out, refusals, summarise
from expected_harm.tuning.split import make_split, split_prompts
from expected_harm.tuning.train import (
    adapter_state,
    add_lora,
    checksum,
    elapsed,
    format_example,
    save_adapter,
    seed_everything,
    train_lora,
    write_json,
)

GGUF_ADAPTER = "adapter.gguf"


def distil(prompts: list[str], max_tokens: int, base: str) -> list[str | None]:
    """The base model's own greedy answers (cached): benign targets that keep its helpfulness."""
    from expected_harm.models import GenerateConfig, Status, generate, get_model

    results = generate(get_model(f"embedded:{base}"), prompts,
                       GenerateConfig(max_tokens=max_tokens), desc="self-distil")
    return [r.text if r.status == Status.OK and r.text.strip() else None for r in results]


def templated_refusals(prompts: list[str], templates: list[str],
                       seed: int) -> list[tuple[str, str]]:
    """Pair each harmful request with one of the recipe's refusal templates (seeded choice).

    Raises:
        ValueError: There are requests but no templates.
    """
    if prompts and not templates:
        raise ValueError("the split has train_template items but the recipe's train block "
                         "lists no refusal_templates")
    rng = random.Random(seed)
    return [(prompt, rng.choice(templates)) for prompt in prompts]


def convert_to_gguf(folder: Path, base_dir: Path, converter: Path) -> Path:
    """Convert the peft adapter to a GGUF LoRA with llama.cpp's ``convert_lora_to_gguf.py``.

    The script needs its sibling ``conversion/`` and ``gguf-py/`` folders from the same sdist.

    Raises:
        ValueError: ``converter`` is not that script, or it failed.
    """
    if converter.name != "convert_lora_to_gguf.py" or not converter.is_file():
        raise ValueError(f"converter must be llama.cpp's convert_lora_to_gguf.py, got {converter}")
    out = folder / GGUF_ADAPTER
    done = subprocess.run(
        [sys.executable, str(converter), "--base", str(base_dir), "--outtype", "f16",
         "--outfile", str(out), str(folder)],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise ValueError(f"{converter} failed: {done.stderr.strip().splitlines()[-1:]}")
    return out


def train(recipe: Mapping[str, Any], folder: Path, *, converter: Path | None) -> dict[str, Any]:
    """Run the whole recipe into ``folder``; returns the training log."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from expected_harm.models import embedded_checkpoint

    started = time.perf_counter()
    seed, settings = int(recipe["seed"]), recipe["train"]
    torch.set_num_threads(int(settings["threads"]))
    split = make_split(recipe["split"], seed)
    folder.mkdir(parents=True, exist_ok=True)
    split.to_csv(folder / "split.csv", index=False)
    data = split_prompts(split)
    benign = data.loc[data["role"] == "train_benign"].head(int(settings["benign_examples"]))
    safety = data.loc[data["role"] == "train_safety"].head(int(settings["safety_examples"]))
    max_tokens = int(recipe["distill"]["max_tokens"])
    answers = pd.Series(distil(benign["prompt"].tolist(), max_tokens, recipe["base"]),
                        index=benign.index, dtype=object)
    kept = answers.notna()
    if recipe["distill"].get("drop_refusals", False):
        # The base model's own refusals of harmless requests would teach exactly what the tuning
        # must avoid (JailbreakBench's phrase list marks them, as in the evaluation).
        verdicts = refusal_verdicts(benign["prompt"].tolist(), answers.fillna("").tolist())
        kept &= pd.Series(verdicts, index=answers.index) == 0
    pairs = list(zip(benign.loc[kept, "prompt"], answers[kept], strict=True))
    n_benign = len(pairs)
    pairs += list(zip(safety["prompt"], safety["response"], strict=True))
    templated = data.loc[data["role"] == "train_template", "prompt"]
    pairs += templated_refusals(templated.tolist(), settings.get("refusal_templates", []), seed)
    distilled = elapsed(started)

    base_dir = embedded_checkpoint(recipe["base"])
    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    max_length = int(settings["max_length"])
    examples = []
    for prompt, answer in pairs:
        try:
            examples.append(format_example(tokenizer, prompt, answer, max_length))
        except ValueError:  # the prompt fills the window: nothing to learn (counted in the log)
            continue
    seed_everything(seed)
    model = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32)
    model = add_lora(model, recipe["lora"], seed)
    training = time.perf_counter()
    losses = train_lora(model, examples, settings, seed, pad_id=int(tokenizer.pad_token_id or 0))
    trained = elapsed(training)
    save_adapter(model, folder)
    if converter is not None:
        convert_to_gguf(folder, base_dir, converter)
    else:  # a GGUF from an earlier run no longer matches these weights
        (folder / GGUF_ADAPTER).unlink(missing_ok=True)
    log = {
        "examples": {"benign": n_benign, "benign_dropped": int((~kept).sum()),
                     "safety": len(safety), "templated": len(templated),
                     "trained": len(examples)},
        "steps": len(losses), "loss": [round(x, 4) for x in losses],
        # total: split, distillation, training, saving and conversion (not the evaluation)
        "seconds": {"split_and_distil": distilled, "training": trained,
                    "total": elapsed(started)},
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "adapter_sha256_fp32": checksum(adapter_state(model)),
        "torch": torch.__version__,
    }
    write_json(folder / "train_log.json", log)
    return log


def evaluate(recipe: Mapping[str, Any], folder: Path) -> list[dict[str, Any]]:
    """Refusals of the base model and the folder's adapter on the held-out split → ``eval.json``.

    ``eval_items.csv`` keeps ids, statuses and verdicts only: no prompt or answer text.
    """
    from expected_harm.models import EmbeddedChatModel

    adapter = folder / GGUF_ADAPTER
    if not adapter.is_file():
        raise FileNotFoundError(f"no GGUF adapter to evaluate: {adapter} (train with --converter)")
    prompts = held_out(folder)
    max_tokens = int(recipe["eval"]["max_tokens"])
    models = (EmbeddedChatModel(recipe["base"]), EmbeddedChatModel(SAFETY_MODEL, adapter=adapter))
    rows = pd.concat([refusals(model, prompts, max_tokens) for model in models],
                     ignore_index=True)
    rows.drop(columns="response").to_csv(folder / "eval_items.csv", index=False)
    table = summarise(rows)
    write_json(folder / "eval.json", {"judge": REFUSAL_JUDGE, "max_tokens": max_tokens,
                                      "results": table})
    return table


def main(folder: Path | None = None, *, converter: Path | None = None,
         skip_train: bool = False) -> None:
    """Train (unless ``skip_train``) and evaluate the safety model described by its recipe."""
    folder = folder or model_dir(write=True)
    recipe = load_recipe(folder / "recipe.yaml")
    if not skip_train:
        if converter is None:  # fail now, not after half an hour of training
            raise ValueError("--converter is required: chat and the evaluation read the GGUF "
                             "adapter (expected-harm embedded check trains without one)")
        train(recipe, folder, converter=converter)
    evaluate(recipe, folder)


def check(folder: Path, scratch: Path) -> dict[str, Any]:
    """Retrain ``folder``'s recipe into ``scratch`` and compare it with the committed run.

    Training is deterministic on one machine (fixed seeds, deterministic kernels, one thread),
    so a retrain should give the recorded split and bit-identical weights. Another CPU or torch
    build may round differently; then the loss curves show how far the runs drifted apart.

    Returns:
        ``same_split``, ``identical_weights``, the two checksums and the largest per-step
        difference between the two loss curves.
    """
    if scratch.resolve() == folder.resolve():
        raise ValueError("check retrains into a scratch folder, not the committed one")
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "recipe.yaml").write_text((folder / "recipe.yaml").read_text())
    recorded = json.loads((folder / "train_log.json").read_text())
    log = train(load_recipe(scratch / "recipe.yaml"), scratch, converter=None)
    same_split = (scratch / "split.csv").read_bytes() == (folder / "split.csv").read_bytes()
    pairs = zip(log["loss"], recorded["loss"])  # zip stops at the shorter curve
    return {
        "same_split": same_split,
        "identical_weights": log["adapter_sha256_fp32"] == recorded["adapter_sha256_fp32"],
        "recorded_sha256": recorded["adapter_sha256_fp32"],
        "retrained_sha256": log["adapter_sha256_fp32"],
        "steps": [len(recorded["loss"]), len(log["loss"])],
        "max_loss_difference": max((abs(a - b) for a, b in pairs), default=0.0),
    }
