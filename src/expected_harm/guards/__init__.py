"""Guards: deployed input filters that screen what a user sends before a target sees it.

A guard takes texts or conversations and returns one row per input in one shape
(:data:`GUARD_COLUMNS`): ``flagged`` (1.0 = block, 0.0 = pass, NaN = no verdict), the policy
``categories`` it named, a ``score`` where it gives one, its ``raw`` output and a ``status``. A
guard call that failed or did not parse is never counted as a pass. Guards are registered by name
(:func:`register_guard`), as judges are; the pipeline's optional guard stage
(:func:`expected_harm.pipeline.run_grid`) counts a blocked input as a failed attack.

The adapters for Llama Guard 3, Qwen3Guard and moderation endpoints are not here yet: this
package holds the interface and the registry they plug into.
"""

from expected_harm.guards._base import GUARD_COLUMNS, GUARDS, Guard, get_guard, register_guard

__all__ = ["GUARDS", "GUARD_COLUMNS", "Guard", "get_guard", "register_guard"]
