"""A summarizer's hand-in over real HTTP and through `litmon queue done`: the four parts
pass the guards ([guards] in the config) or the lease fails with a 422 / exit 1 naming the
failed checks; free text is stored unchecked; the draft is recorded as written by the
token's name. And the [guards] table: its errors name the key."""

import json

import pytest
import requests
from click.testing import CliRunner
from test_web import PASSWORD, _works
from web_server import serving

from litmon import review
from litmon.cli import cli
from litmon.db.schema import open_db
from litmon.review.guards import GuardSettings
from litmon.review.settings import QueueSettings
from litmon.settings import ConfigError, load_config
from litmon.web import auth
from litmon.web.app import create_app

# No numbers (the abstract has only the cohort's), and a caveat: no MeSH says who was studied.
PARTS = {
    "finding": "Rim lesions on brain scans may point to worse disability.",
    "what_was_done": "Researchers looked at brain scans and compared them with disability"
    " scores over time in people with relapsing MS.",
    "why_it_matters": "Doctors might use rims to see who needs closer care.",
    "limits": "The record does not say exactly who was studied, so it may not apply to all"
    " people with MS.",
}


@pytest.fixture
def api(tmp_path):
    path = tmp_path / "api.db"
    db = open_db(path)
    ids = _works(db)
    candidate_ids = [review.enqueue(db, work_id, [("ms_imaging", 9.0)]) for work_id in ids[:2]]
    review.decide(db, [str(i) for i in candidate_ids], "approve", by="maria")
    token = auth.create_token(db, "summarizer-1")
    auth.add_user(db, "maria", PASSWORD)
    settings = QueueSettings(guards=GuardSettings(max_grade=14))
    with serving(create_app(path, queue_settings=settings)) as url:
        yield url, db, {"Authorization": f"Bearer {token}"}


def claim(url: str, bearer: dict) -> dict:
    return requests.post(f"{url}/api/claim", json={"worker": "w1"}, headers=bearer).json()


def hand_in(url: str, bearer: dict, packet: dict, summary: str) -> requests.Response:
    return requests.post(
        f"{url}/api/candidates/{packet['id']}/done",
        json={"token": packet["lease_token"], "summary": summary},
        headers=bearer,
    )


def test_four_parts_passing_the_guards_are_a_checked_draft_by_the_tokens_name(api):
    url, db, bearer = api
    packet = claim(url, bearer)
    answer = hand_in(url, bearer, packet, json.dumps(PARTS))
    assert answer.status_code == 200, answer.text
    assert answer.json()["draft"] == {"version": 1, "checked": True}
    draft = review.latest_draft(db.conn, packet["id"])
    assert draft["parts"] == PARTS and draft["by"] == "summarizer-1"


def test_four_parts_failing_the_guards_are_a_422_naming_the_checks_and_the_lease_fails(api):
    url, db, bearer = api
    packet = claim(url, bearer)
    wrong = PARTS | {"finding": "Rim lesions in 45% of people point to worse disability."}
    answer = hand_in(url, bearer, packet, json.dumps(wrong))
    assert answer.status_code == 422
    body = answer.json()
    assert body["state"] == "approved"
    assert body["detail"].startswith(
        f"candidate {packet['id']}: the draft failed its checks: numbers: not in the title,"
        " abstract or study facts: 45"
    )
    assert [c["name"] for c in body["checks"] if not c["ok"]] == ["numbers"]
    assert review.drafts_of(db.conn, packet["id"]) == []
    shown = review.show(db, str(packet["id"]))
    assert shown["history"][-1]["reason"].startswith("the draft failed its checks: numbers")


def test_free_text_over_http_is_an_unchecked_draft(api):
    url, db, bearer = api
    packet = claim(url, bearer)
    answer = hand_in(url, bearer, packet, "Study finds rim lesions matter (99%).")
    assert answer.status_code == 200 and answer.json()["draft"]["checked"] is False


def test_queue_done_exits_1_naming_the_failed_checks(tmp_path):
    db_path = tmp_path / "cli.db"
    db = open_db(db_path)
    (work_id, *_) = _works(db)
    candidate_id = review.enqueue(db, work_id, [("ms_imaging", 9.0)])
    review.decide(db, [str(candidate_id)], "approve", by="maria")
    packet = review.claim(db, "w1", 60)
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(PARTS | {"limits": "It was a small study, with few people."}))
    runner = CliRunner()
    env = {"LITMON_DB": str(db_path)}
    args = ["queue", "done", str(candidate_id), "--token", packet["lease_token"],
            "--summary-file", str(draft)]  # fmt: skip
    result = runner.invoke(cli, args, env=env)
    assert result.exit_code == 1
    assert "the draft failed its checks: population_caveat:" in result.output
    assert "it is approved now" in result.output
    packet = review.claim(db, "w1", 60)
    draft.write_text(json.dumps(PARTS))
    args[4] = packet["lease_token"]
    result = runner.invoke(cli, args, env=env)
    assert (
        result.exit_code == 0 and result.output.strip() == f"candidate {candidate_id}: summarized"
    )


def test_the_guards_table_of_the_config(tmp_path):
    path = tmp_path / "litmon.toml"
    path.write_text(
        "[guards]\nmax_grade = 8\nbanned_claims = ['\\bbreakthrough\\b']\n"
        "[guards.lengths]\nfinding = [10, 120]\n"
    )
    guards = load_config(path, env={}).queue.guards
    assert guards.max_grade == 8 and guards.banned == (r"\bbreakthrough\b",)
    assert guards.lengths["finding"] == (10, 120) and guards.lengths["limits"] == (30, 1000)
    for text, key in [
        ("[guards]\nmax_grade = 'easy'\n", "guards.max_grade"),
        ("[guards]\nbanned_claims = ['(unclosed']\n", "guards.banned_claims"),
        ("[guards]\nlay_parts = ['summary']\n", "guards.lay_parts"),
        ("[guards.lengths]\nfinding = [300, 20]\n", "guards.lengths.finding"),
        ("[guards.lengths]\nsummary = [1, 2]\n", "guards.lengths.summary"),
        ("[guards]\nmax_lenght = 3\n", "guards.max_lenght"),
    ]:
        path.write_text(text)
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")) as caught:
            load_config(path, env={})
        assert str(path) in str(caught.value)
