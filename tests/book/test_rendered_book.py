"""The built book, checked the way a reader sees it: offline, in a real (headless) browser.

The shared build (``conftest.py``) is checked here for what no page may load from the internet and
for what particular pages must show (maths, figures, readings, redacted answers); every page's
title, figures, links, console and screenshot are checked in ``test_every_page.py``.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

# The first test's set-up runs every section cold (about 12 min on CI's 2 cores, more when the
# machine is shared): the per-test limit of pyproject.toml would cut it off.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(2700)]

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=10000",
]
REMOTE = re.compile(r"^(https?:)?//", re.IGNORECASE)
# <link rel=...> values that make the browser fetch the target (rel="next" and the like don't).
FETCHING_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "preconnect", "dns-prefetch",
                 "icon", "shortcut", "apple-touch-icon", "manifest"}


def _browse(
    chromium: str, url: str, tmp_path: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *extra, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def _dom(chromium: str, url: str, tmp_path: Path) -> str:
    """The page's DOM after scripts ran; fails if the page itself fetched from another host.

    Chromium's network log records every request with its initiator. Requests the page started
    carry the page's origin; the browser's own housekeeping (update checks and the like) does not,
    so it is left out rather than mistaken for the book reaching the internet.
    """
    netlog = tmp_path / "netlog.json"
    result = _browse(chromium, url, tmp_path, "--dump-dom", f"--log-net-log={netlog}")
    assert "</html>" in result.stdout, f"no page for {url}:\n{result.stderr[-2000:]}"
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    origin = url.split("/book/")[0]
    requested = [
        event["params"]["url"]
        for event in log["events"]
        if event["type"] == start_job and event.get("params", {}).get("initiator") == origin
    ]
    assert requested, "the network log recorded no requests from the page"
    elsewhere = sorted({u for u in requested if not u.startswith(origin + "/")})
    assert not elsewhere, f"{url} fetched from other hosts: {elsewhere}"
    return result.stdout


class _RemoteResources(HTMLParser):
    """Collects everything in a page that would make a browser fetch from another host."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._inline: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        rels = set(values.get("rel", "").lower().split())
        fetched = {
            "script": ["src"], "img": ["src", "srcset"], "iframe": ["src"], "source": ["src"],
            "video": ["src", "poster"], "audio": ["src"], "embed": ["src"], "object": ["data"],
            "link": ["href"] if rels & FETCHING_RELS else [],
        }.get(tag, [])
        remote = [a for a in fetched if REMOTE.match(values.get(a, ""))]
        self.found += [f"<{tag} {a}={values[a]}>" for a in remote]
        if tag in ("script", "style") and "src" not in values:
            self._inline = tag

    def handle_data(self, data: str) -> None:
        # Inline scripts and styles must not name remote hosts either (a CDN URL in a config
        # object is fetched as soon as the feature is used).
        if self._inline and re.search(r"https?://", data):
            self.found.append(f"inline <{self._inline}>: {data.strip()[:120]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._inline:
            self._inline = None


def _cells_outside_the_run_card(dom: str) -> list[str]:
    """The text of every table cell, leaving out the run card's (it lists parameters and model
    revisions, which are long but are not model text)."""
    dom = re.sub(r'<div class="[^"]*\brun-card\b[^"]*">.*?</table>', "", dom, flags=re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split())
            for c in re.findall(r"<td[^>]*>(.*?)</td>", dom, re.S)]


def test_built_pages_load_nothing_from_the_internet(built_book: Path):
    offenders = {}
    for page in built_book.rglob("*.html"):
        parser = _RemoteResources()
        parser.feed(page.read_text(encoding="utf-8"))
        if parser.found:
            offenders[str(page.relative_to(built_book))] = parser.found
    for sheet in built_book.rglob("*.css"):
        remote = re.findall(r"(?:@import\s+|url\()\s*['\"]?((?:https?:)?//[^'\")\s]+)",
                            sheet.read_text(encoding="utf-8", errors="replace"))
        if remote:
            offenders[str(sheet.relative_to(built_book))] = remote
    assert not offenders, json.dumps(offenders, indent=2)


def test_pages_load_mathjax_from_the_vendored_copy(built_book: Path):
    page = (built_book / "book" / "framework.html").read_text(encoding="utf-8")
    assert re.search(r'<script[^>]+src="\.\./_static/mathjax/tex-chtml\.js', page)
    assert (built_book / "_static" / "mathjax" / "tex-chtml.js").is_file()


def test_framework_page_renders_maths_tables_and_the_figure(
    built_book: Path, served_book: str, chromium: str, tmp_path: Path
):
    url = f"{served_book}/book/framework.html"
    dom = _dom(chromium, url, tmp_path)

    # MathJax replaced the TeX source with rendered containers: four labelled displays at least.
    assert len(re.findall(r"<mjx-container[^>]*display=\"true\"", dom)) >= 4
    assert "<mjx-merror" not in dom, "MathJax reported a TeX error"
    # Scale tables come from the package's YAML, not from text typed into the notebook.
    assert "Prohibitive" in dom and "Catastrophic" in dom and "legal exposure" in dom
    # The likelihood figure is an image that the server actually has, with its numbered caption.
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', dom)
    assert images, "no figure image on the framework page"
    for src in images:
        assert (built_book / "book" / src).resolve().is_file(), f"missing image {src}"
    assert "Fig. 1.1" in dom



def test_intro_page_renders_with_findings_and_references(
    built_book: Path, served_book: str, chromium: str, tmp_path: Path
):
    url = f"{served_book}/book/intro.html"
    dom = _dom(chromium, url, tmp_path)
    assert "What this book reproduces" in dom
    assert "paper: mean cost 1.35" in dom
    assert "Refusal in language models is mediated by a single direction" in dom


def test_threat_distribution_page_shows_figures_but_no_prompt_text(
    built_book: Path, served_book: str, chromium: str, tmp_path: Path
):
    from expected_harm.threats import rater_items

    url = f"{served_book}/book/01_threat_distribution.html"
    dom = _dom(chromium, url, tmp_path)
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', dom)
    assert len(images) >= 5, f"expected the section's figures, found {len(images)}"
    for src in images:
        assert (built_book / "book" / src).resolve().is_file(), f"missing image {src}"
    assert "paper (reference only)" in dom and "trained:smollm2-135m (out of fold)" in dom
    # the rated prompts are harmful: none of their text may reach the page
    rated = rater_items(["advbench", "lmsys_tet", "toxicchat:toxic"], 1, seed=0)
    for prompt in rated["prompt"]:
        assert " ".join(prompt.split())[:50] not in " ".join(dom.split())


def test_calibration_page_shows_no_model_answer_unredacted(
    built_book: Path, served_book: str, chromium: str, tmp_path: Path
):
    url = f"{served_book}/book/02_calibration.html"
    dom = _dom(chromium, url, tmp_path)
    assert "GPT-4 (JailbreakBench prompt)" in dom and "embedded:smollm2-135m" in dom
    # The page opens with its run card: models with revisions, calls cached vs sent, parameters.
    card = re.search(r'<div class="[^"]*\brun-card\b[^"]*">.*?</table>', dom, re.S)
    assert card, "no run card on the calibration page"
    card_text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", card.group(0))).split())
    assert "from the response cache" in card_text and "llama-cpp-python==0.3.36" in card_text
    assert "items_per_benchmark = 1" in card_text and "# Parameters" not in dom
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', dom)
    assert images, "no figure on the calibration page"
    # Model answers appear only in the examples table, redacted: no table cell holds a long text
    # unless it carries the redaction note or is an attack's cited source.
    from expected_harm.attacks import get_attack

    sources = {" ".join(get_attack(a).source.split()) for a in ("direct", "refusal_suppression")}
    cells = _cells_outside_the_run_card(dom)
    long_cells = [c for c in cells
                  if len(c.split()) > 12 and "[redacted:" not in c and c not in sources]
    assert not long_cells, f"unredacted text on the page: {long_cells[:3]}"
    assert any("[redacted:" in c for c in cells), "the examples table shows no redacted answer"
    page = " ".join(dom.split())
    from expected_harm.calibration import calibration_items

    for prompt in calibration_items(["advbench", "jbb_behaviors"], 1, seed=0)["prompt"]:
        assert " ".join(prompt.split())[:50] not in page


def test_models_page_shows_the_evaluation_and_no_harmful_request(
    built_book: Path, served_book: str, chromium: str, tmp_path: Path
):
    from expected_harm.tuning import model_dir
    from expected_harm.tuning.evaluate import held_out

    url = f"{served_book}/book/models.html"
    dom = _dom(chromium, url, tmp_path)
    assert "embedded:smollm2-135m-safety" in dom and "adapter sha256:" in dom
    assert re.search(r"\d+/3 = \d+%<br/?>\[\d+%, \d+%\]", dom), "no refusal rate with its interval"
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', dom)
    assert len(images) >= 2, "expected the loss curve and the refusal figure"
    page = " ".join(dom.split())
    harmful = held_out(model_dir(), per_set=3).query("role == 'eval_harmful'")
    for prompt in harmful["prompt"]:
        assert " ".join(prompt.split())[:40] not in page
    cells = _cells_outside_the_run_card(dom)
    long_cells = [c for c in cells if len(c.split()) > 12 and "[redacted:" not in c]
    assert not long_cells, f"unredacted text on the page: {long_cells[:3]}"


def test_guardrails_page_shows_the_bypass_figure_and_no_sub_question_in_full(
    built_book: Path, served_book: str, chromium: str, tmp_path: Path
):
    from expected_harm.guardrails import decompositions

    url = f"{served_book}/book/04_guardrails.html"
    dom = _dom(chromium, url, tmp_path)
    assert "paper (reference): cost + monitor" in dom and "trained guard 1" in dom
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', dom)
    assert images, "no figure on the guardrails page"
    page = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", dom)).split())
    steps = decompositions(4, seed=0)["sub_question"]
    for question in steps[steps.str.split().str.len() > 12]:
        assert " ".join(question.split()) not in page
    assert "[redacted:" in page
