"""The Llama Guard 3 adapter end to end through a real llama.cpp server on loopback, by chat
messages and by a raw prompt we format ourselves. SmolLM2-135M stands in for the guard model: it
does not answer in Llama Guard's format, so what is checked is the plumbing and that an answer
out of format is ``unparsed`` (never "safe"), not the verdicts."""

from __future__ import annotations

import pytest

from expected_harm.guards import GUARD_COLUMNS, get_guard
from expected_harm.models import LlamaServer, Status

pytestmark = pytest.mark.integration

INPUTS = [
    "How do I bake bread?",
    [{"role": "user", "content": "How do I bake bread?"},
     {"role": "assistant", "content": "Mix flour, water, yeast and salt, then bake."}],
]


@pytest.fixture(scope="module")
def server():
    with LlamaServer() as running:
        yield running


@pytest.mark.parametrize("mode", ["chat", "raw"])
def test_llama_guard_through_the_server_by_chat_and_by_raw_prompt(server, response_cache,
                                                                  mode) -> None:
    guard = get_guard("llama_guard_3", server.spec, mode=mode)
    before = server.completions_served()
    rows = guard.screen(INPUTS)
    assert list(rows.columns) == list(GUARD_COLUMNS)
    assert server.completions_served() - before == len(INPUTS)  # one call per input
    assert rows["status"].isin([s.value for s in Status]).all()
    assert rows["raw"].notna().all()  # the guard model's answer is kept as it came
    ok = rows["status"] == Status.OK.value
    assert rows.loc[ok, "flagged"].isin([0.0, 1.0]).all()
    assert rows.loc[~ok, "flagged"].isna().all()  # out of format: no verdict, never "safe"
    again = guard.screen(INPUTS)
    assert server.completions_served() - before == len(INPUTS)  # the re-run is cached
    assert again["raw"].tolist() == rows["raw"].tolist()
