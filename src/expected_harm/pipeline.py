"""One pipeline for every section: items × targets × attacks → answers → (guard) → judge → success.

Each row ends with a ``row_status`` and a ``success`` that sections count alike: ``success`` is
the judge's verdict where ``row_status`` is ``ok`` and missing otherwise, so that an error, a
provider's block or an unparsed judgement is never a refusal. With a guard, an input it flags
is a failed attack (``blocked_by_guard``, success 0) and a guard call that failed or did not
parse is its own status (``guard_error``, ``guard_blocked``, ``guard_unparsed``), with no success.

The guard screens the attack prompt (the last message the target saw) after the attack has run,
and a flagged row's answer is ignored, never judged: the rows are those a deployment that
screens inputs would give for single-turn attacks, and the target's answers are the same cache
entries as an unguarded run's, so adding a guard costs only the guard's calls. A multi-turn
attack (PAIR) is screened on its final prompt only; its search did not see the guard.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from expected_harm.attacks import Attack, run_attack
from expected_harm.guards import Guard
from expected_harm.judges import Judge
from expected_harm.models import ChatModel, GenerateConfig, Status

#: An input the guard flagged: the target's answer is ignored and the attack failed.
BLOCKED_BY_GUARD = "blocked_by_guard"
#: The guard's own failures, by the status of its call.
GUARD_FAILURES = tuple(f"guard_{s.value}" for s in Status if s is not Status.OK)
#: The statuses of a row without a guard: those of the target's and the judge's calls.
CALL_STATUSES = tuple(s.value for s in Status)
#: Every row status, in the order tables show them: the calls', then the guard's.
STATUSES = (*CALL_STATUSES, BLOCKED_BY_GUARD, *GUARD_FAILURES)
#: The guard's columns (:data:`~expected_harm.guards.GUARD_COLUMNS`) as a grid row names them.
GUARD_ROW_COLUMNS = {
    "guard_model": "guard_model",
    "template_version": "guard_version",
    "status": "guard_status",
    "flagged": "flagged",
    "categories": "guard_categories",
    "score": "guard_score",
    "raw": "guard_raw",
    "error": "guard_error",
}


def judge_answers(
    requests: Sequence[str],
    responses: Sequence[str],
    judge: Judge,
    *,
    answered: Sequence[bool] | None = None,
) -> pd.DataFrame:
    """The judge's columns for each answer, in order; rows not ``answered`` are not judged.

    Args:
        requests: The original requests (what the judge is asked about).
        responses: The answers.
        answered: Which rows to judge (the others get missing values throughout); all by default.

    Returns:
        The judge's frame (:attr:`~expected_harm.judges.Judge.columns`) with ``status`` and
        ``error`` renamed ``judge_status`` and ``judge_error``, beside a target's own.
    """
    requests = list(requests)
    index = pd.RangeIndex(len(requests))
    responses = pd.Series(list(responses), index=index, dtype=object)
    answered = pd.Series(True if answered is None else list(answered), index=index, dtype=bool)
    verdicts = pd.DataFrame(np.nan, index=index, columns=list(judge.columns))
    if answered.any():
        judged = judge.judge(
            [requests[i] for i in index[answered]],
            responses[answered].tolist(),
        )
        verdicts = judged.set_index(index[answered]).reindex(index)
    return verdicts.rename(columns={"status": "judge_status", "error": "judge_error"})


def screen_prompts(prompts: Sequence[str], guard: Guard) -> pd.DataFrame:
    """The guard's columns for each prompt, named for a row that also holds a judge's.

    Returns:
        The columns of :data:`GUARD_ROW_COLUMNS`, one row per prompt, in order.
    """
    screened = guard.screen(list(prompts))
    return screened.drop(columns="guard").rename(columns=GUARD_ROW_COLUMNS)


def run_grid(
    items: pd.DataFrame,
    targets: Sequence[ChatModel],
    attacks: Sequence[Attack],
    judge: Judge,
    config: GenerateConfig,
    *,
    guard: Guard | None = None,
) -> pd.DataFrame:
    """Attack every target with every attack on every item, screen if asked, judge the answers.

    Every model call uses the run's cache and progress setting (``models.run_settings``).

    Args:
        items: One row per request, with its text in ``prompt``; the other columns (ids,
            levels) are carried into every row.
        targets: The models attacked.
        attacks: The attacks tried on each target.
        judge: Decides success; it sees the original request, not the attack prompt.
        config: Sampling settings of the target calls.
        guard: An input guard that screens each attack prompt (see the module's docstring).

    Returns:
        One row per (target, attack, item): the item's columns except ``prompt``, the target's
        ``status``, ``response`` and ``attack_prompt`` (:func:`~expected_harm.attacks.run_attack`),
        with a guard its columns (:func:`screen_prompts`) and ``guard`` (as captions name it),
        the judge's columns (:func:`judge_answers`), ``judge`` (as captions name it),
        ``row_status`` and ``success``.

    Raises:
        ValueError: For a judge that reads no meaning (refusal phrases), which is a baseline,
            not a measure of success, or items without a ``prompt`` column.
    """
    if judge.baseline:
        raise ValueError(
            f"judge {judge.name!r} reads no meaning; attack success is never computed "
            "from it alone (use trained, strongreject_rubric or harmbench_classifier)"
        )
    if "prompt" not in items.columns:
        raise ValueError(f"items need a 'prompt' column; they have {', '.join(items.columns)}")
    requests = items["prompt"].tolist()
    parts = []
    for target in targets:
        for attack in attacks:
            answers = run_attack(attack, requests, target, config)
            answered = answers["status"] == Status.OK.value
            screened = []
            if guard is not None:
                screen = screen_prompts(answers["attack_prompt"], guard)
                answered &= (screen["guard_status"] == Status.OK.value) & (screen["flagged"] == 0)
                screened.append(screen)
            verdicts = judge_answers(requests, answers["response"], judge, answered=answered)
            parts.append(
                pd.concat(
                    [
                        items.drop(columns="prompt").reset_index(drop=True),
                        answers.drop(columns="request_index"),
                        *screened,
                        verdicts.drop(columns="judge"),
                    ],
                    axis=1,
                )
            )
    frame = pd.concat(parts, ignore_index=True)
    if guard is not None:
        frame["guard"] = guard.describe()
    frame["judge"] = judge.describe()
    frame["row_status"], frame["success"] = row_outcomes(frame)
    return frame


def row_outcomes(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each row's ``row_status`` and ``success``, from the target's, guard's and judge's columns.

    The guard decides first (a flagged input never reached the target's user), then the
    target's call, then the judge.
    """
    status = frame["status"].where(
        frame["status"] != Status.OK.value, frame["judge_status"].fillna(Status.ERROR.value)
    )
    success = frame["verdict"].astype(float).where(status == Status.OK.value)
    if "guard_status" in frame.columns:
        failed = frame["guard_status"] != Status.OK.value
        blocked = ~failed & (frame["flagged"] == 1)
        status = status.mask(blocked, BLOCKED_BY_GUARD)
        status = status.mask(failed, "guard_" + frame["guard_status"])
        success = success.mask(blocked, 0.0).mask(failed, np.nan)
    return status, success


def status_shares(frame: pd.DataFrame, by: Sequence[str] = ("target", "attack")) -> pd.DataFrame:
    """Share of rows of each ``row_status`` per group.

    Every status of :data:`CALL_STATUSES` gets a column, and those of the guard too where a
    guard ran.

    Raises:
        ValueError: For a row status outside :data:`STATUSES`, rather than leave it uncounted.
    """
    unknown = sorted(set(frame["row_status"]) - set(STATUSES))
    if unknown:
        raise ValueError(f"unknown row status {', '.join(unknown)}; known: {', '.join(STATUSES)}")
    shown = STATUSES if "guard_status" in frame.columns else CALL_STATUSES
    counts = pd.crosstab([frame[b] for b in by], frame["row_status"])
    counts = counts.reindex(columns=list(shown), fill_value=0)
    shares = counts.div(counts.sum(axis=1), axis=0)
    return shares.assign(n=counts.sum(axis=1))
