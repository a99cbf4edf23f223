"""``litmon init``: a deployment directory."""

from __future__ import annotations

from pathlib import Path

import click

from litmon.settings import write_deployment


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite config files that already exist.")
def init(directory: str, force: bool) -> None:
    """Write an editable litmon.toml and feeds.toml into DIRECTORY (default: here) for a
    deployment, from the shipped ones. Existing files are kept unless --force.

    \b
    Then:  litmon --config DIRECTORY/litmon.toml crawl pubmed
    """
    for path in write_deployment(Path(directory), force=force):
        click.echo(f"wrote {path}")
    click.echo(
        f"next: edit {Path(directory) / 'litmon.toml'} (ncbi.email, [topics], database.path)"
    )
