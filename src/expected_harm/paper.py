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
