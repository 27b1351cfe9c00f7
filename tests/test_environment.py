"""environment.yml (conda users) and pyproject.toml (pip) must declare the same dependencies."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def normalise(requirement: str) -> str:
    parsed = Requirement(requirement)
    extras = f"[{','.join(sorted(parsed.extras))}]" if parsed.extras else ""
    return f"{parsed.name.lower().replace('_', '-')}{extras}{parsed.specifier}"


def test_environment_yml_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    [pip_section] = [d for d in environment["dependencies"] if isinstance(d, dict)]
    conda_pip = [r for r in pip_section["pip"] if not r.startswith("-e")]
    assert sorted(map(normalise, conda_pip)) == sorted(map(normalise, declared))
    python = [
        d for d in environment["dependencies"] if isinstance(d, str) and d.startswith("python")
    ]
    assert python == ["python=3.11"] and project["requires-python"] == ">=3.11,<3.12"
