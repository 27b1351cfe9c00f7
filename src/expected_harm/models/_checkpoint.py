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
from pathlib import Path
from typing import Any

from expected_harm.models._embedded import EMBEDDED_MODELS, embedded_model
from expected_harm.paths import cache_dir

EMBEDDED_PREFIX = "embedded:"


def digest(*parts: object) -> str:
    """A stable hash of JSON-able parts (cache folder names and activation keys use it)."""
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def embedded_checkpoint(name: str = "smollm2-135m") -> Path:
    """Dequantise an embedded GGUF once into a transformers folder (safetensors) and return it.

    Dequantising the Q4_1 file takes ~10 s; loading the cached safetensors is ~10× faster. The
    folder is keyed by the GGUF package's revision, so a new release converts again.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    info = embedded_model(name)
    folder = cache_dir() / "hf" / f"{name}-{digest(info.revision())[:12]}"
    if (folder / "config.json").is_file():
        return folder
    gguf = info.path()
    config = AutoConfig.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    # transformers' own GGUF path needs `accelerate`; its loader alone does not.
    tensors = load_gguf_checkpoint(str(gguf), return_tensors=True, model_to_load=model)["tensors"]
    model.load_state_dict({k: torch.as_tensor(v) for k, v in tensors.items()}, strict=False)
    model.tie_weights()
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    scratch = folder.with_name(folder.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    model.save_pretrained(scratch)
    tokenizer.save_pretrained(scratch)
    scratch.rename(folder)  # atomic: a half-written folder is never mistaken for a checkpoint
    return folder


def load_causal_lm(spec: str, *, dtype: str = "float32",
                   revision: str | None = None) -> tuple[Any, Any, str | None]:
    """A transformers causal LM, its tokenizer and its weights' revision, from a spec.

    Args:
        spec: ``"embedded:<name>"`` (the GGUF that ships with the package, offline; an adapter
            model is its base dequantised with the peft adapter merged in), a Hugging Face id,
            or a local folder.
        dtype: ``"float32"``, ``"bfloat16"`` or ``"float16"``.
        revision: Hub revision for a Hugging Face id.

    Returns:
        ``(model, tokenizer, revision)``: the model on the CPU, not yet in eval mode; the revision
        is the embedded model's, a local folder's digest, or ``revision`` as given (None when
        neither it nor the hub says).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter: Path | None = None
    if spec.startswith(EMBEDDED_PREFIX):
        name = spec.removeprefix(EMBEDDED_PREFIX)
        info = embedded_model(name)
        adapter = info.adapter_path()
        if adapter is not None:  # a LoRA on an embedded base: dequantise the base, merge below
            name = next(n for n, m in EMBEDDED_MODELS.items()
                        if m.filename == info.filename and m.adapter is None)
        source: str | Path = embedded_checkpoint(name)
        revision = info.revision()
    elif Path(spec).is_dir():
        source = Path(spec)
        # A local folder has no hub revision: its config and weight sizes stand in for one.
        files = sorted(p for p in source.iterdir() if p.is_file())
        revision = revision or "local:" + digest(
            (source / "config.json").read_text(), [(p.name, p.stat().st_size) for p in files]
        )[:16]
    else:
        source = spec
    hub_revision = None if isinstance(source, Path) else revision
    tokenizer = AutoTokenizer.from_pretrained(str(source), revision=hub_revision)
    model = AutoModelForCausalLM.from_pretrained(
        str(source), dtype=getattr(torch, dtype), revision=hub_revision
    )
    if adapter is not None:
        from peft import PeftModel

        # The peft weights the GGUF adapter was converted from sit beside it (Hu et al. 2021).
        model = PeftModel.from_pretrained(model, str(adapter.parent)).merge_and_unload()
    return model, tokenizer, revision
