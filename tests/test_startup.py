"""Start-up (issue 16, point 10): `litmon` loads a command's modules only when that command
runs, so `litmon --help` and a worker's `litmon queue claim` do not import the web stack,
argon2, feed parsing or scikit-learn; the times are measured by bench/startup_bench.py."""

import json
import subprocess
import sys

from click.testing import CliRunner

from litmon.cli import COMMANDS, cli, load_command
from litmon.db.schema import open_db

HEAVY = ("fastapi", "starlette", "uvicorn", "jinja2", "argon2", "sklearn", "bs4", "feedparser")


def imported_after(code: str) -> set[str]:
    """The top-level modules a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_importing_the_cli_loads_no_web_stack_and_no_argon2():
    assert not imported_after("import litmon.cli") & set(HEAVY)


def test_a_worker_claiming_from_an_empty_queue_loads_none_of_them(tmp_path):
    db_path = tmp_path / "empty.db"
    open_db(db_path)
    code = (
        "from litmon.cli import cli\n"
        f"try:\n    cli(['--db', {str(db_path)!r}, 'queue', 'claim', '--worker', 'w'])\n"
        "except SystemExit as exit:\n    assert exit.code == 3, exit.code"
    )
    # nor numpy/pandas, which sqlite-utils would import only to map their column types
    assert not imported_after(code) & {*HEAVY, "numpy", "pandas"}


def test_importing_the_accounts_module_hashes_no_password():
    # argon2's hasher made to fail: importing litmon.web.auth must not call it
    code = (
        "import argon2\n"
        "def refuse(*args, **kwargs):\n    raise SystemExit('hashed at import')\n"
        "argon2.PasswordHasher.hash = refuse\n"
        "import litmon.web.auth"
    )
    assert "litmon" in imported_after(code)


def test_every_command_is_listed_and_loads():
    listing = CliRunner().invoke(cli, ["--help"]).output
    for name, (_, short_help) in COMMANDS.items():
        assert f"{name} " in listing and short_help in listing
        assert load_command(name).name == name
        assert CliRunner().invoke(cli, [name, "--help"]).exit_code == 0


def test_an_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli, ["quue", "list"])
    assert result.exit_code == 2 and "No such command 'quue'" in result.output
