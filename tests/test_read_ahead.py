"""A PubMed XML file read in a process of its own gives the caller what reading it in the
caller's process gives: the same items, the same error after the same items, a one-line
error when the reader fails or dies, and no reader left running when the caller stops."""

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import BinaryIO

import pytest
from click.testing import CliRunner
from pubmed_builder import article, article_set

from litmon.cli import cli
from litmon.core.records import Record
from litmon.crawler import pubmed_xml
from litmon.crawler.pubmed_xml import PubMedXMLError, iter_items
from litmon.crawler.read_ahead import BATCH, read_in_process
from litmon.db.schema import open_db

DAY = date(2025, 3, 4)
TESTS = Path(__file__).parent
ROOT = TESTS.parent


def articles(count: int, first: int = 39000000) -> list[str]:
    return [article(first + n, DAY) for n in range(count)]


@pytest.fixture
def tests_importable(monkeypatch):
    """The reader process can import this module's readers (it inherits the environment)."""
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    )


def readers_of(path: Path) -> list[int]:
    """The running reader processes of ``path``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"litmon.crawler.read_ahead" in command and str(path).encode() in command:
            found.append(int(entry.name))
    return found


def gone(path: Path, patience: float = 5.0) -> bool:
    deadline = time.monotonic() + patience
    while readers_of(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_the_items_are_those_read_in_the_callers_process(tmp_path):
    path = tmp_path / "mixed.xml"
    body = articles(BATCH + 20)
    body.insert(3, article(1, DAY).replace('<PMID Version="1">1</PMID>', ""))  # skipped
    body.insert(BATCH + 5, "<DeleteCitation><PMID>39000002</PMID></DeleteCitation>")
    path.write_bytes(article_set(body))
    here = list(iter_items(path, read_ahead=False))
    there = list(iter_items(path, read_ahead=True))
    assert there == here
    assert {type(item).__name__ for item in there} == {"Record", "Skipped", "Deletion"}


COUNT_STDIN = (
    "from litmon.crawler.pubmed_xml import iter_items;"
    "print(sum(1 for _ in iter_items('/dev/stdin', read_ahead=True)))"
)


def test_a_path_naming_the_callers_input_is_read_from_it(tmp_path):
    """`litmon ingest pubmed-xml /dev/stdin < big.xml`: the reader gets the caller's input,
    not a stdin of its own."""
    path = tmp_path / "piped.xml"
    path.write_bytes(article_set(articles(BATCH + 20)))
    with open(path, "rb") as stdin:
        counted = subprocess.run(
            [sys.executable, "-c", COUNT_STDIN], stdin=stdin, capture_output=True, check=True
        )
    assert counted.stdout.decode().strip() == str(BATCH + 20)


def test_the_callers_working_directory_cannot_shadow_the_readers_imports(tmp_path):
    """A folder holding a package named like one the reader imports (lxml) is no reason for
    an ingest started there to fail."""
    path = tmp_path / "some.xml"
    path.write_bytes(article_set(articles(3)))
    shadow = tmp_path / "lxml"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise ImportError('not the real lxml')\n")
    with open(path, "rb") as stdin:
        counted = subprocess.run(
            [sys.executable, "-P", "-c", COUNT_STDIN],  # the caller is not what is tested
            stdin=stdin,
            capture_output=True,
            cwd=tmp_path,
            check=False,
        )
    assert counted.stdout.decode().strip() == "3", counted.stderr.decode()


def test_a_malformed_file_gives_the_items_before_the_break_then_the_same_error(tmp_path):
    path = tmp_path / "cut.xml"
    data = article_set(articles(530))
    path.write_bytes(data[: data.index(b"39000510") + 3])

    def read(read_ahead: bool) -> tuple[list[str], str]:
        seen = []
        with pytest.raises(PubMedXMLError) as error:
            for record in iter_items(path, read_ahead=read_ahead):
                seen.append(record.pmid)
        return seen, str(error.value)

    assert read(True) == read(False)
    assert len(read(True)[0]) == 510


def test_an_ingest_of_a_broken_file_read_ahead_ends_partial_with_the_records_before(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(pubmed_xml, "READ_AHEAD_BYTES", 0)  # every file is read ahead
    monkeypatch.setenv("LITMON_DB", str(tmp_path / "litmon.db"))
    monkeypatch.delenv("LITMON_CONFIG", raising=False)
    path = tmp_path / "cut.xml"
    data = article_set(articles(530))
    path.write_bytes(data[: data.index(b"39000510") + 3])
    result = CliRunner().invoke(cli, ["ingest", "pubmed-xml", str(path)])
    assert f"{path}: malformed PubMed XML at line 14796, column 22: " in result.output
    assert f"{path}: 510 records - 510 new" in result.output
    db = open_db(tmp_path / "litmon.db")
    assert db.execute("SELECT count(*) FROM works").fetchone() == (510,)
    assert db.execute("SELECT status FROM crawl_runs").fetchall() == [("partial",)]
    assert not readers_of(path)


def failing(source: BinaryIO, read_ahead: bool = False):
    """A reader with a bug: three records, then an exception."""
    for n in range(3):
        yield Record(source="test", source_id=str(n), title=f"Paper {n}")
    raise ValueError(f"no such field after {len(source.read())} bytes")


def dying(source: BinaryIO, read_ahead: bool = False):
    """A reader killed by the system (out of memory) a few records after a full batch."""
    for n in range(BATCH + 3):
        yield Record(source="test", source_id=str(n), title=f"Paper {n}")
    os.kill(os.getpid(), signal.SIGKILL)
    yield Record(source="test", source_id="never", title="Never")


def test_a_reader_that_fails_is_a_one_line_error_after_what_it_read(tmp_path, tests_importable):
    path = tmp_path / "any.xml"
    path.write_bytes(b"<x/>")
    seen = []
    with pytest.raises(PubMedXMLError) as error:
        for record in read_in_process("test_read_ahead:failing", path, PubMedXMLError):
            seen.append(record.source_id)
    assert seen == ["0", "1", "2"]
    assert str(error.value) == f"reading {path} failed: ValueError: no such field after 4 bytes"


def test_a_reader_that_dies_is_a_one_line_error_after_what_it_sent(tmp_path, tests_importable):
    path = tmp_path / "any.xml"
    path.write_bytes(b"")
    seen = []
    with pytest.raises(PubMedXMLError) as error:
        for record in read_in_process("test_read_ahead:dying", path, PubMedXMLError):
            seen.append(record.source_id)
    assert seen == [str(n) for n in range(BATCH)]  # the batch it sent
    assert str(error.value) == (
        f"the process reading {path} was killed by signal 9 before the end of the file"
    )


def test_a_caller_that_stops_early_or_is_interrupted_ends_its_reader(tmp_path):
    path = tmp_path / "big.xml"
    path.write_bytes(article_set(articles(20 * BATCH)))
    items = iter_items(path, read_ahead=True)
    next(items)
    assert readers_of(path)
    items.close()
    assert gone(path)
    with pytest.raises(KeyboardInterrupt):
        for _item in iter_items(path, read_ahead=True):
            raise KeyboardInterrupt
    assert gone(path)


def test_a_reader_whose_caller_was_killed_stops(tmp_path):
    path = tmp_path / "big.xml"
    path.write_bytes(article_set(articles(20 * BATCH)))
    caller = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from litmon.crawler.pubmed_xml import iter_items\n"
            "items = iter_items(sys.argv[1], read_ahead=True)\n"
            "next(items)\n"
            "print('reading', flush=True)\n"
            "time.sleep(60)\n",
            str(path),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert caller.stdout.readline() == "reading\n"
    assert readers_of(path)
    caller.send_signal(signal.SIGTERM)  # the default action: no cleanup in the caller
    caller.wait(timeout=10)
    caller.stdout.close()
    assert gone(path)
