"""LoRA safety-tuning of the embedded SmolLM2-135M-Instruct on CPU.

Recipe after Bianchi et al. (2024), "Safety-Tuned LLaMAs": a small share of safety pairs (harmful
instruction → refusal) mixed into a larger body of benign instructions. The benign answers are the
base model's own (self-distillation), so the tuning teaches *when* to refuse without teaching the
model a new voice for everything else. Weights are adapted with LoRA (Hu et al. 2021, "LoRA:
Low-Rank Adaptation of Large Language Models"): the adapter is small enough to commit.

Loss is on assistant tokens only; micro-batches with gradient accumulation and bf16 autocast keep
peak memory far below the 19.5 GB a batch-16 fp32 trial needed (logits over a 49k vocabulary).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IGNORE = -100  # label value the loss skips (prompt and padding tokens)
#: The upstream weights; the adapter was trained on their Q4_1 GGUF, dequantised.
BASE_MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"


@dataclass(frozen=True)
class Example:
    """One tokenised conversation; ``labels`` is ``IGNORE`` wherever the loss must not look."""

    input_ids: tuple[int, ...]
    labels: tuple[int, ...]


def format_example(tokenizer: Any, prompt: str, answer: str, max_length: int) -> Example:
    """Tokenise one user turn and its answer under the chat template, masking all but the answer.

    The prompt part is the template rendered up to the assistant header, exactly what the model
    reads at inference, so the mask boundary is where generation starts.

    Raises:
        ValueError: The template does not render the conversation as prompt + answer, or the
            prompt alone fills ``max_length`` (nothing would be learnt).
    """
    user = [{"role": "user", "content": prompt}]
    head = tokenizer.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(
        [*user, {"role": "assistant", "content": answer}], tokenize=False
    )
    if not full.startswith(head):
        raise ValueError("chat template does not render the answer after the generation prompt")
    head_ids = tokenizer(head, add_special_tokens=False)["input_ids"]
    tail_ids = tokenizer(full[len(head):], add_special_tokens=False)["input_ids"]
    if len(head_ids) >= max_length:
        raise ValueError(f"prompt is {len(head_ids)} tokens, max_length is {max_length}")
    ids = (head_ids + tail_ids)[:max_length]
    labels = ([IGNORE] * len(head_ids) + tail_ids)[:max_length]
    return Example(tuple(ids), tuple(labels))


def collate(examples: Sequence[Example], pad_id: int) -> dict[str, Any]:
    """Right-pad a micro-batch; padding is masked out of attention and loss."""
    import torch

    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, example in enumerate(examples):
        n = len(example.input_ids)
        ids[row, :n] = torch.tensor(example.input_ids)
        labels[row, :n] = torch.tensor(example.labels)
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def seed_everything(seed: int) -> None:
    """Python, NumPy and torch seeds, and deterministic kernels where torch offers them."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def add_lora(model: Any, lora: Mapping[str, Any], seed: int) -> Any:
    """Wrap ``model`` with fresh LoRA weights (seeded, so the initial adapter is reproducible)."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    config = LoraConfig(
        r=int(lora["r"]), lora_alpha=int(lora["alpha"]), lora_dropout=float(lora["dropout"]),
        target_modules=list(lora["target_modules"]), task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def train_lora(
    model: Any,
    examples: Sequence[Example],
    settings: Mapping[str, Any],
    seed: int,
    *,
    pad_id: int,
    max_steps: int | None = None,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Train the LoRA weights of a peft ``model`` in place; returns the loss of every step.

    Each optimiser step averages the loss over all answer tokens of its ``micro_batch *
    accumulation`` examples (not over micro-batches), so short and long answers weigh by length.

    Args:
        model: A peft-wrapped causal LM (only LoRA weights are trainable).
        examples: Tokenised training conversations.
        settings: The recipe's ``train`` block.
        seed: Order of examples in every epoch and dropout.
        pad_id: Token id used to pad micro-batches.
        max_steps: Stop after this many optimiser steps (tests); all epochs if None.
        progress: Show a tqdm bar with ETA and the running loss.
        on_step: Called with (step, loss) after every optimiser step.
    """
    import torch
    from tqdm.auto import tqdm

    if not examples:
        raise ValueError("train_lora needs at least one example")
    micro, accumulation = int(settings["micro_batch"]), int(settings["accumulation"])
    per_step = micro * accumulation
    steps_per_epoch = math.ceil(len(examples) / per_step)
    total = steps_per_epoch * int(settings["epochs"])
    if max_steps is not None:
        total = min(total, max_steps)
    warmup = int(settings["warmup_steps"])
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=float(settings["learning_rate"]), weight_decay=0.0)
    # Linear warm-up, then linear decay to zero at the last step.
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser,
        lambda step: (step + 1) / warmup if step < warmup
        else max(0.0, (total - step) / max(1, total - warmup)),
    )
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(settings["bf16"]))
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model.train()
    losses: list[float] = []
    bar = tqdm(total=total, desc="safety-tune", unit="step", disable=not progress)
    step = 0
    while step < total:
        order = torch.randperm(len(examples), generator=generator).tolist()
        for start in range(0, len(order), per_step):
            if step >= total:
                break
            group = [examples[i] for i in order[start:start + per_step]]
            n_tokens = sum(sum(label != IGNORE for label in e.labels[1:]) for e in group)
            step_loss = 0.0
            for offset in range(0, len(group), micro):
                batch = collate(group[offset:offset + micro], pad_id)
                with autocast:
                    logits = model(
                        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
                    ).logits
                loss = torch.nn.functional.cross_entropy(
                    logits[:, :-1].flatten(0, 1).float(), batch["labels"][:, 1:].flatten(),
                    ignore_index=IGNORE, reduction="sum",
                ) / max(1, n_tokens)
                loss.backward()
                step_loss += float(loss.detach())
                del logits, loss
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad(set_to_none=True)
            losses.append(step_loss)
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{step_loss:.3f}")
            if on_step is not None:
                on_step(step, step_loss)
    bar.close()
    model.eval()
    return losses


def adapter_state(model: Any) -> dict[str, Any]:
    """The LoRA weights only, as peft saves them."""
    from peft import get_peft_model_state_dict

    # No embedding layers are adapted; saying so skips a hub lookup for the base config.
    return get_peft_model_state_dict(model, save_embedding_layers=False)


def checksum(state: Mapping[str, Any]) -> str:
    """sha256 over names and raw bytes of every tensor: equal iff the weights are bit-identical."""
    import torch

    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(name.encode())
        digest.update(tensor.view(-1).view(dtype=torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_adapter(model: Any, folder: Path) -> Path:
    """Write the adapter (fp16 safetensors: half the size, ample precision for LoRA deltas)."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    config = model.peft_config["default"]
    config.base_model_name_or_path = BASE_MODEL_ID  # not this machine's cache path
    config.save_pretrained(str(folder))
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in adapter_state(model).items()}
    path = folder / "adapter_model.safetensors"
    save_file(state, str(path), metadata={"format": "pt"})
    return path


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def elapsed(since: float) -> float:
    return round(time.perf_counter() - since, 1)
