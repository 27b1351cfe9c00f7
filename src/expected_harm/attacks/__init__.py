"""Existing jailbreak methods behind one interface: requests in, the target's answers out.

Attacks are registered by name, as StrongREJECT registers its jailbreaks::

    from expected_harm.attacks import get_attack, run_attack
    frame = run_attack(get_attack("prefix_injection"), requests, target, GenerateConfig())

Registered: ``direct``, ``prefix_injection``, ``refusal_suppression``, ``style_injection``
(Wei et al. 2023), ``inthewild[:ID]`` (Shen et al. 2024) and ``pair`` (Chao et al. 2023).
"""

from expected_harm.attacks._base import (
    ATTACKS,
    Attack,
    AttackOutcome,
    PromptAttack,
    get_attack,
    load_attack_prompts,
    register_attack,
    run_attack,
)
from expected_harm.attacks._pair import PAIR, parse_attacker
from expected_harm.attacks._prompt import InTheWildAttack, TemplateAttack, inthewild_templates

__all__ = [
    "ATTACKS",
    "PAIR",
    "Attack",
    "AttackOutcome",
    "InTheWildAttack",
    "PromptAttack",
    "TemplateAttack",
    "get_attack",
    "inthewild_templates",
    "load_attack_prompts",
    "parse_attacker",
    "register_attack",
    "run_attack",
]
