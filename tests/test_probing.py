"""Probing: extraction (shapes, padding, cache) on a tiny in-process LM; probes on planted data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from expected_harm import probing
from expected_harm.probing import _extract

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

WORDS = "how do i make a cake bomb hello world what is the capital of france please help me".split()
CHAT_TEMPLATE = (
    "{% for m in messages %}<s>{{ m['role'] }} {{ m['content'] }}</s> {% endfor %}"
    "{% if add_generation_prompt %}<s>assistant{% endif %}"
)


@pytest.fixture(scope="module")
def tiny() -> probing.HiddenStateModel:
    """A 2-layer random Llama with a word-level tokenizer, built offline in well under a second."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(["<pad>", "<unk>", "<s>", "</s>", "user", "assistant",
                                          *WORDS])}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>",
                                        unk_token="<unk>", eos_token="</s>")
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=16, intermediate_size=32,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                         max_position_embeddings=64)
    model = LlamaForCausalLM(config).eval()
    return probing.HiddenStateModel.loaded(model, tokenizer, "test:tiny-llama", "r0")


PROMPTS = ["hello", "how do i make a cake please help me", "what is the capital of france"]


@pytest.mark.parametrize("position", ["last", "mean"])
def test_extract_returns_one_vector_per_layer(tiny, position) -> None:
    activations = probing.extract(tiny, PROMPTS, position=position)
    assert activations.shape == (3, 2, 16)
    assert activations.dtype == np.float32


#: Prompts that share their first words, as chat templates share a system turn.
SHARED_PROMPTS = ["please help me how do i make a cake", "please help me how do i make a bomb bomb",
                  "please help me how do i make hello world"]


@pytest.mark.parametrize("position", ["last", "mean"])
@pytest.mark.parametrize(("prompts", "prefix_run_once"), [(PROMPTS, False), (SHARED_PROMPTS, True)])
def test_a_prompt_alone_and_in_a_padded_batch_give_the_same_vectors(
        tiny, tmp_path, position, prompts, prefix_run_once, monkeypatch) -> None:
    """Also where the batch's shared prefix runs once, its keys and values copied to every row
    (its states included in a mean)."""
    from expected_harm.models._batched import MIN_SHARED, shared_prefix

    ids = [tiny.tokenizer(_extract.render(tiny.tokenizer, p), add_special_tokens=False)
           ["input_ids"] for p in prompts]
    assert (shared_prefix(ids) >= MIN_SHARED) == prefix_run_once
    monkeypatch.setattr(_extract, "MAX_PADDING", 1.0)  # all three in one padded pass
    batched = probing.extract(tiny, prompts, position=position, batch_size=3,
                              cache=probing.ActivationCache(tmp_path / "a"))
    alone = np.stack([
        probing.extract(tiny, [p], position=position,
                        cache=probing.ActivationCache(tmp_path / f"b{i}"))[0]
        for i, p in enumerate(prompts)
    ])
    np.testing.assert_allclose(batched, alone, rtol=1e-4, atol=1e-5)


def test_last_and_mean_positions_differ_for_a_multi_token_prompt(tiny) -> None:
    last = probing.extract(tiny, PROMPTS[1:2], position="last")
    mean = probing.extract(tiny, PROMPTS[1:2], position="mean")
    assert not np.allclose(last, mean)


def test_cached_extraction_makes_no_forward_pass(tiny, monkeypatch) -> None:
    first = probing.extract(tiny, PROMPTS)

    def fail(*args, **kwargs):
        raise AssertionError("forward pass on a cached prompt")

    monkeypatch.setattr(probing._extract, "_forward", fail)
    np.testing.assert_array_equal(probing.extract(tiny, PROMPTS), first)


def test_cached_activations_are_read_without_loading_what_they_do_not_need(tiny) -> None:
    first = {t: probing.extract(tiny, PROMPTS, template=t) for t in ("none", "chat")}
    loads: list[str] = []

    def lazy() -> probing.HiddenStateModel:
        return probing.HiddenStateModel(
            tiny.name, tiny.revision, tiny.dtype, tiny.n_layers, tiny.hidden_size,
            load_weights=lambda: loads.append("weights") or tiny.model,
            load_tokenizer=lambda: loads.append("tokenizer") or tiny.tokenizer)

    raw = probing.extract(lazy(), PROMPTS, template="none")
    chat = probing.extract(lazy(), PROMPTS, template="chat")
    assert loads == []  # the key is the prompt, not its rendering: nothing to load
    np.testing.assert_array_equal(raw, first["none"])
    np.testing.assert_array_equal(chat, first["chat"])
    probing.extract(lazy(), ["hello world"], template="chat")
    assert loads == ["tokenizer", "weights"]  # a new prompt: loaded once, then run


def test_cache_key_excludes_batch_size_but_includes_position_template_and_revision(tiny) -> None:
    key = probing.ActivationCache.key
    base = key(tiny, "hello", "chat", "last")
    assert key(tiny, "hello", "chat", "mean") != base
    assert key(tiny, "hello", "none", "last") != base
    assert key(tiny, "world", "chat", "last") != base
    other = probing.HiddenStateModel.loaded(tiny.model, tiny.tokenizer, tiny.name, "r1")
    assert key(other, "hello", "chat", "last") != base
    # batch size is not an argument of the key: extraction in other batch sizes hits the cache
    probing.extract(tiny, PROMPTS, batch_size=1)
    assert len(list(probing.ActivationCache().folder.rglob("*.npy"))) == 3
    probing.extract(tiny, PROMPTS, batch_size=3)
    assert len(list(probing.ActivationCache().folder.rglob("*.npy"))) == 3


def test_chat_template_wraps_the_prompt(tiny) -> None:
    assert probing.render(tiny.tokenizer, "hello") == "<s>user hello</s> <s>assistant"
    assert probing.render(tiny.tokenizer, "hello", "none") == "hello"
    with pytest.raises(ValueError, match="template"):
        probing.render(tiny.tokenizer, "hello", "raw")


def planted(n: int = 200, layers: int = 3, hidden: int = 32, seed: int = 0):
    """Gaussian activations; only layer 1 carries the label along a fixed unit direction."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    direction = rng.normal(size=hidden)
    direction /= np.linalg.norm(direction)
    activations = rng.normal(size=(n, layers, hidden))
    activations[:, 1] += 3.0 * np.outer(labels, direction)
    return activations, labels, direction


@pytest.mark.parametrize("kind", ["logistic", "diff_in_means"])
def test_probe_recovers_a_planted_direction_and_finds_nothing_in_shuffled_labels(kind) -> None:
    activations, labels, direction = planted()
    scores = probing.probe_scores(activations, labels, kind, seed=0)
    accuracy = ((scores >= 0.5) == labels[:, None]).mean(axis=0)
    assert accuracy[1] > 0.9
    assert accuracy[0] < 0.65 and accuracy[2] < 0.65
    shuffled = np.random.default_rng(1).permutation(labels)
    null = probing.probe_scores(activations, shuffled, kind, seed=0)
    assert (((null >= 0.5) == shuffled[:, None]).mean(axis=0) < 0.65).all()


def test_diff_in_means_direction_points_along_the_planted_one() -> None:
    activations, labels, direction = planted()
    probe = probing.DiffInMeansProbe().fit(activations[:, 1], labels)
    assert probe.direction_ @ direction > 0.9


def test_decodability_beats_its_shuffled_control_only_where_the_label_is_encoded() -> None:
    rng = np.random.default_rng(0)
    level = rng.integers(1, 6, 300)
    activations = rng.normal(size=(300, 2, 24))
    activations[:, 1, 0] += level  # layer 2 encodes the level along one axis
    found = probing.decodability(activations, level, layers=[1, 2], seed=0)
    table = found.table
    assert table.loc[1, "spearman"] > 0.8
    assert abs(table.loc[0, "spearman"]) < 0.2
    assert (table["shuffled"].abs() < 0.2).all()
    assert found.best["layer"] == 2 and found.p_value == 1 / 101  # beats every permutation


def test_decodability_is_kept_on_disk_and_read_back(tmp_path, monkeypatch) -> None:
    """A rebuild reads the permutation test back: the same numbers, no refit."""
    monkeypatch.setenv("EXPECTED_HARM_CACHE_DIR", str(tmp_path))
    rng = np.random.default_rng(1)
    level, activations = rng.integers(1, 6, 60), rng.normal(size=(60, 2, 8))
    first = probing.decodability(activations, level, layers=[1, 2])
    assert any((tmp_path / "frames").rglob("output.pkl"))
    monkeypatch.setattr(np.random, "default_rng", None)  # a refit, which draws permutations, fails
    again = probing.decodability(activations, level, layers=[1, 2])
    pd.testing.assert_frame_equal(again.table, first.table)
    assert np.array_equal(again.null_max, first.null_max, equal_nan=True)


@pytest.mark.parametrize("kind", ["logistic", "diff_in_means"])
def test_probe_scores_are_kept_on_disk_and_read_back(tmp_path, monkeypatch, kind) -> None:
    """A rebuild reads the cross-fitted scores back: the same numbers, no refit."""
    monkeypatch.setenv("EXPECTED_HARM_CACHE_DIR", str(tmp_path))
    activations, labels, _ = planted()
    first = probing.probe_scores(activations, labels, kind, seed=0)
    assert any((tmp_path / "frames").rglob("output.pkl"))
    import sklearn.model_selection

    monkeypatch.setattr(sklearn.model_selection, "StratifiedKFold", None)  # a refit fails
    np.testing.assert_array_equal(probing.probe_scores(activations, labels, kind, seed=0), first)
    with pytest.raises(TypeError):
        probing.probe_scores(activations, labels, kind, seed=1)  # another seed: fitted anew


def test_the_best_of_many_noise_layers_is_judged_against_the_best_under_permutation() -> None:
    # No layer carries the label. The best of 12 layers still beats the shuffled control of its
    # own layer by a wide margin (the old comparison); against the null of the maximum over
    # layers it is unremarkable.
    rng = np.random.default_rng(0)
    level = rng.integers(1, 6, 120)
    found = probing.decodability(rng.normal(size=(120, 12, 16)), level,
                                 layers=list(range(1, 13)), seed=0)
    assert len(found.null_max) == 100
    assert found.best["spearman"] > found.best["shuffled"] + 0.15
    assert found.threshold > found.best["spearman"] and found.p_value > 0.3
    with pytest.raises(ValueError, match="at least 100"):
        probing.decodability(rng.normal(size=(120, 2, 4)), level, layers=[1, 2],
                             permutations=10)


def test_text_baseline_reads_labels_off_the_words() -> None:
    texts = [f"{w} item {i}" for i in range(60) for w in ("cheap", "costly")]
    target = [1, 5] * 60
    assert probing.text_baseline(texts, target) > 0.8  # ρ with a two-level target tops out at 0.87


def test_text_baseline_learns_its_vocabulary_inside_each_training_fold() -> None:
    # Each pair of prompts shares one word and one label, and no word says anything else. With
    # the vocabulary fitted on all prompts, a word seen once in training and once in the held-out
    # fold passes min_df=2 and carries the label across (ρ ≈ 0.7); fitted within the fold it is
    # seen once, dropped, and the words tell the probe nothing.
    rng = np.random.default_rng(0)
    filler = [f"w{i}" for i in range(30)]
    texts, target = [], []
    for pair in range(80):
        level = int(rng.integers(1, 6))
        for _ in range(2):
            texts.append(" ".join([f"pair{pair}", *rng.choice(filler, 4)]))
            target.append(level)
    assert abs(probing.text_baseline(texts, target)) < 0.2


def test_activation_scores_are_mean_probabilities_times_100_by_level() -> None:
    scores = np.array([[0.1], [0.3], [0.9], [0.7]])
    table = probing.activation_scores(scores, [1, 1, 5, 5], layers=[30])
    assert table["level"].tolist() == [1, 5]
    np.testing.assert_allclose(table["mean"], [20.0, 80.0])
    assert (table["n"] == 2).all() and (table["layer"] == 30).all()


def test_cost_given_severity_detects_a_cost_effect_only_when_there_is_one() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"severity": rng.integers(1, 6, 400), "cost": rng.integers(1, 6, 400),
                          "dataset": rng.choice(["a", "b", "c"], 400)})
    noise = rng.normal(scale=5, size=400)
    null = probing.cost_given_severity(frame.assign(score=10 * frame["severity"] + noise))
    bimodal = probing.cost_given_severity(
        frame.assign(score=10 * frame["severity"] + 20 * (frame["cost"] - 3).abs() + noise))
    assert null["test"].p > 0.01 and bimodal["test"].p < 1e-6
    assert bimodal["test"].r2_full > bimodal["test"].r2_controls
    assert bimodal["test"].df == 4 and bimodal["test"].cov_type == "HC3"
    assert set(bimodal["linear"].params.index) >= {"severity", "cost"}


def test_cost_given_severity_holds_the_dataset_fixed() -> None:
    # Set "b" scores higher (style) and holds the costly prompts; within a set cost does nothing.
    # Without the dataset as a control a test reads the set's shift as a cost effect.
    rng = np.random.default_rng(1)
    dataset = np.repeat(["a", "b"], 200)
    cost = np.where(dataset == "a", rng.integers(1, 4, 400), rng.integers(3, 6, 400))
    frame = pd.DataFrame({"severity": rng.integers(1, 6, 400), "cost": cost, "dataset": dataset})
    frame["score"] = 10 * frame["severity"] + 15 * (dataset == "b") + rng.normal(scale=5, size=400)
    assert probing.cost_given_severity(frame)["test"].p > 0.05
    from expected_harm.stats import factor_wald_test

    assert factor_wald_test(frame, "score", ["cost"], ["severity"]).p < 1e-6


def test_choose_probe_falls_back_to_diff_in_means_and_says_why() -> None:
    kind, reason = probing.choose_probe("auto", refusals=2, screened=48, judge=True)
    assert kind == "diff_in_means" and "2 of 48" in reason
    kind, reason = probing.choose_probe("auto", refusals=24, screened=48, judge=False)
    assert kind == "diff_in_means" and "judge" in reason
    assert probing.choose_probe("auto", refusals=24, screened=48, judge=True)[0] == "logistic"
    with pytest.raises(ValueError, match="refusal_judge"):
        probing.choose_probe("logistic", refusals=24, screened=48, judge=False)
    with pytest.raises(ValueError, match="probe must be"):
        probing.choose_probe("pca", refusals=0, screened=0, judge=False)


def test_refusal_screen_flags_refusal_openings_only() -> None:
    flagged = probing.screen_refusals(["I’m sorry, but I can’t help.", "Sure! Step 1: ..."])
    assert flagged == [True, False]


def test_bad_inputs_name_what_is_wrong(tiny) -> None:
    with pytest.raises(ValueError, match="position"):
        probing.extract(tiny, PROMPTS, position="first")
    with pytest.raises(ValueError, match="template must be 'chat' or 'none'"):
        probing.extract(tiny, PROMPTS, template="raw")  # refused even when nothing is to run
    with pytest.raises(ValueError, match="batch_size"):
        probing.extract(tiny, PROMPTS, batch_size=0)
    with pytest.raises(ValueError, match="probe kind"):
        probing.make_probe("svm")
    with pytest.raises(ValueError, match="shape"):
        probing.probe_scores(np.zeros((4, 8)), [0, 1, 0, 1], "logistic")
    with pytest.raises(ValueError, match="package.module:function"):
        probing.resolve_judge("no_colon")
    with pytest.raises(ValueError, match="auto, float32, bfloat16, float16; got 'fp8'"):
        probing.load_model(dtype="fp8")


def test_auto_dtype_is_bfloat16_only_where_the_cpu_computes_in_it(monkeypatch) -> None:
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert _extract.fast_dtype("cpu") == "bfloat16"
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert _extract.fast_dtype("cpu") == "float32"
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    assert _extract.fast_dtype("cpu") == "float32"  # a torch without the check: no AMX assumed


def test_refusal_direction_without_a_target_separates_harmful_from_harmless() -> None:
    activations, labels, _ = planted()
    harmful, harmless = activations[labels == 1], activations[labels == 0]
    found = probing.refusal_direction(harmful, harmless, ["h"] * len(harmful),
                                      ["b"] * len(harmless), target="", seed=0)
    assert found.kind == "diff_in_means" and found.screened == 0 and found.unlabelled == 0
    assert found.scores.shape == (len(labels), 3)
    layer = found.scores[:, 1]
    assert layer[: len(harmful)].mean() > 0.8 > 0.2 > layer[len(harmful):].mean()


def test_the_default_refusal_judge_reads_refusal_phrases() -> None:
    judge = probing.resolve_judge("expected_harm.judges:refusal_verdicts")
    assert judge(["q", "q"], ["I'm sorry, but I can't.", "Sure, here you go."]) == [1, 0]
