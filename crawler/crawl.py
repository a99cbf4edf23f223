"""PubMed crawl orchestration: incremental date windows, split at the esearch cap,
efetch only unseen PMIDs, commit batch by batch, move the checkpoint only after commits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

import sqlite_utils

from crawler.config import NcbiSettings, Topic
from crawler.entrez import ESEARCH_MAX_IDS, EntrezClient, EntrezError, SearchResult
from db import runs
from db.records import Record
from db.store import chunks, save_records

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


@dataclass(slots=True)
class RunReport:
    run_id: int
    topic: str
    window: tuple[date, date]
    status: str = "running"
    counts: runs.RunCounts = field(default_factory=runs.RunCounts)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class _WindowTooFull(Exception):
    pass


def today_utc() -> date:
    return datetime.now(UTC).date()


def crawl_pubmed(
    db: sqlite_utils.Database,
    client: EntrezClient,
    topics: list[Topic],
    *,
    since: date | None = None,
    until: date | None = None,
    progress: Progress | None = None,
    today: date | None = None,
) -> list[RunReport]:
    """Crawl each topic; each gets its own crawl run. ``since`` makes it a backfill, which
    never moves the topic's checkpoint."""
    runs.close_interrupted_runs(db, SOURCE)
    crawl = _TopicCrawl(db, client, progress or QuietProgress(), today or today_utc())
    return [crawl.run(topic, since, until) for topic in topics]


class _TopicCrawl:
    def __init__(
        self, db: sqlite_utils.Database, client: EntrezClient, progress: Progress, today: date
    ) -> None:
        self.db = db
        self.client = client
        self.settings: NcbiSettings = client.settings
        self.progress = progress
        self.today = today
        self.requests_before = 0

    def run(self, topic: Topic, since: date | None, until: date | None) -> RunReport:
        end = until or self.today
        watermark = runs.get_checkpoint(self.db, SOURCE, topic.name, "edat")
        if since is not None:
            start = since
        elif watermark is not None:
            start = watermark - timedelta(days=self.settings.overlap_days)
        else:
            start = self.today - timedelta(days=self.settings.lookback_days)
        start = min(start, end)
        report = RunReport(
            runs.start_run(self.db, SOURCE, topic.name, (start, end)), topic.name, (start, end)
        )
        self.requests_before = self.client.requests_sent
        moves_checkpoint = since is None
        log.info("topic %s: Entrez dates %s to %s", topic.name, start, end)
        try:
            for window_end in self._windows(topic, "edat", start, end, report):
                if moves_checkpoint:
                    runs.set_checkpoint(self.db, SOURCE, topic.name, "edat", window_end)
            self._refresh(topic, report)
            report.status = "ok"
        except (EntrezError, _WindowTooFull, OSError) as exc:
            self._failed(report, str(exc))
        except Exception as exc:  # the run must end saying why; the next topic still runs
            log.exception("topic %s: crawl stopped", topic.name)
            self._failed(report, f"internal error: {type(exc).__name__}: {exc}")
        finally:
            report.counts.requests = self.client.requests_sent - self.requests_before
            runs.finish_run(self.db, report.run_id, report.counts, report.status, report.error)
        return report

    @staticmethod
    def _failed(report: RunReport, error: str) -> None:
        report.error = error
        report.counts.errors += 1
        stored = report.counts.new + report.counts.updated
        report.status = "partial" if stored else "failed"
        log.error("topic %s: %s", report.topic, error)

    def _refresh(self, topic: Topic, report: RunReport) -> None:
        """Every refresh_days, re-fetch stored records PubMed has modified since the last one."""
        last = runs.get_checkpoint(self.db, SOURCE, topic.name, "mdat")
        if last is None:
            runs.set_checkpoint(self.db, SOURCE, topic.name, "mdat", self.today)
            return
        if (self.today - last).days < self.settings.refresh_days:
            return
        start = last - timedelta(days=self.settings.overlap_days)
        log.info("topic %s: refreshing records modified %s to %s", topic.name, start, self.today)
        for _ in self._windows(topic, "mdat", start, self.today, report):
            pass
        runs.set_checkpoint(self.db, SOURCE, topic.name, "mdat", self.today)

    def _windows(
        self, topic: Topic, kind: str, start: date, end: date, report: RunReport
    ) -> Iterator[date]:
        """Crawl [start, end], splitting it while esearch reports more ids than it hands out;
        yields the end of each sub-window once everything in it is committed."""
        result = self.client.esearch(_term(topic.query, kind, start, end))
        if result.count > ESEARCH_MAX_IDS:
            if start == end:
                raise _WindowTooFull(
                    f"{result.count} records on {start} alone: more than esearch can list"
                    f" ({ESEARCH_MAX_IDS}); narrow the topic query"
                )
            middle = start + (end - start) // 2
            log.info("%d records in %s..%s: splitting the window", result.count, start, end)
            yield from self._windows(topic, kind, start, middle, report)
            yield from self._windows(topic, kind, middle + timedelta(days=1), end, report)
            return
        stored = self._stored(result.ids)
        if kind == "edat":
            wanted = [pmid for pmid in result.ids if pmid not in stored]
            report.counts.unchanged += len(result.ids) - len(wanted)
        else:
            wanted = [pmid for pmid in result.ids if pmid in stored]
        self._fetch(wanted, result, report, f"{topic.name} {start}..{end}")
        yield end

    def _stored(self, pmids: list[str]) -> set[str]:
        found: set[str] = set()
        for chunk in chunks(pmids):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT source_id FROM sightings WHERE source = ? AND source_id IN ({marks})",
                [SOURCE, *chunk],
            )
            found.update(row[0] for row in rows)
        return found

    def _fetch(self, pmids: list[str], result: SearchResult, report: RunReport, label: str) -> None:
        if not pmids:
            return
        size = self.settings.batch_size
        use_history = (
            len(pmids) == len(result.ids) == result.count and result.webenv and result.query_key
        )
        self.progress.start(f"fetching {label}", len(pmids))
        try:
            for offset in range(0, len(pmids), size):
                if use_history:
                    records = self.client.efetch_history(
                        result.webenv, result.query_key, offset, size
                    )
                else:
                    records = self.client.efetch_ids(pmids[offset : offset + size])
                self._store(records, report)
                self.progress.advance(min(size, len(pmids) - offset))
        finally:
            self.progress.finish()

    def _store(self, records: list[Record], report: RunReport) -> None:
        counts = report.counts
        counts.add_saved(len(records), save_records(self.db, records))
        counts.requests = self.client.requests_sent - self.requests_before
        runs.update_run(self.db, report.run_id, counts)


def _term(query: str, kind: str, start: date, end: date) -> str:
    """The topic query limited to a date window. An Entrez-date window also takes records by
    create date, since PubMed backdates the EDAT of records added over a year late."""

    def span(tag: str) -> str:
        return f'"{start:%Y/%m/%d}"[{tag}] : "{end:%Y/%m/%d}"[{tag}]'

    if kind == "edat":
        return f"({query}) AND (({span('edat')}) OR ({span('crdt')}))"
    return f"({query}) AND ({span(kind)})"
