"""``expected-harm data``: list the registered sets, show one, verify the checksums of their files.

Nothing here prints prompt text: the sets are harmful by design, and a terminal log is easily
shared. ``show`` reports sizes, columns and category counts only.
"""

from __future__ import annotations

from typing import Annotated

import typer

data_app = typer.Typer(
    help="Registered prompt sets: list them, show one, verify the checksums of their files.",
    no_args_is_help=True,
)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


@data_app.command("list")
def list_command() -> None:
    """One line per registered set: name, group, rows (as documented upstream) and licence."""
    from expected_harm.datasets import list_datasets

    table = list_datasets()[["name", "group", "rows", "licence"]]
    typer.echo(table.to_string(index=False))


@data_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="A registered set, e.g. xstest")],
) -> None:
    """Everything the registry knows about one set, and what its files look like here."""
    from expected_harm.datasets import DatasetError, get_dataset, load, verify

    try:
        entry = get_dataset(name)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(f"{entry.name}: {entry.title}")
    for label, value in (
        ("group", entry.group),
        ("rows", entry.rows),
        ("origin", entry.origin),
        ("licence", entry.licence),
        ("citation", entry.citation),
        ("source", entry.source),
    ):
        typer.echo(f"  {label + ':':<10}{value}")
    typer.echo("\nFiles (sha256 of the mirror copy; download URLs for online use):")
    for file in entry.files:
        typer.echo(f"  {file.name}  sha256 {file.sha256}")
        for url in file.urls or ("(derived by the mirror; no download URL)",):
            member = f"  [{file.member}]" if file.member else ""
            typer.echo(f"      {url}{member}")
    typer.echo("\nWhere they are found here:")
    typer.echo(verify([entry.name]).to_string(index=False))
    if entry.subsets:
        typer.echo("\nSubsets (load as NAME:SUBSET):")
        for subset_name, subset in entry.subsets.items():
            marker = "  [study]" if subset_name == entry.study_subset else ""
            typer.echo(f"  {subset_name:<20}{subset.rows:>6}  {subset.description}{marker}")
    try:
        frame = load(entry.name)
    except DatasetError as exc:
        typer.echo(f"\nNot loadable here: {exc}")
        return
    typer.echo(f"\nLoaded {len(frame)} rows; columns: {', '.join(frame.columns)}")
    categories = frame["category"].value_counts(dropna=False)
    if frame["category"].notna().any():
        typer.echo(f"Categories ({len(categories)}):")
        typer.echo(categories.head(20).to_string())


@data_app.command("verify")
def verify_command() -> None:
    """Check the sha256 of every registered file found in the cache or the mirror.

    Exits with status 1 when a file differs from its registered checksum; missing files are
    listed but are not an error (they may simply not be downloaded yet).
    """
    from expected_harm.datasets import verify

    report = verify()
    typer.echo(report.to_string(index=False))
    counts = report["status"].value_counts()
    typer.echo(
        "\n" + ", ".join(f"{status}: {counts.get(status, 0)}"
                         for status in ("ok", "mismatch", "missing"))
    )
    if counts.get("mismatch", 0):
        raise typer.Exit(code=1)
