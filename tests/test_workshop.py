"""The workshop exercises' package logic, and a small-parameter papermill run of each exercise."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from expected_harm import workshop
from expected_harm.sections import get_section, run_section


def test_a_preview_shows_at_most_half_of_a_prompt_and_six_words() -> None:
    long = " ".join(f"w{i}" for i in range(30))
    assert workshop.preview(long).startswith("w0 w1 w2 w3 w4 w5 …")
    assert "w6" not in workshop.preview(long) and "[redacted: 30 words]" in workshop.preview(long)
    assert workshop.preview("one two three four") == "one two … [redacted: 4 words]"
    assert workshop.preview(long, show=True) == long


def test_rating_items_are_ten_numbered_labelled_prompts_from_every_set() -> None:
    items = workshop.rating_items(10, seed=0)
    assert items["number"].tolist() == list(range(1, 11))
    assert items["dataset"].nunique() == 9  # one from each labelled set before any second
    assert items[["cost", "severity"]].notna().all().all() and items["prompt"].str.len().gt(0).all()
    assert workshop.rating_items(10, seed=0).equals(items)  # seeded


def test_the_prompt_sheet_never_shows_a_prompt_in_full() -> None:
    items = workshop.rating_items(10, seed=0)
    sheet = workshop.prompt_sheet(items)
    for prompt, shown in zip(items["prompt"], sheet["prompt"]):
        assert shown != prompt and len(shown.split("…")[0].split()) <= len(prompt.split()) // 2
    assert workshop.prompt_sheet(items, show=True)["prompt"].tolist() == items["prompt"].tolist()


def test_reader_ratings_accept_string_numbers_and_leave_unrated_items_out() -> None:
    mine = workshop.reader_ratings({"3": [1, 5], 1: (2, 2)}, n=10)
    assert mine.to_dict("records") == [{"number": 1, "cost": 2, "severity": 2},
                                       {"number": 3, "cost": 1, "severity": 5}]
    assert workshop.reader_ratings({}, n=10).empty


@pytest.mark.parametrize("given, message", [
    ({0: [1, 1]}, "item 0 is not one of the prompts 1..10"),
    ({"first": [1, 1]}, "'first' is not an item number"),
    ({1: [1, 6]}, "item 1 needs \\[cost, severity\\]"),
    ({1: [1]}, "item 1 needs"),
    ({1: [True, 2]}, "item 1 needs"),
    ({1: 3}, "item 1 needs"),
])
def test_reader_ratings_refuse_bad_input_naming_the_item(given, message) -> None:
    with pytest.raises(ValueError, match=message):
        workshop.reader_ratings(given, n=10)


def _items() -> pd.DataFrame:
    return pd.DataFrame({"number": [1, 2, 3], "dataset": ["a", "a", "b"],
                         "cost": [1, 3, 5], "severity": [2, 2, 4]})


def _rated(status: tuple[str, ...] = ("ok", "ok", "ok")) -> pd.DataFrame:
    return pd.DataFrame({"cost": [1.0, 2.0, 5.0], "severity": [2.0, 3.0, 4.0],
                         "status": list(status)})


def test_the_comparison_keeps_failed_ratings_and_unrated_items_missing() -> None:
    mine = workshop.reader_ratings({2: [3, 1]}, n=3)
    comparison = workshop.rating_comparison(_items(), _rated(("ok", "error", "ok")), mine)
    assert comparison.loc[2, ("cost", "rater")].isna().all()  # a failed rating is no rating
    assert np.isnan(comparison[("cost", "you")].tolist()[0])  # not rated: missing, not filled
    assert comparison[("severity", "you")].tolist()[1] == 1
    assert comparison[("cost", "reference")].tolist() == [1, 3, 5]
    with pytest.raises(ValueError, match="2 ratings for 3 items"):
        workshop.rating_comparison(_items(), _rated().head(2), mine)


def test_agreement_leaves_the_reader_out_until_they_rate_and_gives_only_n_below_two() -> None:
    none = workshop.rating_agreement(workshop.rating_comparison(_items(), _rated(),
                                                               workshop.reader_ratings({}, 3)))
    assert [pair for _, pair in none.index] == ["rater vs reference"] * 2
    assert none.loc[("cost", "rater vs reference"), "exact"] == pytest.approx(2 / 3)
    one = workshop.rating_agreement(workshop.rating_comparison(
        _items(), _rated(), workshop.reader_ratings({1: [1, 2]}, 3)))
    assert one.loc[("cost", "you vs reference"), "n"] == 1
    assert np.isnan(one.loc[("cost", "you vs reference"), "exact"])


def test_the_ratings_note_says_when_nobody_rated() -> None:
    assert "fill in your ratings" in workshop.ratings_note(workshop.reader_ratings({}, 10), 10)
    assert workshop.ratings_note(workshop.reader_ratings({1: [1, 1]}, 10), 10) == (
        "You rated 1 of the 10 prompts.")


def test_plot_ratings_draws_one_panel_per_scale() -> None:
    comparison = workshop.rating_comparison(_items(), _rated(), workshop.reader_ratings({}, 3))
    fig = workshop.plot_ratings(comparison, "trained:smollm2-135m (out of fold)")
    assert [ax.get_title() for ax in fig.axes] == ["cost", "severity"]
    plt.close(fig)


def test_a_given_target_is_attacked_as_it_is_without_starting_a_server(monkeypatch) -> None:
    import expected_harm.models as models

    def no_server(*args, **kwargs):
        raise AssertionError("a server was started for a given target")

    monkeypatch.setattr(models, "LlamaServer", no_server)
    with workshop.calibration_target("openai:gpt-4o-mini") as spec:
        assert spec == "openai:gpt-4o-mini"


def test_runtime_agreement_counts_only_items_both_targets_answered() -> None:
    rows = pd.DataFrame({
        "target": ["s", "s", "s", "e", "e", "e"], "attack": ["direct"] * 6,
        "dataset": ["d"] * 6, "item_id": ["1", "2", "3"] * 2,
        "status": ["ok", "ok", "error", "ok", "ok", "ok"],
        "response": ["same", "one", None, "same", "other", "x"],
        "success": [1.0, 1.0, np.nan, 1.0, 0.0, 1.0],
    })
    table = workshop.runtime_agreement(rows, "s", "e")
    assert table.loc["direct"].to_dict() == {
        "items answered by both": 2, "same answer": 0.5, "same verdict": 0.5,
        "ASR s": 1.0, "ASR e": 0.5}


def test_probed_layers_refuse_a_layer_the_model_lacks() -> None:
    with pytest.raises(ValueError, match="layer must lie in 1..30, got 31"):
        workshop.probed_layers(31, 30)


def test_layer_table_puts_the_layers_side_by_side() -> None:
    from expected_harm.probing import activation_scores

    scores = np.array([[0.1, 0.2], [0.3, 0.9], [0.5, 0.4], [0.6, 0.8]])
    by_level = {label: activation_scores(scores, [1, 1, 2, 2], layers=[4, 30])
                for label in ("severity", "cost")}
    table = workshop.layer_table(by_level, [4, 30])
    assert list(table.columns) == ["layer 4", "layer 30", "n"]
    assert table.loc[("severity", 1), "layer 30"] == pytest.approx(55.0)
    assert table.loc[("cost", 2), "n"] == 2


def test_decodability_finds_a_planted_label_and_not_a_shuffled_one() -> None:
    rng = np.random.default_rng(0)
    n = 120
    severity = rng.integers(1, 6, n)
    noise = rng.normal(size=(n, 2, 8))
    noise[:, 0, 0] += 2.0 * severity  # layer 7 carries severity on one axis; layer 30 does not
    labelled = pd.DataFrame({"severity": severity, "cost": rng.integers(1, 6, n),
                             "prompt": [f"request number {i}" for i in range(n)]})
    table = workshop.decodability_table(noise, labelled, [7, 30], permutations=100)
    assert table.loc[("severity", 7), "ρ"] > 0.8 and table.loc[("severity", 7), "p"] < 0.05
    assert table.loc[("severity", 30), "ρ"] < table.loc[("severity", 30),
                                                       "95% under permuted labels"] + 0.1
    assert "At layer 7, severity is decoded at ρ" in workshop.decodability_reading(table, 7)


# --- the exercises end to end (papermill), on small parameters -------------------------------

def _outputs(path) -> str:
    parts = []
    for cell in json.loads(path.read_text())["cells"]:
        for output in cell.get("outputs", []):
            parts.append(json.dumps(output.get("data", {})) + "".join(output.get("text", "")))
    return "\n".join(parts)


#: The exercises' small parameters (the book test's SMOKE_PARAMETERS hold the same).
SMOKE = {
    "workshop_rate": {"n_prompts": 4},
    "workshop_calibration": {"items_per_benchmark": 1, "attacks": ["direct"], "max_tokens": 16,
                             "port": None},
    "workshop_probe": {"per_set": 3, "harmless_per_set": 15, "layer": 3},
}


@pytest.mark.integration
def test_the_rating_exercise_without_ratings_pretends_nobody_rated(tmp_path) -> None:
    output = run_section(get_section("workshop_rate"), SMOKE["workshop_rate"],
                         output=tmp_path / "rate.ipynb")
    text = _outputs(output)
    assert "fill in your ratings" in text and "you vs reference" not in text
    assert "trained:smollm2-135m (out of fold)" in text and "rater vs reference" in text
    for prompt in workshop.rating_items(4, seed=0)["prompt"]:
        assert " ".join(prompt.split())[:40] not in " ".join(text.split())
    assert "Traceback" not in text


@pytest.mark.integration
def test_the_rating_exercise_compares_the_readers_ratings(tmp_path) -> None:
    output = run_section(get_section("workshop_rate"),
                         {**SMOKE["workshop_rate"], "my_ratings": {1: [1, 2], 2: [3, 3]}},
                         output=tmp_path / "rate.ipynb")
    text = _outputs(output)
    assert "You rated 2 of the 4 prompts." in text and "you vs reference" in text


@pytest.mark.integration
def test_the_calibration_exercise_attacks_the_served_model_beside_the_in_process_one(
        tmp_path) -> None:
    output = run_section(get_section("workshop_calibration"), SMOKE["workshop_calibration"],
                         output=tmp_path / "calibration.ipynb")
    text = _outputs(output)
    assert "openai-compatible:smollm2-135m@http://127.0.0.1:" in text
    assert "embedded:smollm2-135m" in text and "trained judge 1" in text
    assert "items answered by both" in text and "[redacted" in text
    assert "Traceback" not in text


@pytest.mark.integration
def test_the_probing_exercise_reads_the_chosen_and_the_final_layer(tmp_path) -> None:
    output = run_section(get_section("workshop_probe"), SMOKE["workshop_probe"],
                         output=tmp_path / "probe.ipynb")
    text = _outputs(output)
    assert "layer 3" in text and "layer 30" in text
    assert "At layer 3, severity is decoded at" in text
    assert "embedded:smollm2-135m-safety" in text and "Traceback" not in text
