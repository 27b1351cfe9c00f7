"""The paper's own numbers, kept apart from ours: shown only as labelled references.

Source: Chen, Tam, Wu & Chen, "Expected Harm: Rethinking Safety Evaluation of (Mis)Aligned LLMs",
arXiv 2602.01600 (findings as summarised in the project's PAPER.md). Nothing in this module is a
result of this project; every figure that uses a value from here labels it "paper".
"""

from __future__ import annotations

CITATION = "Chen et al. (2026), arXiv 2602.01600"

#: Finding 1: mean execution cost of real users' toxic prompts, per source.
REAL_WORLD_MEAN_COST: dict[str, float] = {"LMSYS-Chat-1M": 1.35, "WildChat": 1.13}

#: Finding 1: benchmark prompts' mean execution cost relative to real-world toxic prompts.
BENCHMARK_TO_REAL_COST_RATIO = 1.47

#: Finding 5: final-layer refusal-probe "activation score" (mean probe probability × 100) by
#: severity level. The paper's model and probe layer are not stated in our sources.
PROBE_SCORE_BY_SEVERITY: dict[int, float] = {1: 8.8, 3: 81.6, 5: 77.6}

#: Finding 5: the same score by execution-cost level, as (low, high): costs 2 and 3 are given
#: together as the range 40.8–44.2, so each carries that range; costs 1 and 5 are single values.
PROBE_SCORE_BY_COST: dict[int, tuple[float, float]] = {
    1: (61.9, 61.9), 2: (40.8, 44.2), 3: (40.8, 44.2), 5: (80.3, 80.3),
}

#: Finding 3: attack × benchmark cells in which cost + monitor decomposition is best or second
#: best of the four conditions, as (cells, of). The summary does not name the measure; the
#: book reads it as ASR.
DECOMPOSITION_BEST_OR_SECOND: tuple[int, int] = (17, 20)

#: Finding 3: attack × benchmark cells in which cost-only decomposition beats monitor-only on
#: Usefulness, as (cells, of).
COST_BEATS_MONITOR_USEFULNESS: tuple[int, int] = (14, 20)

#: Finding 3: the largest ASR gain of an existing jailbreak under decomposition ("up to 2×").
MAX_DECOMPOSITION_UPLIFT = 2.0

#: Finding 4: attack success of the original harmful prompts behind a guard model, as (low,
#: high) over the guards and benchmarks reported.
GUARDED_ORIGINAL_ASR: tuple[float, float] = (0.02, 0.05)

#: Finding 4: share of cost + monitor sub-tasks that pass each guard, screened one by one.
GUARD_SUB_TASK_PASS: dict[str, float] = {"Qwen3Guard": 0.91, "Llama-Guard-3": 0.96}

#: Finding 4: share of whole cost + monitor tasks (every sub-task passes) that pass each guard.
GUARD_TASK_PASS: dict[str, float] = {"Qwen3Guard": 0.72, "Llama-Guard-3": 0.84}
