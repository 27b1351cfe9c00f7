"""Every page of the built book in a real browser (Playwright driving the Debian Chromium).

For each page of ``_toc.yml`` and the search page: the title renders, every image has loaded, no
request leaves 127.0.0.1, the console shows no error, every link into the book finds its file (and
its anchor), and one full-page screenshot goes to the artefact folder for a person to look at.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from expected_harm.sections import PAGES, ROOT, Section

pytestmark = [pytest.mark.integration, pytest.mark.timeout(2700)]

#: Each page's file stem (``book/<stem>.html``) and the title its heading must carry.
BOOK_PAGES = {page.file.removeprefix("book/"): page.title if isinstance(page, Section) else ""
              for page in (ROOT, *PAGES)}
#: A word the book uses on several pages; the search page must find it.
KNOWN_WORD = "severity"


@cache
def _anchors(page: Path) -> frozenset[str]:
    """The ids (and old-style names) a link's #fragment may point at in ``page``."""
    text = page.read_text(encoding="utf-8", errors="replace")
    return frozenset(re.findall(r'\s(?:id|name)="([^"]+)"', text))


def _broken_links(hrefs: list[str], origin: str, built_book: Path) -> list[str]:
    """The links into the book (same origin) whose file, or whose #anchor, the build lacks."""
    broken = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != origin:
            continue  # a citation or an outside reference: not fetched by the page, and allowed
        target = built_book / unquote(parts.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{href} (no file)")
        elif parts.fragment and target.suffix == ".html" \
                and unquote(parts.fragment) not in _anchors(target):
            broken.append(f"{href} (no anchor #{parts.fragment})")
    return broken


def _visit(browser, url: str, screenshot: Path) -> dict:
    """Open ``url`` in a fresh context, let scripts and MathJax finish, and report what happened.

    Every request is recorded; one to a host other than the book's is aborted, and so never
    reaches the internet.
    """
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    seen = {"requests": [], "elsewhere": [], "failed": [], "errors": []}
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()

    def route(request_route) -> None:
        request = request_route.request
        seen["requests"].append(request.url)
        if request.url.startswith(origin + "/") or request.url.startswith("data:"):
            request_route.continue_()
        else:
            seen["elsewhere"].append(request.url)
            request_route.abort()

    def console(message) -> None:
        if message.type == "error":
            seen["errors"].append(f"console: {message.text}")

    def response(answer) -> None:
        if answer.status >= 400:
            seen["failed"].append(f"{answer.status} {answer.url}")

    def failed(request) -> None:
        if request.url.startswith(origin + "/"):
            seen["failed"].append(f"{request.failure} {request.url}")

    context.route("**/*", route)
    page.on("console", console)
    page.on("pageerror", lambda error: seen["errors"].append(f"page error: {error}"))
    page.on("response", response)
    page.on("requestfailed", failed)
    try:
        page.goto(url, wait_until="networkidle")
        # MathJax typesets after load; wait for it so the screenshot shows the maths.
        page.evaluate("() => window.MathJax?.startup?.promise")
        seen["title"] = page.locator("main h1, article h1").first.inner_text(timeout=5000)
        seen["images"] = page.evaluate(
            """() => Array.from(document.images, image => ({
                src: image.currentSrc || image.src,
                loaded: image.complete && image.naturalWidth > 0}))""")
        seen["hrefs"] = page.evaluate(
            "() => Array.from(document.querySelectorAll('a[href]'), a => a.href)")
        if "search.html" in url:
            page.wait_for_selector("#search-results li", timeout=30_000)
            seen["results"] = page.locator("#search-results li").count()
        # Finished transitions: the sidebar is shot where it settles, not half-way in.
        page.screenshot(path=str(screenshot), full_page=True, animations="disabled")
    finally:
        context.close()
    return seen


def _check(seen: dict, origin: str, built_book: Path) -> list[str]:
    problems = [f"request to another host: {u}" for u in seen["elsewhere"]]
    problems += [f"failed request: {f}" for f in seen["failed"]]
    problems += seen["errors"]
    problems += [f"image did not load: {i['src']}" for i in seen["images"] if not i["loaded"]]
    problems += [f"broken link: {b}" for b in _broken_links(seen["hrefs"], origin, built_book)]
    if not any(u.startswith(origin) for u in seen["requests"]):
        problems.append("no request was recorded (the route saw nothing)")
    return problems


@pytest.mark.parametrize("stem", list(BOOK_PAGES))
def test_page_renders_offline_with_its_title_figures_and_links(
    stem: str, browser, served_book: str, built_book: Path, screenshots: Path
):
    html_file = built_book / "book" / f"{stem}.html"
    assert html_file.is_file(), f"the build has no page for {stem}"
    shot = screenshots / f"{stem}.png"
    seen = _visit(browser, f"{served_book}/book/{stem}.html", shot)
    print(f"screenshot of {stem}: {shot}")

    assert seen["title"].strip(), f"{stem}: the page's heading is empty"
    title = BOOK_PAGES[stem]
    assert title.casefold() in seen["title"].casefold(), f"{stem}: heading {seen['title']!r}"
    # Images in the page's source must all be in the browser's list, and all loaded.
    sources = re.findall(r"<img[^>]+src=\"([^\"]+)\"", html_file.read_text(encoding="utf-8"))
    assert len(seen["images"]) >= len(sources), f"{stem}: images missing from the page"
    problems = _check(seen, served_book, built_book)
    assert not problems, f"{stem}:\n" + "\n".join(problems)
    assert shot.stat().st_size > 10_000


def test_search_page_finds_a_known_word(
    browser, served_book: str, built_book: Path, screenshots: Path
):
    shot = screenshots / "search.png"
    seen = _visit(browser, f"{served_book}/search.html?q={KNOWN_WORD}", shot)
    print(f"screenshot of the search page: {shot}")
    assert "search" in seen["title"].casefold()
    assert seen["results"] >= 1, f"the search page found nothing for {KNOWN_WORD!r}"
    problems = _check(seen, served_book, built_book)
    assert not problems, "search page:\n" + "\n".join(problems)
