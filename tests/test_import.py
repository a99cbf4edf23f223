"""CSV and RIS exports read into Records (fixtures described in fixtures/imports/README.md)."""

from pathlib import Path

import pytest

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


def test_csv_without_the_id_column_names_it():
    with pytest.raises(ImportFileError, match=r"scopus\.csv: line 1: no 'ID' column"):
        list(read_csv(FIXTURES / "scopus.csv", source="scopus"))


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
    assert article.pmid == "29129157"
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
    assert correction.pub_date == "2018-03-15"
    assert correction.journal == "New England Journal of Medicine"
    assert overview.source_id == "3"
    assert overview.authors == ["Langhorne, P.", "Dennis, M."]


def test_ris_entry_without_title_names_file_and_line():
    with pytest.raises(ImportFileError, match=r"no_title\.ris: line 1: entry has no title"):
        list(read_ris(FIXTURES / "no_title.ris", source="x"))
