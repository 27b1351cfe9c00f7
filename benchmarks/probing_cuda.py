"""Hidden-state extraction on CUDA, checked against CPU: prompts/s and the largest difference.

Runs the same extraction as the probing section on the embedded GGUF model (offline; no network
needed), on CUDA when ``torch.cuda.is_available()``, else says that no GPU is present and exits 0.
Prints prompts/s on CUDA (batched) and on CPU, and the max absolute difference of the activations
(every layer, last prompt token) between the two devices for a few prompts. Under two minutes.

    python benchmarks/probing_cuda.py
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    import torch

    if not torch.cuda.is_available():
        print("no CUDA GPU is present (torch.cuda.is_available() is False); nothing to measure")
        return
    scratch = tempfile.mkdtemp(prefix="probing-cuda-")
    os.environ.setdefault("EXPECTED_HARM_CACHE_DIR", scratch)  # where the checkpoint is converted
    from expected_harm import probing

    prompts = [f"Explain, step by step, how to assemble item number {i} in a small workshop."
               for i in range(256)]
    check = prompts[:8]
    print(f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}")
    cpu = probing.load_model(device="cpu")
    gpu = probing.load_model(device="cuda")

    def run(hsm: probing.HiddenStateModel, items: list[str], tag: str) -> tuple[np.ndarray, float]:
        cache = probing.ActivationCache(Path(scratch) / f"activations-{tag}")  # cold every time
        if hsm.model.device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        vectors = probing.extract(hsm, items, batch_size=32, cache=cache)
        if hsm.model.device.type == "cuda":
            torch.cuda.synchronize()
        return vectors, len(items) / (time.perf_counter() - start)

    run(gpu, ["warm-up"], "warm-up")  # CUDA context and kernels out of the timing
    on_gpu, gpu_rate = run(gpu, prompts, "gpu")
    on_cpu, cpu_rate = run(cpu, check, "cpu")
    difference = np.abs(on_gpu[: len(check)] - on_cpu).max()
    scale = np.abs(on_cpu).max()
    print(f"model: {gpu.name} ({gpu.revision}, {gpu.dtype}); {gpu.n_layers} layers")
    print(f"CUDA, batch 32: {gpu_rate:.1f} prompts/s over {len(prompts)} prompts")
    print(f"CPU,  batch 32: {cpu_rate:.1f} prompts/s over {len(check)} prompts")
    print(f"CPU vs CUDA, {len(check)} prompts x {gpu.n_layers} layers: "
          f"max |diff| = {difference:.2e} "
          f"(max |activation| = {scale:.1f}; relative {difference / scale:.1e})")


if __name__ == "__main__":
    main()
