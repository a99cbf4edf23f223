"""Drafts on the review page over real HTTP: the draft beside the abstract with each number
linked to its anchor in the abstract (one the abstract lacks marked), the checks, the free
text marked unchecked, script in a draft shown as text, publish/edit/send back through
CSRF-checked forms (a stale version refused), and the list of drafts awaiting review."""

import json
import re

import pytest
import requests
from test_drafts import mesh_works
from test_guards import GOOD
from test_web import PASSWORD, csrf, sign_in
from web_server import serving

from litmon import review
from litmon.db.schema import open_db
from litmon.web import auth
from litmon.web.app import create_app


@pytest.fixture
def site(tmp_path):
    """Candidate 1 with a checked draft, 2 with free text; an editor, maria."""
    path = tmp_path / "web.db"
    db = open_db(path)
    for n, work_id in enumerate(mesh_works(db, 2)):
        review.enqueue(db, work_id, [("ms_imaging", 9.0 - n)])
    review.decide(db, ["1", "2"], "approve", by="ed")
    free = "<script>alert(1)</script> A summary with 77 in it. \u202eredro ni ton"
    for text in (json.dumps(GOOD), free):
        packet = review.claim(db, "w1", 60)
        review.done(db, packet["id"], packet["lease_token"], text)
    auth.add_user(db, "maria", PASSWORD)
    with serving(create_app(path)) as url:
        yield url, db, sign_in(url)


def post(browser, url: str, candidate_id: int, **fields) -> requests.Response:
    page = browser.get(f"{url}/candidates/{candidate_id}").text
    data = {"csrf_token": csrf(page)} | fields
    return browser.post(f"{url}/candidates/{candidate_id}/draft", data=data)


def test_numbers_in_the_draft_link_to_their_place_in_the_abstract(site):
    url, db, browser = site
    page = browser.get(f"{url}/candidates/1").text
    # the abstract's numbers carry anchors; the draft's link to the first with that value
    anchors = dict(
        re.findall(r'<span class="number" id="(abstract-number-\d+)">([^<]+)</span>', page)
    )
    assert sorted(anchors.values()) == sorted(["120", "6", "7", "32", "10", "20", ".05"])
    links = re.findall(r'<a class="number" href="#(abstract-number-\d+)">([^<]+)</a>', page)
    assert {(anchors[target], shown) for target, shown in links} == {
        ("120", "120"), ("6", "6"), ("32", "32"), ("10", "10"), ("20", "20"), (".05", "0.05"),
    }  # fmt: skip
    assert "All checks passed" in page and "passed numbers" in page
    assert 'We followed <span class="number"' in page  # the abstract is beside the draft


def test_free_text_is_marked_unchecked_and_shown_as_text(site):
    url, _, browser = site
    page = browser.get(f"{url}/candidates/2").text
    assert "UNCHECKED: free text as received" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert '<mark class="number missing" title="not in the abstract">77</mark>' in page
    assert re.search(r"<button type=\"submit\" disabled[^>]*>Publish v1", page)
    # an override in a draft ends with it: the text is isolated from the page around it
    assert '<blockquote id="draft-text"><bdi>&lt;script&gt;' in page


def test_publish_edit_and_send_back_through_the_forms(site):
    url, db, browser = site
    edited = post(browser, url, 1, action="edit", draft_version=1,
                  **GOOD | {"finding": "Some MS lesions stay inflamed, 23% of them."})  # fmt: skip
    assert edited.status_code == 200 and "draft saved as a new version" in edited.text
    assert "Checks failed: numbers" in edited.text
    assert '<mark class="number missing" title="not in the abstract">23</mark>' in edited.text
    # a refused change returns to the candidate's page saying why, nothing changed
    stale = post(browser, url, 1, action="publish", draft_version=1)
    assert "version 2, not the version 1 you saw" in stale.text
    refused = post(browser, url, 1, action="publish", draft_version=2)
    assert "failed its checks (numbers)" in refused.text
    assert review.show(db, "1")["state"] == "summarized"
    published = post(browser, url, 1, action="publish", draft_version=2, force="1")
    assert published.status_code == 200 and "draft published" in published.text
    trail = [(r["action"], r["by"]) for r in review.history(db, "1")]
    assert trail[-2:] == [("edit", "maria"), ("publish", "maria")]
    assert (
        "Published v2 by <bdi>maria</bdi>" in published.text
        and 'id="publish-form"' not in published.text
    )
    back_to_review = post(browser, url, 1, action="unpublish", draft_version=2)
    assert "taken back to review" in back_to_review.text
    assert review.show(db, "1")["state"] == "summarized"
    edit = GOOD | {"finding": "Rims are common in MS."}
    review.edit(db, 2, edit, "jo")  # meanwhile, another editor made version 2
    stale = post(browser, url, 2, action="send_back", draft_version=1, note="Use the parts.")
    assert "version 2, not the version 1 you saw" in stale.text
    assert review.show(db, "2")["state"] == "summarized"
    back = post(browser, url, 2, action="send_back", draft_version=2, note="Use the four parts.")
    assert back.status_code == 200 and "sent back" in back.text
    assert review.show(db, "2")["state"] == "approved"


def test_a_form_without_the_csrf_token_changes_nothing(site):
    url, db, browser = site
    answer = browser.post(
        f"{url}/candidates/1/draft", data={"action": "publish", "draft_version": 1}
    )
    assert answer.status_code == 403
    assert review.show(db, "1")["state"] == "summarized"


def test_the_drafts_page_lists_those_awaiting_review(site):
    url, _, browser = site
    page = browser.get(f"{url}/drafts").text
    assert page.count('href="/candidates/') == 2
    assert "unchecked (free text)" in page and "passed" in page
    assert "2 drafts awaiting review" in browser.get(f"{url}/").text
