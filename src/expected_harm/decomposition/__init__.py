"""Decomposition attacks (section 03): split a costly request into sub-tasks that each look cheap
and harmless, attack every sub-task on its own, and join the answers.

This package makes and measures the decompositions. An :class:`LLMDecomposer` asks any chat model
(the attacker) for k self-contained sub-tasks that together cover the request, under a strategy:
``cost`` (each sub-task of low execution cost by the project's rubric, checked by a rater),
``monitor`` (each prefix of the sequence passing the :class:`SequentialMonitor`, after Yueh-Han
Chen et al. 2025, arXiv 2506.10949) or ``cost+monitor``; sub-tasks that break a constraint are
rewritten within a budget, and every draft, rating and score is kept. A
:class:`ReplayDecomposer` returns GPT-4o's published decompositions of SORRY-Bench
(FRACTURED-SORRY-Bench) for the same pipeline, offline. Attacker refusals, too few sub-tasks and
unreadable answers get their own statuses (:data:`DECOMPOSITION_STATUSES`); only ``ok``
decompositions are attacked.

The published evidence (GPT-4o's decompositions of SORRY-Bench and four real models' answers to
them, offline) is the submodule :mod:`expected_harm.decomposition.evidence`.

Examples:
    >>> parse_sub_tasks("Here you go:\\n1. Explain A.\\n2. List B.", k=2)
    ('ok', ('Explain A.', 'List B.'))
"""

# --- D1: decompositions, the monitor, the decomposers ---
from expected_harm.decomposition._decomposer import (
    FRAME_COLUMNS,
    LLMDecomposer,
    cost_levels,
    decomposition_frame,
)

# --- D3: what the attack achieves per condition (the attack: attacks.DecompositionAttack) ---
from expected_harm.decomposition._metrics import (
    CONDITIONS,
    ORIGINAL,
    USEFULNESS_JUDGE,
    Count,
    condition_of,
    condition_report,
    condition_table,
    count_best,
    count_wins,
    interval_cell,
    mark_best,
    model_calls,
    uplift,
    uplift_report,
    usefulness,
    usefulness_missing,
    with_conditions,
)

# --- D1, continued ---
from expected_harm.decomposition._monitor import (
    DEFAULT_THRESHOLD,
    MONITOR_COLUMNS,
    SequentialMonitor,
    ThresholdChoice,
    choose_threshold,
)
from expected_harm.decomposition._parse import (
    REVISION_SCHEMA,
    parse_revision,
    parse_sub_tasks,
    sub_tasks_schema,
)
from expected_harm.decomposition._replay import PUBLISHED_SET, ReplayDecomposer
from expected_harm.decomposition._types import (
    DECOMPOSITION_STATUSES,
    PUBLISHED,
    STRATEGIES,
    Decomposer,
    Decomposition,
    SubTask,
)

__all__ = [
    # D1
    "DECOMPOSITION_STATUSES",
    "DEFAULT_THRESHOLD",
    "FRAME_COLUMNS",
    "MONITOR_COLUMNS",
    "PUBLISHED",
    "PUBLISHED_SET",
    "REVISION_SCHEMA",
    "STRATEGIES",
    "Decomposer",
    "Decomposition",
    "LLMDecomposer",
    "ReplayDecomposer",
    "SequentialMonitor",
    "SubTask",
    "ThresholdChoice",
    "choose_threshold",
    "cost_levels",
    "decomposition_frame",
    "parse_revision",
    "parse_sub_tasks",
    "sub_tasks_schema",
    # D3
    "CONDITIONS",
    "ORIGINAL",
    "USEFULNESS_JUDGE",
    "Count",
    "condition_of",
    "condition_report",
    "condition_table",
    "count_best",
    "count_wins",
    "interval_cell",
    "mark_best",
    "model_calls",
    "uplift",
    "uplift_report",
    "usefulness",
    "usefulness_missing",
    "with_conditions",
]
