"""`litmon serve` writes one access line per request: method, path (never the query, where a
secret may stand), status, milliseconds, and the authenticated user or token name."""

import json
import logging

import requests
from test_web import PASSWORD, _works, sign_in
from web_server import serving

from litmon.db.schema import open_db
from litmon.logs import JsonFormatter
from litmon.web import auth
from litmon.web.app import create_app


def lines(caplog) -> list[dict]:
    return [
        json.loads(JsonFormatter().format(record))
        for record in caplog.records
        if record.name == "litmon.access"
    ]


def test_each_request_is_one_json_line_with_who_asked_and_no_query(tmp_path, caplog):
    path = tmp_path / "access.db"
    db = open_db(path)
    _works(db)
    auth.add_user(db, "maria", PASSWORD)
    token = auth.create_token(db, "summarizer-1")
    with serving(create_app(path)) as url:
        browser = sign_in(url)
        assert browser.get(f"{url}/?search=rim&token=SECRET-IN-QUERY").status_code == 200
        bearer = {"Authorization": f"Bearer {token}"}
        assert requests.get(f"{url}/api/candidates", headers=bearer).status_code == 200
        assert requests.get(f"{url}/api/candidates").status_code == 401

    found = lines(caplog)
    page = next(line for line in found if line["path"] == "/" and line["method"] == "GET")
    assert (page["status"], page["user"], page["event"]) == (200, "maria", "http_request")
    assert isinstance(page["ms"], float) and page["ms"] >= 0
    api = [line for line in found if line["path"] == "/api/candidates"]
    assert [(line["status"], line["user"]) for line in api] == [
        (200, "summarizer-1"),
        (401, None),
    ]
    assert "SECRET-IN-QUERY" not in caplog.text
    assert all("SECRET-IN-QUERY" not in json.dumps(line) for line in found)


def test_access_lines_are_written_whatever_the_level_of_the_rest(tmp_path, caplog):
    root = logging.getLogger()
    before = root.level
    root.setLevel(logging.WARNING)  # as `litmon serve` runs without -v
    try:
        path = tmp_path / "access.db"
        open_db(path)
        with serving(create_app(path)) as url:
            requests.get(f"{url}/health")
    finally:
        root.setLevel(before)
    assert [line["path"] for line in lines(caplog)] == ["/health"]
