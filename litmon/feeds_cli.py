"""``litmon feeds``: each polled feed's state, and a health check on failing ones."""

from __future__ import annotations

import sys

import click

from litmon import exits
from litmon.app import App, pass_app
from litmon.db.feed_state import failing_feeds, feed_status
from litmon.output import echo, listing_options, output_rows, plural, text


@click.command("feeds")
@click.option(
    "--failing-days",
    default=3.0,
    show_default=True,
    help="Report feeds that have failed every poll for this many days.",
)
@click.option("--check", is_flag=True, help="Exit 1 if any feed is failing that long.")
@listing_options
@pass_app
def feeds_command(app: App, failing_days: float, check: bool, as_json: bool, nl: bool) -> None:
    """Each polled feed's state: last success, consecutive failures, next poll, last error.

    With --check it is a health check for monitoring: exit 1 when a feed has failed for
    --failing-days or more.
    """
    db = app.database()
    rows = feed_status(db)
    failing = failing_feeds(db, days=failing_days)
    if as_json or nl:
        output_rows(rows, nl=nl)
    elif not rows:
        echo("no feeds polled yet: litmon crawl feeds")
    else:
        for row in rows:
            echo(
                f"{text(row['name'])}: last success {row['last_success'] or 'never'},"
                f" {plural(row['consecutive_failures'], 'failure')} in a row,"
                f" next poll {row['next_poll_at']}"
            )
            if row["last_error"]:
                echo(f"    last error: {text(row['last_error'])}")
    for row in failing:
        echo(
            f"FAILING for {row['failing_days']:.1f} days: {text(row['name'])} ({text(row['url'])})",
            err=True,
        )
    if check and failing:
        sys.exit(exits.FAILED)
