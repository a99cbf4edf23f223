"""``litmon crawl pubmed|feeds|all`` (the one-shot jobs for cron) and ``litmon schedule``
(the built-in daemon)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click

from litmon import exits
from litmon.app import App, BarProgress, pass_app
from litmon.core.clock import today_utc
from litmon.core.errors import Interrupted, StopCheck
from litmon.db.storage import as_error
from litmon.jobs import feeds_job, pubmed_job
from litmon.output import echo, text
from litmon.report import parse_date, print_reports
from litmon.scheduler import Daemon
from litmon.settings import ConfigError


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

    While it runs, a second `crawl pubmed` exits 75 at once naming its pid, and other
    jobs wait for its NCBI lock (database.lock_wait seconds, then they exit 75); it waits
    for theirs the same way.
    """
    sys.exit(_pubmed(app, topic_names, since, until))


def _pubmed(
    app: App, topic_names: tuple[str, ...] = (), since: str | None = None, until: str | None = None
) -> int:
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
    with _stop_on_sigterm() as should_stop:
        reports = pubmed_job(
            config,
            topics,
            since=since_date,
            until=until_date,
            progress=BarProgress(),
            should_stop=should_stop,
        )
    print_reports(reports)
    return exits.OK if all(report.ok for report in reports) else exits.FAILED


@contextmanager
def _stop_on_sigterm() -> Iterator[StopCheck]:
    """A one-shot crawl asked to stop (``systemctl stop``, ``kill``) finishes the batch it
    is on, records its run as interrupted and exits 75 (EX_TEMPFAIL: nothing lost, the next
    run redoes the rest), like the daemon does, instead of dying mid-batch."""
    asked = threading.Event()
    if threading.current_thread() is not threading.main_thread():  # only it gets signals
        yield asked.is_set
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: asked.set())
    try:
        yield asked.is_set
    except Interrupted:
        click.echo(
            "litmon: stopped by SIGTERM after the current batch; the run is recorded as"
            " interrupted and the next run redoes the rest",
            err=True,
        )
        sys.exit(exits.LOCKED)
    finally:
        signal.signal(signal.SIGTERM, previous)


@crawl.command("feeds")
@click.option("--feed", "only", help="Poll only this feed (even if disabled or not yet due).")
@click.option("--force", is_flag=True, help="Poll every enabled feed now, due or not.")
@pass_app
def crawl_feeds_command(app: App, only: str | None, force: bool) -> None:
    """Poll the journal feeds in the feeds file that are due, store new items, then look
    items without a PMID up in PubMed by DOI.

    Feeds are fetched with conditional GET (ETag / Last-Modified), at most one request at a
    time per host; a failing feed backs off exponentially and `litmon feeds` reports it.

    While it runs, a second `crawl feeds` exits 75 at once naming its pid. It holds the
    NCBI lock throughout: started while `crawl pubmed` runs, it waits up to
    database.lock_wait seconds, then exits 75 having done nothing.
    """
    sys.exit(_feeds(app, only, force))


def _feeds(app: App, only: str | None = None, force: bool = False) -> int:
    with _stop_on_sigterm() as should_stop:
        result = feeds_job(
            app.config, only=only, force=force or only is not None, should_stop=should_stop
        )
    for outcome in result.outcomes:
        echo(text(outcome.summary()))
    enriched = result.enrichment
    if enriched is not None:
        counts = enriched.counts
        echo(
            f"PubMed lookup by DOI: {counts.fetched} found, {counts.updated} works enriched"
            + (f" (error: {text(enriched.error)})" if enriched.error else "")
        )
    return exits.OK if result.ok else exits.FAILED


@crawl.command("all")
@pass_app
def crawl_all_command(app: App) -> None:
    """Crawl PubMed (every topic), then poll the due feeds: `crawl pubmed` and
    `crawl feeds` one after the other, each under its own lock.

    A job that cannot run (its lock held: 75; a config error: 2) is reported in one line
    and the other still runs; the exit code is the worst of the two.
    """
    codes = []
    for job in (_pubmed, _feeds):
        try:
            codes.append(job(app))
        except ConfigError:  # no job can run: said once, by the command line
            raise
        except click.UsageError as exc:  # e.g. no topics configured: the feeds still run
            click.echo(f"litmon: {exc.format_message()}", err=True)
            codes.append(exits.USAGE)
        except Exception as exc:
            error = as_error(exc, app.db_path)
            if error is None:
                raise
            click.echo(f"litmon: {error.line()}", err=True)
            codes.append(error.exit_code)
    sys.exit(exits.worst(*codes))


@click.command()
@pass_app
def schedule(app: App) -> None:
    """Run the built-in scheduler: PubMed and feed crawls on the [schedule] crontab lines
    of the config (UTC; a sixth field in front gives seconds), one at a time, each followed
    by scoring, until SIGTERM or Ctrl-C.

    It takes the same locks as `litmon crawl`, so cron and the daemon never run a job at
    once: a job whose own lock is held is skipped until its next time, one whose NCBI lock
    another job holds waits database.lock_wait seconds first. It writes a heartbeat
    into the database every schedule.heartbeat_seconds for `litmon check`. On SIGTERM or
    SIGINT the running job stops after its current batch (its run recorded as interrupted;
    the next run redoes the rest) and it exits 0.

    Example cron lines instead:

    \b
      15 5 * * *    litmon -q crawl pubmed
      */30 * * * *  litmon -q crawl feeds
    """
    daemon = Daemon(app.config)
    for job_id, line in app.config.schedule.items():
        click.echo(f"{job_id}: '{line}' (UTC)")
    click.echo(f"scheduler running (pid {os.getpid()}); SIGTERM or Ctrl-C stops it")
    daemon.run()
    click.echo("scheduler stopped")
