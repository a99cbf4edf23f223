"""One errors module: each kind of error carries its exit code and its HTTP status, and the
command line, the jobs and the web all map through that one table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from litmon.cli import cli
from litmon.core import errors
from litmon.core.errors import (
    Conflict,
    DatabaseBusy,
    Interrupted,
    LitmonError,
    Locked,
    NoDatabase,
    NotFound,
    SourceError,
    StorageError,
    UsageError,
    exit_code,
)

COMMANDS = Path(__file__).resolve().parent.parent / "docs" / "commands.md"

# What a person or a client sees for each kind (docs/commands.md "Exit codes"; HTTP semantics).
EXPECTED = {
    UsageError: (2, 400),
    NotFound: (2, 404),
    NoDatabase: (2, 503),
    Conflict: (4, 409),
    SourceError: (1, 502),
    StorageError: (1, 503),
    Locked: (75, 503),
    DatabaseBusy: (75, 503),
}


@pytest.mark.parametrize("kind", list(EXPECTED), ids=lambda kind: kind.__name__)
def test_each_kind_carries_its_exit_code_and_http_status(kind):
    error = kind("why, in one line")
    assert (exit_code(error), error.http_status) == EXPECTED[kind]


def test_every_kind_of_the_module_is_in_the_table():
    kinds = {
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, LitmonError) and value is not LitmonError
    }
    assert kinds == set(EXPECTED)


def test_a_temporary_failure_tells_a_client_when_to_come_back():
    for kind in (Locked, DatabaseBusy, StorageError):
        assert kind.retry_after is not None and kind.retry_after > 0
    for kind in (UsageError, NotFound, Conflict):
        assert kind.retry_after is None


def test_a_bug_has_no_exit_code_and_keeps_its_traceback():
    assert exit_code(RuntimeError("a bug")) is None
    assert exit_code(Interrupted("asked to stop")) == 75


def test_the_command_line_says_a_conflict_is_one():
    assert Conflict("candidate 3 is approved now").line() == "conflict: candidate 3 is approved now"
    assert UsageError("no feed named 'x'").line() == "no feed named 'x'"


def test_the_readme_documents_every_exit_code_of_the_table():
    section = COMMANDS.read_text().split("### Exit codes", 1)[1].split("\n#", 1)[0]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", section, re.M)}
    codes = {code for code, _ in EXPECTED.values()} | {errors.OK, errors.NOTHING_TO_DO}
    assert codes <= documented


def test_a_config_error_is_one_line_and_exit_2_through_the_table(tmp_path):
    """The shell's config loading raises into the same table: `crawl all` (two jobs) says
    it once, `notify` still reports the failed unit."""
    missing = tmp_path / "nope.toml"
    result = CliRunner().invoke(cli, ["--config", str(missing), "crawl", "all"])
    assert result.exit_code == 2
    assert result.output.strip() == f"litmon: config error: config file not found: {missing}"
    notified = CliRunner().invoke(cli, ["--config", str(missing), "notify", "litmon-x.service"])
    assert notified.exit_code == 2
    assert f"litmon: config error: config file not found: {missing}" in notified.output
    assert "litmon-x.service failed" in notified.output
