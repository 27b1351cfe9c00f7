"""Hidden-state extraction throughput on the embedded model: batched vs one at a time, cold vs warm.

Measured in one run, on the same prompts (short benchmark-style requests, distinct per condition so
no condition reads another's cache):
  * cold extraction with batch size 16 vs batch size 1 (forward passes, empty activation cache);
  * a warm rerun (every vector read from the activation cache) vs the cold batched run.
Ratios are what to read: absolute numbers move with whatever else this machine is doing.

    .venv/bin/python benchmarks/probing.py --prompts 64
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def prompts(tag: str, n: int) -> list[str]:
    return [f"Explain, step by step, how to {tag} item number {i} in a small workshop."
            for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--prompts", type=int, default=64, help="prompts per condition")
    parser.add_argument("--batch-size", type=int, default=16, help="batch size of the batched run")
    args = parser.parse_args()
    n = args.prompts

    with tempfile.TemporaryDirectory() as scratch:
        os.environ.setdefault("EXPECTED_HARM_CACHE_DIR", scratch)  # keep the converted checkpoint
        from expected_harm import probing

        start = time.perf_counter()
        hsm = probing.load_model(device="cpu")
        load_s = time.perf_counter() - start
        cache = probing.ActivationCache(Path(scratch) / "activations")
        probing.extract(hsm, ["warm-up"], cache=cache)  # first-call overheads out of the timings

        def timed(tag: str, batch_size: int) -> float:
            start = time.perf_counter()
            probing.extract(hsm, prompts(tag, n), batch_size=batch_size, cache=cache)
            return time.perf_counter() - start

        one_at_a_time = timed("repair", 1)
        batched = timed("assemble", args.batch_size)
        warm = timed("assemble", args.batch_size)

    report = {
        "model": f"{hsm.name} ({hsm.revision}, {hsm.dtype}), CPU, torch threads={_threads()}",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "prompts_per_condition": n,
        "load_s": round(load_s, 2),
        "one_at_a_time_prompts_per_s": round(n / one_at_a_time, 1),
        f"batched{args.batch_size}_prompts_per_s": round(n / batched, 1),
        "warm_cache_prompts_per_s": round(n / warm, 1),
        "batched_vs_one_at_a_time": round(one_at_a_time / batched, 2),
        "warm_vs_cold_batched": round(batched / warm, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "probing.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    for key, value in report.items():
        print(f"{key:36} {value}")
    print(f"\nwritten to {out}")


def _threads() -> int:
    import torch

    return torch.get_num_threads()


if __name__ == "__main__":
    main()
