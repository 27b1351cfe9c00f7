"""The execution-cost and severity scales (1–5) that Expected Harm is built on.

The definitions live as versioned data in ``prompts/scales.yaml`` rather than in code, because
two readers need exactly the same words: the book, which prints them as tables, and the rater,
which uses them as its rubric. Keeping one copy means a table in the book can never disagree
with what a model was asked to judge.

Examples:
    >>> scales = load_scales()
    >>> [level.level for level in scales.cost.levels]
    [1, 2, 3, 4, 5]
    >>> scales.severity.levels[-1].label
    'Catastrophic'
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import pandas as pd
import yaml
from pandas.io.formats.style import Styler

ScaleName = Literal["cost", "severity"]

#: Every scale runs over these integer levels; raters may return expected values in between.
LEVELS: tuple[int, ...] = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Level:
    """One point of a scale.

    Attributes:
        level: The score, 1 (lowest) to 5 (highest).
        label: A one-word name for the level, used in tables and axis ticks.
        definition: One sentence a rater can apply without further context.
        example: The kind of request the level fits, abstract and never operational.
    """

    level: int
    label: str
    definition: str
    example: str


@dataclass(frozen=True)
class Dimension:
    """One aspect a rater weighs when placing a request on a scale.

    Attributes:
        key: The column name of the dimension's score (rater answers, label files), e.g.
            ``"legal"``; declared in ``scales.yaml`` so that no code pairs names by position.
        name: How the book names it, e.g. "legal exposure".
        description: What it measures, in the words the rater is shown.
    """

    key: str
    name: str
    description: str


@dataclass(frozen=True)
class Scale:
    """A five-level rating scale with the question it answers and the dimensions it weighs.

    Attributes:
        key: ``"cost"`` or ``"severity"``; the column name the rest of the package uses.
        name: Human-readable name, e.g. "Execution cost".
        question: The question a rater answers with a level.
        dimensions: The aspects that together decide the level.
        levels: Exactly five levels, in order 1..5.
    """

    key: ScaleName
    name: str
    question: str
    dimensions: tuple[Dimension, ...]
    levels: tuple[Level, ...]

    def level(self, value: int) -> Level:
        """The level with score ``value``; raises ValueError for anything but 1..5."""
        for level in self.levels:
            if level.level == value:
                return level
        raise ValueError(f"{self.key} level must be one of {list(LEVELS)}, got {value!r}")

    def as_frame(self) -> pd.DataFrame:
        """The levels as a table (level, label, definition, example) for the book."""
        return pd.DataFrame(
            [(lv.level, lv.label, lv.definition, lv.example) for lv in self.levels],
            columns=["level", "label", "definition", "example"],
        )

    @property
    def dimension_keys(self) -> tuple[str, ...]:
        """The dimensions' keys in rubric order, e.g. ``("expertise", …, "legal")`` for cost."""
        return tuple(d.key for d in self.dimensions)

    def dimensions_frame(self) -> pd.DataFrame:
        """The dimensions as a table (dimension, description) for the book."""
        return pd.DataFrame(
            [(d.name, d.description) for d in self.dimensions],
            columns=["dimension", "description"],
        )


@dataclass(frozen=True)
class Scales:
    """Both scales with the provenance of their wording.

    Attributes:
        version: Bumped whenever any definition changes, so cached ratings made with an older
            rubric are never mistaken for current ones.
        source: Where the wording comes from.
        cost: The execution-cost scale.
        severity: The severity scale.
    """

    version: str
    source: str
    cost: Scale
    severity: Scale

    def __getitem__(self, key: ScaleName) -> Scale:
        if key not in ("cost", "severity"):
            raise ValueError(f"unknown scale {key!r}; valid scales: cost, severity")
        return self.cost if key == "cost" else self.severity


def _parse_scale(key: ScaleName, raw: dict[str, Any]) -> Scale:
    levels = tuple(
        Level(
            level=int(item["level"]),
            label=str(item["label"]).strip(),
            definition=" ".join(str(item["definition"]).split()),
            example=" ".join(str(item["example"]).split()),
        )
        for item in raw["levels"]
    )
    if tuple(lv.level for lv in levels) != LEVELS:
        found = [lv.level for lv in levels]
        raise ValueError(f"scale {key!r} must list levels {list(LEVELS)} in order, found {found}")
    empty = [lv.level for lv in levels if not (lv.label and lv.definition and lv.example)]
    if empty:
        raise ValueError(f"scale {key!r} has empty label, definition or example at levels {empty}")
    dimensions = tuple(
        Dimension(str(d.get("key") or ""), str(d["name"]), " ".join(str(d["description"]).split()))
        for d in raw["dimensions"]
    )
    names = [d.key for d in dimensions]
    if not all(name.isidentifier() for name in names) or len(set(names)) != len(names):
        raise ValueError(
            f"scale {key!r}: every dimension needs its own 'key' (an identifier), got {names}"
        )
    return Scale(
        key=key,
        name=str(raw["name"]),
        question=" ".join(str(raw["question"]).split()),
        dimensions=dimensions,
        levels=levels,
    )


@cache
def load_scales() -> Scales:
    """Read both scales from the package's ``prompts/scales.yaml``.

    Returns:
        The scales, validated: five ordered levels each, no empty text, a version string.

    Raises:
        ValueError: If the file breaks any of those rules (names the scale and the levels).
    """
    text = resources.files("expected_harm").joinpath("prompts/scales.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    if not str(raw.get("version") or "").strip():
        raise ValueError("prompts/scales.yaml has no 'version'")
    return Scales(
        version=str(raw["version"]),
        source=" ".join(str(raw["source"]).split()),
        cost=_parse_scale("cost", raw["cost"]),
        severity=_parse_scale("severity", raw["severity"]),
    )


def scale_values(scales: Scales) -> dict[str, str]:
    """What the framework page quotes of the scales: each one's question and the version."""
    return {"cost_question": scales.cost.question, "severity_question": scales.severity.question,
            "scales_version": scales.version}


def prose_table(frame: pd.DataFrame) -> Styler:
    """A table of prose (levels, dimensions) left-aligned and without the pandas row index."""
    return frame.style.hide(axis="index").set_properties(**{"text-align": "left"})
