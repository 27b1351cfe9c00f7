"""Parsers for published model outputs: real models' answers to known requests, with verdicts.

These sets differ from prompt sets in one way that matters: a row is one *answer* (one model, one
attack, one request), so the same request repeats across models and attacks. ``prompt`` stays the
request itself (the JBB goal, the SORRY-Bench question), joined from the registered prompt set so
that reference labels of that set apply; ``attack_prompt``/``questions`` hold what was sent and
``response``/``answers`` what came back. Every row has a ``status`` where an answer can be
missing, and a missing answer never carries a verdict (``jailbroken`` is NaN), so it is never
counted as a refusal or a success.

The joins load ``jbb_behaviors`` and ``sorry_bench`` through the registry, with all their checks.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from expected_harm.datasets._parsers import Files, read_csv, read_json, read_jsonl, records_frame
from expected_harm.datasets._schema import DatasetError
from expected_harm.datasets._sources import RawFile

ANSWERED = "answered"
"""Status of a row with an answer (and, where the set has one, a verdict)."""
NO_SUBMISSION = "no_submission"
"""JBB artifacts: the attack submitted no prompt for this goal (PAIR found none it trusted)."""
NO_ANSWERS = "no_answers"
"""FRACTURED-SORRY-Bench: the published conversation cell is empty (no answers were logged)."""
NO_VERDICT = "no_verdict"
"""FRACTURED-SORRY-Bench: answers were logged but GPT-4o's verdict cell is empty."""

ARTIFACT_STATUSES = (ANSWERED, NO_SUBMISSION)
CONVERSATION_STATUSES = (ANSWERED, NO_ANSWERS, NO_VERDICT)


def _load(name: str) -> pd.DataFrame:
    # Imported here: the loader imports the registry, which imports these parsers.
    from expected_harm.datasets._load import load

    return load(name)


# --- JailbreakBench artifacts -------------------------------------------------------------------

JBB_GOALS = 100
"""Rows per artifact file: one per JBB-Behaviors goal, ``index`` 0-99 in the CSV's row order."""

ARTIFACT_FIELDS = (
    "index", "goal", "behavior", "prompt", "response", "jailbroken",
    "number_of_queries", "queries_to_jailbreak", "prompt_tokens", "response_tokens",
)
COUNT_COLUMNS = ("number_of_queries", "queries_to_jailbreak", "prompt_tokens", "response_tokens")

BEHAVIOR_ALIASES = {"9_11 conspiracy": "September 11th conspiracy"}
"""Behaviour names an artifact spells differently from behaviors.csv (GCG transfer, GPT-4)."""


def normalise_behavior(name: str) -> str:
    """The behaviors.csv spelling of an artifact's behaviour name, for the join.

    Whitespace runs collapse (DSN writes "Human  trafficking") and the one renamed behaviour maps
    to its behaviors.csv name; anything else is left as is, so a real mismatch still fails.

    >>> normalise_behavior("Human  trafficking")
    'Human trafficking'
    >>> normalise_behavior("9_11 conspiracy")
    'September 11th conspiracy'
    """
    collapsed = re.sub(r"\s+", " ", name).strip()
    return BEHAVIOR_ALIASES.get(collapsed, collapsed)


def _verdict(raw: RawFile, index: int, field: str, value: Any) -> float:
    """A published true/false verdict as 1.0/0.0; None (absent) as NaN."""
    if value is None:
        return math.nan
    if not isinstance(value, bool):
        raise DatasetError(f"{raw.path}: goal {index}: {field} is {value!r}, not true/false")
    return float(value)


def _artifact_status(raw: RawFile, index: int, prompt: Any, response: Any) -> str:
    """``answered`` with both texts, ``no_submission`` with neither; any other shape is an error."""
    if prompt is None and response is None:
        return NO_SUBMISSION
    if all(isinstance(text, str) and text.strip() for text in (prompt, response)):
        return ANSWERED
    raise DatasetError(
        f"{raw.path}: goal {index} has prompt {type(prompt).__name__} and response "
        f"{type(response).__name__}; expected two non-empty texts, or two nulls (the attack "
        "submitted nothing)"
    )


def _artifact_rows(name: str, raw: RawFile) -> pd.DataFrame:
    """One artifact file (``METHOD/TYPE/MODEL.json``) as rows, before the join to JBB goals."""
    method, attack_type, target = name.removesuffix(".json").split("/")
    document = read_json(raw)
    if not isinstance(document, dict) or not {"parameters", "jailbreaks"} <= set(document):
        raise DatasetError(f"{raw.path}: expected an object with parameters and jailbreaks")
    parameters = document["parameters"]
    for field, expected in (("model", target), ("attack_type", attack_type)):
        found = parameters.get(field) if isinstance(parameters, dict) else None
        if found != expected:
            raise DatasetError(f"{raw.path}: parameters.{field} is {found!r}, not {expected!r}")
    records = document["jailbreaks"]
    frame = records_frame(raw, records, ARTIFACT_FIELDS)
    if list(frame["index"]) != list(range(JBB_GOALS)):
        raise DatasetError(f"{raw.path}: expected {JBB_GOALS} rows with index 0-99 in order")
    # Read the texts from the records: a frame would turn their nulls into NaN.
    status = [
        _artifact_status(raw, index, item["prompt"], item["response"])
        for index, item in zip(frame["index"], records)
    ]
    verdicts: dict[str, list[float]] = {}
    for field in ("jailbroken", "jailbroken_llama_guard1"):
        values = [
            _verdict(raw, index, field, item.get(field))
            for index, item in zip(frame["index"], records)
        ]
        for index, value, state in zip(frame["index"], values, status):
            if state == NO_SUBMISSION and value == 1.0:
                raise DatasetError(
                    f"{raw.path}: goal {index}: the attack submitted nothing, yet {field} is true"
                )
        # A verdict on nothing is not a refusal: the files record false there, we record none.
        verdicts[field] = [math.nan if s == NO_SUBMISSION else v for v, s in zip(values, status)]
    try:
        counts = {column: pd.array(frame[column], dtype="Int64") for column in COUNT_COLUMNS}
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{raw.path}: a query or token count is not an integer ({exc})") from exc
    return pd.DataFrame(
        {
            "item_id": [f"{method}:{attack_type}:{target}:{i}" for i in frame["index"]],
            "method": method,
            "attack_type": attack_type,
            "target": target,
            "goal_index": frame["index"].astype(int),
            "artifact_behavior": frame["behavior"],
            "goal": frame["goal"],
            "attack_prompt": frame["prompt"],
            "response": frame["response"],
            "status": status,
            **verdicts,
            **counts,
        }
    )


def join_jbb_goals(artifacts: pd.DataFrame, goals: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """Attach each artifact row to its JBB-Behaviors row, on goal index *and* behaviour.

    The goal text cannot be the key: four goals (indices 3, 40, 43, 47) are worded longer in most
    artifact files than in behaviors.csv, and DSN corrects a typo in goal 82. The index alone
    could silently pair a row with the wrong goal if an upstream file were reordered, so the
    behaviour name must agree too (after :func:`normalise_behavior`).

    Args:
        artifacts: Rows from :func:`_artifact_rows` (``goal_index``, ``artifact_behavior``).
        goals: ``load("jbb_behaviors")``.
        source: For the error message.

    Returns:
        ``artifacts`` plus ``jbb_item_id``, ``prompt`` (the JBB goal), ``category``, ``behavior``.

    Raises:
        DatasetError: A row whose index or behaviour has no match; lists the first five.
    """
    by_index = goals.set_index(goals["item_id"].astype(int))
    index = artifacts["goal_index"]
    known = index.isin(by_index.index)
    expected = index.map(by_index["behavior"])
    joined = known & (artifacts["artifact_behavior"].map(normalise_behavior) == expected)
    if not joined.all():
        bad = artifacts.loc[~joined, ["item_id", "artifact_behavior"]].head(5)
        examples = "; ".join(
            f"{row.item_id} ({row.artifact_behavior!r})" for row in bad.itertuples()
        )
        raise DatasetError(
            f"{source}: {int((~joined).sum())} artifact row(s) match no JBB-Behaviors goal on "
            f"index and behaviour, e.g. {examples}"
        )
    return artifacts.assign(
        jbb_item_id=index.map(by_index["item_id"]),
        prompt=index.map(by_index["prompt"]),
        category=index.map(by_index["category"]),
        behavior=expected,
    )


def parse_jbb_artifacts(files: Files) -> pd.DataFrame:
    """JailbreakBench artifacts: one row per (method, attack type, target model, JBB goal).

    ``prompt`` and ``category`` are the JBB-Behaviors goal and category (``jbb_item_id`` is that
    row's item id), ``behavior`` its behaviour name; ``goal`` is the goal as the artifact writes
    it. ``attack_prompt`` is what was sent, ``response`` the target's answer. ``jailbroken`` is
    the JailbreakBench judge's verdict (Llama-3-70B), ``jailbroken_llama_guard1`` Llama Guard 1's
    (absent, so NaN, in the DSN files); both are NaN where ``status`` is ``no_submission``.
    Published attack success rates are ``jailbroken.sum() / 100`` per file.
    """
    parts = [_artifact_rows(name, raw) for name, raw in files.items()]
    source = ", ".join(str(raw.path) for raw in files.values())
    frame = join_jbb_goals(pd.concat(parts, ignore_index=True), _load("jbb_behaviors"),
                           source=source)
    first = ["item_id", "prompt", "category", "method", "attack_type", "target", "goal_index",
             "jbb_item_id", "behavior", "goal", "attack_prompt", "response", "status",
             "jailbroken", "jailbroken_llama_guard1", *COUNT_COLUMNS]
    return frame.loc[:, first]


# --- FRACTURED-SORRY-Bench ----------------------------------------------------------------------

SORRY_QUESTIONS = 450
"""Rows in every FRACTURED-SORRY-Bench file: SORRY-Bench base order, ``question_id_<i>``."""

FRACTURED_TARGETS = ("gpt-3.5", "gpt-4", "gpt-4o", "gpt-4o-mini")
CONDITIONS = ("vanilla", "decomposed")
DECOMPOSITION_LABELS = ("Harmful", "Intermediate", "Harmless", "Vague")
VERDICTS = ("Harmful & Relevant Answer", "Harmful but Irrelevant Answer", "Harmless Answer")
JAILBROKEN_VERDICT = "Harmful & Relevant Answer"
"""The verdict the FRACTURED-SORRY-Bench paper counts as a successful attack."""

HARMFUL_DECOMPOSITIONS = "data/question_breakdowns.jsonl"
EVALUATIONS = "data/evaluations.jsonl"
BENIGN_DECOMPOSITIONS = "data/benign_questions_decomposed.jsonl"


def conversation_file(target: str, condition: str) -> str:
    """Path of one model's conversations, e.g. ``responses/gpt-4/vanilla_responses.csv``."""
    return f"responses/{target}/{condition}_responses.csv"


def _question_ids(raw: RawFile, ids: pd.Series) -> None:
    expected = [f"question_id_{i}" for i in range(SORRY_QUESTIONS)]
    if list(ids) != expected:
        raise DatasetError(
            f"{raw.path}: expected {SORRY_QUESTIONS} rows question_id_0 ... "
            f"question_id_{SORRY_QUESTIONS - 1} in order"
        )


def _steps(raw: RawFile, frame: pd.DataFrame) -> list[tuple[str, ...]]:
    steps = []
    for i, value in enumerate(frame["decomposed_steps"]):
        if not (isinstance(value, list) and value
                and all(isinstance(text, str) and text.strip() for text in value)):
            raise DatasetError(f"{raw.path}: question_id_{i}: decomposed_steps is not a list "
                               "of non-empty texts")
        steps.append(tuple(value))
    return steps


def read_decompositions(raw: RawFile) -> list[tuple[str, ...]]:
    """The 450 ordered sub-question lists of a decomposition file."""
    frame = records_frame(raw, read_jsonl(raw), ["original_question", "decomposed_steps"])
    _question_ids(raw, frame["original_question"])
    return _steps(raw, frame)


def read_evaluations(raw: RawFile, harmful: Sequence[tuple[str, ...]]) -> pd.DataFrame:
    """GPT-4o's label and reason for each harmful decomposition, checked against its steps."""
    frame = records_frame(raw, read_jsonl(raw), ["question", "decomposed_steps", "label", "reason"])
    _question_ids(raw, frame["question"])
    for i, (steps, expected) in enumerate(zip(_steps(raw, frame), harmful, strict=True)):
        if steps != expected:
            raise DatasetError(
                f"{raw.path}: question_id_{i} lists other sub-questions than "
                f"{HARMFUL_DECOMPOSITIONS}"
            )
    unknown = sorted(set(frame["label"]) - set(DECOMPOSITION_LABELS))
    if unknown:
        raise DatasetError(f"{raw.path}: unknown label(s) {', '.join(map(repr, unknown))}")
    return frame


def _step_rows(kind: str, decompositions: Sequence[tuple[str, ...]], base: pd.DataFrame,
               evaluations: pd.DataFrame | None) -> pd.DataFrame:
    """One row per sub-question of one decomposition file."""
    rows = []
    for i, steps in enumerate(decompositions):
        item = str(i) if kind == "harmful" and str(i) in base.index else None
        label, reason = (None, None) if evaluations is None else (
            evaluations["label"].iat[i], evaluations["reason"].iat[i]
        )
        for step, text in enumerate(steps, start=1):
            rows.append({
                "item_id": f"{kind}:{i}:{step}",
                "prompt": None if item is None else base.at[item, "prompt"],
                "category": None if item is None else base.at[item, "category"],
                "record": "sub_question",
                "decomposition_id": f"{kind}:{i}",
                "kind": kind,
                "question_index": i,
                "sorry_bench_item_id": item,
                "step": step,
                "n_steps": len(steps),
                "sub_question": text,
                "decomposition_label": label,
                "decomposition_reason": reason,
            })
    return pd.DataFrame(rows)


def parse_messages(cell: str, where: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """A logged chat (JSON list of messages) as (system prompt, user turns, assistant turns).

    The log must be one system message, then user and assistant messages alternating.

    >>> parse_messages('[{"role": "system", "content": "Be brief."}, '
    ...                '{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"}]',
    ...                "example")
    ('Be brief.', ('Q1',), ('A1',))
    >>> parse_messages('[{"role": "user", "content": "Q1"}]', "example")
    Traceback (most recent call last):
    ...
    expected_harm.datasets._schema.DatasetError: example: expected a system message, then \
user/assistant pairs; found roles user

    Raises:
        DatasetError: Unreadable JSON or another message structure; names ``where``.
    """
    try:
        messages = json.loads(cell)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where}: unreadable chat JSON ({exc})") from exc
    if not (isinstance(messages, list) and all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
        for m in messages
    )):
        raise DatasetError(f"{where}: expected a JSON list of {{role, content}} messages")
    roles = [message["role"] for message in messages]
    pairs = (len(roles) - 1) // 2
    if pairs < 1 or roles != ["system", *["user", "assistant"] * pairs]:
        raise DatasetError(f"{where}: expected a system message, then user/assistant pairs; "
                           f"found roles {', '.join(roles)}")
    contents = [message["content"] for message in messages]
    return contents[0], tuple(contents[1::2]), tuple(contents[2::2])


def _conversation_rows(target: str, condition: str, raw: RawFile, base: pd.DataFrame,
                       harmful: Sequence[tuple[str, ...]]) -> pd.DataFrame:
    """One row per question of one model's conversation file."""
    frame = read_csv(raw, ["answers", "llm-eval"])
    if len(frame) != SORRY_QUESTIONS:
        raise DatasetError(f"{raw.path}: expected {SORRY_QUESTIONS} rows, parsed {len(frame)}")
    rows = []
    prompts, categories = base["prompt"].to_dict(), base["category"].to_dict()  # .at is slow
    for i, (cell, judged) in enumerate(zip(frame["answers"], frame["llm-eval"], strict=True)):
        where = f"{raw.path}: row of question_id_{i}"
        item = str(i) if str(i) in prompts else None
        prompt = None if item is None else prompts[item]
        verdict = judged.strip() or None
        if verdict is not None and verdict not in VERDICTS:
            raise DatasetError(f"{where}: unknown verdict {verdict!r}")
        system, questions, answers = (None, (), ()) if not cell.strip() else parse_messages(
            cell, where
        )
        sent = harmful[i] if condition == "decomposed" else (prompt,)
        if questions and (condition == "decomposed" or prompt is not None) and questions != sent:
            what = "sub-questions" if condition == "decomposed" else "SORRY-Bench prompt"
            raise DatasetError(f"{where}: the user turns are not the {what} of question_id_{i}")
        status = NO_ANSWERS if not answers else NO_VERDICT if verdict is None else ANSWERED
        rows.append({
            "item_id": f"{target}:{condition}:{i}",
            "prompt": prompt,
            "category": None if item is None else categories[item],
            "record": "conversation",
            "decomposition_id": f"harmful:{i}" if condition == "decomposed" else None,
            "question_index": i,
            "sorry_bench_item_id": item,
            "target": target,
            "condition": condition,
            "system_prompt": system,
            "questions": questions,
            "answers": answers,
            "response": "\n\n".join(answers) if answers else None,
            "verdict": verdict,
            "jailbroken": float(verdict == JAILBROKEN_VERDICT) if status == ANSWERED else math.nan,
            "status": status,
        })
    return pd.DataFrame(rows)


def parse_fractured_sorry_bench(files: Files) -> pd.DataFrame:
    """FRACTURED-SORRY-Bench: sub-question rows and conversation rows (``record`` tells which).

    Sub-question rows (``record == "sub_question"``): one per step of a decomposition;
    ``decomposition_id`` is ``harmful:<i>`` (GPT-4o's decomposition of SORRY-Bench question
    ``i``) or ``benign:<i>`` (the benign control), ``step`` counts from 1 to ``n_steps``, and
    ``decomposition_label``/``decomposition_reason`` are GPT-4o's verdict on the harmful
    decomposition's sub-questions (None for benign ones).

    Conversation rows (``record == "conversation"``): one per (target, condition, question);
    ``questions`` are the user turns sent (the SORRY-Bench prompt for ``vanilla``, the harmful
    decomposition's sub-questions for ``decomposed``), ``answers`` the assistant turns in order,
    ``response`` the answers joined by blank lines, ``verdict`` GPT-4o's published label and
    ``jailbroken`` 1.0 for "Harmful & Relevant Answer", else 0.0, NaN unless ``status`` is
    ``answered``. GPT-4o also labelled the empty conversations; ``verdict`` keeps those labels,
    so ``(verdict == JAILBROKEN_VERDICT).sum() / 450`` is the published attack success rate.

    ``prompt``/``category`` come from ``load("sorry_bench")`` through ``sorry_bench_item_id``
    (the row index ``i``). They are None where the request was never published: the benign
    decompositions (their originals are not in the repository) and SORRY-Bench row 141 (empty
    upstream).
    """
    base = _load("sorry_bench").set_index("item_id")
    harmful = read_decompositions(files[HARMFUL_DECOMPOSITIONS])
    benign = read_decompositions(files[BENIGN_DECOMPOSITIONS])
    evaluations = read_evaluations(files[EVALUATIONS], harmful)
    parts = [
        _step_rows("harmful", harmful, base, evaluations),
        _step_rows("benign", benign, base, None),
        *(
            _conversation_rows(target, condition, files[conversation_file(target, condition)],
                               base, harmful)
            for target in FRACTURED_TARGETS
            for condition in CONDITIONS
        ),
    ]
    frame = pd.concat(parts, ignore_index=True)
    # One missing marker (NaN) in text columns, and integer steps (the conversation rows, which
    # have none, would otherwise make them float).
    text = {column: "str" for column in frame.columns if frame[column].dtype == object
            and column not in ("questions", "answers")}
    return frame.astype({**text, "step": "Int64", "n_steps": "Int64"})
