"""Draft review in a real browser (Playwright driving Debian's Chromium, as
tests/test_browser.py): an editor opens a draft from the drafts list, follows a number to
its place in the abstract, edits the draft and publishes it with the keyboard, sends
another back with a note; the audit trail records each under the editor's name; axe-core
finds no serious accessibility problem on the page with a draft.

Skipped with the reason on a machine without /usr/bin/chromium; never skipped in CI."""

import json

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright
from test_browser import CHROMIUM, FLAGS, screenshot, serious, sign_in
from test_drafts import mesh_works
from test_guards import GOOD
from test_web import PASSWORD
from web_server import serving

from litmon import review
from litmon.db.schema import open_db
from litmon.web import auth
from litmon.web.app import create_app


@pytest.fixture
def site(tmp_path):
    """Candidates 1 and 2 with checked drafts awaiting review; an editor, maria."""
    path = tmp_path / "drafts.db"
    db = open_db(path)
    for n, work_id in enumerate(mesh_works(db, 2)):
        review.enqueue(db, work_id, [("ms_imaging", 9.0 - n)])
    review.decide(db, ["1", "2"], "approve", by="ed")
    for _ in range(2):
        packet = review.claim(db, "w1", 60)
        review.done(db, packet["id"], packet["lease_token"], json.dumps(GOOD))
    auth.add_user(db, "maria", PASSWORD)
    with serving(create_app(path)) as url:
        yield url, db


@pytest.fixture
def page(site):
    url, _ = site
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        context = chromium.new_context(base_url=url, viewport={"width": 1280, "height": 900})
        tab = context.new_page()
        tab.errors = []
        tab.on("pageerror", lambda error: tab.errors.append(str(error)))
        yield tab
        chromium.close()


def trail(db, candidate_id: int) -> list[tuple]:
    return db.execute(
        "SELECT by, action, from_state, to_state, reason, note FROM candidate_audit"
        " WHERE candidate_id = ? AND action IN ('edit', 'publish', 'send_back') ORDER BY id",
        (candidate_id,),
    ).fetchall()


def test_an_editor_edits_publishes_and_sends_back_drafts_with_the_keyboard(page, site):
    _, db = site
    sign_in(page)
    expect(page.locator("#drafts-waiting")).to_have_text("2 drafts awaiting review")
    page.locator("#drafts-waiting").click()
    page.get_by_role("link", name="1", exact=True).click()
    expect(page.locator("#draft-title")).to_have_text("Draft v1")
    expect(page.locator("#draft-status")).to_have_text("All checks passed")
    screenshot(page, "draft-review.png")
    # a number in the draft leads to its place in the abstract
    page.locator("#draft-what_was_done a.number", has_text="32").click()
    target = page.locator(".number:target")
    expect(target).to_have_text("32")
    expect(target).to_be_in_viewport()

    page.keyboard.press("e")
    finding = page.locator("#edit-finding")
    expect(finding).to_be_focused()
    finding.fill("Some MS lesions stay inflamed for months.")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("status")).to_contain_text("draft saved as a new version")
    expect(page.locator("#draft-title")).to_have_text("Draft v2")
    expect(page.locator("#draft-finding")).to_have_text("Some MS lesions stay inflamed for months.")

    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("p")
    expect(page.get_by_role("status")).to_contain_text("draft published")
    expect(page.locator(".meta .state")).to_have_text("published")
    assert trail(db, 1) == [
        ("maria", "edit", "summarized", "summarized", "draft v2", None),
        ("maria", "publish", "summarized", "published", "draft v2", None),
    ]

    page.goto("/candidates/2")
    page.keyboard.press("b")
    expect(page.locator("#send-back-note")).to_be_focused()
    page.keyboard.type("Say how many people took part.")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("status")).to_contain_text("sent back")
    assert trail(db, 2) == [
        (
            "maria",
            "send_back",
            "summarized",
            "approved",
            "draft v1",
            "Say how many people took part.",
        ),
    ]
    # the trail on the page shows the same
    expect(page.locator(".trail tbody tr").last).to_contain_text("send_back")
    assert page.errors == []


def test_the_page_with_a_draft_has_no_serious_accessibility_problem(page, site):
    sign_in(page)
    page.goto("/candidates/1")
    assert serious(Axe().run(page)) == []
