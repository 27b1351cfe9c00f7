"""The decompositions a guard screens, and one row per screen of a message or a conversation.

The decompositions are GPT-4o's published FRACTURED-SORRY-Bench decompositions (harmful and
benign), read offline; the ones whose sub-questions carry reference labels are left out, because
the trained rater learnt from those labels. They are split by decomposition into a validation
half (where a monitor's threshold is chosen) and a test half (where every defence is scored).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from expected_harm.guards import Guard
from expected_harm.models import Message

#: How a guard reads a decomposition: each sub-question alone, as deployed input filters work,
#: or the conversation so far at every step, as a sequential monitor does.
PER_MESSAGE, SEQUENTIAL = "per message", "sequential"
MODES = (PER_MESSAGE, SEQUENTIAL)
#: The columns of :func:`screen`, one row per (guard, mode, decomposition, step).
SCREEN_COLUMNS = ("source", "guard", "mode", "decomposition_id", "kind", "split", "step",
                  "status", "flagged", "score", "categories", "error")
#: Columns that say which decomposition a row is, carried from the rows into every screen.
ROW_KEYS = ["source", "decomposition_id", "kind", "split", "step"]
#: The ``source`` of the published decompositions.
PUBLISHED_SOURCE = "published (GPT-4o)"
DATA = ("fractured_sorry_bench:decompositions (GPT-4o's decompositions of the SORRY-Bench base "
        "prompts, Priyanshu & Vijay 2024)")


def rater_trained_decompositions() -> set[str]:
    """Decompositions whose sub-questions are reference-labelled, so the trained rater saw them."""
    from expected_harm.annotations import load_labels

    labels = load_labels()
    ids = labels.loc[labels["dataset"] == "fractured_sorry_bench", "item_id"].astype(str)
    return {":".join(i.split(":")[:2]) for i in ids}


def decompositions(per_kind: int | None, seed: int, validation_share: float = 0.5) -> pd.DataFrame:
    """A seeded sample of published decompositions, one row per sub-question, with its ``split``.

    Args:
        per_kind: Decompositions drawn per kind (harmful, benign); every one if None.
        seed: Which sample and which split.
        validation_share: Share of each kind's decompositions in the validation split.

    Returns:
        The rows of :func:`expected_harm.evaluators.data.decomposition_rows`, ``split``
        (``validation`` or ``test``) and ``source`` (:data:`PUBLISHED_SOURCE`).
    """
    from expected_harm.evaluators.data import decomposition_rows

    if not 0 < validation_share < 1:
        raise ValueError(f"validation_share must lie in (0, 1), got {validation_share!r}")
    rows = decomposition_rows(per_kind, seed, exclude=rater_trained_decompositions())
    rng = np.random.default_rng(seed)
    validation: set[str] = set()
    for _, part in rows.drop_duplicates("decomposition_id").groupby("kind"):
        ids = part["decomposition_id"].to_numpy()
        validation |= set(rng.choice(ids, round(len(ids) * validation_share), replace=False))
    split = np.where(rows["decomposition_id"].isin(validation), "validation", "test")
    return rows.assign(split=split, source=PUBLISHED_SOURCE)


def live_rows(records: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Section 03's live decompositions as screening rows (harmful, test split, by strategy).

    Args:
        records: :func:`expected_harm.decomposition.section.decomposition_records`; only
            decompositions with status ``ok`` have sub-tasks to screen.
        items: The items decomposed (for each original's prompt).

    Returns:
        The columns of :func:`decompositions`; ``source`` is the strategy, ``category`` missing.
    """
    from expected_harm.evaluators.data import with_cumulative

    ok = records[(records["status"] == "ok") & records["sub_task"].notna()]
    prompts = items.set_index(["dataset", "item_id"])["prompt"]
    rows = pd.DataFrame({
        "source": ok["strategy"].to_numpy(),
        "decomposition_id": (ok["strategy"] + ":" + ok["dataset"] + ":"
                             + ok["item_id"].astype(str)).to_numpy(),
        "kind": "harmful", "split": "test", "step": ok["step"].astype(int).to_numpy(),
        "n_steps": ok["n_steps"].to_numpy(), "sub_question": ok["sub_task"].to_numpy(),
        "sorry_bench_item_id": None, "category": None,
        "prompt": [prompts.get((d, i)) for d, i in zip(ok["dataset"], ok["item_id"])],
    }).sort_values(["decomposition_id", "step"], kind="stable").reset_index(drop=True)
    return with_cumulative(rows)


def conversations_so_far(rows: pd.DataFrame) -> list[list[Message]]:
    """Every step's conversation so far: the sub-questions up to it, one user turn each."""
    out: list[list[Message]] = []
    for _, part in rows.groupby("decomposition_id", sort=False):
        turns = [{"role": "user", "content": q} for q in part["sub_question"]]
        out += [turns[: i + 1] for i in range(len(turns))]
    return out


def guard_label(guard: Guard) -> str:
    """A guard as tables name it: its registry name, and its model where it has one."""
    return guard.name if guard.model is None else f"{guard.name} ({guard.model.spec})"


def screen(guard: Guard, rows: pd.DataFrame, modes: Sequence[str] = MODES) -> pd.DataFrame:
    """Screen every step of every decomposition in each mode.

    ``rows`` must be ordered by decomposition and step (as :func:`decompositions` returns them).
    A guard that reads a conversation gets the user turns so far (Llama Guard 3 by raw prompt,
    the trained guard, a moderation endpoint); a guard that needs alternating turns cannot.

    Returns:
        One row per (mode, step) with the columns of :data:`SCREEN_COLUMNS`.
    """
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"unknown screening mode(s) {unknown}; valid: {', '.join(MODES)}")
    frames = []
    for mode in modes:
        inputs = (rows["sub_question"].tolist() if mode == PER_MESSAGE
                  else conversations_so_far(rows))
        verdicts = guard.screen(inputs)
        frames.append(rows[ROW_KEYS].reset_index(drop=True)
                      .assign(guard=guard_label(guard), mode=mode,
                              **{c: verdicts[c].to_numpy() for c in
                                 ("status", "flagged", "score", "categories", "error")}))
    return pd.concat(frames, ignore_index=True)[list(SCREEN_COLUMNS)]


def screen_originals(guard: Guard, rows: pd.DataFrame) -> pd.DataFrame:
    """Screen the original request of every published harmful decomposition, whole, once each.

    Live decompositions are left out: their originals are reference-labelled SORRY-Bench items,
    which the trained guard learnt, so their block rate would be in-sample.

    Returns:
        ``source, guard, decomposition_id, split, status, flagged, score``, one per harmful
        decomposition with an original (SORRY-Bench row 141 is empty upstream and has none).
    """
    originals = rows[(rows["kind"] == "harmful") & rows["prompt"].notna()
                     & (rows["source"] == PUBLISHED_SOURCE)]
    originals = originals.drop_duplicates("decomposition_id").reset_index(drop=True)
    verdicts = guard.screen(originals["prompt"].tolist())
    return originals[["source", "decomposition_id", "split"]].assign(
        guard=guard_label(guard), status=verdicts["status"].to_numpy(),
        flagged=verdicts["flagged"].to_numpy(), score=verdicts["score"].to_numpy())


#: Benign prompt sets every guard's false-positive rate is measured on.
BENIGN_SETS = ("xstest:safe", "toxicchat:non_toxic")


def benign_prompts(per_set: int, seed: int, sets: Sequence[str] = BENIGN_SETS) -> pd.DataFrame:
    """A seeded sample of benign prompts per set, none of which the trained guard learnt.

    The trained guard learnt a sample of these same sets (:mod:`expected_harm.evaluators.data`),
    so its rate here is on unseen prompts of familiar sets; its rate on sets it never saw is the
    held-out table of the evaluators page.

    Returns:
        ``dataset, item_id, prompt``, ``per_set`` rows per set (fewer where a set has fewer).
    """
    from expected_harm.datasets import load
    from expected_harm.evaluators.data import guard_rows
    from expected_harm.evaluators.train import Config

    config = Config()
    learnt = set(guard_rows(config.benign_per_set, config.seed)["prompt"])
    parts = []
    for spec in sets:
        rows = load(spec, drop_duplicates=True)
        rows = rows[~rows["prompt"].isin(learnt)]
        parts.append(rows.sample(min(per_set, len(rows)), random_state=seed)
                     .assign(dataset=spec)[["dataset", "item_id", "prompt"]])
    return pd.concat(parts, ignore_index=True)


def benign_prompt_rates(guards: Sequence[Guard], prompts: pd.DataFrame) -> pd.DataFrame:
    """Each guard's false-positive rate per benign set, with a Wilson 95% interval.

    Returns:
        One row per (guard, dataset): ``flagged`` share of the prompts with a verdict, ``low``,
        ``high``, ``n`` and ``no_verdict`` (failed screens, left out of the rate).
    """
    from expected_harm.stats import wilson_interval

    out = []
    for guard in guards:
        verdicts = guard.screen(prompts["prompt"].tolist()).assign(
            dataset=prompts["dataset"].to_numpy())
        for dataset, part in verdicts.groupby("dataset", sort=False):
            ok = part[part["status"] == "ok"]
            share = wilson_interval(int((ok["flagged"] == 1).sum()), len(ok))
            out.append({"guard": guard_label(guard), "dataset": dataset, "flagged": share.value,
                        "low": share.low, "high": share.high, "n": share.n,
                        "no_verdict": len(part) - len(ok)})
    return pd.DataFrame(out)
