"""Guardrails (finding 4): do deployed guards stop a request that arrives in cheap pieces?

A guard screens what a user sends. Screened one message at a time (as deployed guards work), a
decomposition's sub-questions each look benign; screened as the conversation so far (as the
sequential monitor of Yueh-Han Chen et al. 2025 reads it), the intent may show. The book adds
its own defence: a monitor that rates the conversation so far with the Expected Harm rubric and
flags when severity × Pr(execution | cost) passes a threshold chosen on a validation split.

* :mod:`~expected_harm.guardrails.screening`: the decompositions, their validation/test split,
  and one screening row per (guard, mode, decomposition, step).
* :mod:`~expected_harm.guardrails.defence`: :class:`RubricMonitor`, by expected harm or by
  severity alone, and its threshold.
* :mod:`~expected_harm.guardrails.metrics`: block and bypass rates, end-to-end ASR, false
  positives, per category, with intervals over decompositions.
* :mod:`~expected_harm.guardrails.evidence`: a real guard's published verdicts (Llama Guard 1
  on the JailbreakBench artifacts) beside JailbreakBench's judge.
"""

from expected_harm.guardrails.defence import RubricMonitor, choose_monitor_threshold, flag
from expected_harm.guardrails.metrics import (
    bypass_table,
    category_table,
    published_success,
    task_outcomes,
)
from expected_harm.guardrails.screening import (
    MODES,
    SCREEN_COLUMNS,
    decompositions,
    live_rows,
    screen,
    screen_originals,
)

__all__ = [
    "MODES",
    "SCREEN_COLUMNS",
    "RubricMonitor",
    "bypass_table",
    "category_table",
    "choose_monitor_threshold",
    "decompositions",
    "flag",
    "live_rows",
    "published_success",
    "screen",
    "screen_originals",
    "task_outcomes",
]
