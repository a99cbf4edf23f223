"""litmon as a user installs it: one import name, the shipped config and demo as package
data, `litmon init` for a deployment, a replay server the install can start itself, one
version everywhere, and the exit codes README.md gives."""

import os
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner

from litmon.cli import cli
from litmon.core.locks import file_lock
from litmon.db.schema import open_db
from litmon.settings import load_config

ROOT = Path(__file__).resolve().parents[1]


def python(code, cwd):
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_litmon_is_the_only_import_name(tmp_path):
    assert python("import litmon.db, litmon.crawler, litmon.feeds", tmp_path).returncode == 0
    for generic in ("db", "crawler", "feeds", "imports", "config"):
        result = python(f"import {generic}", tmp_path)
        assert result.returncode == 1 and "ModuleNotFoundError" in result.stderr, generic


def test_without_a_config_file_the_shipped_defaults_apply(tmp_path, monkeypatch):
    monkeypatch.delenv("LITMON_CONFIG", raising=False)
    monkeypatch.delenv("LITMON_DB", raising=False)
    monkeypatch.chdir(tmp_path)  # nothing to find here
    config = load_config()
    assert config.source is None
    assert "ms_neuroimaging" in config.topics
    assert config.db_path == Path("litmon.db")
    assert config.feeds_file is not None and "[[feed]]" in config.feeds_file.read_text()


def test_init_writes_an_editable_deployment_and_refuses_to_overwrite(tmp_path):
    runner = CliRunner()
    target = tmp_path / "deploy"
    first = runner.invoke(cli, ["init", str(target)])
    assert first.exit_code == 0, first.output
    config = load_config(target / "litmon.toml", env={})
    assert config.source == target / "litmon.toml"
    assert config.feeds_file == target / "feeds.toml"  # beside the config, editable

    (target / "litmon.toml").write_text("# edited\n")
    again = runner.invoke(cli, ["init", str(target)])
    assert again.exit_code == 2
    assert "already exist; use --force" in again.output
    assert (target / "litmon.toml").read_text() == "# edited\n"

    forced = runner.invoke(cli, ["init", str(target), "--force"])
    assert forced.exit_code == 0
    assert "[topics" in (target / "litmon.toml").read_text()


def test_one_version_for_version_user_agent_and_tool():
    installed = version("litmon")
    assert installed == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    result = CliRunner().invoke(cli, ["--version"])
    assert result.output.strip() == f"litmon, version {installed}"
    config = load_config(env={"NCBI_EMAIL": "ops@example.org"})
    assert config.user_agent == f"litmon/{installed} (+mailto:ops@example.org)"
    assert config.ncbi.tool == f"litmon-{installed}"


def test_a_crawl_while_another_holds_the_lock_exits_75(tmp_path):
    db_path = tmp_path / "locked.db"
    config = tmp_path / "litmon.toml"
    config.write_text(f'[database]\npath = "{db_path}"\nlock_wait = 0.2\n[topics.t]\nquery = "x"\n')
    with file_lock(Path(f"{db_path}.lock")):
        result = CliRunner().invoke(cli, ["--config", str(config), "crawl", "pubmed"])
    assert result.exit_code == 75
    assert f"pid {os.getpid()}" in result.output and "did nothing" in result.output


def test_a_database_newer_than_the_code_is_a_one_line_error(tmp_path):
    db_path = tmp_path / "future.db"
    open_db(db_path).execute("PRAGMA user_version = 999")
    result = CliRunner().invoke(cli, ["--db", str(db_path), "runs"])
    assert result.exit_code == 2
    assert "schema version 999, newer than this litmon" in result.output
    assert "Traceback" not in result.output


@pytest.fixture
def replay_server(tmp_path):
    """`litmon demo --serve` as a separate process, as a user starts it."""
    server = subprocess.Popen(
        [sys.executable, "-m", "litmon", "demo", "--serve"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline()
        assert line.startswith("replay server at http://127.0.0.1:"), line
        yield line.split(" at ", 1)[1].strip()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_deployment_crawls_the_replay_server_the_install_starts(tmp_path, replay_server):
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(tmp_path / "deploy")]).exit_code == 0
    env = {"LITMON_EUTILS_URL": replay_server, "LITMON_DB": str(tmp_path / "deploy.db")}
    config = str(tmp_path / "deploy" / "litmon.toml")
    crawled = runner.invoke(cli, ["--config", config, "crawl", "pubmed"], env=env)
    assert crawled.exit_code == 0, crawled.output
    assert "ms_neuroimaging: ok" in crawled.output
    stored = open_db(tmp_path / "deploy.db").execute("SELECT count(*) FROM works").fetchone()[0]
    assert stored > 10
    runs = runner.invoke(cli, ["--config", config, "runs"], env=env)
    assert "pubmed ms_neuroimaging" in runs.output and ": ok" in runs.output


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (
            lambda d: (d / "junk.db").write_text("not a database, a note\n" * 200),
            "junk.db: cannot use",
        ),
        (lambda d: (d / "afile").write_text(""), "cannot create the database"),
    ],
)
def test_a_database_path_that_cannot_be_used_is_a_one_line_error(tmp_path, setup, message):
    setup(tmp_path)
    target = tmp_path / "junk.db" if "junk" in message else tmp_path / "afile" / "x.db"
    export = tmp_path / "export.xml"  # ingest is a command that may create the database
    export.write_text("<PubmedArticleSet></PubmedArticleSet>\n")
    result = CliRunner().invoke(cli, ["--db", str(target), "ingest", "pubmed-xml", str(export)])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_demo_serve_on_a_port_in_use_is_a_one_line_error():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["demo", "--serve", "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot serve on port {port}" in result.output
