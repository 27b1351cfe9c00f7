"""Corrupted copies of mirror files fail loudly, naming the file and the problem.

Each test copies one set into a scratch mirror, damages the copy, and checks that loading raises
:class:`DatasetError` with a message a user can act on, and that nothing was half-loaded.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from expected_harm.datasets import DatasetError, load, load_all
from expected_harm.paths import DATA_MIRROR_VAR, cache_dir

ScratchMirror = Callable[[str], Path]


def _rewrite_csv(path: Path, edit: Callable[[list[str], list[dict[str, str]]], list[str]]) -> None:
    """Rewrite a CSV through ``edit(fieldnames, rows) -> new fieldnames``."""
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        rows = list(reader)
        fields = edit(list(reader.fieldnames or []), rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def test_changed_bytes_fail_the_checksum(scratch_mirror: ScratchMirror) -> None:
    path = scratch_mirror("advbench") / "harmful_behaviors.csv"
    data = bytearray(path.read_bytes())
    data[-3] = ord("X") if data[-3] != ord("X") else ord("Y")  # one byte inside the last row
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="sha256 mismatch") as caught:
        load("advbench")
    assert str(path) in str(caught.value)


def test_dropped_column_is_named(scratch_mirror: ScratchMirror) -> None:
    path = scratch_mirror("advbench") / "harmful_behaviors.csv"
    _rewrite_csv(path, lambda fields, rows: [f for f in fields if f != "goal"])
    with pytest.raises(DatasetError, match=r"missing column\(s\) goal; found target") as caught:
        load("advbench")
    assert str(path) in str(caught.value)


def test_renamed_column_is_named(scratch_mirror: ScratchMirror) -> None:
    path = scratch_mirror("xstest") / "xstest_prompts.csv"

    def rename(fields: list[str], rows: list[dict[str, str]]) -> list[str]:
        for row in rows:
            row["Label"] = row.pop("label")
        return [("Label" if f == "label" else f) for f in fields]

    _rewrite_csv(path, rename)
    with pytest.raises(DatasetError, match=r"xstest_prompts.csv: missing column\(s\) label"):
        load("xstest:unsafe")


def test_empty_file_is_reported(scratch_mirror: ScratchMirror) -> None:
    path = scratch_mirror("jbb_behaviors") / "behaviors.csv"
    path.write_bytes(b"")
    with pytest.raises(DatasetError, match="behaviors.csv: file is empty"):
        load("jbb_behaviors")


def test_header_only_file_fails_the_row_count(scratch_mirror: ScratchMirror) -> None:
    path = scratch_mirror("advbench") / "harmful_behaviors.csv"
    path.write_text("goal,target\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="expected 520 rows, parsed 0"):
        load("advbench")


def test_dropped_row_fails_the_row_count(scratch_mirror: ScratchMirror) -> None:
    path = scratch_mirror("strongreject") / "strongreject_dataset.csv"
    _rewrite_csv(path, lambda fields, rows: (rows.pop(), fields)[1])
    with pytest.raises(DatasetError, match="dataset.csv: expected 313 rows, parsed 312"):
        load("strongreject")


def test_unreadable_json_is_reported(scratch_mirror: ScratchMirror) -> None:
    path = scratch_mirror("lmsys_tet") / "TET.json"
    path.write_bytes(path.read_bytes()[:1000])  # truncated download
    with pytest.raises(DatasetError, match="TET.json: unreadable JSON"):
        load("lmsys_tet")


def test_json_without_a_field_is_reported(scratch_mirror: ScratchMirror) -> None:
    path = scratch_mirror("lmsys_tet") / "TET.json"
    path.write_text('[{"conversation_id": "x", "metrics": []}]', encoding="utf-8")
    with pytest.raises(DatasetError, match="TET.json: record 0 is missing field\\(s\\) query"):
        load("lmsys_tet")


def test_bad_jsonl_line_is_reported_with_its_number(scratch_mirror: ScratchMirror) -> None:
    path = scratch_mirror("do_not_answer") / "human_chatbox.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2][:-5]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="human_chatbox.jsonl: unreadable JSON on line 3"):
        load("do_not_answer")


def test_empty_prompt_is_reported(scratch_mirror: ScratchMirror) -> None:
    path = scratch_mirror("advbench") / "harmful_behaviors.csv"

    def blank_first(fields: list[str], rows: list[dict[str, str]]) -> list[str]:
        rows[0]["goal"] = "  "
        return fields

    _rewrite_csv(path, blank_first)
    with pytest.raises(DatasetError, match="1 empty prompt\\(s\\), e.g. item_id 0"):
        load("advbench")


def test_one_bad_file_of_two_fails_the_whole_set(scratch_mirror: ScratchMirror) -> None:
    folder = scratch_mirror("toxicchat")
    (folder / "toxic_chat_test.json").write_text("{", encoding="utf-8")
    with pytest.raises(DatasetError, match="toxic_chat_test.json: unreadable JSON"):
        load("toxicchat")
    with pytest.raises(DatasetError, match="toxic_chat_test.json"):
        load_all(["toxicchat"])
    assert not (cache_dir() / "datasets").exists()  # nothing was written anywhere


def test_corrupted_cache_copy_is_reported_with_its_path(mirror: Path) -> None:
    cached = cache_dir() / "datasets" / "xstest" / "xstest_prompts.csv"
    cached.parent.mkdir(parents=True)
    cached.write_bytes((mirror / "xstest" / "xstest_prompts.csv").read_bytes() + b"\n")
    with pytest.raises(DatasetError, match="sha256 mismatch") as caught:
        load("xstest")
    assert str(cached) in str(caught.value)
    assert "Delete it if it is in the cache" in str(caught.value)


def test_offline_without_mirror_says_which_variable_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(DATA_MIRROR_VAR, raising=False)
    with pytest.raises(DatasetError) as caught:
        load("xstest")
    message = str(caught.value)
    assert "cannot get xstest/xstest_prompts.csv" in message
    assert f"${DATA_MIRROR_VAR} is unset" in message
    assert "test double: no network" in message
    assert f"Set {DATA_MIRROR_VAR}" in message


def test_derived_file_missing_from_mirror_explains_it_cannot_be_downloaded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(DATA_MIRROR_VAR, str(tmp_path / "empty-mirror"))
    with pytest.raises(DatasetError, match="derived by the mirror and has no download URL"):
        load("sorry_bench")
