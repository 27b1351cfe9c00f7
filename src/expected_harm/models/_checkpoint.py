"""Transformers weights for the hidden-state and training code: the embedded GGUF, dequantised.

The chat path runs the GGUF in llama-cpp-python; probing and tuning need the same weights as a
transformers model. The dequantised folder is cached, and the safety adapter's peft weights are
merged on load, so both read exactly the model that the chat path serves.

torch, transformers and peft are imported only inside the functions that need them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from expected_harm.models._embedded import EMBEDDED_MODELS, EmbeddedModel, embedded_model
from expected_harm.paths import cache_dir

EMBEDDED_PREFIX = "embedded:"
#: A local folder's files whose text its revision digests (the rest by size).
LOCAL_REVISION_FILES = ("config.json", "tokenizer_config.json", "chat_template.jinja")


def digest(*parts: object) -> str:
    """A stable hash of JSON-able parts (cache folder names and activation keys use it)."""
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def embedded_checkpoint(name: str = "smollm2-135m") -> Path:
    """Dequantise an embedded GGUF once into a transformers folder (safetensors) and return it.

    Dequantising the Q4_1 file takes ~10 s; loading the cached safetensors is ~10× faster. The
    folder is keyed by the GGUF package's revision, so a new release converts again.
    """
    info = embedded_model(name)
    folder = cache_dir() / "hf" / f"{name}-{digest(info.revision())[:12]}"
    if (folder / "config.json").is_file():
        return folder
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    gguf = info.path()
    config = AutoConfig.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    # transformers' own GGUF path needs `accelerate`; its loader alone does not.
    tensors = load_gguf_checkpoint(str(gguf), return_tensors=True, model_to_load=model)["tensors"]
    model.load_state_dict({k: torch.as_tensor(v) for k, v in tensors.items()}, strict=False)
    model.tie_weights()
    _save(folder, model, AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name))
    return folder


def merged_checkpoint(info: EmbeddedModel) -> Path:
    """An embedded model's transformers folder: its base dequantised, its LoRA adapter merged.

    The peft weights a GGUF adapter was converted from sit beside it (Hu et al. 2021), so an
    adapter model reads exactly the weights that llama.cpp applies. Merging takes ~6 s and
    loading the merged folder well under one, so each adapter is merged once into a folder keyed
    by the model's revision (which names the adapter's checksum).
    """
    base = next(n for n, m in EMBEDDED_MODELS.items()
                if m.filename == info.filename and m.adapter is None)
    adapter = info.adapter_path()
    if adapter is None:
        return embedded_checkpoint(base)
    folder = cache_dir() / "hf" / f"{info.name}-{digest(info.revision())[:12]}"
    if (folder / "config.json").is_file():
        return folder
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = embedded_checkpoint(base)
    model = AutoModelForCausalLM.from_pretrained(str(source))
    model = PeftModel.from_pretrained(model, str(adapter.parent)).merge_and_unload()
    _save(folder, model, AutoTokenizer.from_pretrained(str(source)))
    return folder


def _save(folder: Path, model: Any, tokenizer: Any) -> None:
    """Write a checkpoint folder atomically: a half-written one is never mistaken for one.

    Each writer has a scratch folder of its own: sections run side by side, and two may convert
    the same model at once (one shared scratch name let one writer delete the other's files).
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{folder.name}.partial-", dir=folder.parent))
    model.save_pretrained(scratch)
    tokenizer.save_pretrained(scratch)
    try:
        scratch.rename(folder)
    except OSError:  # another process wrote the same folder first
        if not (folder / "config.json").is_file():
            raise
        shutil.rmtree(scratch)


def load_embedded(info: EmbeddedModel, *, dtype: str = "float32") -> tuple[Any, Any]:
    """An embedded model in transformers (:func:`merged_checkpoint`), on the CPU, not in eval
    mode, and its tokenizer."""
    weights, tokenizer = embedded_loaders(info, dtype=dtype)
    return weights(), tokenizer()


def embedded_loaders(info: EmbeddedModel, *,
                     dtype: str = "float32") -> tuple[Callable[[], Any], Callable[[], Any]]:
    """Functions that load an embedded model's weights and its tokenizer when called.

    Where the checkpoint folder exists, nothing is imported until then: a caller that finds
    all it needs in a cache never pays for torch and transformers (3.3 s of imports).
    """
    source = str(merged_checkpoint(info))

    def weights() -> Any:
        import torch
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM.from_pretrained(source, dtype=getattr(torch, dtype))

    def tokenizer() -> Any:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(source)

    return weights, tokenizer


def load_causal_lm(spec: str, *, dtype: str = "float32",
                   revision: str | None = None) -> tuple[Any, Any, str | None]:
    """A transformers causal LM, its tokenizer and its weights' revision, from a spec.

    Args:
        spec: ``"embedded:<name>"`` (the GGUF that ships with the package, offline; see
            :func:`load_embedded`), a Hugging Face id, or a local folder.
        dtype: ``"float32"``, ``"bfloat16"`` or ``"float16"``.
        revision: Hub revision for a Hugging Face id.

    Returns:
        ``(model, tokenizer, revision)``: the model on the CPU, not yet in eval mode; the revision
        is the embedded model's, a local folder's digest, or ``revision`` as given (None when
        neither it nor the hub says).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if spec.startswith(EMBEDDED_PREFIX):
        info = embedded_model(spec.removeprefix(EMBEDDED_PREFIX))
        return (*load_embedded(info, dtype=dtype), info.revision())
    if Path(spec).is_dir():
        source: str | Path = Path(spec)
        # A local folder has no hub revision: its config, its chat template and its files'
        # sizes stand in for one (activations are keyed by prompt, not by the rendered text).
        files = sorted(p for p in source.iterdir() if p.is_file())
        texts = [(p.name, p.read_text()) for p in files if p.name in LOCAL_REVISION_FILES]
        revision = revision or "local:" + digest(
            texts, [(p.name, p.stat().st_size) for p in files])[:16]
    else:
        source = spec
    hub_revision = None if isinstance(source, Path) else revision
    tokenizer = AutoTokenizer.from_pretrained(str(source), revision=hub_revision)
    model = AutoModelForCausalLM.from_pretrained(
        str(source), dtype=getattr(torch, dtype), revision=hub_revision
    )
    return model, tokenizer, revision
