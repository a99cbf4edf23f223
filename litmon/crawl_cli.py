"""``litmon crawl pubmed|feeds`` (the one-shot jobs for cron) and ``litmon schedule`` (the
built-in daemon)."""

from __future__ import annotations

import sys

import click

from litmon import exits
from litmon.app import App, BarProgress, pass_app
from litmon.core.clock import today_utc
from litmon.jobs import feeds_job, pubmed_job
from litmon.report import exit_for, parse_date, print_reports
from litmon.scheduler import build_scheduler


@click.group()
def crawl() -> None:
    """Fetch new records from a source into the database."""


@crawl.command("pubmed")
@click.option("--topic", "topic_names", multiple=True, help="Crawl only this topic (repeatable).")
@click.option("--since", help="Backfill from this Entrez date (YYYY-MM-DD); leaves checkpoints.")
@click.option("--until", help="Stop at this Entrez date (YYYY-MM-DD; default: today).")
@pass_app
def crawl_pubmed_command(
    app: App, topic_names: tuple[str, ...], since: str | None, until: str | None
) -> None:
    """Search PubMed for each topic's new records and store them.

    Each topic continues from where its last successful crawl ended (minus a few days of
    overlap); a first crawl looks back ncbi.lookback_days. Already-stored PMIDs are not
    fetched again. Each topic's run is logged: see `litmon runs`.
    """
    config = app.config
    topics = list(config.topics.values())
    if topic_names:
        unknown = [name for name in topic_names if name not in config.topics]
        if unknown:
            known = ", ".join(config.topics) or "none"
            raise click.BadParameter(f"unknown topic {unknown[0]!r} (configured: {known})")
        topics = [config.topics[name] for name in topic_names]
    if not topics:
        raise click.UsageError(f"no [topics] configured in {config.source}")
    since_date, until_date = parse_date(since), parse_date(until)
    if since_date and until_date and since_date > until_date:
        raise click.BadParameter(f"--since {since} is after --until {until}")
    today = today_utc()
    for name, value in (("--since", since_date), ("--until", until_date)):
        if value is not None and value > today:
            # PubMed has no records there yet; a checkpoint moved there would skip the
            # records indexed meanwhile
            raise click.BadParameter(f"{name} {value} is after today ({today}, UTC)")
    reports = pubmed_job(config, topics, since=since_date, until=until_date, progress=BarProgress())
    print_reports(reports)
    exit_for(reports)


@crawl.command("feeds")
@click.option("--feed", "only", help="Poll only this feed (even if disabled or not yet due).")
@click.option("--force", is_flag=True, help="Poll every enabled feed now, due or not.")
@pass_app
def crawl_feeds_command(app: App, only: str | None, force: bool) -> None:
    """Poll the journal feeds in the feeds file that are due, store new items, then look
    items without a PMID up in PubMed by DOI.

    Feeds are fetched with conditional GET (ETag / Last-Modified), at most one request at a
    time per host; a failing feed backs off exponentially and `litmon feeds` reports it.
    """
    result = feeds_job(app.config, only=only, force=force or only is not None)
    for outcome in result.outcomes:
        click.echo(outcome.summary())
    enriched = result.enrichment
    if enriched is not None:
        counts = enriched.counts
        click.echo(
            f"PubMed lookup by DOI: {counts.fetched} found, {counts.updated} works enriched"
            + (f" (error: {enriched.error})" if enriched.error else "")
        )
    if not result.ok:
        sys.exit(exits.FAILED)


@click.command()
@pass_app
def schedule(app: App) -> None:
    """Run the built-in scheduler: PubMed and feed crawls on the [schedule] crontab lines
    of the config (UTC), until stopped. Use this or cron, not both.

    Example cron lines instead:

    \b
      15 5 * * *    litmon -q crawl pubmed
      */30 * * * *  litmon -q crawl feeds
    """
    scheduler = build_scheduler(app.config)
    for job_id, line in app.config.schedule.items():
        click.echo(f"{job_id}: '{line}' (UTC)")
    click.echo("scheduler running; Ctrl-C to stop")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
