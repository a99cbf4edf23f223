"""Every command teaches its use through --help."""

import click
import pytest
from click.testing import CliRunner

from litmon.cli import cli


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    # through get_command: the top level loads its commands only when asked
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


@pytest.mark.parametrize(("path", "command"), list(all_commands(cli)), ids=lambda p: str(p))
def test_every_command_has_help_text(path, command):
    assert command.help and len(command.help.strip()) > 20, f"litmon {' '.join(path)} lacks help"
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    assert command.help.split("\n")[0].strip()[:30] in result.output


def test_top_level_help_shows_first_steps_and_exit_codes():
    result = CliRunner().invoke(cli, ["--help"])
    assert "litmon demo" in result.output
    assert "Exit codes" in result.output
