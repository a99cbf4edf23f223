"""Config loading: the shipped file, environment overrides, and one-line errors."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from litmon.cli import cli
from litmon.settings import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "litmon.toml"
    path.write_text(text)
    return path


def test_shipped_config_has_a_real_entrez_topic():
    config = load_config(env={})
    topic = config.topics["ms_neuroimaging"]
    for term in (
        '"Multiple Sclerosis"[Mesh]',
        "NMOSD[tiab]",
        "MOGAD[tiab]",
        "QSM[tiab]",
        '"paramagnetic rim"[tiab]',
        '"central vein sign"[tiab]',
        "TSPO[tiab]",
    ):
        assert term in topic.query
    assert topic.query.count("(") == topic.query.count(")")
    assert config.ncbi.eutils_url == "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
    assert config.ncbi.requests_per_second == 3.0


def test_environment_overrides_the_file(tmp_path):
    path = write(tmp_path, '[ncbi]\nemail = "file@example.org"\n[database]\npath = "a.db"\n')
    env = {
        "LITMON_CONFIG": str(path),
        "LITMON_DB": str(tmp_path / "b.db"),
        "LITMON_EUTILS_URL": "http://127.0.0.1:9/eutils",
        "NCBI_EMAIL": "env@example.org",
        "NCBI_API_KEY": "secret-key",
    }
    config = load_config(env=env)
    assert config.source == path
    assert config.db_path == tmp_path / "b.db"
    assert config.ncbi.eutils_url == "http://127.0.0.1:9/eutils/"
    assert config.ncbi.email == "env@example.org"
    assert config.ncbi.requests_per_second == 10.0
    assert "secret-key" not in repr(config)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[ncbi]\nbatch_size = 'lots'\n", "ncbi.batch_size"),
        ("[ncbi]\nbatch_sise = 100\n", "ncbi.batch_sise"),
        ("[topics.x]\nquery = ''\n", "topics.x.query"),
        ("[ncbi\n", "not valid TOML"),
        ("[feeds]\nfile = 3\n", "feeds.file"),
        ("[schedule]\npubmed = 5\n", "schedule.pubmed"),
        ("[topics.x]\nquery = 'ms'\ntitle = 5\n", "topics.x.title"),
    ],
)
def test_bad_config_names_the_key_and_file(tmp_path, text, names):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert names in str(caught.value)
    assert str(path) in str(caught.value)


def test_cli_reports_bad_config_in_one_line_with_exit_2(tmp_path):
    path = write(tmp_path, "[ncbi]\nmax_retries = -1\n")
    result = CliRunner().invoke(cli, ["--config", str(path), "crawl", "pubmed"])
    assert result.exit_code == 2
    message = [line for line in result.output.splitlines() if "ncbi.max_retries" in line]
    assert message and str(path) in message[0]
