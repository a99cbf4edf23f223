"""The review pages over real HTTP: sign-in (argon2, rate-limited), sessions in HttpOnly
SameSite cookies, CSRF on every change, decisions recorded under the editor's name, two
editors on one candidate, and feed text that never becomes markup."""

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import jinja2
import pytest
import requests
from web_server import serving

from litmon import review
from litmon.core.records import Record
from litmon.db import runs
from litmon.db.schema import open_db
from litmon.db.store import save_records
from litmon.health import assess
from litmon.settings import load_config
from litmon.web import auth, text
from litmon.web.app import create_app

PASSWORD = "correct horse battery"


def _works(db) -> list[int]:
    save_records(
        db,
        [
            Record(
                source="pubmed",
                source_id=str(41_000_000 + n),
                pmid=str(41_000_000 + n),
                title=f"Paramagnetic rim lesions in relapsing MS, cohort {n}",
                abstract=f"RESULTS: Rim lesions predicted disability in cohort {n}.",
                authors=[f"Author{n}, A"],
                journal="Multiple Sclerosis Journal",
                pub_date="2026-10",
            )
            for n in range(3)
        ],
    )
    ids = [row[0] for row in db.execute("SELECT id FROM works ORDER BY id")]
    for rank, work_id in enumerate(ids):
        review.enqueue(db, work_id, [("ms_imaging", 9.0 - rank)])
    return ids


@pytest.fixture
def site(tmp_path):
    path = tmp_path / "web.db"
    db = open_db(path)
    _works(db)
    auth.add_user(db, "maria", PASSWORD)
    auth.add_user(db, "jo", PASSWORD)
    with serving(create_app(path)) as url:
        yield url, db


def sign_in(url: str, name: str = "maria", password: str = PASSWORD) -> requests.Session:
    browser = requests.Session()
    answer = browser.post(f"{url}/login", data={"name": name, "password": password, "next": "/"})
    assert answer.status_code == 200 and answer.url == f"{url}/", answer.text[:300]
    return browser


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def decide(browser, url, candidate_id, action, version, **fields):
    page = browser.get(f"{url}/candidates/{candidate_id}").text
    data = {"csrf_token": csrf(page), "action": action, "version": version} | fields
    return browser.post(f"{url}/candidates/{candidate_id}/decision", data=data)


def state_of(db, candidate_id: int) -> str:
    return db.execute("SELECT state FROM candidates WHERE id = ?", (candidate_id,)).fetchone()[0]


def test_every_page_asks_for_sign_in_first(site):
    url, db = site
    for path in ("/", "/candidates/1", "/ops"):
        answer = requests.get(url + path, allow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")
    refused = requests.post(
        f"{url}/candidates/1/decision", data={"action": "approve", "version": 1},
        allow_redirects=False,
    )  # fmt: skip
    assert refused.status_code == 303 and state_of(db, 1) == "new"
    assert requests.get(f"{url}/health").json()["status"] == "ok"  # the one open page


def test_the_session_cookie_is_httponly_and_samesite(site):
    url, _ = site
    answer = requests.post(
        f"{url}/login", data={"name": "maria", "password": PASSWORD}, allow_redirects=False
    )
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie


def test_behind_tls_the_cookie_is_secure(tmp_path):
    path = tmp_path / "tls.db"
    auth.add_user(open_db(path), "maria", PASSWORD)
    with serving(create_app(path, secure_cookies=True)) as url:
        answer = requests.post(
            f"{url}/login", data={"name": "maria", "password": PASSWORD}, allow_redirects=False
        )
    assert "; secure" in answer.headers["set-cookie"].lower()


def test_wrong_passwords_are_refused_then_rate_limited(site):
    url, _ = site
    for _ in range(auth.MAX_FAILURES):
        wrong = requests.post(f"{url}/login", data={"name": "maria", "password": "nope" * 3})
        assert wrong.status_code == 401 and "wrong name or password" in wrong.text
    right = requests.post(f"{url}/login", data={"name": "maria", "password": PASSWORD})
    assert right.status_code == 429 and "too many failed sign-ins" in right.text
    # another account is not locked out by maria's failures
    assert sign_in(url, "jo").get(f"{url}/").status_code == 200


def test_one_client_trying_many_names_is_rate_limited(site):
    url, _ = site
    for n in range(auth.MAX_CLIENT_FAILURES):
        requests.post(f"{url}/login", data={"name": f"guess{n}", "password": "x" * 12})
    answer = requests.post(f"{url}/login", data={"name": "jo", "password": PASSWORD})
    assert answer.status_code == 429


def test_an_unknown_name_is_told_apart_from_nothing(site):
    url, _ = site
    answer = requests.post(f"{url}/login", data={"name": "nobody", "password": PASSWORD})
    assert answer.status_code == 401 and "wrong name or password" in answer.text


def test_sign_in_sends_the_editor_back_only_to_this_site(site):
    url, _ = site
    for target, expected in (("/candidates/2", "/candidates/2"), ("//evil.example/", "/"),
                             ("https://evil.example/", "/")):  # fmt: skip
        answer = requests.post(
            f"{url}/login",
            data={"name": "maria", "password": PASSWORD, "next": target},
            allow_redirects=False,
        )
        assert answer.headers["location"] == expected


def test_the_queue_lists_ranked_candidates_and_filters_them(site):
    url, db = site
    browser = sign_in(url)
    page = browser.get(f"{url}/").text
    titles = re.findall(r'<span class="title"><bdi>([^<]+)</bdi></span>', page)
    assert titles == [f"Paramagnetic rim lesions in relapsing MS, cohort {n}" for n in range(3)]
    found = browser.get(f"{url}/", params={"q": "cohort 2"}).text
    assert re.findall(r'<span class="title"><bdi>([^<]+)</bdi></span>', found) == [titles[2]]
    bad = browser.get(f"{url}/", params={"since": "yesterday"})
    assert bad.status_code == 400 and "since: not a date like" in bad.text


def test_an_approval_is_recorded_under_the_editors_name_and_moves_on(site):
    url, db = site
    browser = sign_in(url)
    page = browser.get(f"{url}/candidates/1").text
    next_id = re.search(r'name="next_id" value="(\d+)"', page).group(1)
    answer = decide(browser, url, 1, "approve", 1, next_id=next_id)
    assert answer.status_code == 200 and answer.url.startswith(f"{url}/candidates/{next_id}?")
    assert "Candidate 1: approved." in answer.text
    assert state_of(db, 1) == "approved"
    trail = db.execute(
        "SELECT by, action FROM candidate_audit WHERE candidate_id = 1 ORDER BY id"
    ).fetchall()
    assert trail[-1] == ("maria", "approve")


def test_reject_needs_a_configured_reason_undo_and_notes(site):
    url, db = site
    browser = sign_in(url)
    missing = decide(browser, url, 2, "reject", 1)
    assert missing.history[0].status_code == 303 and "a rejection needs" in missing.text
    assert state_of(db, 2) == "new"
    assert decide(browser, url, 2, "reject", 1, reason="off-topic").status_code == 200
    assert state_of(db, 2) == "rejected"
    undone = decide(browser, url, 2, "undo", 2)
    assert undone.status_code == 200 and state_of(db, 2) == "new"
    noted = decide(browser, url, 2, "note", 3, note="check the supplement")
    assert noted.status_code == 200 and "check the supplement" in noted.text


def test_a_change_without_the_csrf_token_is_refused(site):
    url, db = site
    browser = sign_in(url)
    for token in (None, "forged"):
        data = {"action": "approve", "version": 1} | ({"csrf_token": token} if token else {})
        answer = browser.post(f"{url}/candidates/1/decision", data=data)
        assert answer.status_code == 403 and "CSRF" in answer.text
    page = browser.get(f"{url}/candidates/1").text
    cross_site = browser.post(
        f"{url}/candidates/1/decision",
        data={"csrf_token": csrf(page), "action": "approve", "version": 1},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403
    assert state_of(db, 1) == "new"


def test_two_editors_deciding_one_candidate_one_wins_the_other_sees_it(site):
    url, db = site
    maria, jo = sign_in(url, "maria"), sign_in(url, "jo")
    maria_page, jo_page = (b.get(f"{url}/candidates/1").text for b in (maria, jo))
    first = maria.post(
        f"{url}/candidates/1/decision",
        data={"csrf_token": csrf(maria_page), "action": "approve", "version": 1},
    )
    second = jo.post(
        f"{url}/candidates/1/decision",
        data={"csrf_token": csrf(jo_page), "action": "reject", "version": 1,
              "reason": "off-topic"},
    )  # fmt: skip
    assert first.status_code == 200
    # refused: back to the candidate's own address (a reload re-posts nothing), saying why
    assert second.history[0].status_code == 303
    assert second.url.startswith(f"{url}/candidates/1?")
    assert "Not saved: " in second.text
    assert "changed since version 1: it is now approved" in second.text
    assert 'class="state state-approved"' in second.text  # jo sees the current state
    assert state_of(db, 1) == "approved"


def test_signing_out_ends_the_session(site):
    url, _ = site
    browser = sign_in(url)
    page = browser.get(f"{url}/").text
    browser.post(f"{url}/logout", data={"csrf_token": csrf(page)})
    answer = browser.get(f"{url}/", allow_redirects=False)
    assert answer.status_code == 303


def test_a_changed_password_ends_every_session(site):
    url, db = site
    browser = sign_in(url)
    auth.change_password(db, "maria", "another long password")
    assert browser.get(f"{url}/", allow_redirects=False).status_code == 303


def test_feed_text_is_shown_as_text_and_links_nowhere(tmp_path):
    path = tmp_path / "xss.db"
    db = open_db(path)
    save_records(
        db,
        [
            Record(
                source="feed:evil",
                source_id="x1",
                title="<script>alert('title')</script> MS lesions",
                abstract='<img src=x onerror="alert(1)"> rim lesions',
                url="javascript:alert(document.cookie)",
                journal="<b>Bold journal</b>",
                pub_date="2026-11",
            )
        ],
    )
    work_id = db.execute("SELECT id FROM works").fetchone()[0]
    candidate_id = review.enqueue(db, work_id, [("ms_imaging", 5.0)])
    auth.add_user(db, "maria", PASSWORD)
    with serving(create_app(path)) as url:
        browser = sign_in(url)
        queue = browser.get(f"{url}/")
        page = browser.get(f"{url}/candidates/{candidate_id}")
    for answer in (queue, page):
        assert "<script>alert" not in answer.text and "<b>Bold" not in answer.text
        assert "&lt;script&gt;alert(" in answer.text
        assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert "<img" not in page.text and "&lt;img src=x onerror=" in page.text
    assert 'href="javascript:' not in page.text.lower()


def test_an_unknown_candidate_is_a_404_page(site):
    url, _ = site
    browser = sign_in(url)
    for path in ("/candidates/999", "/candidates/99999999999999999999"):
        answer = browser.get(url + path)
        assert answer.status_code in (404, 400) and "<h1>" in answer.text
    assert browser.get(f"{url}/candidates/999").status_code == 404


def test_the_ops_panel_puts_failing_sources_first(tmp_path):
    path = tmp_path / "ops.db"
    db = open_db(path)
    auth.add_user(db, "maria", PASSWORD)
    config = replace(load_config(env={}), db_path=path)
    for topic, status, error in (("ms_clinical", "ok", None),
                                 ("ms_neuroimaging", "failed", "HTTP 503 from esearch")):  # fmt: skip
        run_id = runs.start_run(db, "pubmed", topic)
        runs.finish_run(db, run_id, runs.RunCounts(), status, error)
    db.execute("UPDATE crawl_runs SET started_at = '2026-01-01T00:00:00Z'")
    db.conn.commit()
    app = create_app(path, status=lambda conn: assess(config, conn).as_dict())
    with serving(app) as url:
        page = sign_in(url).get(f"{url}/ops").text
    problems = page.index('class="problems"')
    assert page.index("HTTP 503 from esearch") > problems
    rows = re.findall(r"<td><bdi>pubmed</bdi> <bdi>(\w+)</bdi></td><td>([^<]+)</td>", page)
    assert rows[:2] == [("ms_neuroimaging", "failing (problem)"), ("ms_clinical", "ok")]


def _possible_pair(db) -> None:
    db.execute(
        "INSERT INTO possible_duplicates (work_id, other_id, score, reason, created_at)"
        " VALUES (1, 2, 0.91, 'similar title', '2026-11-01T00:00:00Z')"
    )
    db.conn.commit()


def test_possible_duplicates_are_merged_or_kept_apart_from_the_candidate(site):
    url, db = site
    _possible_pair(db)
    browser = sign_in(url)
    page = browser.get(f"{url}/candidates/1").text
    assert "similarity 0.91" in page and "cohort 1" in page
    kept = browser.post(
        f"{url}/candidates/1/duplicates/2", data={"csrf_token": csrf(page), "action": "distinct"}
    )
    assert kept.status_code == 200 and "marked as different papers" in kept.text
    status = db.execute("SELECT status FROM possible_duplicates").fetchone()[0]
    assert status == "distinct" and "similarity 0.91" not in kept.text


def test_a_merge_from_the_page_folds_the_other_work_in(site):
    url, db = site
    _possible_pair(db)
    browser = sign_in(url)
    page = browser.get(f"{url}/candidates/1").text
    merged = browser.post(
        f"{url}/candidates/1/duplicates/2", data={"csrf_token": csrf(page), "action": "merge"}
    )
    assert merged.status_code == 200 and "works merged" in merged.text
    assert db.execute("SELECT merged_into FROM works WHERE id = 2").fetchone()[0] == 1
    forged = browser.post(f"{url}/candidates/1/duplicates/3", data={"action": "merge"})
    assert forged.status_code == 403


def test_guesses_sent_all_at_once_are_limited_too(site):
    url, _ = site

    def guess(_):
        return requests.post(f"{url}/login", data={"name": "maria", "password": "x" * 12})

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = [answer.status_code for answer in pool.map(guess, range(12))]
    assert answers.count(401) == auth.MAX_FAILURES and answers.count(429) == 12 - auth.MAX_FAILURES
    right = requests.post(f"{url}/login", data={"name": "maria", "password": PASSWORD})
    assert right.status_code == 429


def test_a_sign_in_posted_from_another_site_is_refused(site):
    url, _ = site
    forged = requests.post(
        f"{url}/login",
        data={"name": "maria", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert forged.status_code == 403 and "set-cookie" not in forged.headers


def test_only_an_admin_retries_a_dead_letter_from_the_page(site):
    url, db = site
    auth.add_user(db, "ada", PASSWORD, role="admin")
    db.execute("UPDATE candidates SET state = 'dead', attempts = 3 WHERE id = 3")
    db.conn.commit()
    version = db.execute("SELECT version FROM candidates WHERE id = 3").fetchone()[0]
    editor = sign_in(url, "maria")
    page = editor.get(f"{url}/candidates/3").text
    assert "Retry" not in page
    refused = editor.post(
        f"{url}/candidates/3/admin",
        data={"csrf_token": csrf(page), "action": "retry", "version": version},
    )
    assert refused.status_code == 403 and state_of(db, 3) == "dead"
    admin = sign_in(url, "ada")
    page = admin.get(f"{url}/candidates/3").text
    assert ">Retry</button>" in page
    retried = admin.post(
        f"{url}/candidates/3/admin",
        data={"csrf_token": csrf(page), "action": "retry", "version": version},
    )
    assert retried.status_code == 200 and state_of(db, 3) == "approved"
    last = db.execute("SELECT by, action FROM candidate_audit ORDER BY id DESC LIMIT 1")
    assert last.fetchone() == ("ada", "retry")


def test_bad_input_on_the_pages_is_a_short_4xx_and_saves_nothing(site):
    url, db = site
    browser = sign_in(url)
    for marker in ("1,9223372036854775808", "nan,1", "inf,2", "1,-1", "x" * 3000):
        answer = browser.get(f"{url}/", params={"after": marker})
        assert answer.status_code == 400, marker
        assert "the page marker is not SCORE,ID" in answer.text and marker not in answer.text
    huge = browser.get(f"{url}/", params={"min_score": "1e400"})
    message = re.search(r'<p class="error" role="alert">([^<]*)</p>', huge.text).group(1)
    assert huge.status_code == 400 and message == "min score: not a number"
    # a superscript two is a digit to str.isdigit but no number to int(): refused, unsaved
    odd = decide(browser, url, 1, "approve", 1, next_id="²")
    assert odd.status_code == 400 and "next_id" in odd.text and state_of(db, 1) == "new"


def test_stored_text_is_isolated_and_a_forgotten_filter_still_ends_an_override():
    environment = jinja2.Environment(autoescape=True)
    text.install(environment)
    journal = "\u202eEvil <b>Journal</b>"
    shown = environment.from_string("{{ j | stored }} · 2026").render(j=journal)
    assert shown == "<bdi>\u202eEvil &lt;b&gt;Journal&lt;/b&gt;</bdi> · 2026"
    authors = environment.from_string("{{ a | stored_each }}").render(a=["Smith, J", "Doe, K"])
    assert authors == "<bdi>Smith, J</bdi>; <bdi>Doe, K</bdi>"
    # a template that forgot the filter (or puts it in an attribute): the override is
    # enclosed in FSI..PDI, which ends it; text without bidi controls is left as it is
    bare = environment.from_string('<i title="{{ j }}">{{ j }}</i> · {{ n }}')
    assert bare.render(j=journal, n="2026") == (
        '<i title="\u2068\u202eEvil &lt;b&gt;Journal&lt;/b&gt;\u2069">'
        "\u2068\u202eEvil &lt;b&gt;Journal&lt;/b&gt;\u2069</i> · 2026"
    )


def test_the_notice_after_a_decision_undoes_that_candidate_not_the_next(site):
    url, db = site
    browser = sign_in(url)
    approved = decide(browser, url, 1, "approve", 1, next_id="2")
    assert approved.url.startswith(f"{url}/candidates/2?")  # moved on to the next
    notice = re.search(r'<div class="notice">.*?</div>', approved.text, re.S).group(0)
    assert "Candidate 1: approved." in notice
    assert 'action="/candidates/1/decision"' in notice and 'value="undo"' in notice
    undone = browser.post(
        f"{url}/candidates/1/decision",
        data={"csrf_token": csrf(notice), "action": "undo",
              "version": re.search(r'name="version" value="(\d+)"', notice).group(1)},
    )  # fmt: skip
    assert undone.status_code == 200 and "Candidate 1: decision undone." in undone.text
    assert (state_of(db, 1), state_of(db, 2)) == ("new", "new")
    assert 'id="undo-last"' not in undone.text  # nothing left to undo from a notice


def test_a_candidate_offers_only_the_actions_its_state_allows(site):
    url, db = site
    browser = sign_in(url)
    offered = {
        "new": {"approve-form", "reject-form", "defer-form", "note-form"},
        "approved": {"reject-form", "defer-form", "undo-form", "note-form"},
        "deferred": {"approve-form", "reject-form", "defer-form", "undo-form", "note-form"},
        "summarized": {"note-form"},
        "dead": {"note-form"},
    }
    for state, forms in offered.items():
        db.execute("UPDATE candidates SET state = ? WHERE id = 3", (state,))
        db.conn.commit()
        page = browser.get(f"{url}/candidates/3").text
        shown = set(re.findall(r'<form id="([a-z]+-form)" method="post"', page))
        assert shown == forms, state


def test_a_refusal_shown_on_the_page_comes_only_from_this_site(site):
    url, _ = site
    browser = sign_in(url)
    forged = browser.get(
        f"{url}/candidates/1", params={"refused": "your session expired, call 555", "sig": "0"}
    )
    assert forged.status_code == 200 and "call 555" not in forged.text


def test_the_queue_counts_what_matches_and_links_a_last_page_only_when_there_is_one(site):
    url, db = site
    browser = sign_in(url)
    page = browser.get(f"{url}/").text
    assert "3 candidates match." in page and "Last page" not in page
    one = browser.get(f"{url}/", params={"q": "cohort 2"}).text
    assert "1 candidate matches." in one
    save_records(
        db,
        [
            Record(source="pubmed", source_id=str(42_000_000 + n), pmid=str(42_000_000 + n),
                   title=f"Another rim lesion study {n}", pub_date="2026-09")
            for n in range(50)
        ],
    )  # fmt: skip
    for (work_id,) in db.execute("SELECT id FROM works WHERE title LIKE 'Another%'").fetchall():
        review.enqueue(db, work_id, [("ms_imaging", 5.0)])
    first = browser.get(f"{url}/").text
    assert "53 candidates match; 50 on this page." in first and "Last page" in first
    last = browser.get(f"{url}/", params={"last": "1"}).text
    assert "Last page" not in last and "Earlier page" in last


def test_authors_are_told_apart(site):
    url, db = site
    db.execute("""UPDATE works SET authors = '["Smith, J", "Doe, K"]' WHERE id = 1""")
    db.conn.commit()
    page = sign_in(url).get(f"{url}/candidates/1").text
    assert '<p class="authors"><bdi>Smith, J</bdi>; <bdi>Doe, K</bdi></p>' in page


def _bulk(browser, url, action, refs, **fields):
    page = browser.get(f"{url}/").text
    data = {"csrf_token": csrf(page), "action": action, "ref": refs} | fields
    return browser.post(f"{url}/decisions", data=data)


def test_several_candidates_are_decided_at_once_all_or_none(site):
    url, db = site
    browser = sign_in(url)
    answer = _bulk(browser, url, "approve", ["1@1", "2@1"])
    assert answer.url.startswith(f"{url}/?") and "Candidates 1, 2: approved." in answer.text
    assert (state_of(db, 1), state_of(db, 2), state_of(db, 3)) == ("approved", "approved", "new")
    trail = db.execute(
        "SELECT candidate_id, by FROM candidate_audit WHERE action = 'approve' ORDER BY id"
    ).fetchall()
    assert trail == [(1, "maria"), (2, "maria")]
    assert "2 decided today, 1 waiting for a decision." in answer.text
    # one stale version (candidate 1 is at version 2 now): nothing is decided
    stale = _bulk(browser, url, "reject", ["3@1", "1@1"], reason="off-topic")
    assert "Not saved: " in stale.text and "changed since version 1" in stale.text
    assert (state_of(db, 1), state_of(db, 3)) == ("approved", "new")
    # rejecting needs a reason, for all of them
    unexplained = _bulk(browser, url, "reject", ["3@1"])
    assert "a rejection needs a reason" in unexplained.text and state_of(db, 3) == "new"


def test_a_bulk_decision_needs_the_csrf_token_and_well_formed_refs(site):
    url, db = site
    browser = sign_in(url)
    forged = browser.post(f"{url}/decisions", data={"action": "approve", "ref": ["1@1"]})
    assert forged.status_code == 403 and state_of(db, 1) == "new"
    odd = _bulk(browser, url, "approve", ["1@1", "²@1"])
    assert odd.status_code == 400 and "ref: not a candidate&#39;s ID@VERSION" in odd.text
    assert state_of(db, 1) == "new"


def test_the_queue_sorts_by_date_and_journal_and_pages_in_that_order(site):
    url, db = site
    browser = sign_in(url)
    dates = {1: "2026-03", 2: "2026-11-02", 3: None}
    journals = {1: "neurology", 2: None, 3: "Brain, a journal"}
    for work_id in dates:
        db.execute(
            "UPDATE works SET pub_date = ?, journal = ? WHERE id = ?",
            (dates[work_id], journals[work_id], work_id),
        )
    db.conn.commit()

    def ids(order: str, **params) -> list[str]:
        page = browser.get(f"{url}/", params={"order": order, **params}).text
        return re.findall(r'<li class="row[^"]*" data-id="(\d+)"', page)

    assert ids("date") == ["2", "1", "3"]  # newest first, undated last
    assert ids("journal") == ["3", "1", "2"]  # A-Z whatever the case, none last
    assert ids("rank") == ["1", "2", "3"]
    # a page boundary inside the journal order, its marker holding the journal's comma
    assert ids("journal", after="brain, a journal,3") == ["1", "2"]
    assert browser.get(f"{url}/", params={"order": "sideways"}).status_code == 400
