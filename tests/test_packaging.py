"""An installed package works outside the checkout: its wheel carries the package data."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from expected_harm import paths
from expected_harm.annotations import annotations_dir
from expected_harm.paths import project_root
from expected_harm.tuning import model_dir


def test_the_wheel_carries_prompts_labels_and_the_adapter(tmp_path: Path) -> None:
    root = project_root()
    source = tmp_path / "source"  # build from a copy: no build/ or egg-info in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, source / name)
    shutil.copytree(root / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
         "-q", "-w", str(tmp_path / "wheel")],
        check=True, timeout=300,
    )
    (wheel,) = (tmp_path / "wheel").glob("expected_harm-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    package = root / "src" / "expected_harm"
    tracked = subprocess.run(
        ["git", "ls-files", "data", "prompts"], cwd=package, check=True, capture_output=True,
        text=True,
    ).stdout.split()
    assert len(tracked) > 30
    missing = sorted({f"expected_harm/{name}" for name in tracked} - names)
    assert not missing, f"not in the wheel: {missing}"
    for needed in ("data/models/smollm2-135m-safety/adapter.gguf",
                   "data/annotations/reference/jbb_behaviors.csv", "prompts/scales.yaml"):
        assert f"expected_harm/{needed}" in names


def test_package_data_is_found_beside_the_module_or_where_the_variable_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(paths.DATA_DIR_VAR, raising=False)
    here = Path(paths.__file__).resolve().parent / "data"
    assert annotations_dir() == here / "annotations"
    assert model_dir() == here / "models" / "smollm2-135m-safety"
    assert paths.writable_data_dir() == here  # a checkout: writes stay in it
    monkeypatch.setenv(paths.DATA_DIR_VAR, str(tmp_path))
    assert annotations_dir(write=True) == tmp_path / "annotations"


def test_writing_into_an_installed_copy_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(paths.DATA_DIR_VAR, raising=False)
    installed = tmp_path / "lib" / "site-packages" / "expected_harm" / "data"
    monkeypatch.setattr(paths, "data_dir", lambda: installed)
    with pytest.raises(PermissionError, match="installed package.*pip install -e"):
        paths.writable_data_dir()
