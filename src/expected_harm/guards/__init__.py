"""Guards: deployed input filters that screen what a user sends before a target sees it.

A guard takes texts or conversations and returns one row per input in one shape
(:data:`GUARD_COLUMNS`): ``flagged`` (1.0 = block, 0.0 = pass, NaN = no verdict), the policy
``categories`` it named, a ``score`` where it gives one, its ``raw`` output and a ``status``. A
guard call that failed or did not parse is never counted as a pass. Guards are registered by name
(:func:`register_guard`), as judges are; the pipeline's optional guard stage
(:func:`expected_harm.pipeline.run_grid`) counts a blocked input as a failed attack.

The guard models in their published formats: Llama Guard 3 (``"llama_guard_3"``,
:class:`LlamaGuard3`, by chat messages or by the raw prompt) and Qwen3Guard-Gen
(``"qwen3guard"``, :class:`Qwen3Guard`, strict by default). Their prompts and category lists are
data in ``prompts/guards.yaml``. OpenAI's moderation endpoint (``"openai_moderation"``,
:class:`OpenAIModeration`, ``omni-moderation-latest`` by default) is a guard that calls no chat
model; its results share the response cache, one per input text.
"""

from expected_harm.guards._base import GUARD_COLUMNS, GUARDS, Guard, get_guard, register_guard
from expected_harm.guards._llama_guard import (
    LlamaGuard3,
    LlamaGuardMode,
    format_llama_guard,
    llama_guard_role,
    parse_llama_guard,
    unsafe_probability,
)
from expected_harm.guards._model_guard import ModelGuard, load_guard_prompts, screened_turns
from expected_harm.guards._moderation import OpenAIModeration, parse_moderation
from expected_harm.guards._qwen3guard import SAFETY_LEVELS, Qwen3Guard, parse_qwen3guard

__all__ = [
    "GUARDS",
    "GUARD_COLUMNS",
    "SAFETY_LEVELS",
    "Guard",
    "LlamaGuard3",
    "LlamaGuardMode",
    "ModelGuard",
    "OpenAIModeration",
    "Qwen3Guard",
    "format_llama_guard",
    "get_guard",
    "llama_guard_role",
    "load_guard_prompts",
    "parse_llama_guard",
    "parse_moderation",
    "parse_qwen3guard",
    "register_guard",
    "screened_turns",
    "unsafe_probability",
]
