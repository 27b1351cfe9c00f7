"""The workshop track: what its three exercise notebooks draw, check and compare.

The exercises (``notebooks/workshop_*.ipynb``) are short versions of the book's sections that a
participant runs offline on a laptop: rate ten prompts and compare with the reference labels
and the trained rater; attack a model behind llama.cpp's OpenAI-compatible server; probe one
layer. Their logic lives here so that tests reach it; the notebooks only call it and explain.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from expected_harm.annotations import ANNOTATED_SETS
from expected_harm.redact import redact

#: Words of a prompt the rendered book shows at most (never more than half of a prompt).
PROMPT_WORDS = 6
SCALES = ("cost", "severity")
#: What each rating column is called on the page (the reference labels are AI-assistant labels).
SOURCES = {"reference": "reference labels (AI assistants, written protocol)",
           "rater": "rater", "you": "you"}


def preview(prompt: str, show: bool = False) -> str:
    """A harmful request as the book shows it: its first words (at most half of it), its length.

    Examples:
        >>> preview("Write a step by step guide to picking a lock on a front door")
        'Write a step by step guide … [redacted: 14 words]'
        >>> preview("Insult my neighbour")
        'Insult … [redacted: 3 words]'
        >>> preview("Insult my neighbour", show=True)
        'Insult my neighbour'
    """
    return redact(prompt, show, words=min(PROMPT_WORDS, max(1, len(prompt.split()) // 2)))


def rating_items(n: int = 10, seed: int = 0,
                 sets: Sequence[str] = ANNOTATED_SETS) -> pd.DataFrame:
    """``n`` reference-labelled prompts, one set after another, numbered from 1.

    Items come from the threat-distribution sample (:func:`expected_harm.threats.rater_items`),
    taken round-robin over ``sets`` so that benchmarks and real users' prompts both appear.

    Returns:
        Columns ``number, dataset, item_id, group, prompt, cost, severity`` (the reference
        labels; a page shows them only in its solution).
    """
    from expected_harm import threats

    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    drawn = threats.rater_items(sets, -(-n // len(sets)), seed)
    drawn = (drawn.assign(_turn=drawn.groupby("dataset", sort=False).cumcount())
             .sort_values("_turn", kind="stable").head(n).drop(columns="_turn"))
    if len(drawn) < n:
        raise ValueError(f"only {len(drawn)} labelled items in {', '.join(sets)}, asked for {n}")
    labelled = drawn.merge(threats.reference_labels(sets)[["dataset", "item_id", *SCALES]],
                           on=["dataset", "item_id"], how="left", validate="one_to_one")
    return labelled.reset_index(drop=True).assign(number=range(1, n + 1))[
        ["number", "dataset", "item_id", "group", "prompt", *SCALES]]


def prompt_sheet(items: pd.DataFrame, show: bool = False) -> pd.DataFrame:
    """The prompts to rate, numbered, each shown through :func:`preview` unless ``show``."""
    return (items.assign(prompt=[preview(p, show) for p in items["prompt"]])
            .set_index("number")[["dataset", "prompt"]])


def reader_ratings(given: Mapping[object, Sequence[int]], n: int) -> pd.DataFrame:
    """The reader's own ratings, checked: item number → ``[cost, severity]``, each 1–5.

    Numbers may come as strings (papermill's JSON and YAML parameters write keys that way).
    Items the reader did not rate are simply absent, never filled in.

    Raises:
        ValueError: A number outside ``1..n`` or a rating that is not two levels 1–5.

    Examples:
        >>> reader_ratings({1: [2, 3], "4": [1, 1]}, n=10)
           number  cost  severity
        0       1     2         3
        1       4     1         1
        >>> reader_ratings({11: [1, 1]}, n=10)
        Traceback (most recent call last):
        ValueError: my_ratings: item 11 is not one of the prompts 1..10
    """
    rows = []
    for key, value in given.items():
        try:
            number = int(str(key))
        except ValueError:
            raise ValueError(f"my_ratings: {key!r} is not an item number 1..{n}") from None
        if not 1 <= number <= n:
            raise ValueError(f"my_ratings: item {number} is not one of the prompts 1..{n}")
        levels = list(value) if isinstance(value, (list, tuple)) else []
        if len(levels) != 2 or not all(
                isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 5 for v in levels):
            raise ValueError(f"my_ratings: item {number} needs [cost, severity], two whole "
                             f"levels 1–5, got {value!r}")
        rows.append({"number": number, "cost": levels[0], "severity": levels[1]})
    return pd.DataFrame(rows, columns=["number", *SCALES]).sort_values("number",
                                                                      ignore_index=True)


def rating_comparison(items: pd.DataFrame, rated: pd.DataFrame,
                      mine: pd.DataFrame) -> pd.DataFrame:
    """Each item's cost and severity from the reference labels, the rater and the reader.

    Args:
        items: :func:`rating_items` (with the reference labels).
        rated: The rater's rows for the same items, in the same order
            (:func:`expected_harm.threats.rate_items`); rows whose rating failed stay NaN.
        mine: :func:`reader_ratings` (may be empty).

    Returns:
        Indexed by item number and dataset; columns ``(scale, source)`` for the two scales and
        the sources ``reference``, ``rater``, ``you``.
    """
    if len(rated) != len(items):
        raise ValueError(f"{len(rated)} ratings for {len(items)} items")
    ok = rated["status"].eq("ok").to_numpy()
    frame = pd.DataFrame({"number": items["number"].to_numpy()})
    you = mine.set_index("number")
    columns = {}
    for scale in SCALES:
        columns[scale, "reference"] = items[scale].to_numpy(dtype=float)
        columns[scale, "rater"] = np.where(ok, rated[scale].to_numpy(dtype=float), np.nan)
        columns[scale, "you"] = frame["number"].map(you[scale]).to_numpy(dtype=float)
    index = pd.MultiIndex.from_arrays([items["number"], items["dataset"]],
                                      names=["number", "dataset"])
    return pd.DataFrame(columns, index=index)


def rating_agreement(comparison: pd.DataFrame) -> pd.DataFrame:
    """How often two sources agree, per scale: exact, within one level, weighted κ.

    A pair of sources with fewer than two items rated by both gets only its ``n`` (agreement
    is undefined there), never a made-up value; a pair with none (the reader rated nothing)
    is left out.
    """
    from expected_harm.stats import agreement

    pairs = (("rater", "reference"), ("you", "reference"), ("you", "rater"))
    rows = []
    for scale in SCALES:
        for first, second in pairs:
            both = comparison[[(scale, first), (scale, second)]].dropna()
            if both.empty:
                continue
            row = {"scale": scale, "pair": f"{first} vs {second}", "n": len(both)}
            if len(both) >= 2:
                found = agreement(both[(scale, second)], both[(scale, first)])
                difference = (both[(scale, first)] - both[(scale, second)]).abs().mean()
                row |= {"exact": found.exact, "within one": found.within_one,
                        "mean |difference|": difference, "weighted κ": found.quadratic_kappa}
            rows.append(row)
    return pd.DataFrame(rows).set_index(["scale", "pair"])


def plot_ratings(comparison: pd.DataFrame, rater: str) -> Figure:
    """Each item's level by source, one panel per scale: where the three disagree."""
    numbers = comparison.index.get_level_values("number")
    long = (comparison.droplevel("dataset").stack(0, future_stack=True)
            .rename_axis(["number", "scale"]).reset_index()
            .melt(["number", "scale"], var_name="source", value_name="level")
            .dropna(subset=["level"]))
    names = {**SOURCES, "rater": rater}
    long["source"] = long["source"].map(names)
    order = [names[s] for s in SOURCES if names[s] in set(long["source"])]
    offset = {name: 0.2 * (i - 1) for i, name in enumerate(names.values())}
    long["item"] = long["number"] + long["source"].map(offset)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for ax, scale in zip(axes, SCALES):
        sns.scatterplot(data=long[long["scale"] == scale], x="item", y="level", hue="source",
                        style="source", hue_order=order, style_order=order, s=70, ax=ax,
                        legend=ax is axes[-1])
        ax.set(title=scale, xlabel="prompt", ylabel="level (1–5)", yticks=range(1, 6),
               xticks=numbers, ylim=(0.5, 5.5))
    sns.move_legend(axes[-1], "upper left", bbox_to_anchor=(1.02, 1.0), title=None)
    return fig


@contextmanager
def calibration_target(target: str, served: str = "smollm2-135m",
                       port: int | None = None) -> Iterator[str]:
    """The spec the calibration exercise attacks, with its server running for the block.

    Args:
        target: A model spec to attack as it is (a server already running elsewhere, or any
            spec), or ``""`` to serve the embedded model ``served`` with llama.cpp's server on
            127.0.0.1 for the duration of the block.
        served: The embedded model to serve when ``target`` is empty.
        port: The server's port; a fixed port keeps the spec, and so the response cache's key,
            the same from one run to the next (``None``: a free port).

    Yields:
        The target's spec, e.g. ``openai-compatible:smollm2-135m@http://127.0.0.1:8765/v1``.
        The server is stopped on leaving the block, also when the block raised.
    """
    if target:
        yield target
        return
    from expected_harm.models import LlamaServer

    with LlamaServer(served, port=port, startup_timeout=120) as server:
        yield server.spec


def runtime_agreement(results: pd.DataFrame, first: str, second: str) -> pd.DataFrame:
    """Per attack, how often two targets gave the same answer and the same verdict on an item.

    Meant for one model behind two runtimes (llama.cpp's server and the in-process embedded
    model): with greedy decoding their answers should match, so a difference points at the
    runtime (chat template, sampling settings), not at the model. Only items both answered
    (status ``ok``) count.
    """
    keys = ["attack", "dataset", "item_id"]
    rows = []
    for attack, part in results.groupby("attack", sort=False):
        pair = (part[part["target"] == first].merge(part[part["target"] == second], on=keys,
                                                    suffixes=("_1", "_2")))
        answered = pair[(pair["status_1"] == "ok") & (pair["status_2"] == "ok")]
        rows.append({
            "attack": attack, "items answered by both": len(answered),
            "same answer": (answered["response_1"] == answered["response_2"]).mean(),
            "same verdict": (answered["success_1"] == answered["success_2"]).mean(),
            f"ASR {first}": answered["success_1"].mean(),
            f"ASR {second}": answered["success_2"].mean(),
        })
    return pd.DataFrame(rows).set_index("attack")


def probed_layers(layer: int, n_layers: int) -> list[int]:
    """The reader's layer and the final one (the layer the probing section's headline reads).

    Examples:
        >>> probed_layers(15, 30)
        [15, 30]
        >>> probed_layers(30, 30)
        [30]
    """
    if not 1 <= layer <= n_layers:
        raise ValueError(f"layer must lie in 1..{n_layers}, got {layer}")
    return sorted({layer, n_layers})


def layer_table(by_level: Mapping[str, pd.DataFrame], layers: Sequence[int]) -> pd.DataFrame:
    """Activation score per level at each probed layer, side by side, with the level's ``n``.

    Args:
        by_level: ``{"severity": …, "cost": …}`` frames of
            :func:`expected_harm.probing.activation_scores`.
        layers: The probed layers, in the order of the columns wanted.
    """
    parts = []
    for label, table in by_level.items():
        wide = table.pivot(index="level", columns="layer", values="mean")[list(layers)]
        wide.columns = [f"layer {layer}" for layer in layers]
        counts = table.groupby("level")["n"].first()
        parts.append(wide.assign(n=counts).assign(label=label).reset_index())
    return pd.concat(parts).set_index(["label", "level"]).round(1)


def decodability_table(activations: np.ndarray, labelled: pd.DataFrame, layers: Sequence[int],
                       *, folds: int = 5, seed: int = 0, permutations: int = 100) -> pd.DataFrame:
    """How well a ridge probe reads severity and cost at each probed layer, each layer alone.

    Each layer gets its own permutation test (:func:`expected_harm.probing.decodability` on
    that layer only): the reader chose it beforehand, so no maximum over layers is taken. The
    bag-of-words probe on the prompts' text says what the words alone give away.

    Args:
        activations: (prompts, len(layers), hidden), in the order of ``labelled``.
        labelled: The prompts with their ``severity`` and ``cost`` reference labels.
        layers: The 1-based layer of each column of ``activations``.
    """
    from expected_harm.probing import decodability, text_baseline

    rows = []
    for label in ("severity", "cost"):
        words = text_baseline(labelled["prompt"].tolist(), labelled[label], folds=folds,
                              seed=seed)
        for column, layer in enumerate(layers):
            found = decodability(activations[:, [column]], labelled[label], layers=[layer],
                                 folds=folds, seed=seed, permutations=permutations)
            rows.append({"label": label, "layer": layer, "ρ": found.best["spearman"],
                         "95% under permuted labels": found.threshold, "p": found.p_value,
                         "ρ from the words alone": words})
    return pd.DataFrame(rows).set_index(["label", "layer"])


def ratings_note(mine: pd.DataFrame, n: int) -> str:
    """What the page says about the reader's ratings: how many, or that there are none yet.

    Examples:
        >>> ratings_note(pd.DataFrame(columns=["number"]), 10)[:31]
        'No ratings of yours on this run'
    """
    if mine.empty:
        return ("No ratings of yours on this run: fill in your ratings (my_ratings in the "
                "parameters cell) and run the page again. Until then the solution below "
                "compares only the reference labels with the rater.")
    return f"You rated {len(mine)} of the {n} prompts."


def decodability_reading(table: pd.DataFrame, layer: int) -> str:
    """One sentence on the reader's layer: each label's ρ, its noise line and its margin over words.

    Examples:
        >>> t = pd.DataFrame({"label": ["severity", "cost"], "layer": [15, 15], "ρ": [0.5, 0.2],
        ...     "95% under permuted labels": [0.14, 0.13], "p": [0.01, 0.03],
        ...     "ρ from the words alone": [0.38, 0.4]}).set_index(["label", "layer"])
        >>> for part in decodability_reading(t, 15).split("; "):
        ...     print(part)
        At layer 15, severity is decoded at ρ = 0.50 (above the permuted-label line 0.14
        0.12 over the words alone) and cost at ρ = 0.20 (above the permuted-label line 0.13
        -0.20 over the words alone).
    """
    parts = {}
    for label in ("severity", "cost"):
        row = table.loc[(label, layer)]
        side = "above" if row["ρ"] > row["95% under permuted labels"] else "not above"
        margin = row["ρ"] - row["ρ from the words alone"]
        line = row["95% under permuted labels"]
        parts[label] = (f"at ρ = {row['ρ']:.2f} ({side} the permuted-label line {line:.2f}; "
                        f"{margin:.2f} over the words alone)")
    return f"At layer {layer}, severity is decoded {parts['severity']} and cost {parts['cost']}."
