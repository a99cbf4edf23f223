"""The litmon command line, through click's CliRunner: what a person types and sees."""

import csv
import gzip
import io
import json
from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from pubmed_builder import article, article_set

from litmon.cli import cli
from litmon.core.clock import today_utc
from litmon.db.schema import open_db

DAY = date(2026, 10, 1)


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("LITMON_DB", str(tmp_path / "cli.db"))
    monkeypatch.delenv("LITMON_CONFIG", raising=False)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def dump(db_path):
    import sqlite3

    conn = sqlite3.connect(db_path)
    return [
        conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in ("works", "sightings")
    ]


def test_ingest_pubmed_xml_twice_changes_nothing_the_second_time(run, tmp_path):
    path = tmp_path / "efetch.xml.gz"
    path.write_bytes(gzip.compress(article_set([article(n, DAY) for n in (11, 12, 13)])))

    first = run("ingest", "pubmed-xml", str(path))
    before = dump(tmp_path / "cli.db")
    second = run("ingest", "pubmed-xml", str(path))

    assert first.exit_code == 0 and "3 records - 3 new, 0 updated, 0 unchanged" in first.output
    assert second.exit_code == 0 and "3 records - 0 new, 0 updated, 3 unchanged" in second.output
    assert dump(tmp_path / "cli.db") == before


def test_a_broken_file_is_reported_and_the_others_still_load(run, tmp_path):
    good = tmp_path / "good.xml"
    good.write_bytes(article_set([article(21, DAY), article(22, DAY)]))
    broken = tmp_path / "broken.xml"
    broken.write_bytes(article_set([article(23, DAY), article(24, DAY)])[:-900])

    result = run("ingest", "pubmed-xml", str(broken), str(good))

    assert result.exit_code == 1
    assert "good.xml: 2 records - 2 new" in result.output
    assert "broken.xml: 1 record - 1 new" in result.output  # what came before the break stays
    runs = run("runs").output.splitlines()
    assert "ingest:pubmed-xml good.xml" in runs[0] and ": ok" in runs[0]
    assert "broken.xml" in runs[1] and ": partial" in runs[1]
    assert "error:" in runs[2]


def test_export_works_as_jsonl_and_csv(run, tmp_path):
    path = tmp_path / "efetch.xml"
    path.write_bytes(article_set([article(31, DAY, doi="10.1177/13524585251234567")]))
    run("ingest", "pubmed-xml", str(path))

    lines = run("export", "works", "--format", "jsonl").output.splitlines()
    [work] = [json.loads(line) for line in lines]
    assert work["pmid"] == "31"
    assert work["doi"] == "10.1177/13524585251234567"
    assert work["authors"] == ["Rivera, Ana"]
    assert work["journal"].startswith("Multiple sclerosis")
    assert work["publication_types"] == ["Journal Article"]
    assert work["sources"] == [{"source": "pubmed", "id": "31"}]
    for field in ("pmcid", "title", "abstract", "pub_date", "mesh"):
        assert field in work

    rows = list(csv.DictReader(io.StringIO(run("export", "works", "--format", "csv").output)))
    assert rows[0]["pmid"] == "31" and rows[0]["sources"] == "pubmed:31"


def test_runs_says_so_when_there_are_none(run):
    assert run("runs").output.strip().startswith("no runs yet in ")


def test_unknown_topic_is_a_usage_error(run):
    result = CliRunner().invoke(cli, ["crawl", "pubmed", "--topic", "nope"])
    assert result.exit_code == 2
    assert "unknown topic 'nope'" in result.output


def test_demo_works_offline_and_a_second_run_adds_no_duplicates(tmp_path):
    runner = CliRunner()
    demo_db = tmp_path / "demo.db"
    first = runner.invoke(cli, ["--db", str(demo_db), "demo"], catch_exceptions=False)
    second = runner.invoke(cli, ["--db", str(demo_db), "demo"], catch_exceptions=False)

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    stored = int(first.output.split(" works stored")[0].split("\n")[-1])
    assert stored > 10
    assert f"\n{stored} works stored" in second.output
    assert ": ok" in second.output and " 0 new," in second.output


def test_demo_says_what_it_queued_and_what_to_try_next(tmp_path):
    demo_db = tmp_path / "demo.db"
    result = CliRunner().invoke(cli, ["--db", str(demo_db), "demo"], catch_exceptions=False)

    db = open_db(demo_db)
    waiting = db.execute("SELECT count(*) FROM candidates WHERE state = 'new'").fetchone()[0]
    top = db.execute(
        "SELECT id FROM candidates WHERE state = 'new' ORDER BY score DESC, id LIMIT 1"
    ).fetchone()[0]
    assert waiting > 1
    assert f"\n{waiting} candidates queued for review, best first. Next:" in result.output
    for command in ("queue list", f"queue show {top}", f"review {top} approve", "serve"):
        assert f"litmon --db {demo_db} {command}" in result.output


def test_since_after_until_is_a_usage_error(run):
    result = CliRunner().invoke(
        cli, ["crawl", "pubmed", "--since", "2026-02-01", "--until", "2026-01-01"]
    )
    assert result.exit_code == 2
    assert "--since 2026-02-01 is after --until 2026-01-01" in result.output


def test_until_after_today_is_a_usage_error(run):
    tomorrow = today_utc() + timedelta(days=1)
    result = CliRunner().invoke(cli, ["crawl", "pubmed", "--until", tomorrow.isoformat()])
    assert result.exit_code == 2
    assert f"--until {tomorrow} is after today ({today_utc()}, UTC)" in result.output


def test_an_update_file_deleting_a_citation_hides_its_work_and_runs_count_it(run, tmp_path):
    """PubMed update files end with <DeleteCitation>: NLM withdrew those PMIDs."""
    baseline = tmp_path / "baseline.xml"
    baseline.write_bytes(article_set([article(n, DAY) for n in (41, 42)]))
    update = tmp_path / "update.xml"
    deletion = (
        "<DeleteCitation><PMID Version='1'>41</PMID><PMID Version='1'>99</PMID></DeleteCitation>"
    )
    update.write_bytes(article_set([article(43, DAY), deletion]))
    run("ingest", "pubmed-xml", str(baseline))

    result = run("ingest", "pubmed-xml", str(update))

    assert result.exit_code == 0, result.output
    exported = [json.loads(line)["pmid"] for line in run("export", "works").output.splitlines()]
    assert exported == ["42", "43"]  # 41 is kept, but no longer exported; 99 was never seen
    assert "1 deleted by the source" in run("runs").output.splitlines()[0]


def test_a_deletion_later_in_the_same_file_applies_to_a_record_before_it(run, tmp_path):
    update = tmp_path / "update.xml"
    deletion = "<DeleteCitation><PMID Version='1'>51</PMID></DeleteCitation>"
    update.write_bytes(article_set([article(51, DAY), article(52, DAY), deletion]))

    assert run("ingest", "pubmed-xml", str(update)).exit_code == 0

    exported = [json.loads(line)["pmid"] for line in run("export", "works").output.splitlines()]
    assert exported == ["52"]
