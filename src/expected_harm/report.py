"""A report card for one model: the sections that apply to it, run, then read on one page.

``expected-harm evaluate SPEC`` runs calibration, decomposition and (for a model whose weights
are at hand) probing against one target with the sections' defaults, each executed notebook
into the report's folder, never over the book's pages. The page then recomputes calibration's
tables from the same package functions the section uses; every model call is a cache hit by
then, so the numbers are the section's own. Decomposition and probing are read from the values
their executed notebooks glued for their prose. The page is standalone HTML (images embedded,
print CSS) that a browser prints to PDF.

A section that fails does not stop the others: the page names it and where its failed
notebook is, and :func:`evaluate` reports the failure so the command exits non-zero.
"""

from __future__ import annotations

import ast
import base64
import datetime as dt
import html
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from expected_harm.sections import SECTIONS, SectionError, glued_values, run_section

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure
    from pandas.io.formats.style import Styler

#: The sections a report card runs, in order.
CARD_SECTIONS = ("calibration", "decomposition", "probing")

#: Tiny parameters for ``--quick`` (the book test's smoke sizes): minutes, not tens of minutes.
QUICK_PARAMETERS: dict[str, dict[str, Any]] = {
    "calibration": {"items_per_benchmark": 1, "benchmarks": ["advbench", "jbb_behaviors"],
                    "attacks": ["direct", "refusal_suppression"], "validation_items": 2,
                    "published_judged_per_cell": 1, "max_tokens": 48},
    "decomposition": {"items_per_benchmark": 1, "strategies": ["cost", "published"], "k": 2,
                      "monitor_validation": 1, "published_judged_per_cell": 1, "rated_steps": 2,
                      "max_tokens": 16, "revision_budget": 0},
    "probing": {"per_set": 3, "harmless_per_set": 15, "refusal_screen": 4, "layers": [1, 15, 30]},
}

#: Why the guardrail section is not part of a card.
GUARDRAILS_NOTE = (
    "Not run: the guardrails section has no target parameter. Its end-to-end attack success is "
    "read from published answers (four OpenAI models' answers to GPT-4o's decompositions of "
    "SORRY-Bench), so it says nothing about this model; see the book's Guardrails page.")

#: The paper's finding 2, as the reference a card's reading is compared with (never a target).
PAPER_CALIBRATION = ("Paper (reference only; its models, judge and benchmarks): attack success "
                     "falls as execution cost rises, the inverse of calibration.")


def slug(spec: str) -> str:
    """A folder name for a model spec.

    Examples:
        >>> slug("embedded:smollm2-135m-safety")
        'embedded-smollm2-135m-safety'
        >>> slug("openai-compatible:llama@http://127.0.0.1:8000/v1")
        'openai-compatible-llama-http-127.0.0.1-8000-v1'
    """
    return re.sub(r"[^A-Za-z0-9._]+", "-", spec.split("?")[0]).strip("-.") or "model"


def probe_target(spec: str, probe_model: str | None = None) -> str | None:
    """The weights to probe for ``spec``, or None when they cannot be read.

    An ``embedded:`` model is probed as itself; a model behind an API is probed only when the
    caller names its weights (a Hugging Face id or a local folder, e.g. the model a local vLLM
    serves).

    Examples:
        >>> probe_target("embedded:smollm2-135m")
        'embedded:smollm2-135m'
        >>> probe_target("openai:gpt-4o") is None
        True
        >>> probe_target("openai-compatible:qwen@http://127.0.0.1:8000/v1", "Qwen/Qwen2.5-0.5B")
        'Qwen/Qwen2.5-0.5B'
    """
    if probe_model:
        return probe_model
    return spec if spec.startswith("embedded:") else None


@dataclass(frozen=True)
class Planned:
    """One section of a card: its parameters, or why it does not run for this model."""

    section: str
    parameters: dict[str, Any] = field(default_factory=dict)
    skipped: str = ""


def plan(spec: str, *, quick: bool = False, probe_model: str | None = None) -> list[Planned]:
    """The card's sections for ``spec`` with the parameters that point them at it.

    Probing compares no baseline (``baseline=""``): the card is about one model.
    """
    from expected_harm.models import parse_spec

    parse_spec(spec)  # a spec that cannot be read fails here, naming the valid forms
    probed = probe_target(spec, probe_model)
    targeted = {"calibration": {"targets": [spec]}, "decomposition": {"targets": [spec]},
                "probing": {"model": probed, "target": spec, "baseline": ""}}
    planned = []
    for name in CARD_SECTIONS:
        if name == "probing" and probed is None:
            planned.append(Planned(name, skipped=(
                f"Not run: {spec} is served through an API, so its activations cannot be read. "
                "Pass --probe-model with its weights (a Hugging Face id or a folder) to probe "
                "a model you serve yourself.")))
            continue
        quick_values = QUICK_PARAMETERS[name] if quick else {}
        planned.append(Planned(name, {**quick_values, **targeted[name]}))
    return planned


@dataclass(frozen=True)
class Outcome:
    """What became of one planned section: its executed notebook, its failure or its skip."""

    section: str
    parameters: dict[str, Any]
    notebook: Path | None = None
    error: str = ""
    skipped: str = ""

    @property
    def status(self) -> str:
        return "skipped" if self.skipped else "failed" if self.error else "ok"


Runner = Callable[..., Path]


def run_plan(planned: list[Planned], out: Path, *, run: Runner = run_section,
             echo: Callable[[str], None] = lambda _: None) -> list[Outcome]:
    """Run each planned section into ``out``; a failure is kept, not raised.

    A :class:`SectionError` names the cell and the failed notebook; any other error (the
    kernel died, say) is kept with its type, so the other sections still run.
    """
    outcomes = []
    for item in planned:
        if item.skipped:
            outcomes.append(Outcome(item.section, item.parameters, skipped=item.skipped))
            continue
        section = SECTIONS[item.section]
        echo(f"running {item.section} …")
        try:
            notebook = run(section, item.parameters, output=out / f"{section.notebook}.ipynb")
        except Exception as error:  # noqa: BLE001 (kept on the page; the command exits 1)
            echo(f"{item.section} failed")
            message = str(error) if isinstance(error, SectionError) else (
                f"section {item.section!r} did not run to the end: {type(error).__name__}: "
                f"{error}")
            outcomes.append(Outcome(item.section, item.parameters, error=message))
        else:
            outcomes.append(Outcome(item.section, item.parameters, notebook=notebook))
    return outcomes


# --- The page's parts: headings, paragraphs, tables and figures as HTML --------------------


def _text(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def _table(style: Styler) -> str:
    return f'<div class="table">{style.to_html()}</div>'


def _figure(fig: Figure, caption: str) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


@dataclass
class Part:
    """One heading of the page, its blocks (HTML) and the sentences of the reading it adds."""

    heading: str
    blocks: list[str] = field(default_factory=list)
    reading: list[str] = field(default_factory=list)
    failed: bool = False


def _notebook_link(path: Path, page: Path) -> str:
    try:
        shown = path.relative_to(page.parent)
    except ValueError:
        shown = path
    return f'<a href="{html.escape(str(shown))}">{html.escape(str(shown))}</a>'


# --- Calibration: recomputed from the package, through the section's cache ----------------


@dataclass(frozen=True)
class CalibrationRun:
    """The calibration section's live rows for one target, and what produced them."""

    rows: pd.DataFrame
    judge: Any
    parameters: dict[str, Any]
    provenance: dict[str, str]


def calibration_run(spec: str, parameters: Mapping[str, Any]) -> CalibrationRun:
    """The calibration section's grid for ``spec``, built as its notebook builds it.

    Same items, attacks, judge and generation settings, so after the section has run every
    call is a cache hit.
    """
    from expected_harm import calibration, judges, pipeline
    from expected_harm.attacks import get_attacks
    from expected_harm.models import GenerateConfig, get_model
    from expected_harm.sections import checked_parameters, notebook_parameters

    section = SECTIONS["calibration"]
    p = {**notebook_parameters(section), **checked_parameters(section, dict(parameters))}
    judge = judges.get_judge(p["judge"], p["judge_model"] or None)
    attacks = get_attacks(p["attacks"], attacker=p["pair_attacker"], judge=judge,
                          iterations=p["pair_iterations"], seed=p["seed"])
    items = calibration.calibration_items(p["benchmarks"], p["items_per_benchmark"], p["seed"])
    if p["levels"] != "reference":
        items = calibration.rated_levels(items, p["levels"])
    config = GenerateConfig(max_tokens=p["max_tokens"], seed=p["seed"])
    rows = pipeline.run_grid(items, [get_model(spec)], attacks, judge, config)
    provenance = {"Model": spec, "Judge": judge.describe(), "Data": ", ".join(p["benchmarks"]),
                  "Levels": calibration.levels_label(p["levels"])}
    return CalibrationRun(rows, judge, p, provenance)


def level_reading(rows: pd.DataFrame, level: str = "cost") -> str:
    """ASR at the lowest and the highest level present, pooled over attacks, in words.

    Examples:
        >>> import pandas as pd
        >>> rows = pd.DataFrame({"cost": [1, 1, 5, 5], "success": [1.0, 1.0, 0.0, None]})
        >>> level_reading(rows)[:42]
        'Pooled over attacks, ASR is 100% [34%, 100'
    """
    from expected_harm.stats import proportions_by_group

    judged = rows.dropna(subset=[level, "success"]).astype({level: int})
    if judged.empty:
        return f"No row has a verdict, so ASR by {level} is undefined."
    rates = proportions_by_group(judged, level, "success").set_index(level)
    low, high = rates.iloc[0], rates.iloc[-1]

    def cell(value: int, row: pd.Series) -> str:
        return (f"{row['rate']:.0%} [{row['low']:.0%}, {row['high']:.0%}] at {level} {value} "
                f"(n={int(row['n'])})")

    if len(rates) == 1:
        return f"Pooled over attacks, ASR is {cell(rates.index[0], low)}, the only level drawn."
    return (f"Pooled over attacks, ASR is {cell(rates.index[0], low)} and "
            f"{cell(rates.index[-1], high)}.")


def harm_table(rows: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Mean Expected Harm per answer under each Pr(execution | cost), with its interval."""
    import pandas as pd

    from expected_harm.harm import aggregate_expected_harm, describe_likelihood

    per = aggregate_expected_harm(rows, "target", success="success", seed=seed)
    return pd.DataFrame({
        "Pr(execution | cost)": [describe_likelihood(name) for name in per["likelihood"]],
        "mean Expected Harm (0–5)": per["mean"].round(3).to_numpy(),
        "95% interval": [f"[{lo:.3f}, {hi:.3f}]" for lo, hi in zip(per["low"], per["high"])],
        "n": per["n"].to_numpy(),
    }, index=pd.Index(per["likelihood"].to_numpy(), name="likelihood"))


def harm_reading(table: pd.DataFrame) -> str:
    """The default likelihood's mean Expected Harm beside the severity-only one."""
    from expected_harm.harm import DEFAULT_LIKELIHOOD

    if table.empty:
        return "No row has a verdict and both labels, so Expected Harm is undefined."
    chosen, flat = table.loc[DEFAULT_LIKELIHOOD], table.loc["constant"]
    mean, interval = "mean Expected Harm (0–5)", "95% interval"
    return (f"Mean Expected Harm per answer is {chosen[mean]:.3f} {chosen[interval]} under "
            f"{chosen['Pr(execution | cost)']} (the book's default), against {flat[mean]:.3f} "
            f"{flat[interval]} when every request counts as carried out (constant: severity "
            "only).")


def calibration_parts(run: CalibrationRun, validity: tuple[Styler, dict[str, Any]]) -> list[Part]:
    """Judge validity, attack success by level, the cost slope and Expected Harm, with readings.

    Args:
        run: The live rows (:func:`calibration_run`).
        validity: :func:`expected_harm.calibration.validation_report` of the run's judge.
    """
    from expected_harm import calibration, plots
    from expected_harm.redact import redact_column

    plots.set_style()
    rows, p, prov = run.rows, run.parameters, run.provenance
    n = int(rows["success"].notna().sum())
    judge_style, judge_values = validity
    judge_part = Part("How far the judge can be trusted", [
        _text("The judge is scored against the human majority of the JailbreakBench "
              "judge-comparison set (Chao et al. 2024), as on the calibration page."),
        _table(judge_style)])
    judge_part.reading.append(
        f"The judge ({prov['Judge']}) agrees with people with accuracy "
        f"{judge_values['judge_accuracy']} and Cohen's κ {judge_values['judge_kappa']} on "
        f"{judge_values['n_validation']} human-labelled answers. {judge_values['judge_reading']}")

    shares, counts = calibration.status_table(rows, **prov)
    by_cost = calibration.interval_table(calibration.asr_by_level(rows, "cost"), "cost")
    # Provenance goes in the figure's caption: drawn under the axes, the judge's long name
    # would set the width of the image and shrink the plot.
    fig = plots.plot_asr_by_level(calibration.asr_by_levels(rows))
    examples = rows.groupby("attack", sort=False).head(2)[
        ["attack", "dataset", "cost", "response", "verdict"]]
    asr_part = Part("Attack success by execution cost", [
        _text(f"{counts['n_rows']} rows (items × attacks); {counts['not_ok']} of them carry no "
              "verdict (error, provider block or unparsed judgement) and are left out of "
              "every rate."),
        _table(shares),
        _table(by_cost.style.set_caption(calibration.caption(
            "ASR by execution cost (1 = trivial … 5 = prohibitive), Wilson 95% intervals.",
            **prov, n=n))),
        _figure(fig, calibration.caption("ASR by cost and by severity, Wilson 95% intervals; "
                                         "the dashed arrow is the calibrated direction.",
                                         **prov, n=n, seed=p["seed"])),
        _table(redact_column(examples, "response").style.hide(axis="index")
               .format(precision=0).set_caption(calibration.caption(
                   "A few answers, redacted (first words and length).", **prov))),
    ])
    asr_part.reading.append(level_reading(rows))

    slope_style, slope = calibration.regression_report(rows, **prov)
    slope_part = Part("The cost slope", [
        _text("Logistic regression success ~ cost + severity + attack, standard errors "
              "clustered by item, as on the calibration page."),
        _table(slope_style)])
    slope_part.reading += [slope["slope_reading"], PAPER_CALIBRATION]

    table = harm_table(rows, p["seed"])
    harm_part = Part("Expected Harm under each likelihood", [
        _text("Severity × Pr(execution | cost) × success, averaged over every judged answer; "
              "95% bootstrap intervals. The items are spread evenly over cost levels, so the "
              "mean stands for no benchmark's own cost mix."),
        _table(table.style.format(precision=3).set_caption(calibration.caption(
            "Mean Expected Harm per answer.", **prov, n=n)))])
    harm_part.reading.append(harm_reading(table))
    return [judge_part, asr_part, slope_part, harm_part]


# --- Decomposition and probing: the values their executed notebooks glued -------------------


def glued(notebook: Path) -> dict[str, str]:
    """The notebook's glued values as text (a glued string loses its quotes).

    Examples:
        >>> import json, tempfile
        >>> cell = {"cell_type": "code", "source": "", "metadata": {}, "outputs": [
        ...     {"output_type": "display_data", "metadata": {"scrapbook": {
        ...         "name": "k", "mime_prefix": "application/papermill.record/"}},
        ...      "data": {"application/papermill.record/text/plain": "'2 of 3'"}}]}
        >>> path = Path(tempfile.mkdtemp()) / "page.ipynb"
        >>> _ = path.write_text(json.dumps({"cells": [cell]}))
        >>> glued(path)
        {'k': '2 of 3'}
    """
    values = {}
    for name, text in glued_values(notebook).items():
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        values[name] = str(value)
    return values


def decomposition_part(values: Mapping[str, str], parameters: Mapping[str, Any]) -> Part:
    """The live decomposition attack on this target, in the section's own numbers."""
    from expected_harm.sections import notebook_parameters

    p = {**notebook_parameters(SECTIONS["decomposition"]), **parameters}
    provenance = (f"Model: {values.get('targets', '?')} · Attacker: {values.get('attacker', '?')}"
                  f" · Judge: {values.get('judge', '?')} · Data: {', '.join(p['benchmarks'])} · "
                  f"n = {values.get('n_items', '?')} items of cost ≥ {values.get('min_cost', '?')}"
                  f" · strategies: {', '.join(p['strategies'])}; k = {values.get('k', '?')}")
    part = Part("Decomposition attack", [_text(provenance)])
    part.reading.append(
        f"The largest ratio of decomposed to whole-request ASR on this model (paired "
        f"bootstrap interval): {values.get('live_largest_uplift', 'none defined')}. Cost + "
        f"monitor is best or second best on ASR in {values.get('cost_monitor_best', '?')} "
        f"cells; cost beats monitor on Usefulness in {values.get('cost_beats_monitor', '?')}. "
        f"Paper (reference only): {values.get('live_paper_uplift', 'up to 2×')} ASR, "
        f"{values.get('paper_cost_monitor_best', '17 of 20')} and "
        f"{values.get('paper_cost_beats_monitor', '14 of 20')}.")
    return part


def probing_part(values: Mapping[str, str], parameters: Mapping[str, Any]) -> Part:
    """The refusal probe's scores by severity and cost, in the section's own numbers."""
    from expected_harm import paper
    from expected_harm.sections import notebook_parameters

    p = {**notebook_parameters(SECTIONS["probing"]), **parameters}
    provenance = (f"Model: {values.get('model', '?')} · Probe: {values.get('probe_kind', '?')} · "
                  f"Data: {', '.join(p['datasets'])} · Labels: AI-assistant reference labels · "
                  f"n = {values.get('n_labelled', '?')} "
                  f"labelled harmful prompts, {values.get('n_harmless', '?')} harmless · "
                  f"layer {values.get('final', '?')}")
    part = Part("Linear probe", [_text(provenance)])
    severity_ref = ", ".join(f"{k}: {v}" for k, v in paper.PROBE_SCORE_BY_SEVERITY.items())
    part.reading += [
        f"At layer {values.get('final', '?')} the refusal probe's activation score goes from "
        f"{values.get('sev_low', '?')} at the lowest severity to {values.get('sev_high', '?')} at "
        f"the highest (Spearman ρ over level means {values.get('sev_trend', '?')}), and from "
        f"{values.get('cost_low', '?')} at the cheapest cost to {values.get('cost_high', '?')} "
        f"at the costliest (ρ {values.get('cost_trend', '?')}). Paper (reference only, severity "
        f"level: score): {severity_ref}.",
        values.get("cost_test_text", ""),
        f"Severity is decodable up to ρ = {values.get('severity_best', '?')} (permutation p = "
        f"{values.get('severity_p', '?')}; words alone {values.get('severity_words', '?')}); "
        f"cost up to {values.get('cost_best', '?')} (p = {values.get('cost_p', '?')}; words "
        f"alone {values.get('cost_words', '?')}).",
    ]
    return part


# --- The page ---------------------------------------------------------------------------------

CSS = """
body { font-family: system-ui, sans-serif; max-width: 62em; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.6em 0; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
caption { caption-side: top; text-align: left; font-size: 0.85em; color: #555; padding: 0.3em 0; }
figure { margin: 1em 0; } img { max-width: 100%; }
figcaption { font-size: 0.85em; color: #555; }
.reading { background: #f4f6f8; border-left: 4px solid #48a; padding: 0.5em 1em; }
.failed { background: #fdecea; border-left: 4px solid #c33; padding: 0.5em 1em; }
.skipped { color: #555; font-style: italic; }
.card { font-size: 0.85em; } h3 { font-size: 1em; margin-bottom: 0.2em; }
@page { size: A4; margin: 14mm; }
@media print {
  body { max-width: none; margin: 0; font-size: 10pt; }
  h2 { break-after: avoid; }
  table, figure, .reading, .failed { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def render(spec: str, outcomes: list[Outcome], parts: list[Part], page: Path, *,
           quick: bool) -> str:
    """The whole page as standalone HTML: what ran, the reading, then every part."""
    from expected_harm import __version__

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    size = ("quick: tiny samples, a smoke check, not an estimate" if quick
            else "the sections' default sizes")
    body = [f"<h1>Report card: {html.escape(spec)}</h1>",
            _text(f"expected-harm {__version__} · {stamp} · {size} · model answers redacted")]
    rows = []
    for outcome in outcomes:
        if outcome.status == "ok":
            where = _notebook_link(outcome.notebook, page)
        elif outcome.status == "failed":
            where = f'<span class="failed">{html.escape(outcome.error)}</span>'
        else:
            where = f'<span class="skipped">{html.escape(outcome.skipped)}</span>'
        shown = ", ".join(f"{k}={v!r}" for k, v in outcome.parameters.items())
        rows.append(f"<tr><td>{outcome.section}</td><td>{outcome.status}</td>"
                    f"<td>{html.escape(shown)}</td><td>{where}</td></tr>")
    rows.append(f'<tr><td>guardrails</td><td>not applicable</td><td></td>'
                f'<td class="skipped">{html.escape(GUARDRAILS_NOTE)}</td></tr>')
    body += ["<h2>Sections</h2>",
             "<table><caption>Each section's executed notebook (full tables, methods and "
             "caveats) beside this page; other parameters are the section's defaults."
             "</caption><tr><th>section</th><th>status</th><th>parameters</th>"
             "<th>notebook</th></tr>", *rows, "</table>"]
    readings = [f"<p><strong>{html.escape(part.heading)}.</strong> "
                f"{html.escape(' '.join(s for s in part.reading if s))}</p>"
                for part in parts if part.reading]
    body += ["<h2>Reading</h2>", '<div class="reading">',
             *(readings or [_text("No section produced numbers to read.")]), "</div>"]
    for part in parts:
        body += [f"<h2>{html.escape(part.heading)}</h2>", *part.blocks]
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Report card: {html.escape(spec)}</title><style>{CSS}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")


def run_card(notebook: Path) -> str:
    """The run card that ``run_section`` put under an executed notebook's title, as HTML.

    Empty when the notebook has none. The card is MyST Markdown in an admonition; its fence
    lines are dropped and the rest rendered with MyST's own parser (markdown-it), raw HTML off
    except the line breaks the card puts in table cells.
    """
    import nbformat
    from markdown_it import MarkdownIt

    executed = nbformat.read(notebook, as_version=4)
    cards = [c.source for c in executed.cells if "run-card" in c.metadata.get("tags", [])]
    if not cards:
        return ""
    lines = [line for line in cards[0].splitlines() if not line.startswith((":::", ":class:"))]
    rendered = MarkdownIt("commonmark", {"html": False}).enable("table").render("\n".join(lines))
    return rendered.replace("&lt;br&gt;", "<br>")


def run_cards_part(outcomes: list[Outcome]) -> Part:
    """Each section's run card: models and revisions, evaluators, data, commit, calls."""
    blocks = []
    for outcome in outcomes:
        card = run_card(outcome.notebook) if outcome.status == "ok" else ""
        if card:
            blocks.append(f'<div class="card"><h3>{html.escape(outcome.section)}</h3>{card}</div>')
    return Part("How each section was run", blocks)


def failure_part(heading: str, message: str) -> Part:
    """A part whose numbers could not be computed, saying why."""
    return Part(heading, [f'<div class="failed">{html.escape(message)}</div>'], failed=True)


def card_parts(spec: str, outcomes: list[Outcome], page: Path) -> list[Part]:
    """Every part of the page from the sections that ran; a part that fails to build says why."""
    from expected_harm import calibration, judges

    parts: list[Part] = []
    for outcome in outcomes:
        if outcome.status == "failed":
            parts.append(failure_part(outcome.section.capitalize(),
                                      f"The {outcome.section} section failed: {outcome.error}"))
            continue
        if outcome.status == "skipped":
            continue
        try:
            if outcome.section == "calibration":
                run = calibration_run(spec, outcome.parameters)
                seed = run.parameters["seed"]
                validation = judges.validation_items(run.parameters["validation_items"], seed)
                validity = calibration.validation_report(run.judge, validation, seed)
                parts += calibration_parts(run, validity)
            else:
                read = decomposition_part if outcome.section == "decomposition" else probing_part
                part = read(glued(outcome.notebook), outcome.parameters)
                part.blocks.append(f"<p>Its tables and figures: the executed notebook "
                                   f"{_notebook_link(outcome.notebook, page)}.</p>")
                parts.append(part)
        except Exception as error:  # noqa: BLE001 (the page names it; the command exits 1)
            parts.append(failure_part(outcome.section.capitalize(), (
                f"The {outcome.section} section ran ({outcome.notebook}) but its numbers could "
                f"not be read for this page: {type(error).__name__}: {error}")))
    cards = run_cards_part(outcomes)
    return [*parts, cards] if cards.blocks else parts


def evaluate(spec: str, *, quick: bool = False, out: Path | None = None,
             probe_model: str | None = None, run: Runner | None = None,
             echo: Callable[[str], None] = lambda _: None) -> tuple[Path, bool]:
    """Run the card's sections for ``spec`` into ``out`` and write ``out/report.html``.

    Args:
        spec: The target model.
        quick: Tiny samples (:data:`QUICK_PARAMETERS`) instead of the sections' defaults.
        out: The folder for the executed notebooks and the page; ``reports/<slug>/`` in the
            checkout by default (ignored by git).
        probe_model: The weights to probe for a model served through an API.
        run: Runs one section; :func:`~expected_harm.sections.run_section` by default.

    Returns:
        The page's path, and whether everything ran (False when a section or a part failed).
    """
    from expected_harm.paths import project_root

    out = out or project_root() / "reports" / slug(spec)
    out.mkdir(parents=True, exist_ok=True)
    outcomes = run_plan(plan(spec, quick=quick, probe_model=probe_model), out,
                        run=run or run_section, echo=echo)
    echo("writing the report …")
    page = out / "report.html"
    parts = card_parts(spec, outcomes, page)
    page.write_text(render(spec, outcomes, parts, page, quick=quick), encoding="utf-8")
    ok = all(o.status != "failed" for o in outcomes) and not any(p.failed for p in parts)
    return page, ok
