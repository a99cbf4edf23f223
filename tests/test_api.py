"""The hand-off API over real HTTP: bearer tokens scoped to the hand-off, the same lease
rules as `litmon queue`, clear 4xx answers for bad input, and a schema-driven fuzz run
against the app's own OpenAPI description that finds no 5xx."""

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from test_web import PASSWORD, _works, sign_in
from web_server import serving

from litmon import review
from litmon.db.schema import open_db
from litmon.web import auth
from litmon.web.app import create_app


@pytest.fixture
def api(tmp_path):
    path = tmp_path / "api.db"
    db = open_db(path)
    ids = _works(db)
    for work_id in ids[:2]:
        candidate = db.execute("SELECT id FROM candidates WHERE work_id = ?", (work_id,))
        review.decide(db, [str(candidate.fetchone()[0])], "approve", by="maria")
    token = auth.create_token(db, "summarizer-1")
    auth.add_user(db, "maria", PASSWORD)
    with serving(create_app(path)) as url:
        yield url, db, {"Authorization": f"Bearer {token}"}


def test_claim_write_done(api):
    url, db, bearer = api
    claimed = requests.post(f"{url}/api/claim", json={"worker": "w1"}, headers=bearer)
    assert claimed.status_code == 200
    packet = claimed.json()
    assert packet["work"]["title"].startswith("Paramagnetic rim lesions")
    assert packet["lease_token"] and packet["lease_expires"]
    done = requests.post(
        f"{url}/api/candidates/{packet['id']}/done",
        json={"token": packet["lease_token"], "summary": "Study finds rim lesions matter."},
        headers=bearer,
    )
    assert done.status_code == 200 and done.json()["state"] == "summarized"
    again = requests.post(
        f"{url}/api/candidates/{packet['id']}/done",
        json={"token": packet["lease_token"], "summary": "Study finds rim lesions matter."},
        headers=bearer,
    )
    assert again.json()["repeated"] is True
    summaries = db.execute("SELECT count(*) FROM summaries").fetchone()[0]
    assert summaries == 1


def test_the_lease_rules_hold(api):
    url, db, bearer = api
    packet = requests.post(
        f"{url}/api/claim", json={"worker": "w1", "lease_seconds": 60}, headers=bearer
    ).json()
    path = f"{url}/api/candidates/{packet['id']}"
    wrong = requests.post(f"{path}/done", json={"token": "stolen", "summary": "x"}, headers=bearer)
    assert wrong.status_code == 409 and "not (or no longer) valid" in wrong.json()["detail"]
    extended = requests.post(
        f"{path}/extend", json={"token": packet["lease_token"], "lease_seconds": 600},
        headers=bearer,
    )  # fmt: skip
    assert (
        extended.status_code == 200 and extended.json()["lease_expires"] > packet["lease_expires"]
    )
    failed = requests.post(
        f"{path}/fail", json={"token": packet["lease_token"], "error": "model timed out"},
        headers=bearer,
    )  # fmt: skip
    assert failed.status_code == 200 and failed.json()["state"] == "approved"
    stale = requests.post(
        f"{path}/done", json={"token": packet["lease_token"], "summary": "late"}, headers=bearer
    )
    assert stale.status_code == 409  # the lease ended with the failure


def test_the_trail_names_the_token_not_the_name_a_worker_gives_itself(api):
    url, db, bearer = api
    claimed = requests.post(f"{url}/api/claim", json={"worker": "maria"}, headers=bearer)
    packet = claimed.json()
    requests.post(
        f"{url}/api/candidates/{packet['id']}/fail",
        json={"token": packet["lease_token"], "error": "model timed out"},
        headers=bearer,
    ).raise_for_status()
    trail = db.execute(
        "SELECT by, label, action FROM candidate_audit WHERE candidate_id = ? ORDER BY id",
        (packet["id"],),
    ).fetchall()
    # the token (its name summarizer-1) claimed, calling itself maria: never recorded as her
    assert trail[-2:] == [("summarizer-1", "maria", "claim"), ("summarizer-1", None, "fail")]
    page = sign_in(url).get(f"{url}/candidates/{packet['id']}").text
    assert '<td><bdi>summarizer-1</bdi> <span class="hint">(as <bdi>maria</bdi>)</span>' in page


def test_an_empty_queue_answers_204(api):
    url, _, bearer = api
    for _ in range(2):
        assert requests.post(f"{url}/api/claim", json={"worker": "w"}, headers=bearer).ok
    empty = requests.post(f"{url}/api/claim", json={"worker": "w"}, headers=bearer)
    assert empty.status_code == 204 and empty.content == b""


def test_bad_requests_get_clear_4xx(api):
    url, _, bearer = api
    unknown = requests.get(f"{url}/api/candidates/999", headers=bearer)
    assert unknown.status_code == 404 and "no such candidate" in unknown.json()["detail"]
    malformed = requests.post(f"{url}/api/claim", data="{not json", headers=bearer)
    assert malformed.status_code == 422
    missing = requests.post(f"{url}/api/claim", json={}, headers=bearer)
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "worker"]
    lease = requests.post(
        f"{url}/api/claim", json={"worker": "w", "lease_seconds": 0}, headers=bearer
    )
    assert lease.status_code == 422
    not_leased = requests.post(
        f"{url}/api/candidates/3/done", json={"token": "t", "summary": "s"}, headers=bearer
    )
    assert not_leased.status_code == 409 and "the candidate is new" in not_leased.json()["detail"]


def test_tokens_are_needed_and_scoped(api):
    url, db, bearer = api
    assert requests.post(f"{url}/api/claim", json={"worker": "w"}).status_code == 401
    forged = {"Authorization": "Bearer lm_made_up"}
    assert requests.get(f"{url}/api/candidates", headers=forged).status_code == 401
    editor = sign_in(url)
    assert editor.get(f"{url}/api/candidates").status_code == 200  # editors may read
    assert editor.post(f"{url}/api/claim", json={"worker": "w"}).status_code == 401
    # a token opens no editor page
    assert requests.get(f"{url}/", headers=bearer, allow_redirects=False).status_code == 303
    auth.revoke_token(db, "summarizer-1")
    assert requests.get(f"{url}/api/candidates", headers=bearer).status_code == 401


def test_the_listing_pages_by_score(api):
    url, _, bearer = api
    first = requests.get(f"{url}/api/candidates", params={"limit": 2}, headers=bearer).json()
    assert [item["score"] for item in first["items"]] == [9.0, 8.0]
    rest = requests.get(
        f"{url}/api/candidates", params={"limit": 2, **first["next"]}, headers=bearer
    ).json()
    assert [item["score"] for item in rest["items"]] == [7.0] and rest["next"] is None
    approved = requests.get(
        f"{url}/api/candidates", params={"state": "approved"}, headers=bearer
    ).json()
    assert len(approved["items"]) == 2


def test_the_openapi_description_covers_the_hand_off(api):
    url, _, bearer = api
    assert requests.get(f"{url}/api/openapi.json").status_code == 401  # readers only
    spec = requests.get(f"{url}/api/openapi.json", headers=bearer).json()
    paths = set(spec["paths"])
    assert {"/api/claim", "/api/candidates", "/api/candidates/{candidate_id}",
            "/api/candidates/{candidate_id}/done", "/api/candidates/{candidate_id}/fail",
            "/api/candidates/{candidate_id}/extend", "/health"} <= paths  # fmt: skip
    assert not any(path.startswith("/candidates") for path in paths)  # pages are not API
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


@pytest.fixture
def fuzz_target(tmp_path):
    path = tmp_path / "fuzz.db"
    db = open_db(path)
    _works(db)
    # approved candidates, so that the fuzzed claims lease them and done/fail/extend meet
    # leases, not only an empty queue
    review.decide(db, ["1", "2"], "approve", by="maria")
    token = auth.create_token(db, "fuzzer")
    with serving(create_app(path)) as url:
        yield url, token


# JSON bodies a schema-driven generator never writes: numbers Python's parser reads as NaN
# and infinity, a lone surrogate (legal JSON, not Unicode), and a long bad field whose
# echo would make the error answer as long.
HOSTILE_BODIES = (
    b'{"worker": "w", "token": "t", "lease_seconds": NaN}',
    b'{"worker": "w", "token": "t", "lease_seconds": Infinity}',
    b'{"worker": "w", "token": "t", "lease_seconds": -Infinity}',
    b'{"worker": "w", "token": "t", "lease_seconds": 1e400}',
    b'{"worker": "\\ud800", "token": "\\udfff", "summary": "\\ud800", "error": "\\ud800"}',
    b'{"worker": "w", "token": "t", "summary": "s", "error": "e", "lease_seconds": "'
    + b"9" * 1_500_000
    + b'"}',
)


def _hostile_cases(operation):
    """The hostile bodies for an operation that takes one, with a real candidate id."""
    if operation.method.upper() != "POST":
        return []
    path = {"candidate_id": 1} if "{candidate_id}" in operation.path else None
    return [
        operation.Case(body=body, media_type="application/json", path_parameters=path)
        for body in HOSTILE_BODIES
    ]


def test_fuzzing_the_api_from_its_own_description_finds_no_server_error(fuzz_target):
    url, token = fuzz_target
    bearer = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_url(f"{url}/api/openapi.json", headers=bearer)
    fuzzed = hostile = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for case in _hostile_cases(operation):
            response = case.call(base_url=url, headers=bearer)
            assert 400 <= response.status_code < 500, (case.path, response.text[:300])
            assert len(response.content) < 2_000 and b"999999" not in response.content
            hostile += 1

        # a fixed budget per operation, the same examples every run: the suite stays fast
        @given(case=operation.as_strategy())
        @settings(
            max_examples=20,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case):
            response = case.call(base_url=url, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code < 500, (case.method, case.path, response.text[:300])

        call()
        fuzzed += 1
    assert fuzzed >= 7  # every hand-off operation and the health endpoint
    assert hostile == 4 * len(HOSTILE_BODIES)  # claim, done, fail, extend
