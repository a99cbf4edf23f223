"""The published site in a real browser (Playwright driving Debian's Chromium), served over
loopback HTTP as a web server would: readable with JavaScript off, on a phone's screen with
nothing wider than it, from the index to a piece through "Read More"; axe-core finds no
serious accessibility problem. The screenshots in docs/ are made here
(LITMON_SCREENSHOTS=docs/screenshots).

Skipped with the reason on a machine without /usr/bin/chromium; never skipped in CI."""

import functools
import os
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright
from test_browser import CHROMIUM, FLAGS, serious  # skips this module without Chromium
from test_publish import SETTINGS, publish_piece

from litmon.publish import publish

PHONE = {"width": 390, "height": 844}

PIECES = [
    {
        "finding": "A type of MRI (QSM) may show brain changes linked to inflammation, not"
        " just protein build-up.",
        "what_was_done": "Researchers scanned the brains of 40 people twice, a year apart, with"
        " a type of MRI called quantitative susceptibility mapping (QSM). Areas with more"
        " iron, a sign of inflammation, changed more over the year.",
        "why_it_matters": "If QSM can follow inflammation without a contrast injection, it"
        " might one day help doctors see whether a treatment is working in MS.",
        "limits": "This study was done in people across the Alzheimer's spectrum, not in MS"
        " patients, so we can't assume QSM works the same way in MS. It was also small.",
    },
    {
        "finding": "Rim lesions seen on MRI were linked to faster disability worsening over"
        " five years.",
        "what_was_done": "Doctors followed 40 people with MS for five years and counted"
        " lesions with a dark rim on a special MRI scan.",
        "why_it_matters": "Rim lesions may help tell who needs closer follow-up, and they are"
        " a target for new treatments being tested now.",
        "limits": "One hospital and a small group; the scans need expert reading that many"
        " clinics do not have yet.",
    },
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Two pieces editors published, written by `publish` and served over HTTP."""
    from litmon.db.schema import open_db

    root = tmp_path_factory.mktemp("site")
    db = open_db(root / "litmon.db")
    for n, parts in enumerate(PIECES, start=1):
        publish_piece(db, n, **parts)
    publish(db, root / "site", SETTINGS)
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root / "site"))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


def test_a_reader_on_a_phone_without_javascript_goes_from_the_list_to_a_piece(browser, site):
    context = browser.new_context(base_url=site, viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto("/index.html")
    expect(page.get_by_role("heading", level=1)).to_have_text("MS research in plain language")
    items = page.locator("ol.pieces > li")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("Rim lesions seen on MRI")  # newest first
    expect(items.first.locator("time")).to_be_visible()
    assert _fits(page), "the list is wider than a phone's screen"
    screenshot(page, "site-index.png")
    page.get_by_role("link", name=re.compile(r"^Read More\s*: A type of MRI \(QSM\)")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("A type of MRI (QSM)")
    for heading in (
        "What the researchers did and found",
        "Why it matters for people with MS and their caregivers",
        "The study's limits",
        "The study",
    ):
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="PubMed: 40000001")).to_have_attribute(
        "href", "https://pubmed.ncbi.nlm.nih.gov/40000001/"
    )
    expect(page.get_by_text("talk to your MS care team")).to_be_visible()
    assert _fits(page), "the piece is wider than a phone's screen"
    screenshot(page, "site-piece.png")
    page.get_by_role("link", name="MS imaging").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("MS imaging")
    context.close()


def test_the_keyboard_reaches_every_link_with_a_visible_focus(browser, site):
    context = browser.new_context(base_url=site, viewport=PHONE)
    page = context.new_page()
    page.goto("/index.html")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), outline
    context.close()


def test_axe_finds_no_serious_accessibility_problem(browser, site):
    context = browser.new_context(base_url=site)
    page = context.new_page()
    found = {}
    for name, path in (("index", "/index.html"), ("topic", "/topics/ms-neuroimaging/index.html")):
        page.goto(path)
        found[name] = Axe().run(page)
    page.goto("/index.html")
    page.locator("a.more").first.click()
    found["piece"] = Axe().run(page)
    context.close()
    assert {name: serious(result) for name, result in found.items()} == {name: [] for name in found}


def screenshot(page, name: str) -> None:
    """The whole page (the piece's citation and caveat are below a phone's fold), into
    $LITMON_SCREENSHOTS when set."""
    target = os.environ.get("LITMON_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / name), full_page=True)


class _Quiet(SimpleHTTPRequestHandler):
    """A static web server for the site, as any would serve it, without a log line a request."""

    def log_message(self, *args):
        pass


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_screenshots_in_docs_are_these_pages():
    """The committed screenshots exist (they are regenerated with LITMON_SCREENSHOTS)."""
    docs = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
    for name in ("site-index.png", "site-piece.png"):
        assert (docs / name).stat().st_size > 10_000, name
