"""Existing jailbreak methods behind one interface: requests in, the target's answers out.

Attacks are registered by key, as StrongREJECT registers its jailbreaks::

    from expected_harm.attacks import get_attack, get_attacks, run_attack
    frame = run_attack(get_attack("prefix_injection"), requests, target, GenerateConfig())
    attacks = get_attacks(["direct", "pair"], attacker=spec, judge=judge, iterations=3, seed=0)

Registered: ``direct``, ``prefix_injection``, ``refusal_suppression``, ``style_injection``
(Wei et al. 2023), ``inthewild[:ID]`` (Shen et al. 2024), ``pair`` (Chao et al. 2023) and
``decompose`` (Chen et al. 2026, finding 3). An attack may wrap another
(:class:`WrappingAttack`, ``get_attack(key, inner=...)``): its outcomes keep the sub-tasks and
their answers as ``parts``; ``decompose`` also takes a ``decomposer`` (see
:mod:`expected_harm.decomposition`).
"""

from expected_harm.attacks._base import (
    ATTACKS,
    Attack,
    AttackOutcome,
    Part,
    PromptAttack,
    get_attack,
    get_attacks,
    load_attack_prompts,
    register_attack,
    run_attack,
)
from expected_harm.attacks._decompose import FAILED_DECOMPOSITION, DecompositionAttack
from expected_harm.attacks._pair import PAIR, parse_attacker
from expected_harm.attacks._prompt import InTheWildAttack, TemplateAttack, inthewild_templates
from expected_harm.attacks._wrapping import MISSING_DATA, WrappingAttack

__all__ = [
    "ATTACKS",
    "FAILED_DECOMPOSITION",
    "MISSING_DATA",
    "PAIR",
    "Attack",
    "AttackOutcome",
    "DecompositionAttack",
    "InTheWildAttack",
    "Part",
    "PromptAttack",
    "TemplateAttack",
    "WrappingAttack",
    "get_attack",
    "get_attacks",
    "inthewild_templates",
    "load_attack_prompts",
    "parse_attacker",
    "register_attack",
    "run_attack",
]
