"""A mistyped ``--db`` or ``LITMON_DB`` creates nothing: only the commands that exist to
create data (crawl, ingest, demo, init, ``users add``) may create the database; every other
one says ``no database at PATH`` and exits 2, and no file or folder appears."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner
from pubmed_builder import article, article_set

from litmon.cli import cli

READERS = [
    ("queue", "list"),
    ("queue", "list", "--json"),
    ("queue", "show", "1"),
    ("queue", "history", "1"),
    ("queue", "claim", "--worker", "w1"),
    ("review", "1", "reject", "--reason", "off-topic", "--by", "maria"),
    ("export", "works"),
    ("export", "candidates"),
    ("feeds",),
    ("users", "list"),
    ("tokens", "list"),
    ("dupes", "list"),
    ("score",),
    ("status",),
    ("db", "prune"),
    ("drafts", "list"),
    ("model", "status"),
    ("model", "train"),
    ("publish", "site"),
    ("summarize", "--once"),
]


@pytest.fixture
def typo(tmp_path, monkeypatch):
    """A database path with a typo in its folder: neither the folder nor the file exists."""
    monkeypatch.delenv("LITMON_DB", raising=False)
    monkeypatch.delenv("LITMON_CONFIG", raising=False)
    return tmp_path / "litmno" / "litmon.db"


@pytest.mark.parametrize("command", READERS, ids=" ".join)
def test_a_command_that_reads_or_changes_data_refuses_a_missing_database(typo, command):
    result = CliRunner().invoke(cli, ["--db", str(typo), *command])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith(f"litmon: no database at {typo}")
    assert not typo.parent.exists()


def test_litmon_db_is_held_to_the_same_rule(typo, monkeypatch):
    monkeypatch.setenv("LITMON_DB", str(typo))
    result = CliRunner().invoke(cli, ["queue", "claim", "--worker", "w1"])
    assert result.exit_code == 2 and "no database at" in result.output
    assert not typo.parent.exists()


def test_an_ingest_creates_the_database_and_its_folder(typo, tmp_path):
    xml = tmp_path / "one.xml"
    xml.write_bytes(article_set([article(41_000_001, date(2026, 1, 1), title="Rim lesions")]))
    result = CliRunner().invoke(cli, ["-q", "--db", str(typo), "ingest", "pubmed-xml", str(xml)])
    assert result.exit_code == 0, result.output
    assert typo.exists()
    listed = CliRunner().invoke(cli, ["--db", str(typo), "export", "works"])
    assert listed.exit_code == 0 and "Rim lesions" in listed.output


def test_the_first_account_creates_the_database(typo):
    result = CliRunner().invoke(
        cli, ["--db", str(typo), "users", "add", "maria", "--password-stdin"],
        input="correct horse battery\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert typo.exists()
    listed = CliRunner().invoke(cli, ["--db", str(typo), "users", "list"])
    assert listed.exit_code == 0 and "maria" in listed.output
