"""``litmon db vacuum|backup|prune``: keeping the database file in shape."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import click

from litmon import exits
from litmon.app import App, pass_app, writable_target
from litmon.core.errors import UsageError
from litmon.db.maintenance import backup, vacuum
from litmon.db.retention import prune
from litmon.health import mib
from litmon.jobs import ncbi_lock
from litmon.output import plural


@click.group("db")
def db_group() -> None:
    """Database maintenance: vacuum, backup, prune (each safe while editors read)."""


@db_group.command("vacuum")
@pass_app
def db_vacuum(app: App) -> None:
    """Rebuild the database file without its free pages (after a large prune or merges).

    Takes the lock every crawl job holds, so none starts meanwhile; while a job holds it,
    nothing is done and the exit code is 75 (try again later). Readers may go on; VACUUM
    briefly needs room for a second copy of the file.
    """
    # the lock every job holds while it runs, not waited for: VACUUM would hold up the
    # job's writes past their busy timeout
    with ncbi_lock(replace(app.config, lock_wait=0), "vacuum"):
        before, after = vacuum(app.database())
    click.echo(f"vacuumed {app.config.db_path}: {mib(before)} -> {mib(after)}")


@db_group.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@pass_app
def db_backup(app: App, file: Path, force: bool) -> None:
    """Copy the database to FILE with SQLite's online backup API (a consistent snapshot,
    while crawls and editors go on writing), then run PRAGMA quick_check on the copy.

    Prints one line with the copy's size and the check's result; exit 1 (and FILE left
    as it was) if the copy fails the check. To restore: stop the timers or the daemon,
    copy FILE over the database, delete the database's -wal and -shm files, start again.
    """
    if file.resolve() == app.config.db_path.resolve():
        raise UsageError(f"{file} is the database itself")
    if file.exists() and not force:
        raise UsageError(f"{file} exists; use --force to overwrite it")
    problems = backup(app.database(), writable_target(file))
    if problems:
        click.echo(
            f"backup of {app.config.db_path} failed PRAGMA quick_check: {problems[0]};"
            f" {file} not written",
            err=True,
        )
        sys.exit(exits.FAILED)
    size = mib(file.stat().st_size)
    click.echo(f"backed up {app.config.db_path} to {file}: {size}, quick_check ok")


@db_group.command("prune")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    help="Delete crawl runs that finished more than this many days ago"
    " (default: [retention] runs_days, 90).",
)
@pass_app
def db_prune(app: App, days: int | None) -> None:
    """Delete old crawl-run rows (`litmon runs`), keeping each source's newest run and the
    runs that events not yet read by scoring or the queue point at.

    Nothing else is ever pruned: works, sightings, checkpoints, merges, the candidate audit
    trail, summaries and work events stay. Rotated log files are pruned by the log
    handler itself, which keeps [log] backups files.
    """
    days = days or app.config.retention_days
    pruned = prune(app.database(), days)
    click.echo(
        f"pruned {plural(pruned.runs, 'crawl run')} finished before {pruned.cutoff}"
        f" ({plural(days, 'day')});"
        f" {pruned.kept_for_events} kept for unread events, {pruned.unlinked_events} read"
        " events unlinked from their run"
    )
