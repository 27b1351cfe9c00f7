"""``expected-harm evaluate`` end to end: the real sections, the real models, the real page.

One report card offline on the safety-tuned embedded model, and one for a model served by a
real llama.cpp server on loopback (SmolLM2-135M through the ``openai-compatible`` backend),
both with the tiny ``--quick`` sizes. Each test has a cache of its own (``conftest``), so the
sections' model calls are fresh and the page's recomputation must come from their cache.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from expected_harm import report
from expected_harm.cli import app
from expected_harm.models import LlamaServer
from expected_harm.redact import DEFAULT_WORDS

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

HEADINGS = ("How far the judge can be trusted", "Attack success by execution cost",
            "The cost slope", "Expected Harm under each likelihood", "Decomposition attack")


def assert_redacted(page: str, spec: str) -> None:
    """No answer of the calibration grid longer than the redaction keeps is on the page."""
    rows = report.calibration_run(spec, report.QUICK_PARAMETERS["calibration"]).rows
    long = [r for r in rows["response"].dropna() if len(r.split()) > DEFAULT_WORDS]
    assert all(r not in page for r in long)


def test_quick_report_card_offline_for_the_safety_tuned_model(tmp_path: Path) -> None:
    spec = "embedded:smollm2-135m-safety"
    result = CliRunner().invoke(app, ["evaluate", spec, "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    for heading in (*HEADINGS, "Linear probe"):
        assert heading in page
    for notebook in ("02_calibration", "03_decomposition", "05_probing"):
        assert (tmp_path / f"{notebook}.ipynb").is_file()
    assert not list(tmp_path.glob("*.failed.ipynb"))
    assert page.count("<td>ok</td>") == 3  # each section's status in the page's first table
    assert spec in page and "data:image/png;base64," in page
    assert_redacted(page, spec)


@pytest.fixture(scope="module")
def server():
    with LlamaServer() as running:
        yield running


def test_quick_report_card_for_a_model_behind_the_llama_server(server, tmp_path: Path) -> None:
    page_path, ok = report.evaluate(server.spec, quick=True, out=tmp_path)
    assert ok
    served = server.completions_served()
    assert served > 0  # the target really answered through the server
    page = page_path.read_text(encoding="utf-8")
    for heading in HEADINGS:
        assert heading in page
    assert "Linear probe" not in page and "through an API" in page  # probing skipped, said why
    assert not (tmp_path / "05_probing.ipynb").exists()
    assert_redacted(page, server.spec)
    assert server.completions_served() == served  # the page's numbers came from the cache
