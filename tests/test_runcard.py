"""Run cards: uses are logged only inside a section run, and read back into one card."""

from __future__ import annotations

import datetime as dt

from expected_harm.runcard import RUN_LOG_VAR, Provenance, card_markdown, read_log, record

STARTED = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)


def test_nothing_is_logged_outside_a_section_run(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(RUN_LOG_VAR, raising=False)
    record("dataset", spec="advbench", rows=520)  # no variable: nowhere to write, no error
    assert list(tmp_path.iterdir()) == []


def test_records_come_back_in_order(tmp_path, monkeypatch) -> None:
    log = tmp_path / "run.jsonl"
    monkeypatch.setenv(RUN_LOG_VAR, str(log))
    record("dataset", spec="advbench", rows=520)
    record("judge", name="trained", model="", version="1")
    assert [r["kind"] for r in read_log(log)] == ["dataset", "judge"]
    assert read_log(tmp_path / "absent.jsonl") == []


def test_the_card_sums_calls_per_model_and_marks_defaults() -> None:
    records = [
        {"kind": "calls", "model": "embedded:a", "revision": "r1", "requests": 3, "cached": 1,
         "sent": 2, "failed": 0},
        {"kind": "calls", "model": "embedded:a", "revision": "r1", "requests": 2, "cached": 2,
         "sent": 0, "failed": 0},
        {"kind": "calls", "model": "openai:b", "revision": "", "requests": 1, "cached": 0,
         "sent": 1, "failed": 1},
        {"kind": "judge", "name": "trained", "model": "", "version": "1"},
        {"kind": "judge", "name": "trained", "model": "", "version": "1"},
        {"kind": "dataset", "spec": "advbench", "rows": 520},
    ]
    card = card_markdown(notebook="02_calibration.ipynb", parameters={"seed": 0, "k": 2},
                         given=["k"], records=records, started=STARTED, seconds=75,
                         provenance=Provenance(package="0.1.0", commit="abc1234"))
    assert card.startswith(":::{admonition} Run card")
    assert "6 requests: 3 from the response cache, 3 sent; 1 not ok" in card
    assert "`embedded:a` (`r1`): 5 requests, 3 from the cache, 2 sent" in card
    assert "`openai:b`: 1 requests, 0 from the cache, 1 sent, 1 not ok" in card
    assert card.count("`trained` (version 1)") == 1  # each evaluator once
    assert "`advbench` (520 rows)" in card
    assert "seed = `0` (default)<br>k = `2`" in card
    assert "commit `abc1234`" in card and "in 1 min 15 s" in card
    assert "Guards" not in card  # a role the section did not use gets no row


def test_the_card_names_the_dtype_activations_were_computed_in() -> None:
    records = [
        {"kind": "activations", "model": "embedded:a", "revision": "r1", "dtype": "float32",
         "cached": 700, "computed": 5},
        {"kind": "activations", "model": "embedded:a", "revision": "r1", "dtype": "float32",
         "cached": 0, "computed": 300},
    ]
    card = card_markdown(notebook="05_probing.ipynb", parameters={"dtype": "auto"}, given=[],
                         records=records, started=STARTED, seconds=5,
                         provenance=Provenance(package="0.1.0", commit="abc1234"))
    assert "`embedded:a` (`r1, float32`): 1005 prompts, 700 from the cache, 305 computed" in card


def test_provenance_outside_a_checkout_says_so(tmp_path) -> None:
    assert Provenance.here(tmp_path).commit == "unknown (not a git checkout)"
