"""The review page in a real browser (Playwright driving Debian's Chromium): an editor signs
in, filters, searches, opens a candidate, approves with the keyboard, undoes, rejects with a
reason; script in feed items never runs; axe-core finds no serious accessibility problem.
The screenshots in docs/ are made here (LITMON_SCREENSHOTS=docs/screenshots).

Skipped with the reason on a machine without /usr/bin/chromium; never skipped in CI."""

import os
import re
from dataclasses import replace
from pathlib import Path

import pytest
from test_web import PASSWORD
from web_server import serving

from litmon import review
from litmon.core.records import Record
from litmon.db.schema import open_db
from litmon.db.store import save_records
from litmon.health import assess
from litmon.jobs import demo_job
from litmon.review.settings import QueueSettings
from litmon.settings import load_config
from litmon.web import auth
from litmon.web.app import create_app

CHROMIUM = "/usr/bin/chromium"

if not Path(CHROMIUM).exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"CI=true but {CHROMIUM} is missing: .ci/run installs chromium")
    pytest.skip(f"no {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

# Chromium in a container: no sandbox as root, and none of the background connections this
# closed network refuses
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
# an unclosed right-to-left override: without isolation it reverses all that follows it
OVERRIDE_JOURNAL = "\u202eOverride Journal"
EVIL_TITLE = "<script>window.__pwned = 1; alert('title')</script> rim lesions in MS"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo's recorded PubMed works, queued by the shipped profiles, plus a feed item
    full of script; an editor account."""
    path = tmp_path_factory.mktemp("browser") / "litmon.db"
    config = load_config(env={})
    demo_job(config, path)
    db = open_db(path)
    save_records(
        db,
        [
            Record(
                source="feed:evil",
                source_id="x1",
                title=EVIL_TITLE,
                abstract='<img src=x onerror="window.__pwned = 2; alert(2)"> paramagnetic rims',
                url="javascript:alert(3)",
                journal="Evil Journal",
                pub_date="2026-11-20",
            )
        ],
    )
    work_id = db.execute("SELECT id FROM works WHERE title = ?", (EVIL_TITLE,)).fetchone()[0]
    review.enqueue(db, work_id, [("ms_neuroimaging", 1.0)])
    save_records(
        db,
        [
            Record(
                source="feed:bidi",
                source_id="b1",
                title="Override in the journal's name",
                journal=OVERRIDE_JOURNAL,
                pub_date="2026-11-21",
            )
        ],
    )
    bidi_id = db.execute("SELECT id FROM works WHERE journal = ?", (OVERRIDE_JOURNAL,))
    review.enqueue(db, bidi_id.fetchone()[0], [("ms_neuroimaging", 1.5)])
    auth.add_user(db, "maria", PASSWORD)
    deployed = replace(config, db_path=path)
    app = create_app(
        path,
        queue_settings=QueueSettings(config.queue.reject_reasons),
        profiles=list(config.profiles.values()),
        status=lambda conn: assess(deployed, conn).as_dict(),
    )
    with serving(app) as url:
        yield url, db, work_id


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, site):
    url, _, _ = site
    context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.errors = []
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    # a refused inline script or handler is reported on the console (CSP), as is any error
    tab.console_errors = []
    tab.on(
        "console",
        lambda message: (
            tab.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    yield tab
    context.close()


def sign_in(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url("/login?next=%2F")
    page.get_by_label("Name").fill("maria")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Candidates")).to_be_visible()


def serious(result) -> list[tuple[str, str, int]]:
    """The serious and critical violations of an axe-core run: rule, impact, how many nodes."""
    return [
        (v["id"], v["impact"], len(v["nodes"]))
        for v in result.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(page: Page, name: str) -> None:
    target = os.environ.get("LITMON_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / name), full_page=False)


def audit(db, candidate_id: int) -> list[tuple]:
    return db.execute(
        "SELECT by, action, reason FROM candidate_audit WHERE candidate_id = ? ORDER BY id",
        (candidate_id,),
    ).fetchall()


def test_an_editor_works_the_queue_with_the_keyboard(page, site):
    url, db, _ = site
    sign_in(page)
    screenshot(page, "queue.png")
    # search, then walk the list with j and open with Enter
    page.keyboard.press("/")
    expect(page.get_by_label("Search title and abstract")).to_be_focused()
    page.keyboard.type("paramagnetic rim")
    page.keyboard.press("Enter")
    rows = page.locator("#queue .row")
    expect(rows.first).to_be_visible()
    first_id = int(rows.first.get_attribute("data-id"))
    page.locator("body").click(position={"x": 5, "y": 400})
    page.keyboard.press("j")
    expect(rows.first).to_have_class("row selected")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/candidates/{first_id}\?state=new&q=paramagnetic\+rim"))
    expect(page.locator("h1 mark").first).to_be_visible()  # matched terms highlighted
    screenshot(page, "candidate.png")

    page.keyboard.press("a")
    expect(page.get_by_role("status")).to_have_text(f"Candidate {first_id}: approved.")
    assert audit(db, first_id)[-1] == ("maria", "approve", None)
    # on the next candidate now; u undoes the decision just made, from the notice
    next_id = int(re.search(r"/candidates/(\d+)\?", page.url).group(1))
    assert next_id != first_id
    page.keyboard.press("u")
    expect(page).to_have_url(re.compile(rf"/candidates/{first_id}\?did=undo&id={first_id}"))
    expect(page.get_by_role("status")).to_have_text(f"Candidate {first_id}: decision undone.")
    assert (
        db.execute("SELECT state FROM candidates WHERE id = ?", (first_id,)).fetchone()[0] == "new"
    )

    page.keyboard.press("r")
    reason = page.get_by_label("Reason")
    expect(reason).to_be_focused()
    reason.select_option("not-new-research")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text(f"Candidate {first_id}: rejected.")
    assert audit(db, first_id)[-1] == ("maria", "reject", "not-new-research")
    assert [row[1] for row in audit(db, first_id)] == ["enqueue", "approve", "undo", "reject"]


def test_filters_narrow_the_queue(page, site):
    sign_in(page)
    page.get_by_label("Journal").fill("Evil Journal")
    page.get_by_label("State").select_option("all")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#queue .row")).to_have_count(1)


def test_script_in_feed_items_never_runs(page, site):
    _, _, work_id = site
    sign_in(page)
    candidate_id = (
        site[1].execute("SELECT id FROM candidates WHERE work_id = ?", (work_id,)).fetchone()[0]
    )
    page.goto("/?state=all&journal=Evil+Journal")
    expect(page.locator("#queue .title")).to_contain_text("<script>")  # shown as text
    page.goto(f"/candidates/{candidate_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("<script>window.__pwned")
    expect(page.get_by_text('<img src=x onerror="window.__pwned = 2; alert(2)">')).to_be_visible()
    assert page.locator("a[href^='javascript:']").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs == [] and page.errors == [] and page.console_errors == []


def test_axe_finds_no_serious_accessibility_problem(browser, site):
    url, _, _ = site
    # axe-core is injected as a script, which the page's CSP would (rightly) refuse
    context = browser.new_context(base_url=url, bypass_csp=True)
    page = context.new_page()
    page.goto("/login")
    found = {"login": Axe().run(page)}
    sign_in(page)
    found["queue"] = Axe().run(page)
    page.locator("#queue .open").first.click()
    found["candidate"] = Axe().run(page)
    page.goto("/ops")
    screenshot(page, "ops.png")
    found["ops"] = Axe().run(page)
    context.close()
    assert {name: serious(result) for name, result in found.items()} == {name: [] for name in found}


def test_screenshots_in_docs_are_these_pages():
    """The committed screenshots exist (they are regenerated with LITMON_SCREENSHOTS)."""
    docs = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
    for name in ("queue.png", "candidate.png", "ops.png"):
        assert (docs / name).stat().st_size > 10_000, name


# How far right the last character of ``needle`` is drawn from its first: negative when
# the text is shown reversed.
_DRAWN_WIDTH = """([selector, needle]) => {
  const walker = document.createTreeWalker(document.querySelector(selector), NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const at = node.data.indexOf(needle);
    if (at < 0) continue;
    const left = (i) => {
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      return range.getBoundingClientRect().left;
    };
    return left(at + needle.length - 1) - left(at);
  }
  return null;
}"""


def test_an_override_in_stored_text_does_not_reverse_what_follows(page, site):
    sign_in(page)
    page.goto("/?state=all&q=override")
    row = page.locator("#queue .row")
    expect(row).to_have_count(1)
    # the date and the topic's score after the journal read left to right
    assert page.evaluate(_DRAWN_WIDTH, ["#queue .row .meta", "2026-11-21"]) > 0
    assert page.evaluate(_DRAWN_WIDTH, ["#queue .row .meta", "1.5"]) > 0
    row.locator("a.open").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Override in the journal")
    assert page.evaluate(_DRAWN_WIDTH, ["article .meta + .meta", "2026-11-21"]) > 0


def _journals_and_dates(page: Page) -> list[tuple[str, str]]:
    """Each row's journal and date as the queue shows them."""
    metas = page.locator("#queue .row .meta").all_inner_texts()
    return [tuple(part.strip() for part in meta.split(" · ")[:2]) for meta in metas]


def test_the_queue_sorts_by_date_and_by_journal(page, site):
    sign_in(page)
    page.get_by_label("State").select_option("all")
    page.get_by_label("Order").select_option("date")
    page.get_by_role("button", name="Filter").click()
    dates = [date for _, date in _journals_and_dates(page) if date != "no date"]
    assert len(dates) > 10 and dates == sorted(dates, reverse=True)  # newest first
    page.get_by_label("Order").select_option("journal")
    page.get_by_role("button", name="Filter").click()
    journals = [journal for journal, _ in _journals_and_dates(page)]
    named = [journal for journal in journals if journal != "no journal"]
    assert named == sorted(named, key=str.lower) and len(set(named)) > 3
    expect(page.get_by_label("Order")).to_have_value("journal")  # the choice is kept


def test_several_candidates_are_decided_at_once_from_the_keyboard(page, site):
    url, db, _ = site
    sign_in(page)
    rows = page.locator("#queue .row")
    chosen = [int(rows.nth(n).get_attribute("data-id")) for n in (0, 1)]
    page.locator("body").click(position={"x": 5, "y": 400})
    for key in ("j", "x", "j", "x"):
        page.keyboard.press(key)
    expect(page.locator("#selected-count")).to_have_text("2")
    screenshot(page, "queue-bulk.png")
    page.get_by_role("button", name="Decide selected").click()
    expect(page.get_by_role("status")).to_have_text(
        f"Candidates {chosen[0]}, {chosen[1]}: approved."
    )
    for candidate_id in chosen:
        assert audit(db, candidate_id)[-1] == ("maria", "approve", None)
    expect(page.locator("#progress")).to_contain_text("decided today")


def test_the_candidate_page_shows_what_moved_the_model(browser, tmp_path):
    """A queue the model ranks (invented papers in two families, decided by the editors):
    the candidate page names the model's probability and the terms that moved it, and the
    queue's "least sure first" order puts the paper of both families first."""
    from click.testing import CliRunner
    from test_learning import CONFIG, COSTS, PLACES, REPAIR, costs, repair

    from litmon.cli import cli

    path = tmp_path / "model.db"
    config = tmp_path / "litmon.toml"
    config.write_text(CONFIG)
    mixed = repair("310", "hippocampal")
    mixed.abstract += " " + costs("311", "hippocampal").abstract
    papers = [repair(str(100 + i), p) for i, p in enumerate(PLACES)]
    papers += [costs(str(200 + i), p) for i, p in enumerate(PLACES)] + [mixed]
    db = open_db(path)
    save_records(db, papers)
    auth.add_user(db, "maria", PASSWORD)

    def run(*args):
        result = CliRunner().invoke(cli, ["--config", str(config), "--db", str(path), *args])
        assert result.exit_code == 0, result.output

    run("score")
    ids = dict(db.execute("SELECT w.pmid, c.id FROM candidates c JOIN works w ON w.id = c.work_id"))
    run("review", *(str(ids[p]) for p in REPAIR[:4]), "approve")
    run("review", *(str(ids[p]) for p in COSTS[:4]), "reject", "--reason", "off-topic")
    run("score")
    with serving(create_app(path)) as url:
        context = browser.new_context(base_url=url)
        page = context.new_page()
        sign_in(page)
        page.get_by_label("Order").select_option("uncertain")
        page.get_by_role("button", name="Filter").click()
        first = page.locator("#queue li").first
        expect(first.locator(".title")).to_contain_text("hippocampal")
        page.goto(f"/candidates/{ids['106']}")
        expect(page.locator("#model-title")).to_contain_text("The model: 0.")
        expect(page.locator(".model-up")).to_contain_text("remyelination")
        expect(page.locator(".model-down")).to_be_visible()
        context.close()
