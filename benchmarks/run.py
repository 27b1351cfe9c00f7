"""Throughput of the model runner against one llama.cpp server, measured in one run.

Compares, against the same server and the same kind of request:
  * 64 requests sent one at a time vs with concurrency 4 (cold cache both times, distinct prompts);
  * a fully cached rerun vs the cold run it repeats.
Ratios are what to read: absolute numbers move with whatever else this machine is doing.

    make bench          # or: .venv/bin/python benchmarks/run.py --requests 64
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from expected_harm.models import (
    GenerateConfig,
    LlamaServer,
    ResponseCache,
    generate,
    get_model,
    run_settings,
)

RESULTS = Path(__file__).parent / "results"


def timed_run(spec: str, prompts: list[str], concurrency: int, cache: ResponseCache,
              config: GenerateConfig) -> tuple[float, int]:
    model = get_model(spec, max_concurrency=concurrency)
    start = time.perf_counter()
    with run_settings(cache=cache, progress=False):
        results = generate(model, prompts, config)
    elapsed = time.perf_counter() - start
    if not all(r.ok for r in results):
        raise RuntimeError("benchmark run had failed requests; numbers would be meaningless")
    return elapsed, sum(r.usage.completion_tokens for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--requests", type=int, default=64, help="requests per condition")
    parser.add_argument("--max-tokens", type=int, default=64, help="max tokens per answer")
    args = parser.parse_args()
    config = GenerateConfig(max_tokens=args.max_tokens)
    n = args.requests

    def prompts(tag: str) -> list[str]:
        return [f"In one sentence, describe {tag} number {i}." for i in range(n)]

    with tempfile.TemporaryDirectory() as scratch, LlamaServer() as server:
        cache = ResponseCache(Path(scratch) / "bench.sqlite")
        timed_run(server.spec, ["warm-up"], 1, cache, config)  # load weights, fill OS caches
        sequential, seq_tokens = timed_run(server.spec, prompts("sequential"), 1, cache, config)
        concurrent, con_tokens = timed_run(server.spec, prompts("concurrent"), 4, cache, config)
        served = server.completions_served()
        cached, _ = timed_run(server.spec, prompts("concurrent"), 4, cache, config)
        assert server.completions_served() == served, "the cached rerun reached the server"

    report = {
        "server": "llama_cpp.server (llama-cpp-python 0.3.36), embedded smollm2-135m, 127.0.0.1",
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        "requests_per_condition": n,
        "max_tokens": args.max_tokens,
        "sequential_s": round(sequential, 3),
        "concurrent4_s": round(concurrent, 3),
        "cached_rerun_s": round(cached, 4),
        "sequential_req_per_s": round(n / sequential, 2),
        "concurrent4_req_per_s": round(n / concurrent, 2),
        "sequential_tok_per_s": round(seq_tokens / sequential, 1),
        "concurrent4_tok_per_s": round(con_tokens / concurrent, 1),
        "concurrent_vs_sequential_throughput": round(sequential / concurrent * (con_tokens / seq_tokens), 2),
        "concurrent_vs_sequential_requests": round(sequential / concurrent, 2),
        "cold_vs_cached_speedup": round(concurrent / cached, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "runner.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    for key, value in report.items():
        print(f"{key:40} {value}")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
