"""Trained evaluators: duplicate screen, planted signal, output frames, deterministic retraining.

Features come from a test double (hashed words), never from the embedded model, so these run in
seconds; the real features are exercised by ``expected-harm evaluators train``.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from expected_harm.evaluators import data
from expected_harm.evaluators.guard import TrainedGuard
from expected_harm.evaluators.judge import TrainedJudge, save_head, train_judge
from expected_harm.evaluators.linear import LinearHead
from expected_harm.evaluators.rater import TrainedRater, save_rater
from expected_harm.guards import GUARD_COLUMNS, get_guard
from expected_harm.judges import JUDGE_COLUMNS, get_judge

LAYERS, HIDDEN = 3, 16


class HashedWordStates:
    """Test double for the embedded model: each word adds a hashed unit vector to every layer.

    The word "PLANTED" is hashed nowhere: only layer 1 (0-based) carries it, as a unit of its
    own, so a judge that chooses its layer well must pick layer 1.
    """

    def featurizer(self, kind):
        def features(texts, position):
            out = np.zeros((len(texts), LAYERS, HIDDEN), dtype=np.float32)
            for i, text in enumerate(texts):
                for word in text.replace("PLANTED", "").split():
                    h = int(hashlib.sha256(word.encode()).hexdigest()[:8], 16)
                    out[i, :, h % HIDDEN] += 1.0 if position == "mean" else 0.5
                out[i, 1, 0] += 5.0 * ("PLANTED" in text)
            return out

        return features


def synthetic_rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    words = ["alpha", "beta", "gamma", "delta", "eps"]
    responses = [" ".join(rng.choice(words, 6)) + (" PLANTED" if y else "") for y in label]
    return pd.DataFrame({"source": "synthetic", "item_id": [str(i) for i in range(n)],
                         "group": [f"g{i // 2}" for i in range(n)], "request": "do the thing",
                         "response": responses, "label": label})


def test_duplicate_screen_finds_exact_and_near_copies_only() -> None:
    validation = ["Sure, here is a detailed plan: first buy the parts, then assemble them."]
    training = [
        "sure, here is a detailed plan: first buy the parts, then assemble them.  ",  # exact
        "Sure, here is a detailed plan: first buy the parts, then assemble it.",  # near
        "I cannot help with that request.",
    ]
    assert data.near_duplicates(training, validation).tolist() == [True, True, False]
    assert data.near_duplicates(training, []).tolist() == [False, False, False]


def test_planted_signal_is_recovered_on_held_out_rows() -> None:
    features = HashedWordStates().featurizer("judge")
    train, test = synthetic_rows(120, 0), synthetic_rows(60, 1)
    from expected_harm.evaluators.judge import judge_features

    head, tried = train_judge(train, judge_features(train, features, ["mean"]), layers=[0, 1, 2],
                              penalties=[0.1], folds=3)
    assert head.layer == 1
    scored = head.probability(judge_features(test, features, ["mean"])["mean"]) >= 0.5
    assert (scored == test["label"].to_numpy()).mean() > 0.95
    assert {t["layer"] for t in tried} == {1, 2, 3}  # reported 1-based


def _head(position: str = "mean") -> LinearHead:
    return LinearHead(position, 1, (0.0,) * HIDDEN, (1.0,) * HIDDEN, (1.0,) + (0.0,) * 15, -2.0)


def test_trained_judge_frame_has_judge_columns_and_statuses(tmp_path) -> None:
    save_head(_head(), tmp_path / "judge.json", version="1", trained_on="synthetic rows")
    judge = get_judge("trained", parameters=tmp_path / "judge.json",
                      featurize=HashedWordStates().featurizer("judge"))
    frame = judge.judge(["q", "q", "q"], ["PLANTED", "nothing", None])
    assert isinstance(judge, TrainedJudge) and tuple(frame.columns) == JUDGE_COLUMNS
    assert frame["status"].tolist() == ["ok", "ok", "error"]
    assert frame["verdict"].tolist()[:2] == [1.0, 0.0] and np.isnan(frame["verdict"][2])
    assert frame["judge"].eq("trained").all() and frame["judge_model"].eq("none").all()


def test_trained_rater_frame_matches_the_prompted_raters(tmp_path) -> None:
    ridge = LinearHead("last", 0, (0.0,) * HIDDEN, (1.0,) * HIDDEN, (0.0,) * HIDDEN, 3.2)
    save_rater({"cost": ("ridge", [ridge]), "severity": ("ordinal", [_head()] * 4)},
               tmp_path / "rater.json")
    frame = TrainedRater(tmp_path / "rater.json",
                         featurize=HashedWordStates().featurizer("prompt")).rate(["a", 3])
    expected = ["expertise", "equipment", "time", "legal", "cost", "severity", "cost_expected",
                "severity_expected", "rationale", "status", "error", "rater", "rubric_version"]
    assert frame.columns.tolist() == expected
    assert frame["status"].tolist() == ["ok", "error"]
    assert frame.loc[0, "cost"] == 3.0 and frame.loc[0, "cost_expected"] == pytest.approx(3.2)
    assert 1 <= frame.loc[0, "severity_expected"] <= 5 and np.isnan(frame.loc[1, "cost"])


def test_trained_guard_screens_texts_and_conversations_as_a_guard(tmp_path) -> None:
    save_head(_head(), tmp_path / "guard.json")
    guard = get_guard("trained", parameters=tmp_path / "guard.json",
                      featurize=HashedWordStates().featurizer("prompt"))
    history = [{"role": "system", "content": "PLANTED"}, {"role": "user", "content": "hi"},
               {"role": "user", "content": "PLANTED again"}]
    frame = guard.screen(["PLANTED", "hello", history])
    assert isinstance(guard, TrainedGuard) and tuple(frame.columns) == GUARD_COLUMNS
    assert frame["status"].tolist() == ["ok"] * 3 and frame["guard_model"][0] == "none"
    assert frame["flagged"].tolist() == [1.0, 0.0, 1.0]
    assert frame["score"].between(0, 1).all() and (frame["categories"] == "").all()


def test_head_round_trips_through_json_exactly() -> None:
    head = LinearHead("last", 2, (0.1, 1 / 3), (2.0, 7 / 9), (1e-17, -0.25), 0.3)
    assert LinearHead.from_json(json.loads(json.dumps(head.to_json()))) == head


def test_retraining_reproduces_the_parameters(tmp_path, monkeypatch) -> None:
    from expected_harm.evaluators.train import PARAMETER_FILES, Config, train

    full = data.verdict_rows  # the duplicate screen over every verdict is the slow part
    monkeypatch.setattr(data, "verdict_rows", lambda source: full(source).head(300))

    small = Config(artifacts=40, fractured=40, benign_per_set=10, decompositions_per_kind=3,
                   layers=(0, 1), judge_penalties=(0.1,), guard_penalties=(0.1,),
                   rater_penalties={"ridge": (100.0,), "ordinal": (100.0,)}, folds=3)
    for run in ("first", "second"):
        train(small, features=HashedWordStates(), out=tmp_path / run)
    for name in PARAMETER_FILES:
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes()
    from expected_harm.evaluators import report

    folder = tmp_path / "first"
    table = report.judge_table(folder)
    assert "trained judge (artifacts + FRACTURED)" in table.index and len(table) == 12
    assert set(report.cross_source_table(folder)["scored_on"]) == {"artifacts", "FRACTURED"}
    assert set(report.rater_table(folder)["dimension"]) == {"cost", "severity"}
    assert report.guard_table(folder)["kind"].value_counts().to_dict() == {"harmful": 7,
                                                                           "benign": 2}
    assert set(report.decomposition_table(folder)["screen"]) == {"per message", "cumulative"}


def test_out_of_fold_ratings_come_from_the_stored_table_and_refuse_unlabelled_items() -> None:
    from expected_harm.evaluators.judge import evaluators_dir
    from expected_harm.evaluators.rater import out_of_fold_ratings

    stored = pd.read_csv(evaluators_dir() / "rater_out_of_fold.csv", dtype={"item_id": str})
    labelled = stored[stored["dataset"].isin(["advbench", "sorry_bench:base"])]
    items = pd.DataFrame({"dataset": ["advbench", "sorry_bench"],
                          "item_id": [labelled["item_id"].iloc[0], labelled["item_id"].iloc[-1]]})
    frame = out_of_fold_ratings(items)
    assert frame["rater"].eq("trained:smollm2-135m (out of fold)").all()
    assert frame["cost_expected"].tolist() == pytest.approx(
        [labelled["cost_expected"].iloc[0], labelled["cost_expected"].iloc[-1]])
    with pytest.raises(ValueError, match="no out-of-fold rating"):
        out_of_fold_ratings(pd.DataFrame({"dataset": ["advbench"], "item_id": ["no such item"]}))
