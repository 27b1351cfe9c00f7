"""Run settings: set once with ``run_settings``, read by the runner only, also in its worker
thread."""

from __future__ import annotations

import asyncio
import threading

from expected_harm.models import ResponseCache, RunSettings, generate, run_settings
from expected_harm.models._cache import default_cache_path
from expected_harm.models._context import current_settings
from tests.doubles import ScriptedChatModel


def test_by_default_the_shared_cache_and_progress_bars() -> None:
    settings = RunSettings()
    assert settings.progress is True
    assert settings.response_cache().path == default_cache_path()


def test_settings_nest_keep_what_is_not_given_and_are_restored(tmp_path) -> None:
    cache = ResponseCache(tmp_path / "outer.sqlite")
    before = current_settings()
    with run_settings(cache=cache, progress=True):
        with run_settings(progress=False) as inner:
            assert inner.cache is cache and inner.progress is False
        assert current_settings().progress is True
    assert current_settings() == before


def test_calls_use_the_cache_of_the_block(tmp_path) -> None:
    cache = ResponseCache(tmp_path / "mine.sqlite")
    with run_settings(cache=cache):
        generate(ScriptedChatModel(), ["a", "b"])
    assert len(cache) == 2
    assert len(ResponseCache()) == 0  # the shared (here: the test's) cache got nothing


def test_the_worker_thread_inside_a_running_loop_sees_the_settings(tmp_path) -> None:
    """Jupyter's loop is running, so the runner works in a thread of its own: a fresh thread
    starts with an empty context, and the caller's settings must be carried over."""
    cache = ResponseCache(tmp_path / "notebook.sqlite")

    async def notebook_cell():
        with run_settings(cache=cache):
            return generate(ScriptedChatModel(), ["inside"])

    [result] = asyncio.run(notebook_cell())
    assert result.text == "INSIDE"
    assert len(cache) == 1


def test_settings_do_not_leak_into_other_threads(tmp_path) -> None:
    seen = []
    with run_settings(cache=ResponseCache(tmp_path / "here.sqlite")):
        thread = threading.Thread(target=lambda: seen.append(current_settings()))
        thread.start()
        thread.join()
    assert seen == [RunSettings()]


def test_progress_bars_follow_the_setting(capsys) -> None:
    with run_settings(progress=True):
        generate(ScriptedChatModel(), ["shown"], desc="a visible bar")
    assert "a visible bar" in capsys.readouterr().err
    with run_settings(progress=False):
        generate(ScriptedChatModel(), ["hidden"], desc="a hidden bar")
    assert "a hidden bar" not in capsys.readouterr().err
