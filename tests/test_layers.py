"""The layers README.md draws are the layers the code has: import-linter's contracts in
pyproject.toml (sources never import the database layer, no stage imports the app shell,
no folders importing each other in a circle), run over the package as it installs."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def installed_tree(target: Path) -> Path:
    """The source folders laid out as the wheel installs them (``package-dir``): grimp reads
    packages from one directory tree, which an editable install of this layout does not have."""
    for package, folder in PYPROJECT["tool"]["setuptools"]["package-dir"].items():
        destination = target.joinpath(*package.split("."))
        for source in (ROOT / folder).glob("*.py"):
            destination.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, destination / source.name)
    return target


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_hold(tmp_path):
    result = lint_imports(installed_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_source_that_imports_the_database_breaks_a_contract(tmp_path):
    tree = installed_tree(tmp_path)
    parse = tree / "litmon" / "feeds" / "parse.py"
    parse.write_text(parse.read_text() + "\nfrom litmon.db import store  # noqa\n")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert "Sources turn bytes into Records and never open the database BROKEN" in result.stdout


def test_every_shell_module_is_fenced_off_from_the_stages():
    """A new module of the app shell (litmon/) must join the "No stage imports the app shell"
    contract, or stages could start importing it unnoticed."""
    contract = next(
        c
        for c in PYPROJECT["tool"]["importlinter"]["contracts"]
        if c["name"] == "No stage imports the app shell"
    )
    shell = {f"litmon.{p.stem}" for p in (ROOT / "litmon").glob("*.py")} - {
        "litmon.__init__",
        "litmon.__main__",
    }
    assert shell <= set(contract["forbidden_modules"])
