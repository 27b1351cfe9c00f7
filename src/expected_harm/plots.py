"""One look for every figure in the book: style, colours, names, and provenance captions.

Every page calls :func:`set_style` once, draws with the shared palettes, and ends each figure with
:func:`add_provenance`, so that a reader can always tell what produced a figure (which models, which
judge, which data, how many items) even when the figure is copied out of the book.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

from expected_harm.harm import DEFAULT_LIKELIHOOD, LIKELIHOODS, describe_likelihood, likelihood

#: Display names of the Pr(execution | cost) functions.
LIKELIHOOD_LABELS: dict[str, str] = {
    "exponential": "Exponential decay",
    "linear": "Linear",
    "logistic": "Logistic threshold",
    "constant": "Constant (severity only)",
}

#: One colour per likelihood function, the same on every page. Colour-blind safe (seaborn
#: "colorblind"); the severity-only baseline is grey because it is the status quo, not a model.
LIKELIHOOD_PALETTE: dict[str, str] = {
    "exponential": sns.color_palette("colorblind")[0],
    "linear": sns.color_palette("colorblind")[1],
    "logistic": sns.color_palette("colorblind")[2],
    "constant": "0.55",
}

#: Display names of the dataset groups of the registry.
GROUP_LABELS: dict[str, str] = {
    "benchmark": "Benchmark",
    "real_world": "Real world",
    "jailbreak_template": "Jailbreak template",
    "training": "Safety training",
    "judge_validation": "Judge validation",
    "model_outputs": "Published model outputs",
}

#: One colour per dataset group; benchmark vs real world is the comparison the book returns to most.
GROUP_PALETTE: dict[str, str] = {
    "benchmark": sns.color_palette("colorblind")[3],
    "real_world": sns.color_palette("colorblind")[4],
    "jailbreak_template": sns.color_palette("colorblind")[7],
    "training": sns.color_palette("colorblind")[5],
}

#: Colour for the paper's own numbers, drawn as reference lines beside ours.
PAPER_COLOR = "0.2"


def set_style() -> None:
    """Apply the book's seaborn theme and matplotlib settings.

    Saves tightly so that provenance captions placed under the axes are kept in the image.
    """
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind", font_scale=1.0)
    plt.rcParams.update(
        {
            "figure.figsize": (7.0, 4.2),
            "figure.dpi": 110,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "axes.titleweight": "bold",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
        }
    )


def provenance_text(
    *,
    source: str | None = None,
    models: Iterable[str] | str | None = None,
    judge: str | None = None,
    dataset: Iterable[str] | str | None = None,
    n: int | None = None,
    parameters: str | None = None,
) -> str:
    """One line saying what produced a figure, e.g. ``"Models: a, b · Judge: j · n = 120"``.

    Args:
        source: What kind of result it is, e.g. ``"analytic"`` or ``"paper, Table 2"``.
        models: Target model spec(s).
        judge: Judge model spec and template.
        dataset: Dataset name(s).
        n: Number of items behind the figure.
        parameters: Settings that shape the figure, e.g. the likelihood function.

    Returns:
        The parts that were given, joined by " · ".

    Raises:
        ValueError: If nothing at all was given (a figure must say where it comes from).
    """

    def joined(value: Iterable[str] | str) -> str:
        return value if isinstance(value, str) else ", ".join(value)

    parts = [
        f"Source: {source}" if source else None,
        f"Models: {joined(models)}" if models else None,
        f"Judge: {judge}" if judge else None,
        f"Data: {joined(dataset)}" if dataset else None,
        f"n = {n:,}" if n is not None else None,
        f"Parameters: {parameters}" if parameters else None,
    ]
    text = " · ".join(p for p in parts if p)
    if not text:
        raise ValueError("a provenance caption needs at least one of source, models, judge, "
                         "dataset, n, parameters")
    return text


def add_provenance(target: Figure | Axes, **provenance: object) -> Text:
    """Write :func:`provenance_text` in small grey type under a figure.

    Args:
        target: An axes, or a figure (the caption then goes under its lowest axes).
        **provenance: Keyword arguments of :func:`provenance_text`.

    Returns:
        The caption's text artist. It hangs just below the x-axis label, wherever tick labels and
        label end up, and starts at the figure's left edge; inline notebook output and
        ``savefig`` (with :func:`set_style`'s tight bounding box) include it.

    Raises:
        ValueError: If the figure has no axes to hang the caption under.
    """
    if isinstance(target, Figure):
        if not target.axes:
            raise ValueError("add_provenance needs a figure with at least one axes")
        target = min(target.axes, key=lambda axes: axes.get_position().y0)
    return target.annotate(
        provenance_text(**provenance),  # type: ignore[arg-type]
        xy=(0.01, 0.0),
        xycoords=("figure fraction", target.xaxis.label),
        xytext=(0, -6),
        textcoords="offset points",
        ha="left", va="top", fontsize=8, color="0.35",
    )


def likelihood_curves(
    names: Iterable[str] | None = None,
    params: Mapping[str, Mapping[str, float]] | None = None,
    n_points: int = 161,
) -> pd.DataFrame:
    """Pr(execution | cost) on a fine grid of costs, one row per (function, cost).

    Args:
        names: Functions to include; all of :data:`~expected_harm.harm.LIKELIHOODS` by default.
        params: Parameter overrides per function name.
        n_points: Grid size over [1, 5].

    Returns:
        A tidy frame with columns ``likelihood``, ``cost``, ``probability``.
    """
    names = list(names or LIKELIHOODS)
    params = dict(params or {})
    cost = np.linspace(1.0, 5.0, n_points)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "likelihood": name,
                    "cost": cost,
                    "probability": likelihood(name, **params.get(name, {}))(cost),
                }
            )
            for name in names
        ],
        ignore_index=True,
    )


def plot_likelihoods(
    ax: Axes | None = None,
    *,
    names: Iterable[str] | None = None,
    params: Mapping[str, Mapping[str, float]] | None = None,
    highlight: str = DEFAULT_LIKELIHOOD,
    caption: bool = True,
) -> Axes:
    """Draw the Pr(execution | cost) family: cost 1..5 on x, probability on y, one line each.

    The highlighted function (the default) is drawn thicker and labelled "(default)"; markers sit on
    the integer costs that ratings actually take.

    Args:
        ax: Axes to draw on; a new figure if None.
        names: Functions to draw; all of them by default.
        params: Parameter overrides per function name, as in :func:`likelihood_curves`.
        highlight: Function to emphasise.
        caption: Add a provenance caption naming every function's parameters.

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots()
    params = dict(params or {})
    curves = likelihood_curves(names, params)
    names = list(dict.fromkeys(curves["likelihood"]))
    if highlight not in names:
        raise ValueError(f"highlight {highlight!r} is not among the plotted functions {names}")
    for name in names:
        curve = curves[curves["likelihood"] == name]
        label = LIKELIHOOD_LABELS.get(name, name) + (" (default)" if name == highlight else "")
        color = LIKELIHOOD_PALETTE.get(name)
        sns.lineplot(
            data=curve, x="cost", y="probability", ax=ax, color=color, label=label,
            linewidth=3.2 if name == highlight else 1.6,
            linestyle="--" if name == "constant" else "-",
            zorder=3 if name == highlight else 2,
        )
        points = curve[np.isclose(curve["cost"] % 1, 0)]
        sns.scatterplot(
            data=points, x="cost", y="probability", ax=ax, color=color, s=36, zorder=4,
            legend=False,
        )
    ax.set(
        xlabel="Execution cost (1 = trivial … 5 = prohibitive)",
        ylabel="Pr(execution | cost)",
        xticks=[1, 2, 3, 4, 5],
        xlim=(0.9, 5.1),
        ylim=(0, 1.05),
    )
    # Outside the axes: every corner inside is crossed by some member of the family.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if caption:
        add_provenance(
            ax,
            source="analytic functions",
            parameters="; ".join(describe_likelihood(n, **params.get(n, {})) for n in names),
        )
    return ax


#: Sequential colours for the five levels of a scale (light = low, dark = high).
LEVEL_PALETTE = sns.color_palette("rocket_r", 5)


def plot_level_shares(shares: pd.DataFrame, ax: Axes | None = None, *, title: str = "",
                      xlabel: str = "share of prompts") -> Axes:
    """Stacked horizontal bars: the share of each level 1–5 per row of ``shares``.

    Args:
        shares: One row per dataset, columns 1–5, rows summing to 1 (``threats.level_shares``).
        ax: Axes to draw on (a new figure by default).
        title: Axes title.
        xlabel: Label of the x axis.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 0.45 * len(shares) + 1.2))
    left = np.zeros(len(shares))
    for level, color in zip(shares.columns, LEVEL_PALETTE):
        ax.barh(shares.index, shares[level], left=left, color=color, label=str(level))
        left += shares[level].to_numpy()
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(title="level", ncols=5, loc="lower center",
              bbox_to_anchor=(0.5, 1.0 if not title else 1.08),
              handlelength=1.0, columnspacing=0.8)
    ax.grid(axis="y", visible=False)
    return ax


def plot_group_means(means: pd.DataFrame, ax: Axes | None = None, *, by: str = "group",
                     references: Mapping[str, float] | None = None, xlabel: str = "mean") -> Axes:
    """Dots with 95% intervals per group (``threats.group_means``), and labelled paper references.

    Args:
        means: Columns ``by``, ``mean``, ``low``, ``high``, ``n``.
        ax: Axes to draw on.
        by: The grouping column; groups of the registry get the book's group colours.
        references: Paper values to draw as dashed vertical lines, label → value. They are the
            paper's numbers, never ours, and the legend says so.
        xlabel: Label of the x axis.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 0.5 * len(means) + 1.5))
    labels = [GROUP_LABELS.get(str(g), str(g)) for g in means[by]]
    colors = [GROUP_PALETTE.get(str(g), "0.3") for g in means[by]]
    y = np.arange(len(means))
    ax.errorbar(means["mean"], y,
                xerr=[means["mean"] - means["low"], means["high"] - means["mean"]],
                fmt="none", ecolor="0.4", capsize=3)
    ax.scatter(means["mean"], y, c=colors, s=60, zorder=3)
    ax.set_yticks(y, [f"{lab} (n={n})" for lab, n in zip(labels, means["n"])])
    for i, (label, value) in enumerate((references or {}).items()):
        ax.axvline(value, color=PAPER_COLOR, linestyle=(0, (4, 2 + 2 * i)), linewidth=1,
                   label=f"paper: {label} = {value:g}")
    if references:
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, fontsize="small")
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)
    return ax


def plot_cost_severity_heatmaps(frame: pd.DataFrame, *, by: str = "group", cost: str = "cost",
                                severity: str = "severity") -> Figure:
    """One heatmap per group: share of prompts in each (cost, severity) cell."""
    groups = [g for g in GROUP_LABELS if g in set(frame[by])] or sorted(frame[by].unique())
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.9), sharey=True,
                             squeeze=False)
    for ax, group in zip(axes[0], groups):
        part = frame[frame[by] == group]
        table = pd.crosstab(part[severity].astype(int), part[cost].astype(int))
        table = table.reindex(index=[5, 4, 3, 2, 1], columns=[1, 2, 3, 4, 5], fill_value=0)
        sns.heatmap(table / len(part), ax=ax, vmin=0, vmax=0.5, cmap="rocket_r", annot=True,
                    fmt=".0%", cbar=False, annot_kws={"fontsize": 8}, linewidths=0.5,
                    linecolor="white")
        ax.set_title(f"{GROUP_LABELS.get(group, group)} (n={len(part)})")
        ax.set_xlabel("execution cost")
        ax.set_ylabel("severity" if ax is axes[0][0] else "")
    return fig


# --- Figures of the threat-distribution and calibration pages -------------------------------


def plot_cost_severity_shares(frame: pd.DataFrame, order: list[str]) -> Figure:
    """Two panels of :func:`plot_level_shares`: execution cost and severity per set, in ``order``.

    Args:
        frame: One row per labelled prompt, columns ``dataset``, ``cost``, ``severity``.
        order: The sets, top to bottom (``threats.set_order``).
    """
    from expected_harm.threats import level_shares

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    plot_level_shares(level_shares(frame, "cost").loc[order], left, title="Execution cost")
    plot_level_shares(level_shares(frame, "severity").loc[order], right, title="Severity")
    return fig


def plot_harm_by_likelihood(per_set: pd.DataFrame, highlight: str = DEFAULT_LIKELIHOOD,
                            *, by: str = "dataset") -> Axes:
    """Mean Expected Harm per row of ``by``, one line per Pr(execution | cost) function.

    Rows are sorted by the ``highlight``ed function's mean, which is drawn solid and thick; the
    others are dashed.

    Args:
        per_set: :func:`~expected_harm.harm.aggregate_expected_harm` by ``by``.
        highlight: The function the page chose.
        by: The column naming a row.
    """
    order = harm_order(per_set, highlight, by=by)
    _, ax = plt.subplots(figsize=(8, 5))
    for name, part in per_set.groupby("likelihood", sort=False):
        part = part.set_index(by).loc[order]
        chosen = name == highlight
        ax.plot(part["mean"], range(len(part)), "o-" if chosen else "o--",
                color=LIKELIHOOD_PALETTE[name], label=LIKELIHOOD_LABELS[name],
                linewidth=2 if chosen else 1, alpha=1 if chosen else 0.7)
    ax.set_yticks(range(len(order)), order)
    ax.invert_yaxis()
    ax.set_xlabel("mean Expected Harm of full compliance (0–5)")
    ax.legend(loc="lower right", fontsize="small")
    return ax


def harm_order(per_set: pd.DataFrame, highlight: str, *, by: str = "dataset") -> list[str]:
    """The rows of ``per_set`` from highest to lowest mean under ``highlight``."""
    chosen = per_set[per_set["likelihood"] == highlight]
    return chosen.sort_values("mean", ascending=False)[by].tolist()


def plot_confusions(paired: pd.DataFrame, scales: tuple[str, ...] = ("cost", "severity"), *,
                    other: str = "rater") -> Figure:
    """One confusion heatmap per scale: reference level (rows) against ``<scale>_<other>``."""
    from expected_harm.stats import confusion

    fig, axes = plt.subplots(1, len(scales), figsize=(4.5 * len(scales), 4), squeeze=False)
    for ax, scale in zip(axes[0], scales):
        table = confusion(paired[scale], paired[f"{scale}_{other}"])
        sns.heatmap(table, annot=True, fmt="d", cmap="Blues", cbar=False, ax=ax)
        ax.set_xlabel(f"{other} {scale}")
        ax.set_ylabel(f"reference {scale}")
        ax.set_title(scale)
    return fig


def plot_asr_by_level(
    rates: pd.DataFrame,
    *,
    panel: str = "target",
    hue: str = "attack",
    levels: tuple[str, ...] = ("cost", "severity"),
    calibrated_arrow: bool = True,
) -> Figure:
    """ASR by level with Wilson intervals: one column per ``panel`` value, one row per level.

    With ``calibrated_arrow`` the first cost panel carries a dashed arrow: the direction a
    well-calibrated model would show (success rising with cost), so the reader can compare.

    Args:
        rates: Long table from :func:`expected_harm.stats.proportions_by_group` grouped by
            ``[panel, hue, level]`` for each level, stacked, with a ``level`` column naming the
            level and a ``value`` column holding it (1–5).
        panel: Column whose values get one column of panels each (e.g. the target model).
        hue: Column drawn as one coloured line each (e.g. the attack).
        levels: The levels, one row of panels each.

    Returns:
        The figure; the caller adds :func:`add_provenance`.
    """
    panels = list(dict.fromkeys(rates[panel]))
    hues = list(dict.fromkeys(rates[hue]))
    palette = dict(zip(hues, sns.color_palette("colorblind", len(hues))))
    size = (2.9 * len(panels), 2.7 * len(levels))
    fig, axes = plt.subplots(len(levels), len(panels), figsize=size,
                             sharex=True, sharey=True, squeeze=False)
    for row, level in enumerate(levels):
        for column, name in enumerate(panels):
            ax = axes[row][column]
            part = rates[(rates["level"] == level) & (rates[panel] == name)]
            for index, (key, line) in enumerate(part.groupby(hue, sort=False)):
                offset = 0.08 * (hues.index(key) - (len(hues) - 1) / 2)
                error = np.clip([line["rate"] - line["low"], line["high"] - line["rate"]], 0, None)
                ax.errorbar(line["value"] + offset, line["rate"], yerr=error, fmt="-o",
                            markersize=3.5, capsize=2, linewidth=1.2, color=palette[key],
                            label=key)
            ax.set(xticks=[1, 2, 3, 4, 5], xlim=(0.6, 5.4), ylim=(-0.03, 1.03))
            if row == 0:
                ax.set_title(name, fontsize="medium")
            if calibrated_arrow and level == "cost" and column == 0:
                ax.annotate("", xy=(4.8, 0.9), xytext=(1.2, 0.1),
                            arrowprops={"arrowstyle": "->", "color": PAPER_COLOR,
                                        "linestyle": "--", "alpha": 0.5})
                ax.text(1.3, 0.62, "well calibrated:\nrises with cost", color=PAPER_COLOR,
                        fontsize=7)
            ax.set_xlabel(f"{level} level")  # each row has its own level on x
            ax.tick_params(labelbottom=True)
            if column == 0:
                ax.set_ylabel(f"ASR by {level}")
    handles = {label: handle for ax in axes.flat
               for handle, label in zip(*ax.get_legend_handles_labels())}
    fig.legend(handles.values(), handles.keys(), loc="lower center", bbox_to_anchor=(0.5, 1.0),
               ncols=len(handles), fontsize="small", frameon=False)
    return fig


# ------------------------------------------------ decomposition (notebook 03)


def plot_decomposition_uplift(table: pd.DataFrame) -> Figure:
    """ASR on the whole request and on its decomposition, per target, with 95% intervals and
    the dataset authors' published ASRs as open grey markers.

    Args:
        table: :func:`expected_harm.decomposition.evidence.uplift_table`.
    """
    fig, ax = plt.subplots(figsize=(6.0, 3.0))
    y = np.arange(len(table))
    palette = sns.color_palette("colorblind", 2)
    for offset, (condition, color) in zip((-0.12, 0.12), zip(("vanilla", "decomposed"), palette)):
        error = np.clip([table[condition] - table[f"{condition}_low"],
                         table[f"{condition}_high"] - table[condition]], 0, None)
        ax.errorbar(table[condition], y + offset, xerr=error, fmt="o", color=color, capsize=2,
                    markersize=4, label="whole request" if condition == "vanilla"
                    else "decomposed")
        ax.scatter(table[f"{condition}_authors"], y + offset, s=40, facecolors="none",
                   edgecolors=PAPER_COLOR, linewidths=0.8, zorder=3,
                   label="dataset authors (reference)" if condition == "vanilla" else None)
    ax.set(yticks=y, yticklabels=table["target"], xlim=(0, 1), xlabel="ASR (GPT-4o verdict)")
    ax.invert_yaxis()
    ax.legend(loc="lower right", fontsize="small", frameon=False)
    return fig


def plot_step_costs(frame: pd.DataFrame) -> Figure:
    """Each labelled sub-question's cost and severity against its original's: how many
    sub-questions sit at each (original, step) level pair, with the diagonal "no change".

    Args:
        frame: :func:`expected_harm.decomposition.evidence.step_cost_frame`.
    """
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.2), sharey=True)
    for ax, scale in zip(axes, ("cost", "severity")):
        counts = frame.groupby([f"original_{scale}", f"step_{scale}"]).size().rename("n")
        counts = counts.reset_index()
        ax.scatter(counts[f"original_{scale}"], counts[f"step_{scale}"], s=12 * counts["n"],
                   color=sns.color_palette("colorblind", 1)[0], alpha=0.6)
        for _, row in counts.iterrows():
            ax.annotate(str(int(row["n"])), (row[f"original_{scale}"], row[f"step_{scale}"]),
                        fontsize=6, ha="center", va="center")
        ax.plot([1, 5], [1, 5], linestyle="--", color=PAPER_COLOR, linewidth=0.8)
        ax.set(xticks=range(1, 6), yticks=range(1, 6), xlim=(0.4, 5.6), ylim=(0.4, 5.6),
               xlabel=f"original's {scale}", title=scale)
    axes[0].set_ylabel("sub-question's level")
    return fig


# ------------------------------------------------ guardrails (notebook 04)


def plot_guard_bypass(table: pd.DataFrame, paper_task_pass: Mapping[str, float] | None = None
                      ) -> Figure:
    """Per defence and screening mode: harmful tasks that pass (left) and benign tasks flagged
    (right), with 95% intervals; the paper's task pass rates as grey reference lines.

    Args:
        table: :func:`expected_harm.guardrails.bypass_table`.
        paper_task_pass: The paper's whole-task pass rates by guard (labelled "paper").
    """
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 0.45 * len(table) + 1.2), sharey=True)
    y = np.arange(len(table))
    color = sns.color_palette("colorblind", 1)[0]
    for ax, (column, label) in zip(axes, (("task_pass", "harmful tasks passing"),
                                          ("benign_flagged", "benign tasks flagged"))):
        if column not in table:
            continue
        error = np.clip([table[column] - table[f"{column}_low"],
                         table[f"{column}_high"] - table[column]], 0, None)
        ax.errorbar(table[column], y, xerr=error, fmt="o", color=color, capsize=2, markersize=4)
        ax.set(xlim=(0, 1), xlabel=label)
    for (name, value), style in zip((paper_task_pass or {}).items(), (":", "--", "-.")):
        axes[0].axvline(value, color=PAPER_COLOR, linestyle=style, linewidth=0.8,
                        label=f"paper: {name} ({value:.0%}, reference)")
    if paper_task_pass:
        axes[0].legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize="x-small",
                       frameon=False, ncol=len(paper_task_pass))
    labels = [f"{g} · {m}" for g, m in zip(table["guard"], table["mode"])]
    if table["source"].nunique() > 1:
        labels = [f"{s}: {label}" for s, label in zip(table["source"], labels)]
    axes[0].set(yticks=y, yticklabels=labels)
    axes[0].invert_yaxis()
    return fig


# ------------------------------------------------ probing (notebook 05) and models (models page)


def _level_bars(ax: Axes, part: pd.DataFrame, **bar: object) -> None:
    """Bars of ``mean`` per ``level`` with ``low``–``high`` error bars."""
    error = np.clip([part["mean"] - part["low"], part["high"] - part["mean"]], 0, None)
    ax.bar(part["level"], part["mean"], **bar)
    ax.errorbar(part["level"], part["mean"], yerr=error, fmt="none", color="0.3", capsize=3)


def plot_probe_levels(tables: Mapping[str, pd.DataFrame], layer: int,
                      references: Mapping[str, Mapping[int, object]]) -> Figure:
    """The paper's two panels: activation score per level at ``layer``, with its reference values.

    Args:
        tables: Label (``severity``, ``cost``) → ``layer, level, mean, low, high`` frame.
        layer: The layer drawn.
        references: Label → the paper's value per level, a number or a (low, high) range; drawn
            as black diamonds (and bars for ranges), marked as a reference.

    Returns:
        The figure; the caller adds :func:`add_provenance`.
    """
    fig, axes = plt.subplots(1, len(tables), figsize=(10, 4.2), sharey=True, squeeze=False)
    for ax, (label, table) in zip(axes[0], tables.items()):
        part = table[table["layer"] == layer]
        _level_bars(ax, part, color=[LEVEL_PALETTE[level - 1] for level in part["level"]],
                    alpha=0.85, label="this book")
        reference = references.get(label, {})
        for level, value in reference.items():
            low, high = value if isinstance(value, tuple) else (value, value)
            ax.plot([level], [(low + high) / 2], "D", color=PAPER_COLOR, markersize=7,
                    label="paper (reference)" if level == min(reference) else None)
            if high > low:
                ax.vlines(level, low, high, color=PAPER_COLOR, linewidth=3)
        ax.set(xticks=range(1, 6), ylim=(0, 100), xlabel=f"{label} level", title=f"by {label}")
    axes[0][0].set_ylabel(f"activation score, layer {layer} (0–100)")
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="upper center", ncols=2,
               fontsize="small", bbox_to_anchor=(0.5, 1.06))
    return fig


def plot_probe_layers(tables: Mapping[str, pd.DataFrame]) -> Figure:
    """Activation score per level across layers, one panel per label, 95% bands."""
    fig, axes = plt.subplots(1, len(tables), figsize=(11, 4.2), sharey=True, squeeze=False)
    for ax, (label, table) in zip(axes[0], tables.items()):
        for level, part in table.groupby("level"):
            color = LEVEL_PALETTE[level - 1]
            ax.plot(part["layer"], part["mean"], "o-", markersize=3, color=color,
                    label=f"{label} {level} (n={part['n'].iloc[0]})")
            ax.fill_between(part["layer"], part["low"], part["high"], color=color, alpha=0.12)
        ax.set(xlabel="layer", title=f"by {label}", ylim=(0, 100))
        ax.legend(fontsize="x-small", loc="lower right")
    axes[0][0].set_ylabel("activation score (0–100)")
    return fig


def plot_probe_comparison(compared: pd.DataFrame, layer: int) -> Figure:
    """Two models' activation scores per level side by side, one panel per label.

    Args:
        compared: ``model, label, level, mean, low, high`` (two models, in drawing order).
        layer: The layer the scores come from.
    """
    labels = list(dict.fromkeys(compared["label"]))
    fig, axes = plt.subplots(1, len(labels), figsize=(10, 4.0), sharey=True, squeeze=False)
    for ax, label in zip(axes[0], labels):
        by_model = compared[compared["label"] == label].groupby("model", sort=False)
        for j, (name, part) in enumerate(by_model):
            x = part["level"] + 0.4 * (j - 0.5)
            error = np.clip([part["mean"] - part["low"], part["high"] - part["mean"]], 0, None)
            ax.bar(x, part["mean"], width=0.38, color=f"C{j}", alpha=0.85, label=name)
            ax.errorbar(x, part["mean"], yerr=error, fmt="none", color="0.3", capsize=2)
        ax.set(xticks=range(1, 6), ylim=(0, 100), xlabel=f"{label} level", title=f"by {label}")
    axes[0][0].set_ylabel(f"activation score, layer {layer} (0–100)")
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="upper center", ncols=2,
               fontsize="small", bbox_to_anchor=(0.5, 1.06))
    return fig


def plot_decodability(decoded: pd.DataFrame, thresholds: Mapping[str, float],
                      words: Mapping[str, float]) -> Figure:
    """Cross-validated ρ per layer for each label, against its permutation and words controls.

    Args:
        decoded: ``label, layer, spearman, shuffled``.
        thresholds: Label → 95th percentile of the best layer's ρ under permuted labels.
        words: Label → the bag-of-words probe's ρ.
    """
    fig, ax = plt.subplots(figsize=(10, 4.2))
    for color, (label, part) in zip(("C0", "C1"), decoded.groupby("label", sort=False)):
        ax.plot(part["layer"], part["spearman"], "o-", markersize=3, color=color,
                label=f"{label}: activations")
        ax.plot(part["layer"], part["shuffled"], ":", color=color,
                label=f"{label}: permuted labels (mean)")
        ax.axhline(thresholds[label], color=color, linestyle="-.", linewidth=1,
                   label=f"{label}: 95% of the best layer under permutation")
        ax.axhline(words[label], color=color, linestyle="--", linewidth=1,
                   label=f"{label}: bag of words")
    ax.set(xlabel="layer", ylabel="cross-validated Spearman ρ")
    ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def plot_training_loss(loss: Iterable[float], window: int = 10) -> Figure:
    """The loss per optimiser step and its running mean over ``window`` steps."""
    series = pd.Series(list(loss))
    series.index = range(1, len(series) + 1)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot(series.index, series, color="0.75", linewidth=1, label="per step")
    ax.plot(series.index, series.rolling(window, min_periods=1).mean(), color="C0",
            label=f"mean of {window} steps")
    ax.set(xlabel="optimiser step", ylabel="loss (answer tokens)", title="Training loss")
    ax.legend()
    return fig


def plot_refusal_rates(table: pd.DataFrame, models: Iterable[str],
                       targets: Mapping[str, tuple[float, str]]) -> Figure:
    """Share refused per set and pooled, per model, one panel per prompt kind, with targets.

    Args:
        table: ``kind, spec, model, rate, low, high``; pooled rows have spec ``all <kind>``.
        models: The models, in legend order.
        targets: Kind → (target share, its label), drawn as a dashed line.
    """
    models = list(models)
    fig, axes = plt.subplots(len(targets), 1, figsize=(8, 5.2), sharex=True, squeeze=False)
    palette = dict(zip(models, sns.color_palette("colorblind", len(models))))
    for ax, (kind, (line, text)) in zip(axes[:, 0], targets.items()):
        part = table[table["kind"] == kind]
        specs = [s for s in dict.fromkeys(part["spec"]) if not s.startswith("all")]
        specs.append(f"all {kind}")
        for j, model in enumerate(models):
            rows = part[part["model"] == model].set_index("spec").loc[specs]
            y = [i + 0.18 * (j - (len(models) - 1) / 2) for i in range(len(specs))]
            # clipped: rounding at 0% and 100% can put an interval a hair past its estimate
            spread = np.clip([rows["rate"] - rows["low"], rows["high"] - rows["rate"]], 0, None)
            ax.errorbar(rows["rate"], y, xerr=spread, fmt="o", capsize=3, color=palette[model],
                        label=model if kind == next(iter(targets)) else None)
        ax.axvline(line, color=PAPER_COLOR, linestyle="--", linewidth=1, label=text)
        ax.set_yticks(range(len(specs)), specs)
        ax.set_ylim(len(specs) - 0.5, -0.5)
        ax.set_title(f"{kind} prompts (held out)", loc="left")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
    axes[-1, 0].set(xlim=(-0.02, 1.02), xlabel="share refused")
    return fig
