"""Run cards: what produced a section's page, in one place at its top.

While a section runs, the package notes what it used: each batch of model calls (the model's
identity, with its revision, and how many answers came from the cache), each judge, rater, guard
and attack made, each dataset loaded, each batch of activations. :func:`record` appends one JSON
line per use to the file named by ``$EXPECTED_HARM_RUN_LOG``, so the notebook's kernel (another
process) and :func:`expected_harm.sections.run_section` meet through the file system; with the
variable unset (a user's own script) it does nothing. After the run, :func:`card_markdown` reads
the log back into the card that ``run_section`` puts under the page's title.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

RUN_LOG_VAR = "EXPECTED_HARM_RUN_LOG"


def record(kind: str, **fields: Any) -> None:
    """Note one use of a model, evaluator or dataset in the current run's log, if any.

    Values must be JSON-serialisable (strings and numbers); never pass a key or a prompt.
    """
    path = os.environ.get(RUN_LOG_VAR)
    if not path:
        return
    line = json.dumps({"kind": kind, **fields}, sort_keys=True, default=str)
    with open(path, "a", encoding="utf-8") as log:
        log.write(line + "\n")


def read_log(path: Path) -> list[dict[str, Any]]:
    """The records of one run, in order (an absent file: nothing was used)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@dataclass(frozen=True)
class Provenance:
    """Which code produced a page: the package version and the checkout's commit."""

    package: str
    commit: str

    @classmethod
    def here(cls, root: Path) -> Provenance:
        try:
            package = version("expected-harm")
        except PackageNotFoundError:
            package = "not installed"
        return cls(package=package, commit=_commit(root))


def _commit(root: Path) -> str:
    """The short commit of ``root``, marked ``+ changes`` when the work tree differs from it."""
    try:
        run = dict(cwd=root, capture_output=True, text=True, timeout=10, check=True)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], **run).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               **run).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"{commit} + changes" if dirty else commit


def _calls(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line per model: its revision and its calls (from the cache, sent, failed)."""
    by_model: dict[tuple[str, str], Counter[str]] = {}
    for r in records:
        if r["kind"] == "calls":
            tally = by_model.setdefault((r["model"], r.get("revision") or ""), Counter())
            tally.update(requests=r["requests"], cached=r["cached"], sent=r["sent"],
                         failed=r["failed"])
    lines = []
    for (model, revision), t in by_model.items():
        failed = f", {t['failed']} not ok" if t["failed"] else ""
        shown = f" (`{revision}`)" if revision else ""
        lines.append(f"`{model}`{shown}: {t['requests']} requests, {t['cached']} from the cache, "
                     f"{t['sent']} sent{failed}")
    return lines


def _activations(records: Iterable[Mapping[str, Any]]) -> list[str]:
    by_model: dict[tuple[str, str], Counter[str]] = {}
    for r in records:
        if r["kind"] == "activations":
            weights = ", ".join(r[k] for k in ("revision", "dtype") if r.get(k))
            by_model.setdefault((r["model"], weights), Counter()).update(
                cached=r["cached"], computed=r["computed"])
    return [f"`{m}`{f' (`{w}`)' if w else ''}: {t['cached'] + t['computed']} prompts, "
            f"{t['cached']} from the cache, {t['computed']} computed"
            for (m, w), t in by_model.items()]


def _uses(records: Iterable[Mapping[str, Any]], kind: str) -> list[str]:
    """Each distinct evaluator or attack of ``kind``, once, in the order first used."""
    seen: dict[str, None] = {}
    for r in records:
        if r["kind"] == kind:
            detail = ", ".join(f"{k} {r[k]}" for k in ("model", "version") if r.get(k))
            seen[f"`{r['name']}`" + (f" ({detail})" if detail else "")] = None
    return list(seen)


def _datasets(records: Iterable[Mapping[str, Any]]) -> list[str]:
    rows = {r["spec"]: r["rows"] for r in records if r["kind"] == "dataset"}
    return [f"`{spec}` ({n:,} rows)" for spec, n in rows.items()]


def run_summary(records: list[dict[str, Any]], seconds: float) -> dict[str, float]:
    """Machine-readable totals of a run, kept in the executed notebook's metadata.

    Examples:
        >>> run_summary([{"kind": "calls", "requests": 4, "cached": 3, "sent": 1}], 2.5)
        {'seconds': 2.5, 'requests': 4, 'cached': 3, 'sent': 1}
    """
    calls = [r for r in records if r["kind"] == "calls"]
    return {"seconds": round(seconds, 1),
            **{k: sum(r[k] for r in calls) for k in ("requests", "cached", "sent")}}


def _parameter(value: Any) -> str:
    return f"`{json.dumps(value, default=str)}`"


def card_markdown(
    *,
    notebook: str,
    parameters: Mapping[str, Any],
    given: Iterable[str],
    records: list[dict[str, Any]],
    started: dt.datetime,
    seconds: float,
    provenance: Provenance,
) -> str:
    """The run card of one executed section, as a MyST admonition.

    Args:
        notebook: The section's notebook file, e.g. ``02_calibration.ipynb``.
        parameters: Every parameter the run used (defaults included).
        given: The names passed in by the caller; the others are the notebook's defaults.
        records: The run's log (:func:`read_log`).
        started: When the run began (UTC).
        seconds: How long it took.
        provenance: Package version and commit.
    """
    given = set(given)
    calls = [r for r in records if r["kind"] == "calls"]
    listed = [
        ("Models", _calls(records)),
        ("Activations", _activations(records)),
        ("Judges", _uses(records, "judge")),
        ("Raters", _uses(records, "rater")),
        ("Guards", _uses(records, "guard")),
        ("Attacks", _uses(records, "attack")),
    ]
    rows = [
        ("Notebook", f"`notebooks/{notebook}`, run {started:%Y-%m-%d %H:%M} UTC in "
                     f"{_duration(seconds)}"),
        ("Code", f"expected-harm {provenance.package}, commit `{provenance.commit}`"),
        ("Model calls", _call_total(calls)),
        *((name, "<br>".join(lines)) for name, lines in listed if lines),
        ("Datasets", ", ".join(_datasets(records)) or "none"),
        ("Parameters", "<br>".join(
            f"{name} = {_parameter(value)}" + ("" if name in given else " (default)")
            for name, value in parameters.items()) or "none"),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return (":::{admonition} Run card\n:class: note run-card\n\n"
            "What produced this page. Re-run it with `expected-harm run` and the parameters "
            "below.\n\n| Part | Details |\n|---|---|\n" + table + "\n:::")


def _call_total(calls: list[dict[str, Any]]) -> str:
    """Examples:
    >>> _call_total([{"requests": 5, "cached": 2, "sent": 2, "failed": 1}])
    '5 requests: 2 from the response cache, 2 sent, 1 repeated within a batch; 1 not ok'
    >>> _call_total([])
    'none'
    """
    if not calls:
        return "none"
    total = {k: sum(r[k] for r in calls) for k in ("requests", "cached", "sent", "failed")}
    repeated = total["requests"] - total["cached"] - total["sent"]
    text = (f"{total['requests']} requests: {total['cached']} from the response cache, "
            f"{total['sent']} sent")
    if repeated:
        text += f", {repeated} repeated within a batch"
    if total["failed"]:
        text += f"; {total['failed']} not ok"
    return text


def _duration(seconds: float) -> str:
    """Examples:
    >>> _duration(42.4), _duration(99), _duration(3720)
    ('42 s', '1 min 39 s', '62 min 0 s')
    """
    whole = round(seconds)
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60} s"
