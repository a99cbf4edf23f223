"""Polling feeds from a fake server: state, politeness, faults, and idempotent re-polls."""

import threading
import time
from datetime import UTC, datetime, timedelta
from itertools import zip_longest

import pytest
from conftest import ClientLog
from feed_server import (
    RSS,
    FeedServer,
    broken_gzip,
    fixture,
    gzip_bomb,
    hang,
    redirect,
    serve_feed,
    slow_drip,
    status,
)

from litmon.core.clock import parse_stamp
from litmon.core.version import VERSION
from litmon.db.feed_state import failing_feeds, feed_status
from litmon.feeds import FeedConfig
from litmon.feeds.fetch import FetchError, FetchLimits, fetch_feed
from litmon.feeds.schedule import MAX_BACKOFF, MAX_SERVER_DELAY
from litmon.pipeline.feeds import ingest_feed_sources, poll_feeds

UA = f"litmon/{VERSION} (+mailto:editor@example.org)"
NOW = datetime(2024, 5, 22, 12, 0, tzinfo=UTC)
LIMITS = FetchLimits(connect_timeout=2, read_timeout=0.5, total_seconds=1.5)
LAST_MODIFIED = "Wed, 22 May 2024 02:05:07 GMT"


@pytest.fixture
def server():
    with FeedServer() as running:
        yield running


def poll(db, feeds, **kwargs):
    kwargs.setdefault("now", NOW)
    outcomes = poll_feeds(db, feeds, user_agent=UA, limits=LIMITS, **kwargs)
    return {outcome.name: outcome for outcome in outcomes}


def count(db, table: str) -> int:
    return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def good_feeds(server) -> list[FeedConfig]:
    routes = {
        "msj": serve_feed("sage_msj.xml", etag='"msj-v1"'),
        "annneurol": serve_feed("wiley_annneurol.rdf", last_modified=LAST_MODIFIED),
        "msard": serve_feed("elsevier_msard.xml"),
        "brain": serve_feed("oup_brain.xml", etag='W/"b1"', last_modified=LAST_MODIFIED),
        "pubmed": serve_feed("pubmed_search.xml"),
        "biorxiv": serve_feed("biorxiv_neuro.rdf"),
        "atom": serve_feed("atom_publisher.xml", content_type="application/atom+xml"),
    }
    return [
        FeedConfig(name, server.route(f"/{name}", responder), preprint=name == "biorxiv")
        for name, responder in routes.items()
    ]


FAULTS = {
    "laughs": (serve_feed("billion_laughs.xml"), "declares the entity 'lol'"),
    "xxe": (serve_feed("xxe_file_dtd.xml"), "file:///etc/passwd"),
    "challenge": (
        serve_feed("challenge_page.html", content_type="text/html"),
        "HTML page titled 'Just a moment...'",
    ),
    "forbidden": (
        status(403, fixture("challenge_page.html"), {"Content-Type": "text/html"}),
        "HTTP 403 Forbidden",
    ),
    "busy": (status(429, b"slow down", {"Retry-After": "7200"}), "HTTP 429"),
    "broken": (status(500, b"oops"), "HTTP 500"),
    "hangs": (hang(3), "timed out"),
    "drips": (slow_drip(fixture("sage_msj.xml"), 0.05), "too slowly"),
    "bomb": (gzip_bomb(20), "larger than 15 MiB"),
    "loop": (redirect(302, "/loop-b"), "redirect loop"),
    "badhost": (redirect(302, "http://[::1/feed"), "broken Location header?): Invalid IPv6 URL"),
    "badport": (redirect(301, "https://feeds.example.org:99999/"), "bad redirect from"),
}


def test_every_fault_ends_in_its_own_clear_error_and_good_feeds_still_ingest(db, server):
    server.route("/loop-b", redirect(302, "/loop"))
    faulty = [
        FeedConfig(name, server.route(f"/{name}", fault)) for name, (fault, _) in FAULTS.items()
    ]
    good = good_feeds(server)
    mixed = [feed for pair in zip_longest(faulty, good) for feed in pair if feed is not None]
    started = time.monotonic()
    outcomes = poll(db, mixed)
    elapsed = time.monotonic() - started

    for name, (_, message) in FAULTS.items():
        assert outcomes[name].status == "failed", name
        assert message in outcomes[name].error, (name, outcomes[name].error)
    assert {outcomes[f.name].status for f in good} == {"ok"}
    assert sum(outcomes[f.name].new for f in good) == 3 + 2 + 2 + 2 + 2 + 2 + 2
    runs = {row["source"]: row for row in db.query("SELECT * FROM crawl_runs")}
    assert len(runs) == len(FAULTS) + len(good)
    assert runs["feed:broken"]["status"] == "failed" and "HTTP 500" in runs["feed:broken"]["error"]
    assert runs["feed:msj"]["status"] == "ok" and runs["feed:msj"]["new"] == 3
    assert elapsed < 15  # timeouts and the slow drip are cut by the limits, not waited out


def test_repolling_unchanged_feeds_changes_nothing(db, server):
    feeds = good_feeds(server)
    poll(db, feeds)
    works, sightings = count(db, "works"), count(db, "sightings")
    again = poll(db, feeds, force=True)
    assert {o.status for name, o in again.items() if name in ("msj", "annneurol", "brain")} == {
        "not_modified"
    }
    for name in ("msard", "pubmed", "biorxiv", "atom"):  # no validators: parsed again
        assert again[name].status == "ok"
        assert (again[name].new, again[name].updated) == (0, 0)
        assert again[name].unchanged == again[name].items > 0
    assert (count(db, "works"), count(db, "sightings")) == (works, sightings)


def test_conditional_get_round_trips_etag_and_last_modified(db, server):
    feeds = {f.name: f for f in good_feeds(server)}
    poll(db, [feeds["msj"], feeds["annneurol"]])
    second = poll(db, [feeds["msj"], feeds["annneurol"]], force=True)
    assert server.hits("/msj")[-1].headers["if-none-match"] == '"msj-v1"'
    assert server.hits("/annneurol")[-1].headers["if-modified-since"] == LAST_MODIFIED
    assert {o.status for o in second.values()} == {"not_modified"}
    assert all(hit.headers["user-agent"] == UA for hit in server.seen)
    state = {row["name"]: row for row in feed_status(db)}
    assert state["msj"]["etag"] == '"msj-v1"' and state["msj"]["last_status"] == 304


def test_pubmed_links_changing_on_every_fetch_and_wiley_host_flips_add_nothing(db, server):
    pubmed = fixture("pubmed_search.xml")
    wiley = fixture("wiley_annneurol.rdf")
    feeds = [
        FeedConfig("pubmed", server.route("/pubmed", serve_feed(pubmed))),
        FeedConfig("ann", server.route("/ann", serve_feed(wiley))),
    ]
    poll(db, feeds)
    sightings = count(db, "sightings")
    server.route("/pubmed", serve_feed(pubmed.replace(b"ff=20240522123015", b"ff=20240523070001")))
    server.route(
        "/ann", serve_feed(wiley.replace(b"https://onlinelibrary", b"https://ana.onlinelibrary"))
    )
    again = poll(db, feeds, force=True)
    assert [(o.new, o.updated) for o in again.values()] == [(0, 0), (0, 0)]
    assert count(db, "sightings") == sightings


def test_schedule_waits_for_interval_and_server_hints(db, server):
    msard = FeedConfig(
        "msard", server.route("/msard", serve_feed("elsevier_msard.xml")), interval_minutes=60
    )
    cached = FeedConfig(
        "cached",
        server.route(
            "/cached", serve_feed("oup_brain.xml", headers={"Cache-Control": "max-age=10800"})
        ),
        interval_minutes=60,
    )
    first = poll(db, [msard, cached])
    assert parse_stamp(first["msard"].next_poll_at) == NOW + timedelta(minutes=720)  # <ttl>720
    assert parse_stamp(first["cached"].next_poll_at) == NOW + timedelta(hours=3)  # max-age
    later = poll(db, [msard, cached], now=NOW + timedelta(hours=2))
    assert later["msard"].status == "not_due" and later["cached"].status == "not_due"
    assert len(server.hits("/msard")) == 1
    assert poll(db, [msard], now=NOW + timedelta(hours=2), force=True)["msard"].status == "ok"


def test_429_retry_after_is_honoured(db, server):
    feed = FeedConfig(
        "busy", server.route("/busy", status(429, b"", {"Retry-After": "7200"})), interval_minutes=5
    )
    outcome = poll(db, [feed])["busy"]
    assert parse_stamp(outcome.next_poll_at) == NOW + timedelta(seconds=7200)
    assert poll(db, [feed], now=NOW + timedelta(hours=1))["busy"].status == "not_due"


def test_failing_feed_backs_off_exponentially_capped_and_is_reported(db, server):
    feed = FeedConfig("broken", server.route("/broken", status(500)), interval_minutes=60)
    now, delays = NOW, []
    for _ in range(8):
        outcome = poll(db, [feed], now=now)["broken"]
        next_poll = parse_stamp(outcome.next_poll_at)
        delays.append(next_poll - now)
        now = next_poll
    assert delays[:4] == [
        timedelta(hours=2),
        timedelta(hours=4),
        timedelta(hours=8),
        timedelta(hours=16),
    ]
    assert delays[4:] == [MAX_BACKOFF] * 4
    assert now - NOW == timedelta(hours=2 + 4 + 8 + 16 + 4 * 24)  # 5.25 days of failures
    assert failing_feeds(db, days=6, now=now) == []
    report = failing_feeds(db, days=5, now=now)
    assert [row["name"] for row in report] == ["broken"]
    assert report[0]["failing_since"] == "2024-05-22T12:00:00Z"
    assert report[0]["consecutive_failures"] == 8 and "HTTP 500" in report[0]["last_error"]


def test_permanent_redirect_updates_the_stored_url_and_temporary_does_not(db, server):
    new_url = server.route("/new-home", serve_feed("oup_brain.xml"))
    moved = FeedConfig("moved", server.route("/old-home", redirect(301, "/new-home")))
    temp = FeedConfig("temp", server.route("/temp", redirect(302, "/new-home")))
    outcomes = poll(db, [moved, temp])
    assert outcomes["moved"].status == outcomes["temp"].status == "ok"
    state = {row["name"]: row for row in feed_status(db)}
    assert state["moved"]["url"] == new_url
    assert state["temp"]["url"] == temp.url
    poll(db, [moved], force=True)
    assert len(server.hits("/old-home")) == 1  # the second poll went straight to the new URL
    edited = FeedConfig("moved", server.route("/edited", serve_feed("oup_brain.xml")))
    poll(db, [edited], force=True)
    assert {row["name"]: row for row in feed_status(db)}["moved"]["url"] == edited.url


def test_one_request_at_a_time_per_host(server):
    server.route("/slow", slow_drip(b"<rss/>", 0.05))  # each response takes ~0.3 s
    shared = {"open": 0, "most_open": 0}  # the clients' own count of requests open at once

    def fetch_alone() -> None:
        fetch_feed(ClientLog(shared), server.url("/slow"), limits=LIMITS)

    threads = [threading.Thread(target=fetch_alone) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(server.hits("/slow")) == 3
    assert shared["open"] == 0  # every response was closed
    assert shared["most_open"] == 1


def test_ingest_files_and_urls_skips_a_broken_source(db, server, tmp_path):
    good = tmp_path / "sage.xml"
    good.write_bytes(fixture("sage_msj.xml"))
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<rss><channel><title>cut off")  # truncated download
    url = server.route("/pubmed", serve_feed("pubmed_search.xml"))
    outcomes = ingest_feed_sources(
        db,
        [str(good), str(broken), str(tmp_path / "missing.xml"), url],
        user_agent=UA,
        limits=LIMITS,
    )
    assert [o.status for o in outcomes] == ["ok", "failed", "failed", "ok"]
    assert outcomes[0].name == "sage" and outcomes[0].new == 3
    assert outcomes[3].new == 2
    assert str(broken) in outcomes[1].error and "\n" not in outcomes[1].error
    assert "No such file" in outcomes[2].error
    assert count(db, "feeds") == 0  # one-off ingests keep no polling state


def test_a_served_feed_in_the_wrong_declared_encoding_is_read_with_a_warning(db, server):
    feed = FeedConfig(
        "rn", server.route("/rn", serve_feed("latin1_declared_utf8.xml", content_type=RSS))
    )
    outcome = poll(db, [feed])["rn"]
    assert outcome.status == "ok" and outcome.new == 1
    assert "declares utf-8" in " ".join(outcome.warnings)
    assert db.execute("SELECT title FROM works").fetchone() == ("Les lésions corticales en IRM 7T",)
    [run] = db.query("SELECT status, error, warnings FROM crawl_runs")
    assert run["status"] == "ok" and run["error"] is None
    assert "declares utf-8" in run["warnings"]


def test_utf16_and_utf32_feeds_end_ok_and_an_undecodable_one_fails_in_one_line(db, server):
    served = {
        "u32": serve_feed("utf32le_bom.xml"),  # served as charset=utf-8, which is wrong
        "ucs2": serve_feed("ucs2_csunicode.xml", content_type="application/rss+xml; charset=UCS-2"),
        "httponly": serve_feed(
            "utf16be_no_declaration.xml", content_type="text/xml; charset=UTF-16"
        ),
        "lying": serve_feed("utf16le_declared_utf8.xml"),
        "surrogate": serve_feed("utf16le_lone_surrogate.xml"),
    }
    feeds = [FeedConfig(name, server.route(f"/{name}", reply)) for name, reply in served.items()]
    outcomes = poll(db, feeds)
    assert {name: outcomes[name].status for name in served} == {
        "u32": "ok",
        "ucs2": "ok",
        "httponly": "ok",
        "lying": "ok",
        "surrogate": "failed",
    }
    assert sum(outcomes[name].new for name in served) == 8
    assert "HTTP charset utf-8 contradicts the document" in " ".join(outcomes["u32"].warnings)
    error = outcomes["surrogate"].error
    assert error.startswith("refused: the document is not valid UTF-16-LE") and "\n" not in error
    titles = {row[0] for row in db.execute("SELECT title FROM works")}
    assert {"𝛼-Sinucleína en LCR", "Kortikale lesjoner påvist med 7 T MR"} <= titles
    assert {"Atrofie míchy: pětiletá studie", "Żółte plamki i stwardnienie rozsiane"} <= titles
    runs = {row["source"]: row for row in db.query("SELECT * FROM crawl_runs")}
    assert not any("internal error" in (run["error"] or "") for run in runs.values())


def test_absurd_server_hints_are_capped_at_a_week(db, server):
    huge_ttl = fixture("oup_brain.xml").replace(b"<channel>", b"<channel><ttl>999999999</ttl>", 1)
    feeds = [
        FeedConfig("ttl", server.route("/ttl", serve_feed(huge_ttl))),
        FeedConfig(
            "maxage",
            server.route(
                "/maxage",
                serve_feed("oup_brain.xml", headers={"Cache-Control": "max-age=" + "9" * 30}),
            ),
        ),
        FeedConfig("busy", server.route("/busy", status(429, b"", {"Retry-After": "9" * 30}))),
    ]
    outcomes = poll(db, feeds)
    assert [outcomes[name].status for name in ("ttl", "maxage", "busy")] == ["ok", "ok", "failed"]
    for outcome in outcomes.values():
        assert parse_stamp(outcome.next_poll_at) == NOW + MAX_SERVER_DELAY


@pytest.mark.parametrize("fault", ["gzip", "stall"])
def test_a_body_that_breaks_while_it_is_read_fails_in_one_line(db, server, fault):
    reply = broken_gzip() if fault == "gzip" else slow_drip(b"<rss/>", 1.0)  # > read timeout
    feed = FeedConfig(fault, server.route(f"/{fault}", reply))
    outcome = poll(db, [feed])[fault]
    assert outcome.status == "failed" and outcome.error.startswith("failed reading"), outcome.error


@pytest.mark.parametrize("hops", [3, 4])
def test_redirects_are_followed_up_to_the_cap_and_not_one_more(server, hops):
    limits = FetchLimits(connect_timeout=2, read_timeout=0.5, total_seconds=1.5, max_redirects=3)
    server.route("/hop0", serve_feed("oup_brain.xml"))
    for n in range(1, hops + 1):
        server.route(f"/hop{n}", redirect(302, f"/hop{n - 1}"))
    session = ClientLog()
    if hops <= limits.max_redirects:
        result = fetch_feed(session, server.url(f"/hop{hops}"), limits=limits)
        assert (result.status, result.requests) == (200, hops + 1)
    else:
        with pytest.raises(FetchError, match=r"too many redirects \(more than 3\)"):
            fetch_feed(session, server.url(f"/hop{hops}"), limits=limits)
        assert len(session.sent) == limits.max_redirects + 1  # it stopped at the cap
