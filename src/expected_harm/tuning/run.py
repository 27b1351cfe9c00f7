"""``expected-harm embedded train``: split, self-distil, LoRA-train, convert, evaluate.

Every step reads the recipe (``data/models/smollm2-135m-safety/recipe.yaml``) and writes into the
model folder: ``split.csv`` (ids only), the peft adapter (fp16 safetensors), its GGUF conversion
for llama-cpp-python, ``train_log.json`` (loss per step, time, checksum) and ``eval.json``
(refusal counts before and after, per held-out set). No prompt or answer text is written.

References:
    Bianchi et al. (2024), "Safety-Tuned LLaMAs", ICLR 2024 (the data recipe).
    Hu et al. (2021), "LoRA: Low-Rank Adaptation of Large Language Models" (the adapter).
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from expected_harm.tuning import SAFETY_MODEL, load_recipe, model_dir
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
REFUSAL_JUDGE = "refusal_phrases"


def distil(prompts: list[str], max_tokens: int, base: str) -> list[str | None]:
    """The base model's own greedy answers (cached): benign targets that keep its helpfulness."""
    from expected_harm.models import GenerateConfig, Status, generate, get_model

    results = generate(get_model(f"embedded:{base}"), prompts,
                       GenerateConfig(max_tokens=max_tokens), desc="self-distil")
    return [r.text if r.status == Status.OK and r.text.strip() else None for r in results]


def refusals(spec: str, frame: pd.DataFrame, max_tokens: int) -> pd.DataFrame:
    """Answer each held-out prompt with ``spec`` and mark refusals with the phrase judge.

    JailbreakBench's refusal-phrase list; the model card records how its verdicts compared with a
    reading by eye of a sample.
    """
    from expected_harm.judges import get_judge
    from expected_harm.models import GenerateConfig, generate, get_model

    results = generate(get_model(spec), frame["prompt"].tolist(),
                       GenerateConfig(max_tokens=max_tokens), desc=f"eval {spec}")
    verdicts = get_judge(REFUSAL_JUDGE).judge(
        frame["prompt"].tolist(), [r.text for r in results], progress=False
    )
    return frame[["role", "spec", "item_id"]].assign(
        model=spec, refused=verdicts["refusal"].astype(int).to_numpy()
    )


def summarise(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Refusal counts per model × held-out set, with Wilson 95% intervals."""
    from expected_harm.stats import wilson_interval

    out = []
    for (model, role, spec), group in rows.groupby(["model", "role", "spec"], sort=False):
        refused, n = int(group["refused"].sum()), len(group)
        interval = wilson_interval(refused, n)
        out.append({"model": model, "role": role, "spec": spec, "refused": refused, "n": n,
                    "rate": refused / n, "low": interval.low, "high": interval.high})
    return out


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
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise ValueError(f"{converter} failed: {done.stderr.strip().splitlines()[-1:]}")
    return out


def train(recipe: Mapping[str, Any], folder: Path, *, converter: Path | None) -> dict[str, Any]:
    """Run the whole recipe into ``folder``; returns the training log."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from expected_harm.probing import embedded_checkpoint

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
    answers = distil(benign["prompt"].tolist(), max_tokens, recipe["base"])
    pairs = [(p, a) for p, a in zip(benign["prompt"], answers, strict=True) if a is not None]
    pairs += list(zip(safety["prompt"], safety["response"], strict=True))
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
    losses = train_lora(model, examples, settings, seed, pad_id=int(tokenizer.pad_token_id or 0))
    save_adapter(model, folder)
    log = {
        "examples": {"benign": len(pairs) - len(safety), "safety": len(safety),
                     "trained": len(examples)},
        "steps": len(losses), "loss": [round(x, 4) for x in losses],
        "seconds": {"distil_and_split": distilled, "total_training": elapsed(started)},
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "adapter_sha256_fp32": checksum(adapter_state(model)),
        "torch": torch.__version__,
    }
    write_json(folder / "train_log.json", log)
    if converter is not None:
        convert_to_gguf(folder, base_dir, converter)
    return log


def evaluate(recipe: Mapping[str, Any], folder: Path) -> list[dict[str, Any]]:
    """Refusals before (base) and after (safety adapter) on the held-out split → ``eval.json``."""
    split = pd.read_csv(folder / "split.csv", dtype={"item_id": str})
    held_out = split_prompts(split.loc[split["role"].str.startswith("eval")])
    max_tokens = int(recipe["eval"]["max_tokens"])
    rows = pd.concat([refusals(f"embedded:{name}", held_out, max_tokens)
                      for name in (recipe["base"], SAFETY_MODEL)], ignore_index=True)
    rows.to_csv(folder / "eval_items.csv", index=False)
    table = summarise(rows)
    write_json(folder / "eval.json", {"judge": REFUSAL_JUDGE, "max_tokens": max_tokens,
                                      "results": table})
    return table


def main(folder: Path | None = None, *, converter: Path | None = None,
         skip_train: bool = False) -> None:
    """Train (unless ``skip_train``) and evaluate the safety model described by its recipe."""
    folder = folder or model_dir()
    recipe = load_recipe(folder / "recipe.yaml")
    if not skip_train:
        train(recipe, folder, converter=converter)
    evaluate(recipe, folder)
