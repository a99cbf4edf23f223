"""PubMed crawl orchestration: incremental date windows, split at the esearch cap,
efetch only unseen PMIDs, commit batch by batch, move the checkpoint only after commits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Protocol

import sqlite_utils

from litmon.core.clock import today_utc
from litmon.core.errors import SourceError, StopCheck, stop_if_asked
from litmon.core.records import Item
from litmon.crawler.entrez import ESEARCH_MAX_IDS, EntrezClient, EntrezError, SearchResult
from litmon.crawler.settings import NcbiSettings, Topic
from litmon.db import runs
from litmon.db.store import sighted_ids
from litmon.pipeline.ingest import store_items
from litmon.pipeline.run import Run, recorded_run

log = logging.getLogger(__name__)
SOURCE = "pubmed"


class Progress(Protocol):
    """How a crawl reports progress on long work (a bar on a terminal, log lines otherwise)."""

    def start(self, label: str, total: int) -> None: ...
    def advance(self, done: int) -> None: ...
    def finish(self) -> None: ...


class QuietProgress:
    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, done: int) -> None:
        pass

    def finish(self) -> None:
        pass


class _WindowTooFull(SourceError):
    pass


# Where the Entrez dates of an over-full refresh day are walked from: PubMed's oldest
# citations (OLDMEDLINE, from the 1780s) carry Entrez dates as old as their publication.
_FIRST_EDAT = date(1700, 1, 1)


def crawl_pubmed(
    db: sqlite_utils.Database,
    client: EntrezClient,
    topics: list[Topic],
    *,
    since: date | None = None,
    until: date | None = None,
    progress: Progress | None = None,
    today: date | None = None,
    should_stop: StopCheck | None = None,
) -> list[Run]:
    """Crawl each topic; each gets its own crawl run. ``since`` makes it a backfill, which
    never moves the topic's checkpoint. ``should_stop`` is asked before each request batch
    (an esearch, an efetch): when it says so, the run ends interrupted
    (:class:`~litmon.core.errors.Interrupted`) with every batch before it committed."""
    crawl = _TopicCrawl(db, client, progress or QuietProgress(), today or today_utc(), should_stop)
    runs_done = []
    for topic in topics:
        stop_if_asked(should_stop)
        runs_done.append(crawl.run(topic, since, until))
    return runs_done


class _TopicCrawl:
    def __init__(
        self,
        db: sqlite_utils.Database,
        client: EntrezClient,
        progress: Progress,
        today: date,
        should_stop: StopCheck | None,
    ) -> None:
        self.db = db
        self.should_stop = should_stop
        self.client = client
        self.settings: NcbiSettings = client.settings
        self.progress = progress
        self.today = today
        self.requests_before = 0
        # The network error the job gave up on the host for: later topics fail at once with
        # it instead of retrying for another minute each.
        self.unreachable: str | None = None

    def run(self, topic: Topic, since: date | None, until: date | None) -> Run:
        # PubMed has nothing dated after today: a checkpoint moved past it would make the
        # next crawl skip whatever is indexed in between.
        end = min(until or self.today, self.today)
        watermark = runs.get_checkpoint(self.db, SOURCE, topic.name, "edat")
        if since is not None:
            start = since
        elif watermark is not None:
            start = watermark - timedelta(days=self.settings.overlap_days)
        else:
            start = self.today - timedelta(days=self.settings.lookback_days)
        start = min(start, end)
        moves_checkpoint = since is None
        log.info("topic %s: Entrez dates %s to %s", topic.name, start, end)
        with recorded_run(self.db, SOURCE, topic.name, (start, end)) as run:
            if self.unreachable is not None:
                raise EntrezError(f"not tried: gave up earlier in this job: {self.unreachable}")
            self.requests_before = self.client.requests_sent
            try:
                for window_end in self._windows(topic, "edat", start, end, run):
                    if moves_checkpoint:
                        runs.set_checkpoint(self.db, SOURCE, topic.name, "edat", window_end)
                self._refresh(topic, run)
            except EntrezError as exc:
                self.unreachable = exc.unreachable
                raise
            finally:
                run.counts.requests = self.client.requests_sent - self.requests_before
        return run

    def _refresh(self, topic: Topic, run: Run) -> None:
        """Every refresh_days, re-fetch stored records PubMed has modified since the last one."""
        last = runs.get_checkpoint(self.db, SOURCE, topic.name, "mdat")
        if last is None:
            runs.set_checkpoint(self.db, SOURCE, topic.name, "mdat", self.today)
            return
        if (self.today - last).days < self.settings.refresh_days:
            return
        start = last - timedelta(days=self.settings.overlap_days)
        log.info("topic %s: refreshing records modified %s to %s", topic.name, start, self.today)
        for _ in self._windows(topic, "mdat", start, self.today, run):
            pass
        runs.set_checkpoint(self.db, SOURCE, topic.name, "mdat", self.today)

    def _windows(self, topic: Topic, kind: str, start: date, end: date, run: Run) -> Iterator[date]:
        """Crawl [start, end], splitting it while esearch reports more ids than it hands out;
        yields the end of each sub-window once everything in it is committed. A single day
        still too full fails the crawl (the topic is too broad to crawl) or, in a refresh,
        is refreshed by parts (:meth:`_refresh_full_day`)."""
        stop_if_asked(self.should_stop)
        result = self.client.esearch(_term(topic.query, kind, start, end))
        if result.count > ESEARCH_MAX_IDS:
            if start == end and kind == "mdat":
                self._refresh_full_day(topic, start, _FIRST_EDAT, start, run)
                yield end
                return
            if start == end:
                raise _WindowTooFull(
                    f"{result.count} records on {start} alone: more than esearch can list"
                    f" ({ESEARCH_MAX_IDS}); narrow the topic query"
                )
            middle = start + (end - start) // 2
            log.info("%d records in %s..%s: splitting the window", result.count, start, end)
            yield from self._windows(topic, kind, start, middle, run)
            yield from self._windows(topic, kind, middle + timedelta(days=1), end, run)
            return
        label = f"{topic.name} {start}..{end}"
        if kind == "edat":
            stored = sighted_ids(self.db, SOURCE, result.ids)
            wanted = [pmid for pmid in result.ids if pmid not in stored]
            run.counts.unchanged += len(result.ids) - len(wanted)
            self._fetch(wanted, result, run, label)
        else:
            self._fetch_stored(result, run, label)
        yield end

    def _refresh_full_day(self, topic: Topic, day: date, start: date, end: date, run: Run) -> None:
        """Refresh a day on which PubMed modified more of the topic's records than esearch
        lists (a mass revision), in parts by Entrez date [start, end]. A part that still does
        not fit (that many records modified on ``day`` with one Entrez date) is left out
        with a warning kept with the run: the refresh must never block later crawls."""
        term = f"{_term(topic.query, 'mdat', day, day)} AND ({_span('edat', start, end)})"
        stop_if_asked(self.should_stop)
        result = self.client.esearch(term)
        if result.count <= ESEARCH_MAX_IDS:
            label = f"{topic.name} modified {day}, Entrez dates {start}..{end}"
            self._fetch_stored(result, run, label)
        elif start == end:
            run.warn(
                f"refresh: {result.count} records modified on {day} with Entrez date {start},"
                f" more than esearch lists ({ESEARCH_MAX_IDS}); those were not refreshed"
            )
        else:
            middle = start + (end - start) // 2
            self._refresh_full_day(topic, day, start, middle, run)
            self._refresh_full_day(topic, day, middle + timedelta(days=1), end, run)

    def _fetch_stored(self, result: SearchResult, run: Run, label: str) -> None:
        """Fetch again the records of ``result`` the store has (a refresh)."""
        stored = sighted_ids(self.db, SOURCE, result.ids)
        self._fetch([pmid for pmid in result.ids if pmid in stored], result, run, label)

    def _fetch(self, pmids: list[str], result: SearchResult, run: Run, label: str) -> None:
        if not pmids:
            return
        size = self.settings.batch_size
        use_history = (
            len(pmids) == len(result.ids) == result.count and result.webenv and result.query_key
        )
        self.progress.start(f"fetching {label}", len(pmids))
        try:
            for offset in range(0, len(pmids), size):
                batch = pmids[offset : offset + size]
                stop_if_asked(self.should_stop)
                if use_history:
                    items = self.client.efetch_history(
                        result.webenv, result.query_key, offset, batch
                    )
                else:
                    items = self.client.efetch_ids(batch)
                self._store(items, run)
                self.progress.advance(len(batch))
        finally:
            self.progress.finish()

    def _store(self, items: list[Item], run: Run) -> None:
        store_items(self.db, items, run)
        run.counts.requests = self.client.requests_sent - self.requests_before
        runs.update_run(self.db, run.id, run.counts)


def _term(query: str, kind: str, start: date, end: date) -> str:
    """The topic query limited to a date window. An Entrez-date window also takes records by
    create date, since PubMed backdates the EDAT of records added over a year late."""
    if kind == "edat":
        return f"({query}) AND (({_span('edat', start, end)}) OR ({_span('crdt', start, end)}))"
    return f"({query}) AND ({_span(kind, start, end)})"


def _span(tag: str, start: date, end: date) -> str:
    return f'"{start:%Y/%m/%d}"[{tag}] : "{end:%Y/%m/%d}"[{tag}]'
