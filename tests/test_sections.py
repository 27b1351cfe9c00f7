"""Every section notebook runs end to end with small parameters (papermill smoke runs)."""

from __future__ import annotations

import json

import pytest

from expected_harm.sections import (
    SECTIONS,
    SectionError,
    get_section,
    notebook_parameters,
    ready_sections,
    run_section,
    run_sections,
    run_totals,
)

pytestmark = pytest.mark.integration


def outputs_text(path) -> str:
    notebook = json.loads(path.read_text())
    parts = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            parts.append(json.dumps(output.get("data", {})) + "".join(output.get("text", "")))
    return "\n".join(parts)


def test_sections_start_after_the_sections_they_repeat() -> None:
    """Each name in ``after`` is a section that comes earlier in the book's order."""
    order = list(SECTIONS)
    for section in SECTIONS.values():
        for name in section.after:
            assert order.index(name) < order.index(section.name), (section.name, name)
    assert get_section("guardrails").after == ("decomposition",)
    with pytest.raises(ValueError, match="jobs must be at least 1"):
        list(run_sections([get_section("framework")], jobs=0))


def test_two_jobs_run_sections_side_by_side(tmp_path) -> None:
    """Two sections in two processes: each page is written, once."""
    sections = [get_section("framework"), get_section("datasets")]
    finished = {section.name: path for section, path in run_sections(sections, 2, tmp_path)}
    assert set(finished) == {"framework", "datasets"}
    assert sorted(p.name for p in tmp_path.glob("*.ipynb")) == ["datasets.ipynb", "framework.ipynb"]
    assert all(run_totals(path)["seconds"] > 0 for path in finished.values())


def test_every_section_declares_a_parameters_cell() -> None:
    for section in SECTIONS.values():
        assert section.source.is_file(), section.source
        notebook_parameters(section)  # raises if the notebook has no readable parameters cell


def test_threat_distribution_smoke_run(tmp_path) -> None:
    output = run_section(
        get_section("threat_distribution"),
        {"per_set": 1, "seed": 3, "likelihood": "logistic"},
        output=tmp_path / "threat_distribution.ipynb",
    )
    text = outputs_text(output)
    assert "trained:smollm2-135m (out of fold)" in text  # the rater is named next to its numbers
    assert "scales 1.0 / rater 1.0" in text  # and so is the rubric
    assert "Traceback" not in text

    # The page opens with its run card, right under the title; the injected cell is hidden.
    cells = json.loads(output.read_text())["cells"]
    card = "".join(cells[1]["source"])
    assert "run-card" in cells[1]["metadata"]["tags"] and card.startswith(":::{admonition} Run")
    assert "per_set = `1`<br>" in card and "rater = `\"trained\"` (default)" in card
    assert "`trained (out-of-fold ratings)` (version scales 1.0 / rater 1.0)" in card
    assert "`lmsys_tet` (2,546 rows)" in card and "Model calls | none" in card
    [injected] = [c for c in cells if "injected-parameters" in c["metadata"].get("tags", [])]
    assert "remove-cell" in injected["metadata"]["tags"]
    assert not list(tmp_path.glob("*.runlog.jsonl"))  # the run's log is gone with the run
    totals = run_totals(output)  # and its totals are in the notebook's metadata
    assert totals["seconds"] > 0 and totals["requests"] == totals["sent"] == 0


def test_probing_smoke_run(tmp_path) -> None:
    output = run_section(
        get_section("probing"),
        {"per_set": 3, "harmless_per_set": 15, "refusal_screen": 4, "layers": [1, 15, 30]},
        output=tmp_path / "probing.ipynb",
    )
    text = outputs_text(output)
    assert "embedded:smollm2-135m-safety" in text  # the model is named next to its numbers
    assert "diff_in_means" in text  # and so is the probe it fell back to
    assert "score (layer 30, diff_in_means, embedded:smollm2-135m-safety" in text
    assert "Traceback" not in text


def test_models_smoke_run(tmp_path) -> None:
    output = run_section(get_section("models"), {"per_set": 2},
                         output=tmp_path / "models.ipynb")
    text = outputs_text(output)
    assert "embedded:smollm2-135m-safety" in text and "adapter sha256:" in text
    assert "(harmful request, not shown)" in text  # harmful prompts never reach the page
    assert "Traceback" not in text


def test_a_failing_section_names_the_cell_and_keeps_the_last_good_page(tmp_path) -> None:
    page = tmp_path / "threat.ipynb"
    page.write_text("the last good page")
    failure = r"failed in cell \d+: ValueError: unknown likelihood"
    with pytest.raises(SectionError, match=failure) as error:
        run_section(get_section("threat_distribution"), {"likelihood": "cubic"}, output=page)
    assert page.read_text() == "the last good page"
    failed = tmp_path / "threat.failed.ipynb"
    assert str(failed) in str(error.value) and "unknown likelihood" in failed.read_text()
    assert not (tmp_path / "threat.running.ipynb").exists()


def test_calibration_smoke_run(tmp_path) -> None:
    output = run_section(
        get_section("calibration"),
        {"items_per_benchmark": 1, "benchmarks": ["advbench", "strongreject"],
         "attacks": ["direct", "pair"], "pair_iterations": 1, "validation_items": 2,
         "published_judged_per_cell": 1, "max_tokens": 16},
        output=tmp_path / "calibration.ipynb",
    )
    text = outputs_text(output)
    assert "trained judge 1 (logistic on SmolLM2-135M layer" in text  # the judge is named
    assert "GPT-4 (JailbreakBench prompt)" in text  # published judges beside ours
    assert "pair 1.0 (attacker embedded:smollm2-135m" in text
    assert "gpt-4-0125-preview" in text  # the published attacks on real models
    assert "Traceback" not in text


DECOMPOSITION_SMOKE = {"items_per_benchmark": 1, "strategies": ["cost", "published"], "k": 2,
                      "monitor_validation": 1, "published_judged_per_cell": 1, "rated_steps": 2,
                      "max_tokens": 16, "revision_budget": 0}


def test_decomposition_smoke_run_and_its_rerun_makes_no_model_call(tmp_path) -> None:
    from expected_harm.models import ResponseCache

    output = run_section(get_section("decomposition"), DECOMPOSITION_SMOKE,
                         output=tmp_path / "decomposition.ipynb")
    text = outputs_text(output)
    assert "harmbench_classifier 1.0 by embedded:smollm2-135m" in text  # the judge is named
    assert "gpt-4o-mini" in text and "Priyanshu" in text  # the published evidence, cited
    assert "decompose 1.0 (published decompositions of GPT-4o" in text  # the replay, named
    assert "decompose 1.0 (cost decomposition by embedded:smollm2-135m" in text
    assert "17 of 20" in text  # the paper's count, beside ours
    assert "[redacted" in text  # sub-tasks and answers are redacted on the page
    assert "Traceback" not in text
    answers = len(ResponseCache())
    run_section(get_section("decomposition"), DECOMPOSITION_SMOKE,
                output=tmp_path / "again.ipynb")
    assert len(ResponseCache()) == answers  # every call of the re-run came from the cache


GUARDRAILS_SMOKE = {"decompositions_per_kind": 4, "live_strategies": [],
                    "benign_prompts_per_set": 3}


def test_guardrails_smoke_run_and_its_rerun_extracts_and_calls_nothing(tmp_path) -> None:
    from expected_harm.models import ResponseCache
    from expected_harm.probing import ActivationCache

    def cached_vectors() -> int:
        return sum(1 for _ in ActivationCache().folder.rglob("*.npy"))

    output = run_section(get_section("guardrails"), GUARDRAILS_SMOKE,
                         output=tmp_path / "guardrails.ipynb")
    text = outputs_text(output)
    assert "trained guard 1 (logistic on SmolLM2-135M" in text  # the guard is named
    assert "rubric monitor (expected harm, exponential)" in text
    assert "paper (reference): cost + monitor" in text and "Llama-Guard-3" in text
    assert "Llama Guard 1 (published verdicts)" in text and "[redacted" in text
    assert "Traceback" not in text
    answers, vectors = len(ResponseCache()), cached_vectors()
    run_section(get_section("guardrails"), GUARDRAILS_SMOKE, output=tmp_path / "again.ipynb")
    assert (len(ResponseCache()), cached_vectors()) == (answers, vectors)


def test_the_committed_toc_is_the_one_the_pages_write() -> None:
    """``_toc.yml`` is generated from ``sections.PAGES``: add a page there, then run the book."""
    from expected_harm.paths import project_root
    from expected_harm.sections import toc_yaml

    committed = (project_root() / "_toc.yml").read_text(encoding="utf-8")
    assert committed == toc_yaml(), "run `expected-harm book` (or sections.write_toc()), commit"


def test_every_page_of_the_toc_has_its_source() -> None:
    from expected_harm.paths import project_root
    from expected_harm.sections import PAGES, ROOT, SECTIONS, Prose

    root = project_root()
    for page in (ROOT, *PAGES):
        if isinstance(page, Prose):
            assert (root / f"{page.file}.md").is_file(), page
        else:
            assert page.source.is_file() and SECTIONS[page.name] is page
    assert list(SECTIONS) == [p.name for p in PAGES if not isinstance(p, Prose)]


def test_write_toc_rewrites_a_stale_toc(tmp_path) -> None:
    from expected_harm.sections import toc_yaml, write_toc

    (tmp_path / "_toc.yml").write_text("stale\n", encoding="utf-8")
    assert write_toc(tmp_path).read_text(encoding="utf-8") == toc_yaml()


def test_the_longest_ready_section_starts_first() -> None:
    """Probing, the longest, starts at once; guardrails waits for decomposition."""
    sections = [get_section(n) for n in ("models", "decomposition", "guardrails", "probing")]
    names = {s.name for s in sections}
    assert [s.name for s in ready_sections(sections, set(), names)] == [
        "probing", "decomposition", "models"]
    rest = [s for s in sections if s.name != "decomposition"]
    assert [s.name for s in ready_sections(rest, {"decomposition"}, names)] == [
        "probing", "models", "guardrails"]
