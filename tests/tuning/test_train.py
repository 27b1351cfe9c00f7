"""LoRA training mechanics on a tiny random model: loss mask, padding, bit-identical reruns."""

from __future__ import annotations

import pytest
import torch

from expected_harm.tuning.train import (
    IGNORE,
    Example,
    adapter_state,
    add_lora,
    checksum,
    collate,
    format_example,
    seed_everything,
    train_lora,
)

LORA = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj", "down_proj"]}
SETTINGS = {"epochs": 1, "learning_rate": 1e-2, "micro_batch": 2, "accumulation": 2,
            "max_length": 32, "warmup_steps": 1, "bf16": True, "threads": 1}


class CharTokenizer:
    """One token per character, with a ChatML-like template (SmolLM2's shape)."""

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=False):
        text = "".join(f"<{m['role']}>{m['content']}|" for m in messages)
        return text + ("<assistant>" if add_generation_prompt else "")

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [ord(c) % 64 for c in text]}


def test_loss_sees_only_the_answer() -> None:
    example = format_example(CharTokenizer(), "hi", "yes", max_length=64)
    head = len("<user>hi|<assistant>")
    assert example.labels[:head] == (IGNORE,) * head
    assert example.labels[head:] == example.input_ids[head:]
    assert len(example.labels[head:]) == len("yes|")


def test_truncation_and_too_long_prompt() -> None:
    assert len(format_example(CharTokenizer(), "hi", "y" * 100, max_length=30).input_ids) == 30
    with pytest.raises(ValueError, match="max_length"):
        format_example(CharTokenizer(), "x" * 40, "yes", max_length=30)


def test_collate_masks_padding() -> None:
    batch = collate([Example((1, 2, 3), (IGNORE, 2, 3)), Example((4,), (4,))], pad_id=0)
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[IGNORE, 2, 3], [4, IGNORE, IGNORE]]


def _tiny_run(examples: list[Example]) -> tuple[str, str, list[float]]:
    from transformers import LlamaConfig, LlamaForCausalLM

    seed_everything(7)
    config = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1)
    model = add_lora(LlamaForCausalLM(config), LORA, seed=7)
    before = checksum(adapter_state(model))
    losses = train_lora(model, examples, SETTINGS, seed=7, pad_id=0, max_steps=2, progress=False)
    return before, checksum(adapter_state(model)), losses


def test_two_steps_twice_give_identical_weights() -> None:
    tokenizer = CharTokenizer()
    examples = [format_example(tokenizer, f"q{i}", "answer" * (i % 3 + 1), 32) for i in range(8)]
    first = _tiny_run(examples)
    second = _tiny_run(examples)
    assert first == second
    before, after, losses = first
    assert before != after and len(losses) == 2
    assert all(torch.isfinite(torch.tensor(losses)))
