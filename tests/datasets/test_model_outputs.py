"""The two sets of published model outputs: JBB artifacts and FRACTURED-SORRY-Bench.

Counts are written out from ../shared/datasets/{jbb_artifacts,fractured_sorry_bench}/PROVENANCE.md
(and, where PROVENANCE gives a percentage, from the published attack success rates), not read
from the registry, so that a parser or registry slip cannot pass.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from expected_harm.datasets import DatasetError, load, load_all
from expected_harm.datasets._model_outputs import JAILBROKEN_VERDICT

ScratchMirror = Callable[[str], Path]

# PROVENANCE.md table: file → (rows with a response, jailbroken by the JBB judge, by Llama Guard 1).
ARTIFACT_COUNTS = {
    "DSN/white_box/llama-2-7b-chat-hf": (100, 94, 0),
    "DSN/white_box/vicuna-13b-v1.5": (100, 95, 0),
    "GCG/transfer/gpt-3.5-turbo-1106": (100, 47, 34),
    "GCG/transfer/gpt-4-0125-preview": (100, 4, 1),
    "GCG/white_box/llama-2-7b-chat-hf": (100, 3, 2),
    "GCG/white_box/vicuna-13b-v1.5": (100, 80, 58),
    "JBC/manual/gpt-3.5-turbo-1106": (100, 0, 0),
    "JBC/manual/gpt-4-0125-preview": (100, 0, 0),
    "JBC/manual/llama-2-7b-chat-hf": (100, 0, 0),
    "JBC/manual/vicuna-13b-v1.5": (100, 90, 79),
    "PAIR/black_box/gpt-3.5-turbo-1106": (87, 71, 76),
    "PAIR/black_box/gpt-4-0125-preview": (64, 34, 50),
    "PAIR/black_box/llama-2-7b-chat-hf": (4, 0, 4),
    "PAIR/black_box/vicuna-13b-v1.5": (82, 69, 82),
    "prompt_with_random_search/black_box/gpt-3.5-turbo-1106": (100, 93, 99),
    "prompt_with_random_search/black_box/gpt-4-0125-preview": (100, 78, 88),
    "prompt_with_random_search/black_box/llama-2-7b-chat-hf": (100, 90, 95),
    "prompt_with_random_search/black_box/vicuna-13b-v1.5": (100, 89, 97),
}

# PROVENANCE.md: empty `answers` cells per target (vanilla: 8, 3, 4, 27; decomposed: 2, 0, 1, 1),
# and the published ASR (Harmful & Relevant / 450) in percent.
EMPTY_ANSWERS = {
    ("gpt-3.5", "vanilla"): 8, ("gpt-4", "vanilla"): 3,
    ("gpt-4o", "vanilla"): 4, ("gpt-4o-mini", "vanilla"): 27,
    ("gpt-3.5", "decomposed"): 2, ("gpt-4", "decomposed"): 0,
    ("gpt-4o", "decomposed"): 1, ("gpt-4o-mini", "decomposed"): 1,
}
PUBLISHED_ASR = {
    ("gpt-3.5", "vanilla"): 4.7, ("gpt-4", "vanilla"): 10.0,
    ("gpt-4o", "vanilla"): 11.6, ("gpt-4o-mini", "vanilla"): 12.9,
    ("gpt-3.5", "decomposed"): 50.9, ("gpt-4", "decomposed"): 49.1,
    ("gpt-4o", "decomposed"): 49.6, ("gpt-4o-mini", "decomposed"): 50.2,
}


@pytest.fixture(scope="module")
def artifacts() -> pd.DataFrame:
    return load("jbb_artifacts")


@pytest.fixture(scope="module")
def sub_questions() -> pd.DataFrame:
    return load("fractured_sorry_bench:decompositions")


@pytest.fixture(scope="module")
def conversations() -> pd.DataFrame:
    return load("fractured_sorry_bench:conversations")


def _file_key(frame: pd.DataFrame) -> pd.Series:
    return frame["method"] + "/" + frame["attack_type"] + "/" + frame["target"]


# --- jbb_artifacts ------------------------------------------------------------------------------


@pytest.mark.usefixtures("mirror")
def test_artifact_counts_per_file_match_provenance(artifacts: pd.DataFrame) -> None:
    counts = artifacts.assign(file=_file_key(artifacts)).groupby("file").agg(
        rows=("item_id", "size"),
        answered=("status", lambda s: int((s == "answered").sum())),
        jbb=("jailbroken", "sum"),
        llama_guard=("jailbroken_llama_guard1", "sum"),
    )
    assert set(counts["rows"]) == {100}
    found = {
        file: (row.answered, int(row.jbb), int(row.llama_guard))
        for file, row in counts.iterrows()
    }
    assert found == ARTIFACT_COUNTS


@pytest.mark.usefixtures("mirror")
def test_artifact_statuses_separate_nothing_submitted_from_answers(
    artifacts: pd.DataFrame,
) -> None:
    assert artifacts["status"].value_counts().to_dict() == {"answered": 1637, "no_submission": 163}
    nothing = artifacts[artifacts["status"] == "no_submission"]
    assert set(nothing["method"]) == {"PAIR"}
    assert nothing[["attack_prompt", "response"]].isna().all().all()
    # The files record "false" for these; no judge saw an answer, so no verdict is kept.
    assert nothing[["jailbroken", "jailbroken_llama_guard1"]].isna().all().all()
    answered = artifacts[artifacts["status"] == "answered"]
    assert answered["attack_prompt"].str.strip().ne("").all()
    assert answered["response"].str.strip().ne("").all()
    assert answered["jailbroken"].isin([0.0, 1.0]).all()
    assert len(load("jbb_artifacts:answered")) == 1637


@pytest.mark.usefixtures("mirror")
def test_llama_guard_verdict_is_missing_only_where_dsn_has_none(artifacts: pd.DataFrame) -> None:
    missing = artifacts["jailbroken_llama_guard1"].isna()
    expected = (artifacts["method"] == "DSN") | (artifacts["status"] == "no_submission")
    assert (missing == expected).all()


@pytest.mark.usefixtures("mirror")
def test_every_artifact_row_joins_its_jbb_goal_on_index_and_behaviour(
    artifacts: pd.DataFrame,
) -> None:
    goals = load("jbb_behaviors").set_index("item_id")
    assert (artifacts["jbb_item_id"] == artifacts["goal_index"].astype(str)).all()
    joined = goals.loc[artifacts["jbb_item_id"]]
    assert (artifacts["prompt"].to_numpy() == joined["prompt"].to_numpy()).all()
    assert (artifacts["category"].to_numpy() == joined["category"].to_numpy()).all()
    assert (artifacts["behavior"].to_numpy() == joined["behavior"].to_numpy()).all()
    assert artifacts.groupby(["method", "attack_type", "target"])["goal_index"].apply(
        lambda index: sorted(index) == list(range(100))
    ).all()


@pytest.mark.usefixtures("mirror")
def test_differently_worded_goals_still_join(artifacts: pd.DataFrame) -> None:
    reworded = artifacts[artifacts["goal"] != artifacts["prompt"]]
    # Four goals are longer in every file except JBC's and DSN's; DSN spells goal 82 "opioids".
    longer = reworded[reworded["goal_index"].isin([3, 40, 43, 47])]
    assert len(longer) == 4 * 12  # 18 files less 4 JBC and 2 DSN
    assert set(longer["method"]) == {"PAIR", "prompt_with_random_search", "GCG"}
    pairs = zip(longer["goal"], longer["prompt"], strict=True)
    assert all(goal.startswith(jbb) and goal != jbb for goal, jbb in pairs)
    typo = reworded[reworded["goal_index"] == 82]
    assert set(typo["method"]) == {"DSN"} and len(typo) == 2
    assert set(reworded["goal_index"]) == {3, 40, 43, 47, 82}


@pytest.mark.usefixtures("mirror")
def test_artifact_schema_columns(artifacts: pd.DataFrame) -> None:
    assert list(artifacts.columns) == [
        "dataset", "item_id", "prompt", "category", "group", "method", "attack_type", "target",
        "goal_index", "jbb_item_id", "behavior", "goal", "attack_prompt", "response", "status",
        "jailbroken", "jailbroken_llama_guard1", "number_of_queries", "queries_to_jailbreak",
        "prompt_tokens", "response_tokens",
    ]
    assert artifacts["category"].nunique() == 10
    assert set(artifacts["target"]) == {
        "gpt-3.5-turbo-1106", "gpt-4-0125-preview", "llama-2-7b-chat-hf", "vicuna-13b-v1.5"
    }
    pair = artifacts[artifacts["method"] == "PAIR"]
    assert pair["number_of_queries"].notna().all()
    assert artifacts.loc[artifacts["method"] == "JBC", "number_of_queries"].isna().all()


# --- fractured_sorry_bench ----------------------------------------------------------------------


@pytest.mark.usefixtures("mirror")
def test_decompositions_have_documented_sizes_and_labels(sub_questions: pd.DataFrame) -> None:
    per_decomposition = sub_questions.drop_duplicates("decomposition_id")
    assert per_decomposition["kind"].value_counts().to_dict() == {"harmful": 450, "benign": 450}
    harmful = per_decomposition[per_decomposition["kind"] == "harmful"]
    benign = per_decomposition[per_decomposition["kind"] == "benign"]
    # PROVENANCE.md: harmful 4-10 steps (mean 6.6), benign 3-10.
    assert harmful["n_steps"].between(4, 10).all() and round(harmful["n_steps"].mean(), 1) == 6.6
    assert benign["n_steps"].between(3, 10).all() and benign["n_steps"].min() == 3
    assert harmful["decomposition_label"].value_counts().to_dict() == {
        "Harmful": 222, "Intermediate": 120, "Harmless": 106, "Vague": 2
    }
    assert benign["decomposition_label"].isna().all()
    assert (sub_questions.groupby("decomposition_id")["step"].apply(
        lambda steps: list(steps) == list(range(1, len(steps) + 1))
    )).all()
    assert (sub_questions.groupby("decomposition_id").size()
            == sub_questions.groupby("decomposition_id")["n_steps"].first()).all()


@pytest.mark.usefixtures("mirror")
def test_harmful_decompositions_join_sorry_bench_by_row_index(sub_questions: pd.DataFrame) -> None:
    base = load("sorry_bench").set_index("item_id")
    harmful = sub_questions[sub_questions["kind"] == "harmful"]
    joined = harmful[harmful["sorry_bench_item_id"].notna()]
    assert (joined["sorry_bench_item_id"] == joined["question_index"].astype(str)).all()
    assert (joined["prompt"].to_numpy() == base.loc[joined["sorry_bench_item_id"], "prompt"]
            .to_numpy()).all()
    assert joined["decomposition_id"].nunique() == 449
    # SORRY-Bench row 141 is empty upstream: its decomposition has no published request.
    unjoined = harmful[harmful["sorry_bench_item_id"].isna()]
    assert set(unjoined["question_index"]) == {141}
    assert unjoined["prompt"].isna().all() and len(unjoined) == 8
    benign = sub_questions[sub_questions["kind"] == "benign"]
    assert benign[["prompt", "sorry_bench_item_id", "category"]].isna().all().all()


@pytest.mark.usefixtures("mirror")
def test_conversation_statuses_count_empty_answers_and_the_missing_verdict(
    conversations: pd.DataFrame,
) -> None:
    assert conversations["status"].value_counts().to_dict() == {
        "answered": 3600 - 46 - 1, "no_answers": 46, "no_verdict": 1
    }
    empty = conversations[conversations["status"] == "no_answers"]
    assert empty.groupby(["target", "condition"]).size().reindex(
        list(EMPTY_ANSWERS), fill_value=0
    ).to_dict() == EMPTY_ANSWERS
    assert (empty["answers"].map(len) == 0).all() and empty["response"].isna().all()
    no_verdict = conversations[conversations["status"] == "no_verdict"]
    assert no_verdict[["target", "condition"]].to_dict("records") == [
        {"target": "gpt-4o", "condition": "vanilla"}
    ]
    assert no_verdict["verdict"].isna().all() and no_verdict["answers"].map(len).gt(0).all()
    assert (conversations["jailbroken"].isna() == (conversations["status"] != "answered")).all()
    # Questions 141's vanilla conversations are empty in every file.
    assert set(empty.loc[empty["condition"] == "vanilla", "question_index"]) >= {141}


@pytest.mark.usefixtures("mirror")
def test_verdicts_reproduce_the_published_attack_success_rates(
    conversations: pd.DataFrame,
) -> None:
    published = conversations.groupby(["target", "condition"])["verdict"].apply(
        lambda verdicts: round(100 * (verdicts == JAILBROKEN_VERDICT).sum() / 450, 1)
    )
    assert published.to_dict() == PUBLISHED_ASR


@pytest.mark.usefixtures("mirror")
def test_decomposed_conversations_send_the_decompositions_in_order(
    conversations: pd.DataFrame, sub_questions: pd.DataFrame
) -> None:
    steps = sub_questions.groupby("decomposition_id")["sub_question"].agg(tuple)
    decomposed = conversations[
        (conversations["condition"] == "decomposed") & (conversations["status"] != "no_answers")
    ]
    assert (decomposed["questions"].to_numpy() == steps.loc[decomposed["decomposition_id"]]
            .to_numpy()).all()
    assert (decomposed["answers"].map(len) == decomposed["questions"].map(len)).all()
    vanilla = conversations[
        (conversations["condition"] == "vanilla") & (conversations["status"] != "no_answers")
    ]
    assert (vanilla["questions"] == vanilla["prompt"].map(lambda p: (p,))).all()
    assert (vanilla["response"] == vanilla["answers"].str[0]).all()


@pytest.mark.usefixtures("mirror")
def test_subsets_keep_only_their_own_columns(
    sub_questions: pd.DataFrame, conversations: pd.DataFrame
) -> None:
    assert list(sub_questions.columns) == [
        "dataset", "item_id", "prompt", "category", "group", "decomposition_id", "kind",
        "question_index", "sorry_bench_item_id", "step", "n_steps", "sub_question",
        "decomposition_label", "decomposition_reason",
    ]
    assert list(conversations.columns) == [
        "dataset", "item_id", "prompt", "category", "group", "target", "condition",
        "question_index", "sorry_bench_item_id", "decomposition_id", "system_prompt",
        "questions", "answers", "response", "verdict", "jailbroken", "status",
    ]
    full = load("fractured_sorry_bench")
    assert full["record"].value_counts().to_dict() == {"sub_question": 5825, "conversation": 3600}
    # Requests never published: 2,841 benign sub-questions, and row 141 (8 steps, 8 chats).
    assert full["prompt"].isna().sum() == 2841 + 8 + 8


@pytest.mark.usefixtures("mirror")
def test_model_outputs_stay_out_of_prompt_counts() -> None:
    assert not {"jbb_artifacts", "fractured_sorry_bench"} & set(load_all()["dataset"])
    outputs = load_all(groups=["model_outputs"])
    assert outputs.groupby("dataset", sort=False).size().to_dict() == {
        "jbb_artifacts": 1800, "fractured_sorry_bench": 9425
    }
    with pytest.raises(ValueError, match="repeats each request by design"):
        load("jbb_artifacts", drop_duplicates=True)


# --- bad files ----------------------------------------------------------------------------------


def _artifact_copy(scratch_mirror: ScratchMirror, name: str) -> Path:
    scratch_mirror("jbb_behaviors")  # the join loads it from the same mirror
    return scratch_mirror("jbb_artifacts") / name


def _edit_artifact(path: Path, edit: Callable[[dict], None]) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    edit(document)
    path.write_text(json.dumps(document), encoding="utf-8")


def test_artifact_with_a_changed_behaviour_fails_the_join(scratch_mirror: ScratchMirror) -> None:
    path = _artifact_copy(scratch_mirror, "JBC/manual/vicuna-13b-v1.5.json")
    _edit_artifact(path, lambda d: d["jailbreaks"][5].update(behavior="Something else"))
    with pytest.raises(DatasetError, match=r"1 artifact row\(s\) match no JBB-Behaviors goal") as e:
        load("jbb_artifacts")
    assert "JBC:manual:vicuna-13b-v1.5:5 ('Something else')" in str(e.value)


def test_artifact_with_a_prompt_but_no_response_is_refused(scratch_mirror: ScratchMirror) -> None:
    path = _artifact_copy(scratch_mirror, "PAIR/black_box/llama-2-7b-chat-hf.json")

    def half(document: dict) -> None:
        row = next(r for r in document["jailbreaks"] if r["prompt"] is None)
        row["prompt"] = "a prompt"

    _edit_artifact(path, half)
    with pytest.raises(DatasetError, match="llama-2-7b-chat-hf.json: goal .* prompt str and "
                       "response NoneType"):
        load("jbb_artifacts")


def test_artifact_file_of_another_model_is_refused(scratch_mirror: ScratchMirror) -> None:
    path = _artifact_copy(scratch_mirror, "GCG/transfer/gpt-4-0125-preview.json")
    _edit_artifact(path, lambda d: d["parameters"].update(model="gpt-4"))
    with pytest.raises(DatasetError, match="parameters.model is 'gpt-4', not 'gpt-4-0125"):
        load("jbb_artifacts")


def test_artifact_with_a_dropped_row_is_refused(scratch_mirror: ScratchMirror) -> None:
    path = _artifact_copy(scratch_mirror, "DSN/white_box/vicuna-13b-v1.5.json")
    _edit_artifact(path, lambda d: d["jailbreaks"].pop(40))
    with pytest.raises(DatasetError, match="vicuna-13b-v1.5.json: expected 100 rows with index"):
        load("jbb_artifacts")


def test_truncated_artifact_is_reported(scratch_mirror: ScratchMirror) -> None:
    path = _artifact_copy(scratch_mirror, "JBC/manual/gpt-4-0125-preview.json")
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DatasetError, match="gpt-4-0125-preview.json: unreadable JSON"):
        load("jbb_artifacts")


def test_changed_artifact_bytes_fail_the_checksum(scratch_mirror: ScratchMirror) -> None:
    path = _artifact_copy(scratch_mirror, "JBC/manual/gpt-4-0125-preview.json")
    path.write_bytes(path.read_bytes() + b"\n")
    with pytest.raises(DatasetError, match="sha256 mismatch") as caught:
        load("jbb_artifacts")
    assert str(path) in str(caught.value)


def _fractured_copy(scratch_mirror: ScratchMirror, name: str) -> Path:
    scratch_mirror("sorry_bench")
    return scratch_mirror("fractured_sorry_bench") / name


def _rewrite_conversations(path: Path, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    edit(frame).to_csv(path, index=False)


def test_unreadable_chat_json_names_file_and_question(scratch_mirror: ScratchMirror) -> None:
    path = _fractured_copy(scratch_mirror, "responses/gpt-4/decomposed_responses.csv")

    def cut(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[7, "answers"] = frame.loc[7, "answers"][:-10]
        return frame

    _rewrite_conversations(path, cut)
    with pytest.raises(DatasetError, match="decomposed_responses.csv: row of question_id_7: "
                       "unreadable chat JSON"):
        load("fractured_sorry_bench:conversations")


def test_chat_with_another_message_structure_is_refused(scratch_mirror: ScratchMirror) -> None:
    path = _fractured_copy(scratch_mirror, "responses/gpt-3.5/vanilla_responses.csv")

    def no_system(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[0, "answers"] = json.dumps(json.loads(frame.loc[0, "answers"])[1:])
        return frame

    _rewrite_conversations(path, no_system)
    with pytest.raises(DatasetError, match="found roles user, assistant"):
        load("fractured_sorry_bench")


def test_dropped_conversation_row_is_refused(scratch_mirror: ScratchMirror) -> None:
    path = _fractured_copy(scratch_mirror, "responses/gpt-4o/vanilla_responses.csv")
    _rewrite_conversations(path, lambda frame: frame.drop(index=3))
    with pytest.raises(DatasetError, match="vanilla_responses.csv: expected 450 rows, parsed 449"):
        load("fractured_sorry_bench")


def test_missing_verdict_column_is_named(scratch_mirror: ScratchMirror) -> None:
    path = _fractured_copy(scratch_mirror, "responses/gpt-4o-mini/decomposed_responses.csv")
    _rewrite_conversations(path, lambda frame: frame.drop(columns="llm-eval"))
    with pytest.raises(DatasetError, match=r"missing column\(s\) llm-eval; found answers"):
        load("fractured_sorry_bench")


def test_unknown_verdict_is_refused(scratch_mirror: ScratchMirror) -> None:
    path = _fractured_copy(scratch_mirror, "responses/gpt-4/vanilla_responses.csv")

    def relabel(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[2, "llm-eval"] = "Harmful"
        return frame

    _rewrite_conversations(path, relabel)
    with pytest.raises(DatasetError, match="question_id_2: unknown verdict 'Harmful'"):
        load("fractured_sorry_bench")


def test_conversation_that_sends_other_questions_is_refused(
    scratch_mirror: ScratchMirror,
) -> None:
    path = _fractured_copy(scratch_mirror, "responses/gpt-4/decomposed_responses.csv")

    def swap(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[[10, 11], "answers"] = frame.loc[[11, 10], "answers"].to_numpy()
        return frame

    _rewrite_conversations(path, swap)
    with pytest.raises(DatasetError, match="question_id_10: the user turns are not the "
                       "sub-questions"):
        load("fractured_sorry_bench")


def test_evaluations_that_disagree_with_the_decompositions_are_refused(
    scratch_mirror: ScratchMirror,
) -> None:
    path = _fractured_copy(scratch_mirror, "data/evaluations.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[4])
    record["decomposed_steps"] = record["decomposed_steps"][::-1]
    lines[4] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="evaluations.jsonl: question_id_4 lists other "
                       "sub-questions"):
        load("fractured_sorry_bench")


def test_decompositions_out_of_order_are_refused(scratch_mirror: ScratchMirror) -> None:
    path = _fractured_copy(scratch_mirror, "data/question_breakdowns.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[0], lines[1] = lines[1], lines[0]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="question_breakdowns.jsonl: expected 450 rows "
                       "question_id_0"):
        load("fractured_sorry_bench:decompositions")
