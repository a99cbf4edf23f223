"""How commands print runs and choose their exit code, shared by the command modules."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import date

import click

from litmon import exits
from litmon.output import echo, plural, text
from litmon.pipeline.run import Run


def parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-01-31") from None


def exit_for(reports: Iterable[Run]) -> None:
    """Exit with the worst of the runs' codes (0 when all were ok)."""
    code = exits.worst(*(exits.OK if report.ok else exits.FAILED for report in reports))
    if code != exits.OK:
        sys.exit(code)


def print_warnings(run: Run, shown: int = 20) -> None:
    """A run's warnings (skipped or refused entries), the first ``shown`` of them."""
    for warning in run.warnings[:shown]:
        echo(f"  warning: {text(warning)}", err=True)
    if len(run.warnings) > shown:
        more = len(run.warnings) - shown
        echo(f"  ... and {plural(more, 'more warning')}: litmon runs", err=True)


def print_reports(reports: Iterable[Run]) -> None:
    for report in reports:
        counts = report.counts
        start, end = report.window
        echo(
            f"{text(report.topic)}: {report.status} ({start}..{end}) - {counts.new} new,"
            f" {counts.updated} updated, {counts.unchanged} unchanged;"
            f" {counts.fetched} fetched in {plural(counts.requests, 'request')}"
        )
        print_warnings(report)
        if report.error:
            echo(f"  error: {text(report.error)}", err=True)
