"""`litmon queue` and `litmon review` as an editor and a worker loop use them: JSON output,
exit codes (2 bad input, 3 nothing to claim, 4 conflict), one-line errors, nothing changed."""

import csv
import io
import json
import time
from datetime import timedelta

import pytest
import rispy
from click.testing import CliRunner
from test_queue import candidate, make_works

from litmon import review
from litmon.cli import cli
from litmon.core.clock import parse_stamp
from litmon.core.records import Link, Record
from litmon.db.schema import open_db
from litmon.db.store import save_records
from litmon.imports.ris import read_ris
from litmon.settings import ConfigError, load_config


@pytest.fixture
def queue_db(tmp_path, monkeypatch):
    monkeypatch.setenv("LITMON_DB", str(tmp_path / "queue.db"))
    monkeypatch.setenv("LITMON_EDITOR", "maria")
    db = open_db(tmp_path / "queue.db")
    for n, work_id in enumerate(make_works(db, 3)):
        review.enqueue(db, work_id, [("ms_imaging", 9.0 - n), ("ms_broad", 1.0)])
    return db


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_line_error(result, code: int) -> str:
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("litmon: "), result.output
    return lines[0]


def test_list_as_json_and_nl(queue_db):
    listed = json.loads(run("queue", "list", "--json").output)
    assert [item["score"] for item in listed] == [9.0, 8.0, 7.0]
    assert set(listed[0]) >= {"id", "work_id", "state", "score", "topics"}
    lines = run("queue", "list", "--nl", "--min-score", "8").output.splitlines()
    assert [json.loads(line)["score"] for line in lines] == [9.0, 8.0]
    text = run("queue", "list", "-n", "2").output
    assert "ms_imaging 9" in text and "more: litmon queue list --after 8.0," in text
    rest = run("queue", "list", "--after", text.split("--after ")[1].strip(), "--json")
    assert [item["score"] for item in json.loads(rest.output)] == [7.0]


def test_an_editor_approves_and_a_worker_claims_and_finishes(queue_db, tmp_path):
    first = json.loads(run("queue", "list", "--json").output)[0]
    approved = run("review", f"{first['id']}@{first['version']}", "approve", "--note", "MRI")
    assert approved.exit_code == 0 and "approved" in approved.output
    claimed = run("queue", "claim", "--worker", "w1", "--lease", "30", "--json")
    packet = json.loads(claimed.output)
    assert packet["id"] == first["id"] and packet["editor_notes"][0]["note"] == "MRI"
    summary = tmp_path / "summary.txt"
    summary.write_text("A type of MRI (QSM) may show brain changes.", encoding="utf-8")
    args = ("queue", "done", str(packet["id"]), "--token", packet["lease_token"])
    assert run(*args, "--summary-file", str(summary)).exit_code == 0
    again = run(*args, "--summary-file", str(summary))
    assert again.exit_code == 0 and "nothing changed" in again.output
    shown = json.loads(run("queue", "show", str(packet["id"]), "--json").output)
    assert shown["state"] == "summarized" and shown["summaries"][0]["worker"] == "w1"
    history = json.loads(run("queue", "history", f"pmid:{shown['pmid']}", "--json").output)
    assert [(r["action"], r["by"]) for r in history] == [
        ("enqueue", "litmon"),
        ("approve", "maria"),
        ("claim", "w1"),
        ("done", "w1"),
    ]
    empty = run("queue", "claim", "--worker", "w1", "--json")
    assert empty.exit_code == 3 and empty.stdout == ""


def test_a_stale_token_or_version_exits_4_and_changes_nothing(queue_db, tmp_path):
    first = json.loads(run("queue", "list", "--json").output)[0]
    run("review", str(first["id"]), "approve")
    packet = json.loads(run("queue", "claim", "--worker", "w1", "--json").output)
    before = candidate(queue_db, first["id"])
    summary = tmp_path / "s.txt"
    summary.write_text("text", encoding="utf-8")
    cid = str(first["id"])
    for args in (
        ("queue", "done", cid, "--token", "stale", "--summary-file", str(summary)),
        ("queue", "fail", cid, "--token", "stale", "--error", "boom"),
        ("queue", "extend", cid, "--token", "stale"),
        ("review", f"{cid}@{first['version']}", "reject", "--reason", "off-topic"),
    ):
        line = one_line_error(run(*args), 4)
        assert "leased" in line
    assert candidate(queue_db, first["id"]) == before
    assert (
        run("queue", "fail", cid, "--token", packet["lease_token"], "--error", "x").exit_code == 0
    )


@pytest.mark.parametrize(
    "args",
    [
        ("review", "999", "approve"),
        ("review", "1", "2", "frobnicate"),
        ("review", "1", "reject"),
        ("review", "1", "reject", "--reason", "boring"),
        ("review", "1", "defer", "--until", "someday"),
        ("review", "1", "defer", "--until", "2001-01-01"),
        ("review", "1", "undo"),
        ("review", "1", "999", "approve"),
        ("queue", "retry", "1"),
        ("queue", "show", "pmid:1"),
        ("queue", "done", "x", "--token", "t", "--summary-file", "nope.txt"),
        ("queue", "list", "--after", "high"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(queue_db, args):
    before = [candidate(queue_db, i) for i in (1, 2, 3)]
    one_line_error(run(*args), 2)
    assert [candidate(queue_db, i) for i in (1, 2, 3)] == before


def test_a_malformed_summary_file_is_refused(queue_db, tmp_path):
    run("review", "1", "approve")
    packet = json.loads(run("queue", "claim", "--worker", "w1", "--json").output)
    for content in (b"\xff\xfe\x00bad", b"   \n"):
        path = tmp_path / "bad.txt"
        path.write_bytes(content)
        result = run(
            "queue", "done", "1", "--token", packet["lease_token"], "--summary-file", str(path)
        )
        one_line_error(result, 2)
    assert candidate(queue_db, 1)["state"] == "leased"


def test_defer_undo_and_dead_ends_from_the_command_line(queue_db):
    assert "deferred" in run("review", "1", "defer", "--until", "2999-01-01", "--by", "jo").output
    assert "new" in run("review", "1", "undo").output
    trail = run("queue", "history", "1").output
    assert "jo: defer new -> deferred" in trail and "maria: undo deferred -> new" in trail
    queue_db.execute("UPDATE candidates SET state = 'dead' WHERE id = 2")
    queue_db.conn.commit()
    assert "approved" in run("queue", "retry", "2").output
    queue_db.execute("UPDATE candidates SET state = 'dead' WHERE id = 3")
    queue_db.conn.commit()
    assert "discarded" in run("queue", "discard", "3").output
    assert json.loads(run("queue", "list", "--state", "discarded", "--json").output)[0]["id"] == 3


def test_takedown_of_a_withdrawn_piece(queue_db, tmp_path):
    run("review", "1", "approve")
    packet = json.loads(run("queue", "claim", "--worker", "w1", "--json").output)
    review.done(queue_db, 1, packet["lease_token"], "a summary, free text")
    parts = dict.fromkeys(("finding", "what_was_done", "why_it_matters", "limits"), "Text.")
    review.edit(queue_db, 1, parts, "ed")
    review.publish(queue_db, 1, "ed", force=True)
    queue_db.execute("UPDATE works SET deleted_at = '2026-11-01T00:00:00Z' WHERE id = 1")
    queue_db.conn.commit()
    review.withdraw_gone(queue_db)
    assert "takedown pending" in run("queue", "list", "--state", "withdrawn").output
    one_line_error(run("queue", "ack-takedown", "2"), 2)
    assert "takedown done" in run("queue", "ack-takedown", "1", "--note", "removed").output


def test_export_candidates_as_jsonl_csv_and_ris(queue_db, tmp_path):
    queue_db.execute("UPDATE works SET title = '=HYPERLINK(\"http://x\")' WHERE id = 3")
    queue_db.execute("UPDATE works SET pages = '101-109', volume = '32' WHERE id = 1")
    queue_db.conn.commit()
    rows = [json.loads(line) for line in run("export", "candidates").stdout.splitlines()]
    assert [row["score"] for row in rows] == [9.0, 8.0, 7.0]
    assert rows[0]["authors"] == ["Author0, A"] and rows[0]["journal"]
    table = list(csv.DictReader(io.StringIO(run("export", "candidates", "--format", "csv").stdout)))
    assert table[2]["title"] == '\'=HYPERLINK("http://x")'
    assert table[0]["topics"] == "ms_imaging 9; ms_broad 1"
    ris = tmp_path / "candidates.ris"
    run("export", "candidates", "--format", "ris", "-o", str(ris))
    records = [r for r in read_ris(ris, "ris:zotero") if isinstance(r, Record)]
    assert [r.pmid for r in records] == ["40000001", "40000002", "40000003"]
    first = records[0]
    assert (first.title, first.doi, first.volume, first.pages) == (
        "Paramagnetic rim lesions on QSM in multiple sclerosis, cohort 0",
        "10.1000/ms.0",
        "32",
        "101-109",
    )
    assert first.authors == ["Author0, A"] and first.pub_date.startswith("2026")
    assert "litmon candidate 1: new" in ris.read_text()


def test_ris_export_reads_back_through_rispy(tmp_path, monkeypatch):
    """The tags Zotero's RIS translator reads, as an independent RIS reader sees them."""
    monkeypatch.setenv("LITMON_DB", str(tmp_path / "ris.db"))
    db = open_db(tmp_path / "ris.db")
    fields = dict(
        authors=["Okafor, Ngozi", "Lindqvist, Per"],
        pub_date="2026-10-14",
        volume="32",
        issue="11",
        pages="1401-1412",
        abstract="BACKGROUND: Rims matter.\nRESULTS: They grow.",
        keywords=["QSM", "iron rim"],
    )
    (work_id,) = make_works(db, 1, **fields)
    review.enqueue(db, work_id, [("ms_imaging", 9.0)])
    ris = tmp_path / "candidates.ris"
    assert run("export", "candidates", "--format", "ris", "-o", str(ris)).exit_code == 0
    (entry,) = rispy.loads(ris.read_text(encoding="utf-8"))
    assert entry["type_of_reference"] == "JOUR"
    assert entry["title"] == "Paramagnetic rim lesions on QSM in multiple sclerosis, cohort 0"
    assert entry["authors"] == ["Okafor, Ngozi", "Lindqvist, Per"]
    assert (entry["year"], entry["date"]) == ("2026", "2026/10/14")
    assert entry["secondary_title"] == "Multiple Sclerosis Journal"  # T2, Zotero's journal
    assert (entry["volume"], entry["number"]) == ("32", "11")
    assert (entry["start_page"], entry["end_page"]) == ("1401", "1412")
    assert entry["doi"] == "10.1000/ms.0"
    assert entry["abstract"] == "BACKGROUND: Rims matter. RESULTS: They grow."
    assert entry["keywords"] == ["QSM", "iron rim"]
    assert entry["accession_number"] == "40000001"
    assert entry["urls"] == ["https://pubmed.ncbi.nlm.nih.gov/40000001/"]


@pytest.fixture
def queue_config(queue_db, tmp_path, monkeypatch):
    """A config whose [queue] allows two reasons, one attempt and one-second leases."""
    path = tmp_path / "litmon.toml"
    path.write_text(
        '[queue]\nreject_reasons = ["not-ms", "other"]\nmax_attempts = 1\nlease_seconds = 1\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("LITMON_CONFIG", str(path))
    return path


def test_rejection_reasons_come_from_the_config(queue_config, queue_db):
    before = candidate(queue_db, 1)
    line = one_line_error(run("review", "1", "reject", "--reason", "off-topic"), 2)
    assert "not-ms, other" in line
    assert candidate(queue_db, 1) == before
    assert "rejected" in run("review", "1", "reject", "--reason", "not-ms").output


def test_max_attempts_and_the_lease_come_from_the_config(queue_config, queue_db):
    run("review", "1", "2", "approve")
    packet = json.loads(run("queue", "claim", "--worker", "w1", "--json").output)
    # max_attempts = 1: the first failure is the last (the built-in 3 would say approved)
    failed = run(
        "queue", "fail", str(packet["id"]), "--token", packet["lease_token"], "--error", "x"
    )
    assert "dead after 1 attempt\n" in failed.output
    second = json.loads(run("queue", "claim", "--worker", "w1", "--json").output)
    claimed_at = review.history(queue_db, str(second["id"]))[-1]["at"]
    assert parse_stamp(second["lease_expires"]) - parse_stamp(claimed_at) == timedelta(seconds=1)
    # lease_seconds = 1: the lease is gone a moment later, and with it the only attempt
    deadline = time.monotonic() + 5
    while json.loads(run("queue", "show", str(second["id"]), "--json").output)["state"] != "dead":
        assert time.monotonic() < deadline, "the one-second lease did not expire"
        time.sleep(0.2)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("reject_reasons = []", "queue.reject_reasons"),
        ('reject_reasons = ["a", "a"]', "queue.reject_reasons"),
        ("max_attempts = 0", "queue.max_attempts"),
        ("max_attempts = true", "queue.max_attempts"),
        ("lease_seconds = 0", "queue.lease_seconds"),
        ("leases = 3", "queue.leases"),
    ],
)
def test_a_bad_queue_setting_is_a_one_line_error_naming_the_key(tmp_path, text, key):
    path = tmp_path / "litmon.toml"
    path.write_text(f"[queue]\n{text}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f": {key}: " in str(caught.value) and "\n" not in str(caught.value)


def test_a_retracted_work_is_flagged_everywhere_and_never_claimed(tmp_path, monkeypatch):
    monkeypatch.setenv("LITMON_DB", str(tmp_path / "r.db"))
    db = open_db(tmp_path / "r.db")
    (work_id,) = make_works(db, 1, links=[Link(type="RetractionIn", pmid="41000009")])
    candidate_id = review.enqueue(db, work_id, [("ms_imaging", 9.0)])
    assert "[RETRACTED]" in run("queue", "list").output
    assert json.loads(run("queue", "list", "--json").output)[0]["retracted"] is True
    shown = run("queue", "show", str(candidate_id))
    assert "[RETRACTED]" in shown.output and "retraction notice: pmid:41000009" in shown.output
    assert json.loads(run("queue", "show", str(candidate_id), "--json").output)["retracted"]
    run("review", str(candidate_id), "approve")
    assert run("queue", "claim", "--worker", "w1").exit_code == 3


def test_an_erratum_is_shown_with_its_article(tmp_path, monkeypatch):
    monkeypatch.setenv("LITMON_DB", str(tmp_path / "e.db"))
    db = open_db(tmp_path / "e.db")
    # the article lists one erratum itself; a second is only known from its own record
    article, listed = make_works(db, 2)
    db.execute("UPDATE works SET title = 'Erratum: rim lesions, cohort 1' WHERE id = ?", (listed,))
    save_records(
        db,
        [
            Record(
                source="pubmed",
                source_id="40000099",
                pmid="40000099",
                title="Correction to: Paramagnetic rim lesions, cohort 0",
                links=[Link(type="ErratumFor", pmid="40000001", ref="Mult Scler. 2026")],
            )
        ],
    )
    notice = db.execute("SELECT id FROM works WHERE pmid = '40000099'").fetchone()[0]
    db.execute(
        "UPDATE works SET links = ? WHERE id = ?",
        (
            json.dumps([{"type": "ErratumIn", "pmid": "40000002", "ref": "Mult Scler. 2026"}]),
            article,
        ),
    )
    db.conn.commit()
    article_id = review.enqueue(db, article, [("ms_imaging", 9.0)])
    notice_id = review.enqueue(db, notice, [("ms_imaging", 5.0)])
    shown = run("queue", "show", str(article_id)).output
    assert f"erratum: pmid:40000002 (work {listed}) Erratum: rim lesions, cohort 1" in shown
    assert f"erratum: pmid:40000099 (work {notice}) Correction to: Paramagnetic rim" in shown
    as_json = json.loads(run("queue", "show", str(article_id), "--json").output)
    assert [(n["type"], n["work_id"]) for n in as_json["notices"]] == [
        ("ErratumIn", listed),
        ("ErratumIn", notice),
    ]
    shown = run("queue", "show", str(notice_id)).output
    assert f"erratum for: pmid:40000001 (work {article}) Paramagnetic rim lesions on QSM" in shown


def test_show_gives_the_paper_an_editor_judges_with_each_link_once(tmp_path, monkeypatch):
    monkeypatch.setenv("LITMON_DB", str(tmp_path / "show.db"))
    db = open_db(tmp_path / "show.db")
    pubmed_url = "https://pubmed.ncbi.nlm.nih.gov/40000001/"  # as a PubMed record gives it
    (work_id,) = make_works(
        db, 1, url=pubmed_url, authors=["Okafor, N", "Lindqvist, E"], abstract="Rims matter."
    )
    review.enqueue(db, work_id, [("ms_imaging", 9.0)])

    shown = run("queue", "show", "1").output

    assert "authors:  Okafor, N; Lindqvist, E" in shown
    assert "journal:  Multiple Sclerosis Journal" in shown and "Rims matter." in shown
    [links] = [line for line in shown.splitlines() if line.startswith("links:")]
    assert links.split() == ["links:", "https://doi.org/10.1000/ms.0", pubmed_url]
