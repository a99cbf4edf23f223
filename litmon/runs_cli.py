"""``litmon runs``: the crawl history."""

from __future__ import annotations

import json

import click

from litmon.app import App, pass_app
from litmon.db import runs


@click.command("runs")
@click.option("-n", "--limit", default=20, show_default=True, help="How many runs to show.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run.")
@pass_app
def runs_command(app: App, limit: int, as_json: bool) -> None:
    """The last crawl and ingest runs, newest first, with counts and errors."""
    rows = runs.recent_runs(app.database(), limit)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        return
    if not rows:
        click.echo(f"no runs yet in {app.config.db_path}")
        return
    for row in rows:
        window = f" {row['window_start']}..{row['window_end']}" if row["window_start"] else ""
        click.echo(
            f"#{row['id']} {row['started_at']} {row['source']}"
            f"{' ' + row['topic'] if row['topic'] else ''}{window}: {row['status']}"
            f" - {row['new']} new, {row['updated']} updated, {row['unchanged']} unchanged,"
            f" {row['fetched']} fetched, {row['requests']} requests, {row['errors']} errors"
            + (f", {row['deleted']} deleted by the source" if row["deleted"] else "")
            + (f", {row['refused']} refused" if row["refused"] else "")
        )
        if row["error"]:
            click.echo(f"    error: {row['error']}")
        for warning in row["warnings"][:5]:
            click.echo(f"    warning: {warning}")
        if len(row["warnings"]) > 5:
            click.echo(f"    ... and {len(row['warnings']) - 5} more warnings (--json)")
