"""The ``litmon`` command line: a thin layer over the crawl, ingest and store functions.

Each command lives in its own module, imported only when that command runs (the table
``COMMANDS``), so that ``litmon --help`` and ``litmon queue claim`` start without the web
stack, feed parsing, scikit-learn or argon2 (bench/startup_bench.py measures it).
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path

import click

from litmon.app import App
from litmon.db.storage import as_error

log = logging.getLogger("litmon")

# name: (module:command, the line `litmon --help` shows for it). A new command adds a line
# here; tests/test_startup.py checks that each one loads and that none is left out.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": (
        "litmon.ops_cli:check_command",
        "Health check for monitoring: exit 0 or 1.",
    ),
    "crawl": ("litmon.crawl_cli:crawl", "Fetch new records from PubMed or the feeds."),
    "db": ("litmon.db_cli:db_group", "Database maintenance: vacuum, backup, prune."),
    "demo": ("litmon.demo_cli:demo", "Crawl recorded PubMed responses offline and show them."),
    "drafts": ("litmon.drafts_cli:drafts", "Lay drafts: list, show, edit, publish, return."),
    "dupes": ("litmon.dupes_cli:dupes", "Possible duplicates: list, merge, split, recheck."),
    "eval": ("litmon.eval_cli:eval_group", "Measure the relevance model on labelled works."),
    "export": ("litmon.export_cli:export", "Write stored works or the candidates out."),
    "feeds": ("litmon.feeds_cli:feeds_command", "Each polled feed's state; --check for health."),
    "ingest": ("litmon.ingest_cli:ingest", "Load PubMed XML, feed, CSV or RIS files."),
    "init": ("litmon.deploy_cli:init", "Write an editable config (and units) for a deployment."),
    "model": ("litmon.model_cli:model_group", "The relevance model: train, status, rollback."),
    "notify": ("litmon.deploy_cli:notify", "Report that a systemd unit failed (OnFailure=)."),
    "publish": ("litmon.publish_cli:publish_command", "Write the published pieces as a site."),
    "queue": ("litmon.queue_cli:queue", "The candidate queue: list, show, claim, done..."),
    "review": ("litmon.queue_cli:review_command", "Approve, reject, defer or undo candidates."),
    "runs": ("litmon.runs_cli:runs_command", "The last crawl and ingest runs, newest first."),
    "schedule": ("litmon.crawl_cli:schedule", "Run the built-in scheduler daemon."),
    "score": ("litmon.score_cli:score_command", "Score new and changed works against the topics."),
    "serve": ("litmon.serve_cli:serve", "Serve the review page and the queue's JSON API."),
    "status": ("litmon.ops_cli:status_command", "What every source, the database and queue do."),
    "summarize": (
        "litmon.summarize_cli:summarize_command",
        "Draft lay summaries of approved candidates with a model.",
    ),
    "tokens": ("litmon.accounts_cli:tokens", "Bearer tokens for summarizer workers."),
    "users": ("litmon.accounts_cli:users", "Editors' accounts for the review page."),
}


def load_command(name: str) -> click.Command:
    """The command ``name`` of :data:`COMMANDS`, its module imported now."""
    module, _, attribute = COMMANDS[name][0].partition(":")
    return getattr(importlib.import_module(module), attribute)


def _import_sqlite_utils() -> None:
    """sqlite-utils imports pandas and numpy when they are installed (scikit-learn brings
    numpy), only to map their types to column types when it creates a table from Python
    values; litmon's tables are made by SQL (db/schema.py), so those imports would be a
    third of a worker's start-up for nothing. They are hidden while sqlite-utils loads and
    stay importable for whoever needs them."""
    hidden = [name for name in ("pandas", "numpy") if name not in sys.modules]
    if "sqlite_utils" in sys.modules or len(hidden) < 2:
        return
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` fails
    try:
        import sqlite_utils  # noqa: F401
    finally:
        for name in hidden:
            del sys.modules[name]


class _Litmon(click.Group):
    """Loads a command only when it runs (``COMMANDS``), and turns the errors of the table
    in :mod:`litmon.core.errors` (and the database and disk failures
    :func:`~litmon.db.storage.as_error` words as such) into one line and the exit code the
    table gives; any other exception is a bug and keeps its traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            self.add_command(load_command(name), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # the listing from the table: importing every command to read its help would cost
        # the start-up that loading them lazily saves
        rows = [
            (
                name,
                COMMANDS[name][1] if name in COMMANDS else self.commands[name].get_short_help_str(),
            )
            for name in self.list_commands(ctx)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> object:
        _import_sqlite_utils()
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            error = as_error(exc, _db_path(ctx))
            if error is None:
                raise
            click.echo(f"litmon: {error.line()}", err=True)
            ctx.exit(error.exit_code)


def _db_path(ctx: click.Context) -> Path | None:
    app = ctx.find_object(App)
    return app.db_path if app is not None else None


@click.group(cls=_Litmon, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Config file (default: $LITMON_CONFIG, else the shipped defaults; `litmon init`"
    " writes an editable one).",
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    help="SQLite database file (default: database.path from the config, or $LITMON_DB).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log each request and retry.")
@click.option("-q", "--quiet", is_flag=True, help="Only log warnings and errors.")
@click.version_option(package_name="litmon", prog_name="litmon")
@click.pass_context
def cli(
    ctx: click.Context, config_path: str | None, db_path: str | None, verbose: bool, quiet: bool
) -> None:
    """litmon finds new research on MS and neuroinflammation imaging.

    It crawls PubMed (NCBI E-utilities) and journal feeds on a schedule, stores one
    deduplicated record per article in SQLite, and logs every crawl.

    \b
    Try it offline:      litmon demo
    Set up a deployment: litmon init ./deploy   (then --config ./deploy/litmon.toml)
    Crawl PubMed:        NCBI_EMAIL=you@example.org litmon crawl pubmed
    See what happened:   litmon runs
    Get the records:     litmon export works --format jsonl

    \b
    Exit codes: 0 ok; 1 a run failed or partly failed; 2 usage or config error;
    3 nothing to do; 4 conflict; 75 a lock is held, or a crawl was stopped (try again later).
    """
    from litmon import logs

    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    # stderr until the config is loaded, then its [log] file and format (litmon/logs.py)
    logs.configure(level, verbose=verbose)
    ctx.obj = App(config_path, db_path)


def main() -> None:
    """The ``litmon`` entry point."""
    cli(prog_name="litmon")
