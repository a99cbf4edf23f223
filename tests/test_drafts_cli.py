"""`litmon drafts` and `litmon export summaries` through click's CliRunner: the list of
drafts awaiting review, a draft shown with its checks, edited from the text `show --text`
prints, published (a stale version is exit 4, failed checks need --force), sent back, and
the published summaries exported as JSONL and CSV (formulas neutralized)."""

import csv
import io
import json

import pytest
from click.testing import CliRunner
from test_drafts import mesh_works
from test_guards import GOOD

from litmon import review
from litmon.cli import cli
from litmon.db.schema import open_db


@pytest.fixture
def setup(tmp_path):
    """Two candidates with checked drafts awaiting review (1, 2) and one with free text (3)."""
    path = tmp_path / "drafts.db"
    db = open_db(path)
    ids = mesh_works(db, 3)
    for n, work_id in enumerate(ids):
        review.enqueue(db, work_id, [("ms_imaging", 9.0 - n)])
    review.decide(db, ["1", "2", "3"], "approve", by="ed")
    for candidate_id in (1, 2, 3):
        packet = review.claim(db, "w1", 60)
        text = json.dumps(GOOD) if candidate_id < 3 else "A lay summary as free text."
        review.done(db, packet["id"], packet["lease_token"], text)
    runner = CliRunner()

    def run(*args):
        return runner.invoke(
            cli, list(args), env={"LITMON_DB": str(path), "LITMON_EDITOR": "maria"}
        )

    return run, db, tmp_path


def test_list_shows_drafts_awaiting_review_with_their_checks(setup):
    run, db, _ = setup
    result = run("drafts", "list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["ID", "DRAFT", "CHECKS", "TITLE"]
    assert "checks passed" in lines[1] and "UNCHECKED (free text)" in lines[3]
    rows = json.loads(run("drafts", "list", "--json").output)
    assert [(r["id"], r["draft"]["checked"]) for r in rows] == [(1, True), (2, True), (3, False)]


def test_show_prints_the_parts_and_each_check(setup):
    run, _, _ = setup
    shown = run("drafts", "show", "1").output
    assert "draft v1 by w1 (worker)" in shown and "checks passed" in shown
    assert "Why it matters to people with MS\n" + GOOD["why_it_matters"] in shown
    assert "ok   numbers: every number written in digits is in the source" in shown
    free = run("drafts", "show", "3").output
    assert "UNCHECKED free text, as received:\nA lay summary as free text." in free
    queue_show = run("queue", "show", "3").output
    assert "draft v1 by w1 at " in queue_show
    assert "UNCHECKED (free text) (litmon drafts show 3)" in queue_show
    as_json = json.loads(run("drafts", "show", "1", "--json").output)
    assert as_json["draft"]["parts"] == GOOD and as_json["candidate"]["state"] == "summarized"


def test_edit_from_show_text_is_a_new_checked_version(setup):
    run, db, tmp_path = setup
    draft = tmp_path / "d.txt"
    draft.write_text(run("drafts", "show", "1", "--text").output)
    assert run("drafts", "edit", "1", "--file", str(draft)).output.endswith("nothing changed\n")
    draft.write_text(draft.read_text().replace("32%", "23%"))
    result = run("drafts", "edit", "1", "--file", str(draft))
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "candidate 1: draft v2, FAILED: numbers",
        "FAIL numbers: not in the title, abstract or study facts: 23",
    ]
    assert review.latest_draft(db.conn, 1)["by"] == "maria"
    # free text becomes the four parts through an edit
    draft.write_text(json.dumps(GOOD))
    assert "draft v2, checks passed" in run("drafts", "edit", "3", "--file", str(draft)).output


def test_edit_files_that_are_not_the_four_parts_are_refused_naming_the_file(setup):
    run, _, tmp_path = setup
    draft = tmp_path / "d.txt"
    draft.write_text("The finding\nSomething.\n")
    result = run("drafts", "edit", "1", "--file", str(draft))
    assert result.exit_code == 2
    assert f"{draft}: no heading for: What the researchers did and found" in result.output
    result = run("drafts", "edit", "1", "--file", str(tmp_path / "missing.txt"))
    assert result.exit_code == 2 and "missing.txt: cannot read it" in result.output


def test_publish_the_version_reviewed_and_failed_checks_need_force(setup):
    run, db, tmp_path = setup
    draft = tmp_path / "d.txt"
    draft.write_text(json.dumps(GOOD | {"limits": GOOD["limits"] + " See https://example.com."}))
    run("drafts", "edit", "1", "--file", str(draft))
    stale = run("drafts", "publish", "1", "--version", "1")
    assert stale.exit_code == 4 and "version 2, not the version 1 you saw" in stale.output
    refused = run("drafts", "publish", "1", "--version", "2")
    assert refused.exit_code == 2 and "failed its checks (links)" in refused.output
    forced = run("drafts", "publish", "1", "--version", "2", "--force")
    assert forced.exit_code == 0 and forced.output == "candidate 1: published draft v2\n"
    assert review.history(db, "1")[-1]["by"] == "maria"
    free = run("drafts", "publish", "3")
    assert free.exit_code == 2 and "free text, unchecked" in free.output
    assert [row["id"] for row in json.loads(run("drafts", "list", "--json").output)] == [2, 3]


def test_return_needs_a_note_and_approves_again(setup):
    run, db, _ = setup
    assert run("drafts", "return", "2").exit_code == 2  # --note is required
    result = run("drafts", "return", "2", "--note", "Say the study was small.", "--json")
    assert result.exit_code == 0 and json.loads(result.output)["state"] == "approved"
    assert review.claim(db, "w2", 60)["sent_back"]["note"] == "Say the study was small."


def test_export_summaries_as_jsonl_and_csv(setup):
    run, db, _ = setup
    db.execute("UPDATE works SET title = '=HYPERLINK(\"http://x\")' WHERE id = 2")
    db.conn.commit()
    run("drafts", "publish", "1")
    run("drafts", "publish", "2")
    result = run("export", "summaries")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["candidate_id"] for row in rows] == [2, 1]  # newest first (same second: by id)
    first = next(row for row in rows if row["candidate_id"] == 1)
    assert {key: first[key] for key in GOOD} == GOOD
    assert first["published_by"] == "maria" and first["pubmed_url"].endswith("/40000001/")
    assert first["doi_url"] == "https://doi.org/10.1000/ms.0" and first["topics"] == ["ms_imaging"]
    table = list(csv.DictReader(io.StringIO(run("export", "summaries", "--format", "csv").stdout)))
    titles = {row["candidate_id"]: row["title"] for row in table}
    assert titles["2"] == '\'=HYPERLINK("http://x")'
    assert table[0]["finding"] == GOOD["finding"]
    run("drafts", "unpublish", "1", "--note", "fix it")
    assert len(run("export", "summaries").stdout.splitlines()) == 1
    every = [json.loads(line) for line in run("export", "summaries", "--all").stdout.splitlines()]
    assert sorted((row["candidate_id"], row["listed"]) for row in every) == [(1, False), (2, True)]
