"""``litmon demo``: the offline demo over recorded PubMed responses, or just its replay
server."""

from __future__ import annotations

from pathlib import Path

import click
import sqlite_utils

from litmon.app import App, BarProgress, pass_app
from litmon.core.errors import UsageError
from litmon.db.export import iter_works
from litmon.db.schema import open_db
from litmon.jobs import demo_job
from litmon.output import echo, plural, text
from litmon.replay.server import serve_demo
from litmon.report import exit_for, print_reports


@click.command()
@click.option(
    "--serve",
    is_flag=True,
    help="Only start the replay server and print its URL (for LITMON_EUTILS_URL); Ctrl-C stops.",
)
@click.option("--port", default=0, show_default=True, help="Port for --serve (0: any free one).")
@pass_app
def demo(app: App, serve: bool, port: int) -> None:
    """Crawl the bundled recorded PubMed responses offline and show what was stored.

    Starts a local E-utilities replay server on a free loopback port, crawls the shipped
    topics from it into a demo database, and prints the stored works. Running it again adds
    no duplicates. The database is litmon-demo.db unless --db names another.

    With --serve it only runs the replay server, so that a real crawl can be tried against
    it from another shell:

    \b
      litmon demo --serve
      LITMON_EUTILS_URL=http://127.0.0.1:PORT/ litmon crawl pubmed
    """
    if serve:
        try:
            server = serve_demo(port)
        except OSError as exc:
            raise UsageError(f"cannot serve on port {port}: {exc.strerror or exc}") from exc
        with server:
            echo(f"replay server at {server.url}")
            echo(f"try: LITMON_EUTILS_URL={server.url} litmon crawl pubmed")
            try:
                server.wait()
            except KeyboardInterrupt:
                pass
        return
    demo_db = app.db_override or "litmon-demo.db"
    echo(f"crawling the bundled PubMed responses into {demo_db}")
    reports = demo_job(app.config, Path(demo_db), progress=BarProgress())
    print_reports(reports)
    works = list(iter_works(open_db(demo_db)))
    echo(f"\n{len(works)} works stored in {demo_db}:")
    for work in works[:10]:
        date, title = text(work["pub_date"] or ""), text(work["title"], width=90)
        echo(f"  PMID {work['pmid']}  {date:10}  {title}")
    if len(works) > 10:
        echo(f"  ... and {len(works) - 10} more: litmon --db {demo_db} export works")
    _next_steps(open_db(demo_db), demo_db)
    exit_for(reports)


def _next_steps(db: sqlite_utils.Database, demo_db: str) -> None:
    """What the demo queued and the commands a newcomer tries next (README, "A first session")."""
    waiting, top = db.execute(
        "SELECT count(*), (SELECT id FROM candidates WHERE state = 'new' AND merged_into IS NULL"
        " ORDER BY score DESC, id LIMIT 1) FROM candidates"
        " WHERE state = 'new' AND merged_into IS NULL"
    ).fetchone()
    on = f"litmon --db {demo_db}"
    echo(f"\n{plural(waiting, 'candidate')} queued for review, best first. Next:")
    steps = [
        ("the ranked queue", f"{on} queue list"),
        ("one candidate, its abstract and why it ranks", f"{on} queue show {top or 'ID'}"),
        ("approve it for a lay summary", f"{on} review {top or 'ID'} approve"),
        ("draft it with a local model (README)", f"{on} summarize --once"),
        ("the editors' review page", f"{on} users add NAME && {on} serve"),
        ("the crawl log", f"{on} runs"),
    ]
    width = max(len(why) for why, _ in steps) + 1
    for why, command in steps:
        echo(f"  {why + ':':<{width}} {command}")
