"""CSV and RIS exports read into Records (fixtures described in fixtures/imports/README.md)."""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from litmon.cli import cli
from litmon.core.errors import UsageError
from litmon.core.records import Skipped
from litmon.imports import ImportFileError, read_csv, read_ris

FIXTURES = Path(__file__).parent / "fixtures" / "imports"


def test_csv_with_id_column_bom_and_bibtex_authors():
    first, second = read_csv(FIXTURES / "review.csv", source="review")
    assert (first.source, first.source_id) == ("csv:review", "r1")
    assert first.authors == ["Nogueira, R. G.", "Jadhav, A. P.", "Haussen, D. C."]
    assert first.pub_date == "2018"
    assert (first.journal, first.volume, first.issue, first.pages) == (
        "N Engl J Med",
        "378",
        "1",
        "11-21",
    )
    assert second.source_id == "r2"
    assert second.title == "Müller's sign in aortic regurgitation"
    assert second.authors == ["Müller, K.", "Smith, J. A."]
    assert second.doi == "10.1136/bcr-2015-000001"


def test_csv_with_other_id_column_and_semicolon_authors():
    (record,) = read_csv(FIXTURES / "scopus.csv", source="scopus", id_column="EID")
    assert record.source_id == "2-s2.0-1"
    assert record.authors == ["Bernhardt, J", "Langhorne, P", "Lindley, RI"]
    assert record.pages == "46-55"
    assert record.pmid == "25892679"
    assert record.doi == "10.1016/s0140-6736(15)60690-0"


def test_csv_without_a_named_id_column_names_it(tmp_path):
    with pytest.raises(UsageError, match=r"scopus\.csv: no 'Accession' column for --id-column"):
        list(read_csv(FIXTURES / "scopus.csv", source="scopus", id_column="Accession"))
    result = CliRunner().invoke(
        cli,
        ["--db", str(tmp_path / "x.db"), "ingest", "csv", str(FIXTURES / "scopus.csv")]
        + ["--source", "scopus", "--id-column", "Accession"],
    )
    assert result.exit_code == 2 and "no 'Accession' column" in result.output
    assert "Traceback" not in result.output


def test_csv_without_the_default_id_column_gets_fingerprints():
    (record,) = read_csv(FIXTURES / "scopus.csv", source="scopus")
    assert re.fullmatch(r"fp:[0-9a-f]{16}", record.source_id)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("no_title.csv", r"no_title\.csv: line 1: no title column"),
        ("bad_quote.csv", r"bad_quote\.csv: line \d+: not readable as CSV"),
        ("latin1.csv", r"latin1\.csv: line 2: not UTF-8"),
        ("missing.csv", r"missing\.csv: line 0: cannot read the file"),
    ],
)
def test_unreadable_csv_names_file_and_line(name, message):
    with pytest.raises(ImportFileError, match=message):
        list(read_csv(FIXTURES / name, source="x"))


def test_ris_entries():
    article, correction, overview = read_ris(FIXTURES / "embase.ris", source="embase")
    assert (article.source, article.source_id) == ("ris:embase", "emb-1")
    assert article.authors == ["Nogueira, R.G.", "Jadhav, A.P.", "Haussen, D.C."]
    assert article.pmid is None  # "N1  - PMID: ..." is a note, not the record's own id
    assert article.doi == "10.1056/nejmoa1706442"
    assert (article.journal, article.journal_abbrev) == (
        "New England Journal of Medicine",
        "N Engl J Med",
    )
    assert (article.pub_date, article.volume, article.issue, article.pages) == (
        "2018",
        "378",
        "1",
        "11-21",
    )
    assert article.abstract.endswith("performed more than 6 hours after onset is uncertain.")
    assert correction.source_id == "620112233"
    assert correction.pmid is None  # an Embase accession number, no database named
    assert correction.pub_date == "2018-03-15"
    assert correction.journal == "New England Journal of Medicine"
    assert re.fullmatch(r"fp:[0-9a-f]{16}", overview.source_id)
    assert overview.authors == ["Langhorne, P.", "Dennis, M."]


def test_ris_entry_without_title_names_file_and_line():
    [skipped] = read_ris(FIXTURES / "no_title.ris", source="x")
    assert isinstance(skipped, Skipped)
    assert re.search(r"no_title\.ris: line 1: entry has no title", skipped.reason)


def test_entries_without_an_id_get_fingerprints_of_the_paper_not_of_their_position():
    first, reexported, other_first_author, other_year, other_doi, same_doi = read_csv(
        FIXTURES / "twins.csv", source="twins"
    )
    assert first.source_id.startswith("fp:")
    # case, spacing, punctuation and the DOI's spelling do not make another paper
    assert reexported.source_id == first.source_id
    ids = [first, other_first_author, other_year, other_doi, same_doi]
    assert len({record.source_id for record in ids}) == 5


def test_a_paper_keeps_its_fingerprint_from_export_to_export_and_format_to_format():
    (a_csv, _), (_, a_csv_again) = (read_csv(FIXTURES / f"export{n}.csv", "s") for n in (1, 2))
    (a_ris, _), (_, a_ris_again) = (read_ris(FIXTURES / f"export{n}.ris", "s") for n in (1, 2))
    assert a_csv.source_id == a_csv_again.source_id == a_ris.source_id == a_ris_again.source_id


@pytest.mark.parametrize("kind", ["csv", "ris"])
def test_a_second_export_under_the_same_source_adds_to_the_first(kind, tmp_path):
    runner = CliRunner()
    db = str(tmp_path / "imports.db")

    def ingest(name):
        result = runner.invoke(
            cli,
            ["--db", db, "ingest", kind, str(FIXTURES / name), "--source", "saved-search"],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        return result.output

    assert "2 records - 2 new, 0 updated" in ingest(f"export1.{kind}")
    # export 2 holds paper C, then paper A again (re-cased, re-spaced): A's sighting is
    # updated, B's is left alone
    assert "2 records - 1 new, 1 updated" in ingest(f"export2.{kind}")

    exported = runner.invoke(cli, ["--db", db, "export", "works"], catch_exceptions=False)
    works = [json.loads(line) for line in exported.output.splitlines()]
    titles = sorted(work["title"].lower()[:20] for work in works)
    assert titles == ["cold-water immersion", "night-shift work and", "walking groups for o"]
    assert all(len(work["sources"]) == 1 for work in works)


@pytest.mark.parametrize(
    ("read", "name", "message"),
    [
        (read_csv, "no_title_row.csv", r"no_title_row\.csv: line 3: row has no title \('title'\)"),
        (read_ris, "no_title_second.ris", r"no_title_second\.ris: line 6: entry has no title"),
    ],
)
def test_an_entry_without_title_is_skipped_and_the_entries_around_it_read(read, name, message):
    first, skipped, after = read(FIXTURES / name, "x")
    assert first.title.startswith(("A row with a title", "An entry with a title"))
    assert isinstance(skipped, Skipped) and re.search(message, skipped.reason)
    assert after.title.startswith(("A row after", "An entry after"))


@pytest.mark.parametrize(
    ("kind", "name"), [("csv", "no_title_row.csv"), ("ris", "no_title_second.ris")]
)
def test_a_file_with_an_untitled_entry_loads_the_rest_and_says_so(kind, name, tmp_path):
    db = str(tmp_path / "x.db")
    result = CliRunner().invoke(
        cli, ["--db", db, "ingest", kind, str(FIXTURES / name), "--source", "x"]
    )
    assert result.exit_code == 0, result.output
    assert "has no title" in result.output and "skipped" in result.output
    assert f"{name}: 2 records - 2 new" in result.output
    runs = CliRunner().invoke(cli, ["--db", db, "runs"])
    assert ": ok" in runs.output and "has no title" in runs.output


def test_ris_pmid_only_from_the_accession_number_of_a_pubmed_record():
    records = read_ris(FIXTURES / "pmid.ris", source="x")
    endnote, embase, note_only, ovid_medline, own_number, ovid_embase = records
    assert endnote.pmid == "31000001"  # AN of a record whose DP is NLM, not the note's
    assert embase.pmid is None  # AN of an Embase record
    assert note_only.pmid is None  # a PMID in "Comment in: ..." is another record's
    assert ovid_medline.pmid == "31000004"  # Ovid writes the accession number in ID
    assert own_number.pmid is None  # elsewhere ID is the reference manager's number
    assert ovid_embase.pmid is None


def test_csv_pmid_only_from_a_pmid_column_never_from_notes():
    own, cited = read_csv(FIXTURES / "pmid_notes.csv", source="x")
    assert own.pmid == "31000011"
    assert cited.pmid is None


def test_ris_doi_from_the_do_tag_or_a_doi_org_link_never_from_free_text():
    tagged, linked, publisher, free_text, old_link = read_ris(FIXTURES / "doi.ris", source="x")
    assert tagged.doi == "10.5555/inv.1"
    assert linked.doi == "10.5555/inv.2"
    assert publisher.doi is None
    assert free_text.doi is None
    assert old_link.doi == "10.5555/inv.6"


def test_csv_doi_from_the_doi_column_or_a_doi_org_link_never_from_free_text():
    linked, publisher = read_csv(FIXTURES / "doi.csv", source="x")
    assert linked.doi == "10.5555/inv.7"
    assert publisher.doi is None


def test_a_row_whose_id_is_stored_as_another_paper_fails_the_run_and_is_counted(tmp_path):
    db = str(tmp_path / "refuse.db")
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text("ID,title,year,authors\n1,Iron rims in multiple sclerosis,2021,Okafor N\n")
    second.write_text("ID,title,year,authors\n1,Gut microbiome and NMOSD relapses,2023,Lind E\n")
    runner = CliRunner()
    assert (
        runner.invoke(cli, ["--db", db, "ingest", "csv", str(first), "--source", "s"]).exit_code
        == 0
    )

    result = runner.invoke(cli, ["--db", db, "ingest", "csv", str(second), "--source", "s"])

    assert result.exit_code == 1
    assert "Iron rims in multiple sclerosis" in result.output  # the stored paper, named
    assert "Gut microbiome and NMOSD relapses" in result.output  # and the refused one
    runs = runner.invoke(cli, ["--db", db, "runs"]).output.splitlines()
    assert ": partial" in runs[0] and "1 refused" in runs[0]
