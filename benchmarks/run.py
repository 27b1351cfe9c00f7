"""Throughput of the model runner, measured in one run: embedded models and a llama.cpp server.

Compares, on the same prompts and the same machine in one run:
  * each embedded model answering one prompt at a time in llama.cpp (create_chat_completion,
    the path before session 7) vs greedy decoding in batches in transformers on the dequantised
    weights (models/_batched.py, the path now): answers/s and tokens/s, and how many answers the
    two runtimes share word for word (their arithmetic differs: llama.cpp quantises activations);
  * the batched path with batches of 8 vs the full batch on the same prompts: identical answers
    mean that an answer does not depend on which other requests shared its batch;
  * AdvBench requests decoded in the same batches by ``generate``, which decodes every row until
    the batch's longest answer ends (the path before session 9), vs the decoder's own loop, where
    an answer that has ended leaves the batch (the path now), and how many answers they share;
  * requests held to the rater's JSON schema: llama.cpp's grammar one at a time (the path before
    session 8) vs batched decoding with llguidance's masks (models/_constrained.py), and how many
    answers of each parse;
  * requests to llama-cpp-python's server one at a time vs with concurrency 4 (cold cache both
    times, distinct prompts). That server answers one request at a time, so concurrency buys
    nothing there: the number says so rather than assume it;
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

from expected_harm.datasets import load
from expected_harm.models import (
    EmbeddedChatModel,
    GenerateConfig,
    LlamaServer,
    ResponseCache,
    _batched,
    generate,
    get_model,
    run_settings,
)
from expected_harm.models._batched import BATCH_SIZE, BatchedDecoder
from expected_harm.models._embedded import N_CTX, _load

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


def _share(same: list[bool]) -> str:
    return f"{sum(same)}/{len(same)}"


def embedded_comparison(name: str, prompts: list[str],
                        max_tokens: int) -> dict[str, float | str]:
    """One embedded model: llama.cpp one at a time vs transformers in batches, same prompts."""
    model = EmbeddedChatModel(name)
    requests = [[{"role": "user", "content": p}] for p in prompts]
    llama = _load(model.path, logits_all=False, adapter=model.adapter)
    decoder = BatchedDecoder(model.info, n_ctx=N_CTX)
    decoder.complete(requests[:1], 4)  # load and warm both before timing
    llama.create_chat_completion(messages=requests[0], max_tokens=4, temperature=0.0)

    start = time.perf_counter()
    sequential = [llama.create_chat_completion(messages=m, max_tokens=max_tokens, temperature=0.0)
                  for m in requests]
    seq_s = time.perf_counter() - start
    seq_texts = [r["choices"][0]["message"]["content"] for r in sequential]
    seq_tokens = sum(r["usage"]["completion_tokens"] for r in sequential)

    def batched(size: int) -> tuple[float, list]:
        start = time.perf_counter()
        replies = [reply for i in range(0, len(requests), size)
                   for reply in decoder.complete(requests[i : i + size], max_tokens)]
        return time.perf_counter() - start, replies

    bat_s, full = batched(BATCH_SIZE)
    small_s, small = batched(8)
    bat_tokens = sum(r.usage.completion_tokens for r in full)
    return {
        f"{name}_llama_cpp_one_at_a_time_s": round(seq_s, 2),
        f"{name}_batched_s": round(bat_s, 2),
        f"{name}_batches_of_8_s": round(small_s, 2),
        f"{name}_llama_cpp_one_at_a_time_answers_per_s": round(len(requests) / seq_s, 2),
        f"{name}_batched_answers_per_s": round(len(requests) / bat_s, 2),
        f"{name}_llama_cpp_one_at_a_time_tok_per_s": round(seq_tokens / seq_s, 1),
        f"{name}_batched_tok_per_s": round(bat_tokens / bat_s, 1),
        f"{name}_batched_vs_one_at_a_time_answers": round(seq_s / bat_s, 2),
        f"{name}_identical_batched_vs_batches_of_8": _share(
            [a.text == b.text for a, b in zip(full, small)]),
        f"{name}_identical_batched_vs_llama_cpp": _share(
            [a.text == b for a, b in zip(full, seq_texts)]),
    }


def early_exit_comparison(name: str, prompts: list[str],
                          max_tokens: int) -> dict[str, float | str]:
    """``generate`` (every row decoded to the longest answer) vs the decoder's loop (a row leaves
    the batch once its answer ends), on the same batches of the same prompts."""
    import torch

    decoder = BatchedDecoder(EmbeddedChatModel(name).info, n_ctx=N_CTX)
    tokenizer = decoder.tokenizer
    texts = [tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                           add_generation_prompt=True) for p in prompts]
    batches = [texts[i : i + BATCH_SIZE] for i in range(0, len(texts), BATCH_SIZE)]
    decoder._decode(batches[0][:1], 4, (), None, None)  # warm up

    def generated(batch: list[str]) -> list[tuple[str, int]]:
        encoded = tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            out = decoder.model.generate(**encoded, max_new_tokens=max_tokens, do_sample=False,
                                         temperature=None, top_p=None, top_k=None,
                                         eos_token_id=decoder.end_tokens,
                                         pad_token_id=tokenizer.pad_token_id)
        answers = []
        for row in out[:, encoded["input_ids"].shape[1]:].tolist():
            ended = next((i for i, t in enumerate(row) if t in decoder.end_tokens), len(row))
            answers.append((tokenizer.decode(row[:ended]), ended))
        return answers

    start = time.perf_counter()
    before = [answer for batch in batches for answer in generated(batch)]
    generate_s = time.perf_counter() - start
    start = time.perf_counter()
    now = [(r.text, r.usage.completion_tokens) for batch in batches
           for r in decoder._decode(batch, max_tokens, (), None, None)]
    loop_s = time.perf_counter() - start
    tokens = sum(n for _, n in now)
    return {
        f"{name}_early_exit_requests": len(prompts),
        f"{name}_early_exit_mean_answer_tokens": round(tokens / len(prompts), 1),
        f"{name}_generate_s": round(generate_s, 2),
        f"{name}_early_exit_s": round(loop_s, 2),
        f"{name}_early_exit_vs_generate": round(generate_s / loop_s, 2),
        f"{name}_identical_early_exit_vs_generate": _share(
            [a == b for a, b in zip(before, now, strict=True)]),
    }


def schema_comparison(prompts: list[str], max_tokens: int) -> dict[str, float | str]:
    """The rater's JSON schema on the base model: llama.cpp one at a time vs batched."""
    from expected_harm.rating import RATING_SCHEMA

    model = EmbeddedChatModel("smollm2-135m")
    system = {"role": "system", "content": "Rate the request's execution cost and severity, 1-5, "
                                           "as JSON with a one-sentence rationale."}
    requests = [[system, {"role": "user", "content": p}] for p in prompts]
    llama = _load(model.path, logits_all=False)
    decoder = BatchedDecoder(model.info, n_ctx=N_CTX)
    form = {"type": "json_object", "schema": RATING_SCHEMA}
    start = time.perf_counter()
    sequential = [llama.create_chat_completion(messages=m, max_tokens=max_tokens, temperature=0.0,
                                               response_format=form)
                  for m in requests]
    seq_s = time.perf_counter() - start
    start = time.perf_counter()
    batched = decoder.complete(requests, max_tokens, schema=RATING_SCHEMA)
    bat_s = time.perf_counter() - start

    def parses(text: str) -> bool:
        try:
            return set(json.loads(text)) == set(RATING_SCHEMA["required"])
        except ValueError:
            return False

    return {
        "schema_requests": len(requests),
        "schema_llama_cpp_one_at_a_time_s": round(seq_s, 2),
        "schema_batched_s": round(bat_s, 2),
        "schema_batched_vs_one_at_a_time": round(seq_s / bat_s, 2),
        "schema_parsed_llama_cpp": _share(
            [parses(r["choices"][0]["message"]["content"]) for r in sequential]),
        "schema_parsed_batched": _share([parses(r.text) for r in batched]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--requests", type=int, default=64, help="requests per condition")
    parser.add_argument("--max-tokens", type=int, default=64, help="max tokens per answer")
    parser.add_argument("--schema-requests", type=int, default=16,
                        help="JSON-schema requests (200 tokens each; llama.cpp takes ~10 s each)")
    args = parser.parse_args()
    config = GenerateConfig(max_tokens=args.max_tokens)
    n = args.requests

    def prompts(tag: str) -> list[str]:
        return [f"In one sentence, describe {tag} number {i}." for i in range(n)]

    embedded: dict[str, float | str] = {}
    for name in ("smollm2-135m", "smollm2-135m-safety"):
        embedded |= embedded_comparison(name, prompts("embedded"), args.max_tokens)
    harmful = load("advbench")["prompt"].head(args.requests).tolist()
    for name in ("smollm2-135m", "smollm2-135m-safety"):
        embedded |= early_exit_comparison(name, harmful, 128)
    embedded |= schema_comparison(prompts("a rated request")[: args.schema_requests], 200)

    with tempfile.TemporaryDirectory() as scratch, LlamaServer() as server:
        cache = ResponseCache(Path(scratch) / "bench.sqlite")
        timed_run(server.spec, ["warm-up"], 1, cache, config)  # load weights, fill OS caches
        sequential, seq_tokens = timed_run(server.spec, prompts("sequential"), 1, cache, config)
        concurrent, con_tokens = timed_run(server.spec, prompts("concurrent"), 4, cache, config)
        served = server.completions_served()
        cached, _ = timed_run(server.spec, prompts("concurrent"), 4, cache, config)
        assert server.completions_served() == served, "the cached rerun reached the server"

    report = {
        "embedded": f"one at a time: in-process llama-cpp-python 0.3.36; batched: "
                    f"models/_batched.py ({_batched.revision()}), {BATCH_SIZE} requests per batch",
        **embedded,
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
        "concurrent_vs_sequential_throughput": round(
            sequential / concurrent * (con_tokens / seq_tokens), 2),
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
