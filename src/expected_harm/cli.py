"""The ``expected-harm`` command line: models, a quick chat, the cache, sections and the book."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml

from expected_harm.datasets.cli import data_app
from expected_harm.sections import SECTIONS

if TYPE_CHECKING:
    import pandas as pd

SECTION_NAMES = list(SECTIONS)

app = typer.Typer(
    help=(
        "Expected Harm: safety evaluation weighted by severity and by how likely a harmful "
        "request is to be carried out. Run sections of the book against any model, inspect the "
        "response cache, build the book."
    ),
    no_args_is_help=True,
    add_completion=False,
)
cache_app = typer.Typer(help="Inspect or empty the response cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")
annotate_app = typer.Typer(
    help=(
        "Reference annotations: draw the sample, read its prompts, label them against the "
        "rubric, summarise them for the book."
    ),
    no_args_is_help=True,
)
app.add_typer(annotate_app, name="annotate")
app.add_typer(data_app, name="data")
embedded_app = typer.Typer(
    help="Embedded models: safety-tune SmolLM2 with LoRA (Bianchi et al. 2024; Hu et al. 2021).",
    no_args_is_help=True,
)
app.add_typer(embedded_app, name="embedded")
evaluators_app = typer.Typer(
    help="Trained evaluators: a judge, a rater and a guard on SmolLM2-135M's hidden states.",
    no_args_is_help=True,
)
app.add_typer(evaluators_app, name="evaluators")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


@app.command()
def models() -> None:
    """List the model spec forms and how to configure each (keys come from the environment)."""
    from expected_harm.models import EMBEDDED_MODELS, valid_forms

    typer.echo("Model specs (use them for any role: target, attacker, judge, rater, guard):\n")
    for form in valid_forms():
        typer.echo(f"  {form}")
    typer.echo("\nEmbedded models (offline, no key):")
    for model in EMBEDDED_MODELS.values():
        typer.echo(f"  embedded:{model.name:<16} {model.description}")
    typer.echo(
        "\nExamples:\n"
        "  embedded:smollm2-135m\n"
        "  openai:gpt-4o-mini                      (export OPENAI_API_KEY=...)\n"
        "  openai-compatible:llama3@http://127.0.0.1:8000/v1\n"
        "  openai-compatible:meta-llama/Llama-3-8b@https://host/v1?key_env=HOST_API_KEY\n"
        "\nKeys are read from environment variables only, never from notebook parameters."
    )


@app.command()
def chat(
    spec: Annotated[str, typer.Argument(help="Model spec, e.g. embedded:smollm2-135m")],
    text: Annotated[str, typer.Argument(help="The user message")],
    max_tokens: Annotated[int, typer.Option(help="Upper bound on generated tokens")] = 256,
    temperature: Annotated[float, typer.Option(help="0 = greedy (reproducible)")] = 0.0,
) -> None:
    """Send one message to a model (through the cache) and print the answer and its status."""
    from expected_harm.models import GenerateConfig, ModelConfigError, Status, get_model
    from expected_harm.models import chat as chat_once

    try:
        model = get_model(spec)
        config = GenerateConfig(max_tokens=max_tokens, temperature=temperature)
    except (ModelConfigError, ValueError) as error:
        _fail(str(error))
    result = chat_once(model, text, config)
    if result.text:
        typer.echo(result.text)
    typer.echo(
        f"[{result.status.value}; {result.usage.prompt_tokens} prompt + "
        f"{result.usage.completion_tokens} completion tokens; "
        f"{'cached' if result.cached else 'fresh'}]"
        + (f" {result.error}" if result.error else ""),
        err=True,
    )
    if result.status is Status.ERROR:
        raise typer.Exit(code=1)


@cache_app.command("stats")
def cache_stats() -> None:
    """Rows in the response cache per model and status, and where the file lives."""
    from expected_harm.models import ResponseCache

    cache = ResponseCache()
    table = cache.stats()
    typer.echo(f"cache: {cache.path} ({cache.path.stat().st_size / 1e6:.1f} MB, {len(cache)} rows)")
    typer.echo(table.to_string(index=False) if len(table) else "(empty)")


@cache_app.command("clear")
def cache_clear(
    model: Annotated[
        str | None, typer.Option(help="Only this model spec's rows (default: everything)")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
) -> None:
    """Delete cached answers (all, or one model's); the next run calls the model again."""
    from expected_harm.models import ResponseCache

    cache = ResponseCache()
    what = f"cached answers of {model}" if model else "every cached answer"
    if not yes and not typer.confirm(f"Delete {what} in {cache.path}?"):
        raise typer.Abort()
    typer.echo(f"deleted {cache.clear(model)} rows")


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    epilog="Options: -p, --parameter NAME VALUE   override a notebook parameter; VALUE is read "
    "as YAML (3, 0.5, true, \\[a, b], or text). Repeatable, e.g. "
    "-p n_items 20 -p targets '\\[embedded:smollm2-135m]'.",
)
def run(
    ctx: typer.Context,
    section: Annotated[str, typer.Argument(help="Section name: " + ", ".join(SECTION_NAMES))],
) -> None:
    """Execute one section's notebook with papermill into book/ (`book --skip-run` renders it).

    Unknown sections or parameter names are refused with the list of valid ones.
    """
    from expected_harm.sections import SectionError, get_section, run_section, run_totals

    try:
        target = get_section(section)
        output = run_section(target, _parameters(ctx.args))
    except (ValueError, SectionError) as error:
        _fail(str(error))
    typer.echo(f"wrote {output}: {_run_line(run_totals(output))}")


def _run_line(run: dict[str, float]) -> str:
    """Examples:
    >>> _run_line({"seconds": 75.2, "requests": 40, "sent": 4})
    '75 s, 4 of 40 model requests sent (the rest from the response cache)'
    """
    return (f"{run['seconds']:.0f} s, {run['sent']} of {run['requests']} model requests sent "
            "(the rest from the response cache)")


EVALUATE_HELP = (
    "A report card for one model: run the sections that apply to it, render one page.\n\n"
    "Runs calibration and decomposition against SPEC, and probing when its weights can be read "
    "(embedded models, or --probe-model), each on the section's defaults (or tiny --quick "
    "sizes), into the out folder, never over the book's pages. The guardrails section is not "
    "run: its target is fixed to published answers.\n\n"
    "Then writes report.html there: standalone HTML that prints to PDF, with the judge's "
    "agreement with people, ASR by execution cost, the cost slope with its interval, Expected "
    "Harm under each Pr(execution | cost), and a reading computed from those numbers. Model "
    "answers are redacted.\n\n"
    "A failed section is named on the page with where its failed notebook is; the command "
    "then exits 1."
)


@app.command(help=EVALUATE_HELP)
def evaluate(
    spec: Annotated[str, typer.Argument(help="Target model, e.g. embedded:smollm2-135m-safety")],
    quick: Annotated[
        bool, typer.Option("--quick", help="Tiny samples (minutes): a smoke check, not an estimate")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for the executed notebooks and report.html "
                     "(default: reports/<spec>/, ignored by git)"),
    ] = None,
    probe_model: Annotated[
        str | None,
        typer.Option(help="Weights to probe for a model served through an API "
                     "(a Hugging Face id or a folder); embedded models are probed as themselves"),
    ] = None,
) -> None:
    """Run the report card of ``expected_harm.report`` for SPEC."""
    from expected_harm.models import ModelConfigError
    from expected_harm.report import evaluate as evaluate_model

    try:
        page, ok = evaluate_model(spec, quick=quick, out=out, probe_model=probe_model,
                                  echo=typer.echo)
    except ModelConfigError as error:
        _fail(str(error))
    typer.echo(f"wrote {page}")
    if not ok:
        typer.echo("error: some parts failed; the page names them", err=True)
        raise typer.Exit(1)


@app.command()
def book(
    skip_run: Annotated[
        bool, typer.Option("--skip-run", help="Only render: reuse the executed notebooks")
    ] = False,
    jobs: Annotated[
        int, typer.Option(min=1, help="Sections run at once, each in its own process and kernel "
                                      "with a share of the CPU's threads (1: one after another)")
    ] = 2,
) -> None:
    """Run every section on its defaults (embedded models, offline), then build the HTML book."""
    import time

    from expected_harm.paths import project_root
    from expected_harm.sections import SECTIONS, SectionError, run_sections, run_totals, write_toc

    write_toc()  # the table of contents follows the sections registry
    if not skip_run:
        totals = {"seconds": 0.0, "requests": 0, "sent": 0}
        typer.echo(f"running {len(SECTIONS)} sections, {jobs} at a time ...")
        clock = time.perf_counter()
        try:
            for section, notebook in run_sections(list(SECTIONS.values()), jobs):
                run = run_totals(notebook)
                typer.echo(f"  {section.name}: {_run_line(run)}")
                totals = {k: totals[k] + run[k] for k in totals}
        except SectionError as error:
            _fail(str(error))
        typer.echo(f"all sections: {_run_line(totals)} (sections' own times; "
                   f"{time.perf_counter() - clock:.0f} s on the clock)")
    root = project_root()
    # the jupyter-book script installed beside this interpreter (the package has no __main__)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [str(jupyter_book), "build", str(root), "--warningiserror"]
    completed = subprocess.run(command, cwd=root, check=False)
    if completed.returncode:
        raise typer.Exit(code=completed.returncode)
    typer.echo(f"book: {root / '_build' / 'html' / 'index.html'}")


@app.command()
def glued(
    output: Annotated[
        Path | None, typer.Option(help="Write the JSON here instead of printing it")
    ] = None,
) -> None:
    """The values every executed page in book/ glued into its prose, as JSON (section → name →
    value): run it before and after a change that must not move any number, then diff the two.
    """
    import json

    from expected_harm.sections import SECTIONS, glued_values

    values = {s.name: glued_values(s.output) for s in SECTIONS.values() if s.output.is_file()}
    text = json.dumps(values, indent=1, sort_keys=True, ensure_ascii=False)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote {output} ({sum(map(len, values.values()))} values, {len(values)} pages)")
    else:
        typer.echo(text)


@annotate_app.command("sample")
def annotate_sample() -> None:
    """(Re)draw the stratified sample into annotations/sample.csv (fixed seed: same ids)."""
    from expected_harm.annotations import annotations_dir, draw_sample

    path = _writable(lambda: annotations_dir(write=True)) / "sample.csv"
    sample = draw_sample()
    sample.to_csv(path, index=False)
    typer.echo(f"wrote {len(sample)} items ({int(sample['rerate'].sum())} to re-rate) to {path}")


def _writable(where: Callable[[], Path]) -> Path:
    """A folder of the package data to write into; a clear error for an installed copy."""
    try:
        return where()
    except PermissionError as error:
        _fail(str(error))


def _items_to_label(spec: str, rerate: bool) -> tuple[pd.DataFrame, str]:
    """The items of the set ``spec`` names (registry name or ``name:subset``) and its name."""
    from expected_harm.annotations import load_items
    from expected_harm.datasets import parse_dataset_spec

    try:
        parsed = parse_dataset_spec(spec)
    except ValueError as error:
        _fail(str(error))
    items = load_items()
    chosen = items[
        (items["dataset"] == parsed.dataset)
        & (items["subset"] == parsed.subset if parsed.subset else True)
        & (items["rerate"] | (not rerate))
    ]
    if chosen.empty:
        _fail(f"no items to label for {spec!r}; sets: {', '.join(items['dataset'].unique())}")
    return chosen, parsed.dataset


@annotate_app.command("show")
def annotate_show(
    dataset: Annotated[str, typer.Argument(help="A set of the sample, e.g. advbench")],
    rerate: Annotated[bool, typer.Option(help="Only the items of the blind second pass")] = False,
    width: Annotated[int, typer.Option(help="Cut prompts longer than this")] = 1200,
) -> None:
    """Print the prompts to label of one set (sample and extension) for reading (harmful text!)."""
    from expected_harm.datasets import load

    chosen, name = _items_to_label(dataset, rerate)
    prompts = load(name).set_index("item_id")["prompt"]
    for item_id in chosen["item_id"]:
        text = " ".join(str(prompts[item_id]).split())
        cut = f" […{len(text) - width} more characters]" if len(text) > width else ""
        typer.echo(f"## {dataset} {item_id}\n{text[:width]}{cut}\n")


@annotate_app.command("rate")
def annotate_rate(
    dataset: Annotated[str, typer.Argument(help="A set of the sample, e.g. advbench")],
    rerate: Annotated[
        bool, typer.Option(help="The blind second pass (earlier labels hidden)")
    ] = False,
) -> None:
    """Label the prompts of one set (sample and extension) interactively; each answer is saved."""
    import click

    from expected_harm.annotations import LABEL_COLUMNS, append_label, label_path, labelled_ids
    from expected_harm.datasets import load

    chosen, dataset = _items_to_label(dataset, rerate)
    path = _writable(lambda: label_path("rerate" if rerate else "reference", dataset))
    done = labelled_ids(path)
    prompts = load(dataset).set_index("item_id")["prompt"]
    todo = [i for i in chosen["item_id"] if i not in done]
    typer.echo(f"{len(todo)} of {len(chosen)} items left; scores 1-5, see the rubric in the book")
    for n, item_id in enumerate(todo, 1):
        typer.echo(f"\n[{n}/{len(todo)}] {dataset} {item_id}\n{prompts[item_id]}\n")
        scores = [typer.prompt(column, type=click.IntRange(1, 5)) for column in LABEL_COLUMNS]
        rationale = typer.prompt("rationale (one sentence)")
        append_label(path, [dataset, item_id, *scores, rationale])


@annotate_app.command("summary")
def annotate_summary() -> None:
    """Write the annotation page's tables (labels per level, self-agreement) to SUMMARY.md."""
    from expected_harm.annotations import annotations_dir, summary_markdown

    path = _writable(lambda: annotations_dir(write=True)) / "SUMMARY.md"
    path.write_text(summary_markdown(), encoding="utf-8")
    typer.echo(f"wrote {path}")


def _parameters(args: list[str]) -> dict[str, Any]:
    """Read ``-p NAME VALUE`` triples (papermill's convention); typer has no two-value option."""
    values: dict[str, Any] = {}
    rest = list(args)
    while rest:
        flag = rest.pop(0)
        if flag not in ("-p", "--parameter") or len(rest) < 2:
            raise ValueError(
                f"expected -p NAME VALUE, got {' '.join([flag, *rest[:2]])!r}"
            )
        name, raw = rest.pop(0), rest.pop(0)
        try:
            values[name] = yaml.safe_load(raw)
        except yaml.YAMLError as error:
            raise ValueError(f"parameter {name}: cannot read value {raw!r}: {error}") from None
    return values



@embedded_app.command("train")
def embedded_train(
    converter: Annotated[
        Path | None,
        typer.Option(help="llama.cpp's convert_lora_to_gguf.py (llama-cpp-python sdist, "
                     "vendor/llama.cpp/), to write the GGUF adapter chat needs"),
    ] = None,
    folder: Annotated[
        Path | None, typer.Option(help="Model folder holding recipe.yaml")
    ] = None,
    eval_only: Annotated[bool, typer.Option(help="Skip training; re-evaluate")] = False,
) -> None:
    """Safety-tune embedded:smollm2-135m into embedded:smollm2-135m-safety, then evaluate it.

    Reads every setting from the folder's recipe.yaml; writes the split (ids), the adapter, its
    training log and eval.json there. CPU only; about half an hour on two cores.
    """
    from expected_harm.tuning.run import main

    try:
        main(folder, converter=converter, skip_train=eval_only)
    except (FileNotFoundError, PermissionError, ValueError) as error:
        _fail(str(error))


@embedded_app.command("check")
def embedded_check(
    scratch: Annotated[Path, typer.Argument(help="Empty folder to retrain into")],
    folder: Annotated[
        Path | None, typer.Option(help="Model folder holding the committed run")
    ] = None,
) -> None:
    """Retrain the committed recipe from scratch and compare split, weights and loss curve.

    Set EXPECTED_HARM_CACHE_DIR to an empty folder for a truly cold run (self-distillation is
    cached). Exits 1 unless the split matches and the weights are bit-identical.
    """
    import json

    from expected_harm.tuning import model_dir
    from expected_harm.tuning.run import check

    try:
        report = check(folder or model_dir(), scratch)
    except (FileNotFoundError, ValueError) as error:
        _fail(str(error))
    typer.echo(json.dumps(report, indent=2))
    if not (report["same_split"] and report["identical_weights"]):
        raise typer.Exit(1)


@evaluators_app.command("train")
def evaluators_train(
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: the package data's evaluators/)")
    ] = None,
) -> None:
    """Retrain the judge, the rater and the guard from the registry; write their validation.

    Activations are read from the shared activation cache (extracted once, on CPU).
    """
    import json

    from expected_harm.evaluators.train import train

    typer.echo(json.dumps(train(out=out), indent=2, default=str))


@evaluators_app.command("check")
def evaluators_check(
    scratch: Annotated[Path, typer.Argument(help="Empty folder to retrain into")],
) -> None:
    """Retrain into a scratch folder; exit 1 unless every parameter file matches the stored one."""
    from expected_harm.evaluators.judge import evaluators_dir
    from expected_harm.evaluators.train import PARAMETER_FILES, train

    train(out=scratch)
    differ = [name for name in PARAMETER_FILES
              if (scratch / name).read_bytes() != (evaluators_dir() / name).read_bytes()]
    typer.echo("identical" if not differ else f"differ: {', '.join(differ)}")
    if differ:
        raise typer.Exit(1)
