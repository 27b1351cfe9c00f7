"""Extraction: residual-stream activations of any causal LM, batched, padding-safe, cached.

After repeng's ``extract.py``: :func:`load_model` (weights through
:func:`expected_harm.models.load_causal_lm`, loaded when first needed), :func:`render`,
:func:`extract` and the on-disk :class:`ActivationCache`. torch is imported only inside the
functions that need it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np

from expected_harm.models import embedded_model, load_causal_lm
from expected_harm.models._checkpoint import EMBEDDED_PREFIX, embedded_loaders, merged_checkpoint
from expected_harm.models._checkpoint import digest as _digest
from expected_harm.paths import cache_dir
from expected_harm.runcard import record

Position = Literal["last", "mean"]
Template = Literal["chat", "none"]
Dtype = Literal["float32", "bfloat16", "float16"]
DTYPES: tuple[str, ...] = ("auto", "float32", "bfloat16", "float16")

DEFAULT_MODEL = "embedded:smollm2-135m"


@dataclass
class HiddenStateModel:
    """A causal LM and its tokenizer, named so that cached activations can be keyed.

    The tokenizer and the weights load on first use: reading cached activations needs neither
    (they are keyed by prompt, :class:`ActivationCache`), so a section whose activations are all
    cached skips torch, transformers, the tokenizer and the weights (6.3 s for the 135M model).

    Attributes:
        name: The spec it was loaded from, e.g. ``"embedded:smollm2-135m"``.
        revision: Weights version; part of every cache key.
        dtype: The weights' and activations' dtype, e.g. ``"float32"``; part of every cache key.
        n_layers: Transformer blocks.
        hidden_size: Width of the residual stream.
        load_weights: Returns the ``transformers`` causal LM in eval mode on its device.
        load_tokenizer: Returns its tokenizer (with a chat template for ``template="chat"``).
    """

    name: str
    revision: str
    dtype: str
    n_layers: int
    hidden_size: int
    load_weights: Callable[[], Any] = field(repr=False)
    load_tokenizer: Callable[[], Any] = field(repr=False)

    @cached_property
    def model(self) -> Any:
        return self.load_weights()

    @cached_property
    def tokenizer(self) -> Any:
        return self.load_tokenizer()

    @classmethod
    def loaded(cls, model: Any, tokenizer: Any, name: str, revision: str) -> HiddenStateModel:
        """A model already in memory (a Hugging Face model once loaded, a test's tiny model)."""
        return cls(name, revision, str(next(model.parameters()).dtype).removeprefix("torch."),
                   int(model.config.num_hidden_layers), int(model.config.hidden_size),
                   lambda: model, lambda: tokenizer)


def load_model(
    spec: str = DEFAULT_MODEL,
    *,
    device: str | None = None,
    dtype: Dtype | Literal["auto"] = "float32",
    revision: str | None = None,
) -> HiddenStateModel:
    """Load a causal LM for hidden-state extraction.

    An embedded model's weights and tokenizer load only when first needed
    (:class:`HiddenStateModel`); any other model loads here, since its revision is read from
    the loaded config.

    Args:
        spec: ``"embedded:<name>"`` (the GGUF that ships with the package, offline), a Hugging Face
            id, or a local folder.
        device: ``"cpu"``, ``"cuda"``, ...; CUDA when present, else CPU, if None.
        dtype: Weights and activations dtype; ``"auto"`` picks the faster one for ``device``
            (:func:`fast_dtype`).
        revision: Hub revision for a Hugging Face id; recorded in the cache key.

    Returns:
        The model (once loaded, in eval mode on ``device``).
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
    if device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype == "auto":
        dtype = fast_dtype(device)
    if spec.startswith(EMBEDDED_PREFIX):
        info = embedded_model(spec.removeprefix(EMBEDDED_PREFIX))
        config = json.loads((merged_checkpoint(info) / "config.json").read_text(encoding="utf-8"))
        weights, tokenizer = embedded_loaders(info, dtype=dtype)
        return HiddenStateModel(spec, info.revision(), dtype, int(config["num_hidden_layers"]),
                                int(config["hidden_size"]),
                                lambda: weights().to(device).eval(), tokenizer)
    model, tokenizer, revision = load_causal_lm(spec, dtype=dtype, revision=revision)
    model = model.to(device).eval()
    if revision is None:
        revision = getattr(model.config, "_commit_hash", None) or "unknown"
    return HiddenStateModel.loaded(model, tokenizer, spec, revision)


def fast_dtype(device: str) -> Dtype:
    """bfloat16 where the hardware computes in it, float32 elsewhere.

    That is CUDA devices that support bfloat16, and CPUs with AMX tiles. Elsewhere torch
    emulates bfloat16. A batch of 16 prompts of 100 tokens through the 135M model, on the 2-core
    machines this book is built on, ran in bfloat16 at 3.6 times float32's speed with AMX, at 0.77
    times on AVX-512 without AMX, and at 0.16 times on AVX2 only (6.2 times slower). The dtype
    changes the activations a little; pages name the one used.
    """
    import torch

    if device.startswith("cuda"):
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)  # a private API: absent, no AMX
    return "bfloat16" if amx is not None and amx() else "float32"


def render(tokenizer: Any, prompt: str, template: Template = "chat") -> str:
    """The text the model reads: the prompt as one user turn, ending where the answer would start.

    The last token of this text is where Arditi et al. (2024) read the refusal direction.
    """
    if template == "chat":
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
    if template == "none":
        return prompt
    raise ValueError(f"template must be 'chat' or 'none', got {template!r}")


class ActivationCache:
    """Activations on disk: one ``.npy`` per (model, revision, dtype, template, prompt, position).

    Keys hold only what changes the vectors: batch size and device do not (the tests check that
    a prompt alone and in a padded batch give the same vectors). Plain arrays, never pickle.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or cache_dir() / "activations"

    @staticmethod
    def key(hsm: HiddenStateModel, prompt: str, template: Template, position: Position) -> str:
        """The prompt as given, not the text its template renders: the revision names the
        tokenizer and its chat template (as the response cache keys the messages, not the text
        a model reads), so cached vectors are found without loading the tokenizer."""
        return _digest(hsm.name, hsm.revision, hsm.dtype, template, prompt, position)

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        path = self.path(key)
        return np.load(path, allow_pickle=False) if path.is_file() else None

    def put(self, key: str, value: np.ndarray) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(".partial.npy")
        np.save(scratch, value, allow_pickle=False)
        scratch.replace(path)


def _forward(hsm: HiddenStateModel, texts: list[str], position: Position,
             add_special_tokens: bool) -> np.ndarray:
    """Residual stream after every block, for one batch: (batch, layers, hidden), float32.

    Pads on the right and reads each prompt's own last real token, so that positions (and thus
    rotary embeddings) match a prompt run alone; causal attention never sees the padding. A
    prefix that every text shares (the chat template's system turn) runs once, its keys and
    values copied to every row (:func:`~expected_harm.models._batched.shared_prefix`).
    """
    import torch

    from expected_harm.models._batched import prefix_cache, shared_prefix

    tokenizer = hsm.tokenizer
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    device = next(hsm.model.parameters()).device
    ids = tokenizer(texts, add_special_tokens=add_special_tokens)["input_ids"]
    shared = shared_prefix(ids)
    own = [x[shared:] for x in ids]
    width = max(map(len, own))
    inputs = torch.tensor([x + [tokenizer.pad_token_id] * (width - len(x)) for x in own],
                          device=device)
    mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in own], device=device)
    layers = slice(1, hsm.n_layers + 1)
    cache = None
    with torch.inference_mode():
        # The base model without the LM head: logits over the whole vocabulary for every token
        # would cost more than all the blocks together and are never read here.
        if shared:
            cache, prefix = prefix_cache(hsm.model.base_model, ids[0][:shared], len(texts),
                                         output_hidden_states=True)
            prefix_states = torch.stack(prefix.hidden_states[layers], dim=1).float()
        attention = torch.cat([mask.new_ones(len(texts), shared), mask], dim=1)
        output = hsm.model.base_model(input_ids=inputs, attention_mask=attention, cache=cache,
                                      use_cache=shared > 0, output_hidden_states=True)
    # hidden_states[0] is the embedding output, [i] the residual after block i; transformers
    # applies the final norm to the last one, so the last layer is what the unembedding reads.
    states = torch.stack(output.hidden_states[layers], dim=1).float()
    if position == "last":
        last = mask.sum(dim=1) - 1
        picked = states[torch.arange(len(texts), device=device), :, last]
    else:
        count = mask.sum(dim=1, keepdim=True) + shared
        weights = (mask / count)[:, None, :, None].to(states.dtype)
        picked = (states * weights).sum(dim=2)
        if shared:
            picked += (prefix_states / count[:, :, None, None]).sum(dim=2)
    return picked.cpu().numpy()


#: A forward pass pads its prompts to the longest: prompts are grouped by token count so that
#: padding stays within this share of a pass's tokens (fixed batches of 16 in order of length
#: padded the probing section's prompts by 25-39%), and a pass within this many tokens.
MAX_PADDING = 0.1
TOKEN_BUDGET = 4096


def _groups(hsm: HiddenStateModel, texts: list[str], add_special_tokens: bool,
            rows: int) -> list[list[int]]:
    """Indices of ``texts`` in forward passes of similar token counts (:func:`length_groups`)."""
    from expected_harm.models._batched import length_groups

    lengths = [len(ids) for ids in hsm.tokenizer(texts, add_special_tokens=add_special_tokens)
               ["input_ids"]] if texts else []
    return length_groups(lengths, TOKEN_BUDGET, MAX_PADDING, rows)


def extract(
    hsm: HiddenStateModel,
    prompts: Sequence[str],
    *,
    position: Position = "last",
    template: Template = "chat",
    batch_size: int = 16,
    cache: ActivationCache | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Residual-stream activations of every prompt at every layer.

    Args:
        hsm: The model.
        prompts: User messages.
        position: ``"last"`` (last prompt token, after the chat template's assistant header) or
            ``"mean"`` (mean over the prompt's tokens).
        template: ``"chat"`` wraps each prompt in the model's chat template; ``"none"`` reads it
            raw.
        batch_size: At most this many prompts per forward pass.
        cache: Where to read and write vectors; ``ActivationCache()`` under ``cache_dir()`` if None.
        progress: Show a progress bar over batches.

    Returns:
        float32 array of shape (len(prompts), n_layers, hidden); layer ``i`` (0-based) is the
        output of block ``i + 1`` (the last one after the final norm, as transformers returns it).
    """
    if position not in ("last", "mean"):
        raise ValueError(f"position must be 'last' or 'mean', got {position!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if template not in ("chat", "none"):
        raise ValueError(f"template must be 'chat' or 'none', got {template!r}")
    cache = cache or ActivationCache()
    keys = [ActivationCache.key(hsm, p, template, position) for p in prompts]
    found = {k: v for k in dict.fromkeys(keys) if (v := cache.get(k)) is not None}
    missing = [i for i, k in enumerate(keys) if k not in found]
    record("activations", model=hsm.name, revision=hsm.revision, dtype=hsm.dtype,
           cached=len(keys) - len(missing), computed=len(missing))
    texts = {i: render(hsm.tokenizer, prompts[i], template) for i in missing}
    groups = _groups(hsm, [texts[i] for i in missing], template == "none", batch_size)
    if progress and missing:
        from tqdm.auto import tqdm

        groups = tqdm(groups, desc="forward passes", unit="batch")
    for group in groups:
        chunk = [missing[j] for j in group]
        vectors = _forward(hsm, [texts[i] for i in chunk], position, template == "none")
        for i, vector in zip(chunk, vectors):
            cache.put(keys[i], vector)
            found[keys[i]] = vector
    if not keys:
        return np.zeros((0, hsm.n_layers, hsm.hidden_size), dtype=np.float32)
    return np.stack([found[k] for k in keys])
