"""The probing section's steps: its prompt draws, the layers it reads, its tables and sentences.

Everything the notebook computes lives here so that tests reach it; the notebook calls these in
order and draws the figures with :mod:`expected_harm.plots`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from expected_harm.models import EMBEDDED_PREFIX
from expected_harm.probing._analysis import Decodability, activation_scores, cost_given_severity
from expected_harm.probing._extract import HiddenStateModel, Position, extract, load_model
from expected_harm.probing._probes import ProbeKind, RefusalDirection, refusal_direction

LABELS = ("severity", "cost")

#: How the page names each probe kind.
PROBE_NAMES: dict[str, str] = {
    "logistic": "a logistic probe on the target's own refusals",
    "diff_in_means": "the difference-in-means direction (harmful − harmless instructions)",
}


def draw_harmless(spec: str, per_set: int, seed: int) -> pd.DataFrame:
    """The harmless instructions drawn from one set (deduplicated, seeded sample of ``per_set``).

    The safety tuning keeps these items out of its training data (``tuning.split.book_items``).
    """
    from expected_harm.datasets import load

    frame = load(spec, drop_duplicates=True)
    return frame.sample(min(per_set, len(frame)), random_state=seed)


def harmless_items(specs: Sequence[str], per_set: int, seed: int) -> pd.DataFrame:
    """:func:`draw_harmless` of every set, stacked."""
    return pd.concat([draw_harmless(spec, per_set, seed) for spec in specs], ignore_index=True)


def labelled_items(sets: Sequence[str], per_set: int, seed: int) -> pd.DataFrame:
    """The reference sample's prompts of ``sets`` with their cost and severity labels."""
    from expected_harm import threats

    return (threats.rater_items(sets, per_set, seed)
            .merge(threats.reference_labels(sets), on=["dataset", "item_id", "group"]))


def layer_numbers(layers: str | Sequence[int], n_layers: int) -> list[int]:
    """1-based layers to read: ``"all"`` or a list, each in ``1..n_layers``."""
    numbers = list(range(1, n_layers + 1)) if layers == "all" else [int(layer) for layer in layers]
    if not set(numbers) <= set(range(1, n_layers + 1)):
        raise ValueError(f"layers must lie in 1..{n_layers}, got {layers}")
    return numbers


def extract_layers(hsm: HiddenStateModel, prompts: Sequence[str], layers: Sequence[int],
                   position: Position) -> np.ndarray:
    """:func:`extract` at the chosen 1-based layers only: (prompts, len(layers), hidden)."""
    return extract(hsm, list(prompts), position=position)[:, [layer - 1 for layer in layers]]


def baseline_direction(baseline: str, hsm: HiddenStateModel, harmful: Sequence[str],
                       harmless: Sequence[str], *, layers: Sequence[int], position: Position,
                       device: str | None, dtype: str, **direction: Any) -> RefusalDirection:
    """The same measurement on a comparison model: its own probe, by the same rule.

    An embedded baseline answers the refusal screen itself; any other gets no target and so the
    difference-in-means direction unless asked otherwise.

    Raises:
        ValueError: The baseline's layer count differs from ``hsm``'s (compare one family).
    """
    base = load_model(baseline, device=device, dtype=dtype)
    if base.n_layers != hsm.n_layers:
        raise ValueError(f"baseline has {base.n_layers} layers, {hsm.name} has {hsm.n_layers}; "
                         "compare models of one family")
    return refusal_direction(
        extract_layers(base, harmful, layers, position),
        extract_layers(base, harmless, layers, position), list(harmful), list(harmless),
        target=baseline if baseline.startswith(EMBEDDED_PREFIX) else "", **direction)


def compare_final(directions: Mapping[str, RefusalDirection], labelled: pd.DataFrame,
                  layer: int, seed: int) -> pd.DataFrame:
    """Activation scores at the last read layer, per model (key) and label, for labelled prompts.

    Returns:
        :func:`activation_scores`' columns plus ``model`` and ``label``.
    """
    compared = []
    for name, found in directions.items():
        final_scores = found.scores[: len(labelled), -1:]
        good = ~np.isnan(final_scores[:, 0])
        for label in LABELS:
            compared.append(activation_scores(final_scores[good], labelled[label][good],
                                              layers=[layer], seed=seed)
                            .assign(model=name, label=label))
    return pd.concat(compared, ignore_index=True)


def _reference_cell(value: float | tuple[float, float]) -> str:
    if isinstance(value, tuple) and value[0] != value[1]:
        return f"{value[0]:.1f}–{value[1]:.1f}"
    return f"{value[0] if isinstance(value, tuple) else value:.1f}"


def final_layer_table(tables: Mapping[str, pd.DataFrame], layer: int,
                      references: Mapping[str, Mapping[int, Any]]) -> pd.DataFrame:
    """Per label: this book's mean [95% interval] (n) per level at ``layer``, and the paper's.

    Args:
        tables: Label → :func:`activation_scores` frame.
        layer: The layer shown.
        references: Label → the paper's value per level (a number, or a (low, high) range).
    """
    blocks = {}
    for label, table in tables.items():
        part = table[table["layer"] == layer].set_index("level")
        ours = pd.Series({level: f"{r['mean']:.1f} [{r['low']:.1f}, {r['high']:.1f}] "
                                 f"(n={int(r['n'])})" for level, r in part.iterrows()},
                         name=f"this book, layer {layer}")
        paper = pd.Series({level: _reference_cell(v) for level, v in references[label].items()},
                          name="paper (reference only)")
        blocks[label] = pd.DataFrame([ours, paper])
    shown = pd.concat(blocks).fillna("–")
    shown.columns = [f"level {c}" for c in shown.columns]
    return shown


def level_readings(by_severity: pd.DataFrame, by_cost: pd.DataFrame,
                   layer: int) -> dict[str, str]:
    """The page's numbers about the final-layer level means, by glue name.

    The trend is Spearman's ρ over the level means; low and high are the lowest and highest
    levels present; the cost peak is the level with the highest mean.
    """
    from scipy.stats import spearmanr

    severity = by_severity[by_severity["layer"] == layer].set_index("level")["mean"]
    cost = by_cost[by_cost["layer"] == layer].set_index("level")["mean"]
    trend = {name: spearmanr(means.index, means.to_numpy()).statistic
             for name, means in (("sev", severity), ("cost", cost))}
    return {"sev_trend": f"{trend['sev']:.2f}", "cost_trend": f"{trend['cost']:.2f}",
            "sev_low": f"{severity.iloc[0]:.1f}", "sev_high": f"{severity.iloc[-1]:.1f}",
            "cost_low": f"{cost.iloc[0]:.1f}", "cost_high": f"{cost.iloc[-1]:.1f}",
            "cost_peak": f"{int(cost.idxmax())}"}


def comparison_text(baseline: RefusalDirection | None, tuned: ProbeKind) -> str:
    """The sentence that says where each model's direction comes from."""
    if baseline is None:
        return "No baseline was probed (baseline='')."
    return (f"Before tuning the direction comes from {PROBE_NAMES[baseline.kind]} "
            f"({baseline.reason}); after tuning from {PROBE_NAMES[tuned]}.")


def cost_test_report(frame: pd.DataFrame, *, title: str, layer: int) -> tuple[str, Any]:
    """:func:`cost_given_severity` as the page's sentence and its table of linear slopes.

    A sample where the test cannot run (e.g. a level with a single prompt) gives a sentence that
    says why and a one-cell table, not an error.

    Args:
        frame: ``score, severity, cost, dataset`` per prompt.
        title: The table's index name (what was regressed).
        layer: The layer the scores come from.
    """
    try:
        found = cost_given_severity(frame)
    except ValueError as error:
        why = pd.DataFrame({"why not": [str(error)]}).rename_axis(title)  # still says what
        return f"The test cannot be run on these prompts ({error}).", why
    test, linear = found["test"], found["linear"]
    verdict = "adds" if test.p < 0.05 else "does not add"
    text = (f"Severity levels and dataset together explain R² = {test.r2_controls:.3f} of the "
            f"variance in the score; adding cost levels gives {test.r2_full:.3f} (robust Wald "
            f"F({test.df}, {test.df_resid}) = {test.statistic:.2f}, p = {test.p:.3g}): at the 5% "
            f"level, cost {verdict} to what severity and dataset explain.")
    slopes = list(LABELS)
    table = pd.DataFrame({"coefficient": linear.params[slopes],
                          "95% low": linear.conf_int()[0][slopes],
                          "95% high": linear.conf_int()[1][slopes],
                          "p (HC3)": linear.pvalues[slopes]}).round(3)
    table.index.name = title
    return text, table.style.format(precision=3).set_caption(
        f"score ~ severity + cost + dataset (fixed effects, not shown), HC3 errors, layer {layer}, "
        f"n = {found['n']} prompts from {frame['dataset'].nunique()} sets")


def decodability_summary(found: Mapping[str, Decodability], words: Mapping[str, float],
                         layer: int) -> pd.DataFrame:
    """Per label: the best layer and its ρ, the permutation threshold and p, ρ at ``layer``,
    and the bag-of-words ρ."""
    return pd.DataFrame({
        label: {"best layer": int(result.best["layer"]), "activations ρ": result.best["spearman"],
                "95% of best under permutation": result.threshold,
                "p (max over layers)": result.p_value,
                f"activations ρ, layer {layer}":
                    result.table.set_index("layer").loc[layer, "spearman"],
                "bag of words ρ": words[label]}
        for label, result in found.items()
    }).T.round(3)


def decodability_readings(found: Mapping[str, Decodability],
                          words: Mapping[str, float]) -> dict[str, str]:
    """The page's numbers about decodability, by glue name (``<label>_best`` and so on)."""
    readings = {}
    for label, result in found.items():
        best = result.best
        readings |= {f"{label}_best": f"{best['spearman']:.2f} (layer {int(best['layer'])})",
                     f"{label}_words": f"{words[label]:.2f}",
                     f"{label}_null": f"{result.threshold:.2f}",
                     f"{label}_p": f"{result.p_value:.3f}",
                     f"{label}_margin": f"{best['spearman'] - words[label]:+.2f}"}
    return readings
