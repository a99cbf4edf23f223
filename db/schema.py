"""Database schema, created and upgraded by numbered migrations (``PRAGMA user_version``)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import sqlite_utils

from litmon.core.errors import NoDatabase, UsageError
from litmon.core.version import VERSION
from litmon.db.blocks import backfill_blocks
from litmon.db.search import index_new_works
from litmon.db.storage import as_error
from litmon.db.transactions import write_transaction

_V1 = """
CREATE TABLE works (
    id INTEGER PRIMARY KEY,
    pmid TEXT,
    doi TEXT,
    pmcid TEXT,
    title TEXT NOT NULL,
    title_key TEXT,
    abstract TEXT,
    abstract_html TEXT,
    authors TEXT NOT NULL DEFAULT '[]',
    journal TEXT,
    journal_abbrev TEXT,
    issn TEXT,
    volume TEXT,
    issue TEXT,
    pages TEXT,
    pub_date TEXT,
    publication_types TEXT NOT NULL DEFAULT '[]',
    mesh TEXT NOT NULL DEFAULT '[]',
    keywords TEXT NOT NULL DEFAULT '[]',
    language TEXT,
    links TEXT NOT NULL DEFAULT '[]',
    url TEXT,
    revised TEXT,
    merged_into INTEGER REFERENCES works(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX works_pmid ON works(pmid) WHERE pmid IS NOT NULL;
CREATE INDEX works_doi ON works(doi) WHERE doi IS NOT NULL;
CREATE INDEX works_pmcid ON works(pmcid) WHERE pmcid IS NOT NULL;
CREATE INDEX works_title_key ON works(title_key);

-- One row per (source, source id): which source saw which work, and what it said.
CREATE TABLE sightings (
    id INTEGER PRIMARY KEY,
    work_id INTEGER NOT NULL REFERENCES works(id),
    source TEXT NOT NULL,
    source_id TEXT NOT NULL,
    record TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (source, source_id)
);
CREATE INDEX sightings_work ON sightings(work_id);

-- Blocking keys for fuzzy duplicate search: candidates share at least one key.
CREATE TABLE work_blocks (
    key TEXT NOT NULL,
    work_id INTEGER NOT NULL REFERENCES works(id),
    PRIMARY KEY (key, work_id)
) WITHOUT ROWID;
CREATE INDEX work_blocks_work ON work_blocks(work_id);

CREATE TABLE crawl_runs (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    topic TEXT,
    window_start TEXT,
    window_end TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL DEFAULT 'running',
    requests INTEGER NOT NULL DEFAULT 0,
    fetched INTEGER NOT NULL DEFAULT 0,
    new INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    error TEXT
);

-- Where each (source, topic, kind) crawl has got to; moves only after a window committed.
CREATE TABLE checkpoints (
    source TEXT NOT NULL,
    topic TEXT NOT NULL,
    kind TEXT NOT NULL,
    watermark TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (source, topic, kind)
);

CREATE TABLE possible_duplicates (
    id INTEGER PRIMARY KEY,
    work_id INTEGER NOT NULL REFERENCES works(id),
    other_id INTEGER NOT NULL REFERENCES works(id),
    score REAL NOT NULL,
    reason TEXT,
    status TEXT NOT NULL DEFAULT 'open',
    created_at TEXT NOT NULL,
    decided_at TEXT,
    UNIQUE (work_id, other_id)
);

-- Every merge of two stored works, with the sightings it moved, so it can be undone.
CREATE TABLE merges (
    id INTEGER PRIMARY KEY,
    kept_id INTEGER NOT NULL REFERENCES works(id),
    merged_id INTEGER NOT NULL REFERENCES works(id),
    sighting_ids TEXT NOT NULL,
    reason TEXT,
    created_at TEXT NOT NULL,
    undone_at TEXT
);

-- Per-feed polling state: conditional GET validators, failures, backoff.
CREATE TABLE feeds (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    last_status INTEGER,
    last_checked TEXT,
    last_success TEXT,
    last_error TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    failing_since TEXT,
    next_poll_at TEXT
);

-- Related but distinct works, e.g. a preprint and its journal version.
CREATE TABLE work_relations (
    work_id INTEGER NOT NULL REFERENCES works(id),
    other_id INTEGER NOT NULL REFERENCES works(id),
    relation TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (work_id, other_id, relation)
);
"""

# Feeds: the configured URL that a feed's stored URL (moved by permanent redirects) came from,
# so editing the URL in feeds.toml takes effect while redirects are remembered.
_V2_FEED_CONFIG_URL = """
ALTER TABLE feeds ADD COLUMN config_url TEXT;
"""

_V3_PUBMED_LOOKUPS = """
-- DOIs of feed/imported works looked up in PubMed: when, and what was found.
CREATE TABLE pubmed_lookups (
    doi TEXT PRIMARY KEY,
    tried_at TEXT NOT NULL,
    pmid TEXT
)
"""

_V4_NO_TITLE_KEY_COLUMN = """
-- The title key lives in work_blocks ("k:..."), where candidates are looked up; the column
-- and its index were written for every work and never read.
DROP INDEX works_title_key;
ALTER TABLE works DROP COLUMN title_key
"""

_V5_EVENTS_AND_RUN_OWNERS = """
-- What happened to each work, in order: the hook later stages (scoring, the queue) read.
-- kind is one of litmon.db.events.KINDS.
CREATE TABLE work_events (
    id INTEGER PRIMARY KEY,
    work_id INTEGER NOT NULL REFERENCES works(id),
    kind TEXT NOT NULL,
    run_id INTEGER REFERENCES crawl_runs(id),
    created_at TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX work_events_work ON work_events(work_id);

-- Each reader of work_events keeps its own position: the last event id it has handled.
CREATE TABLE event_readers (
    reader TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);

-- Works NLM deleted (DeleteCitation): kept, hidden from exports and later stages.
ALTER TABLE works ADD COLUMN deleted_at TEXT;

-- Who runs a run, so that one left 'running' by a dead process can be told from a live one.
ALTER TABLE crawl_runs ADD COLUMN pid INTEGER;
ALTER TABLE crawl_runs ADD COLUMN host TEXT;
ALTER TABLE crawl_runs ADD COLUMN lock_path TEXT;
ALTER TABLE crawl_runs ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0
"""

_V6_RUN_WARNINGS_AND_NO_FUTURE_CHECKPOINTS = """
-- What a run noted without failing (skipped entries, feed warnings), apart from its error.
ALTER TABLE crawl_runs ADD COLUMN warnings TEXT;
-- Records the store refused (their sighting is stored as another paper).
ALTER TABLE crawl_runs ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;
-- An earlier litmon let `crawl pubmed --until` move a checkpoint past today, where it
-- stayed and late-indexed records were never fetched again: bring such ones back to today.
UPDATE checkpoints SET watermark = date('now') WHERE watermark > date('now')
"""

_V7_SCORES = """
-- A work's relevance to each topic, with the explanation (JSON list of components: what
-- matched, where, what it added) and the profile it was computed with.
CREATE TABLE work_scores (
    work_id INTEGER NOT NULL REFERENCES works(id),
    topic TEXT NOT NULL,
    score REAL NOT NULL,
    explanation TEXT NOT NULL,
    profile TEXT NOT NULL,
    scored_at TEXT NOT NULL,
    PRIMARY KEY (work_id, topic)
) WITHOUT ROWID;
CREATE INDEX work_scores_topic ON work_scores(topic, score DESC)
"""

_V8_QUEUE = """
-- One candidate per work; states per litmon.review (README, "The candidate queue").
CREATE TABLE candidates (
    id INTEGER PRIMARY KEY,
    work_id INTEGER NOT NULL REFERENCES works(id),
    -- The work it was made for; work_id differs while that work is merged into another.
    origin_work_id INTEGER NOT NULL REFERENCES works(id),
    state TEXT NOT NULL DEFAULT 'new',
    score REAL NOT NULL,
    topics TEXT NOT NULL DEFAULT '[]',
    version INTEGER NOT NULL DEFAULT 1,
    deferred_until TEXT,
    lease_token TEXT,
    lease_expires TEXT,
    leased_by TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    changed_since_decision INTEGER NOT NULL DEFAULT 0,
    flag TEXT,
    merged_into INTEGER REFERENCES candidates(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- One live candidate per work; one merged into another keeps its row (and trail).
CREATE UNIQUE INDEX candidates_work ON candidates(work_id) WHERE merged_into IS NULL;
CREATE INDEX candidates_origin ON candidates(origin_work_id);
CREATE INDEX candidates_ranked ON candidates(state, score DESC, id);
-- The ranked list over every state, paged by (score, id) from either end.
CREATE INDEX candidates_by_score ON candidates(score DESC, id);

-- Every transition of a candidate: who, when, from, to, why, and an editor's note.
CREATE TABLE candidate_audit (
    id INTEGER PRIMARY KEY,
    candidate_id INTEGER NOT NULL REFERENCES candidates(id),
    at TEXT NOT NULL,
    by TEXT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    reason TEXT,
    note TEXT
);
CREATE INDEX candidate_audit_candidate ON candidate_audit(candidate_id);

-- Leases to expire, looked up on every claim.
CREATE INDEX candidates_leases ON candidates(lease_expires) WHERE state = 'leased';

-- What a summarizer wrote, stored against the work (idempotent per lease token).
CREATE TABLE summaries (
    id INTEGER PRIMARY KEY,
    work_id INTEGER NOT NULL REFERENCES works(id),
    candidate_id INTEGER NOT NULL REFERENCES candidates(id),
    lease_token TEXT NOT NULL UNIQUE,
    worker TEXT,
    summary TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX summaries_candidate ON summaries(candidate_id)
"""

_V9_WORK_LINKS = """
-- Comments/corrections links of live works by the PMID they point at: the errata and
-- retraction notices stored as works of their own are found from their article.
CREATE TABLE work_links (
    pmid TEXT NOT NULL,
    type TEXT NOT NULL,
    work_id INTEGER NOT NULL REFERENCES works(id),
    PRIMARY KEY (pmid, type, work_id)
) WITHOUT ROWID;
CREATE INDEX work_links_work ON work_links(work_id);
INSERT OR IGNORE INTO work_links (pmid, type, work_id)
    SELECT json_extract(l.value, '$.pmid'), json_extract(l.value, '$.type'), w.id
    FROM works w, json_each(w.links) l
    WHERE w.merged_into IS NULL AND w.deleted_at IS NULL
      AND json_extract(l.value, '$.pmid') IS NOT NULL
"""

_V10_SERVICE = """
-- What a run noted on the way besides its warnings (retries, 429s, a short response's
-- missing PMIDs, a feed's error): JSON list of {at, level, event, message}.
ALTER TABLE crawl_runs ADD COLUMN notes TEXT;
CREATE INDEX crawl_runs_source ON crawl_runs(source, id);
-- The `litmon schedule` daemon's heartbeat, read by `litmon check` and `litmon status`.
CREATE TABLE scheduler_heartbeat (
    name TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    started_at TEXT NOT NULL,
    beat_at TEXT NOT NULL,
    state TEXT NOT NULL
)
"""

_V11_SEARCH_AND_ACCOUNTS = """
-- Full-text search over works' titles and abstracts (FTS5, external content, sqlite-utils'
-- and Datasette's naming). Works are indexed up to search_backfill.upto: the triggers
-- keep indexed rows in step, and open_db indexes the rest in batches (an existing
-- database is not locked for the whole build); done, upto is the largest integer.
CREATE VIRTUAL TABLE works_fts USING fts5(
    title, abstract, content=[works], content_rowid=[id],
    tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TABLE search_backfill (upto INTEGER NOT NULL);
INSERT INTO search_backfill (upto) VALUES (0);
CREATE TRIGGER works_ai AFTER INSERT ON works
WHEN new.id <= (SELECT upto FROM search_backfill) BEGIN
    INSERT INTO works_fts (rowid, title, abstract) VALUES (new.id, new.title, new.abstract);
END;
CREATE TRIGGER works_ad AFTER DELETE ON works
WHEN old.id <= (SELECT upto FROM search_backfill) BEGIN
    INSERT INTO works_fts (works_fts, rowid, title, abstract)
        VALUES ('delete', old.id, old.title, old.abstract);
END;
CREATE TRIGGER works_au AFTER UPDATE OF title, abstract ON works
WHEN old.id <= (SELECT upto FROM search_backfill)
    AND (old.title IS NOT new.title OR old.abstract IS NOT new.abstract) BEGIN
    INSERT INTO works_fts (works_fts, rowid, title, abstract)
        VALUES ('delete', old.id, old.title, old.abstract);
    INSERT INTO works_fts (rowid, title, abstract) VALUES (new.id, new.title, new.abstract);
END;

-- Editors who sign in to `litmon serve` (argon2 password hashes), their sessions, and
-- the bearer tokens of summarizer workers (SHA-256 of a random token: it is never stored).
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('editor', 'admin')),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE web_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions(user_id);
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    last_used_at TEXT
);
-- Failed sign-ins, by account name and by client address, for rate limiting.
CREATE TABLE login_failures (
    key TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures(key, at)
"""

_V12_BOUNDED_BLOCKS = """
-- Fuzzy-dedup blocks of bounded size (litmon.db.blocks): a block that fills is marked
-- full and its works move to narrower blocks; keys are stored as 8-byte digests. The old
-- blocks (first and last three title words, unbounded, as text) go; open_db blocks the
-- existing works again in batches, up to block_backfill.upto (done: the largest integer).
DROP TABLE work_blocks;
CREATE TABLE work_blocks (
    key BLOB NOT NULL,
    work_id INTEGER NOT NULL REFERENCES works(id),
    PRIMARY KEY (key, work_id)
) WITHOUT ROWID;
CREATE INDEX work_blocks_work ON work_blocks(work_id);
CREATE TABLE full_blocks (key BLOB PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE block_backfill (upto INTEGER NOT NULL);
INSERT INTO block_backfill (upto) VALUES (0)
"""

_V13_SEARCH_INDEXED_AFTER_STORING = """
-- New works are indexed for search after the store's batches (db/search.py), not by a
-- trigger inside them: search_backfill.upto is the last work indexed from now on.
DROP TRIGGER works_ai;
UPDATE search_backfill SET upto = CASE
    WHEN upto = 9223372036854775807 THEN (SELECT coalesce(max(id), 0) FROM works)
    ELSE upto END
"""

_V14_BLOCK_ENTRY_KINDS = """
-- Each block entry holds its work's kind (litmon.db.blocks.block_kind: 0 without a PMID,
-- 1 with one, 2 with one and a preprint), so that a lookup reads only the works that can
-- be candidates for the record. The blocks are built again from scratch, by today's
-- blocking (an older title fold left some titles without a key): open_db blocks the
-- existing works in batches, as after schema 12.
DROP TABLE work_blocks;
CREATE TABLE work_blocks (
    key BLOB NOT NULL,
    kind INTEGER NOT NULL,
    work_id INTEGER NOT NULL REFERENCES works(id),
    PRIMARY KEY (key, kind, work_id)
) WITHOUT ROWID;
CREATE INDEX work_blocks_work ON work_blocks(work_id);
DELETE FROM full_blocks;
UPDATE block_backfill SET upto = 0
"""


_V15_DRAFTS_AND_PUBLICATIONS = """
-- A summarizer's hand-in becomes a draft; editors edit it (each edit a new version),
-- publish one version (publications) or send it back. Free text that is not the four
-- parts is kept as received, unchecked. The summaries table stays as the receipt of each
-- hand-in per lease token (a repeated done answers from it); the summaries written before
-- drafts existed become unchecked drafts, numbered in the order they were handed in.
CREATE TABLE drafts (
    id INTEGER PRIMARY KEY,
    candidate_id INTEGER NOT NULL REFERENCES candidates(id),
    version INTEGER NOT NULL,
    finding TEXT,
    what_was_done TEXT,
    why_it_matters TEXT,
    limits TEXT,
    text TEXT NOT NULL,
    checked INTEGER NOT NULL,
    checks TEXT NOT NULL DEFAULT '[]',
    by TEXT NOT NULL,
    origin TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (candidate_id, version)
);
CREATE TABLE publications (
    candidate_id INTEGER PRIMARY KEY REFERENCES candidates(id),
    draft_id INTEGER NOT NULL REFERENCES drafts(id),
    published_at TEXT NOT NULL,
    published_by TEXT NOT NULL
);
INSERT INTO drafts (candidate_id, version, text, checked, checks, by, origin, created_at)
    SELECT candidate_id, row_number() OVER (PARTITION BY candidate_id ORDER BY id), summary,
           0, '[]', coalesce(worker, 'unknown'), 'worker', created_at
    FROM summaries ORDER BY id
"""


_V16_LEARNING = """
-- Training labels from elsewhere (`litmon model labels import`), keyed by the sighting each
-- row became (source 'labels:NAME', its id): a sighting follows its work through merges
-- and their undoing, so the label does too.
CREATE TABLE imported_labels (
    source TEXT NOT NULL,
    source_id TEXT NOT NULL,
    label INTEGER NOT NULL CHECK (label IN (0, 1)),
    imported_at TEXT NOT NULL,
    PRIMARY KEY (source, source_id)
) WITHOUT ROWID;
-- Each trained relevance model as plain JSON data (vocabulary, weights; never code), with
-- when it was trained, the labels it learnt (JSON object: work id -> 1 or 0), how many of
-- each kind, and its cross-validated quality. At most one is active: the one scoring uses.
CREATE TABLE model_versions (
    id INTEGER PRIMARY KEY,
    data TEXT NOT NULL,
    trained_at TEXT NOT NULL,
    labels TEXT NOT NULL,
    relevant INTEGER NOT NULL,
    irrelevant INTEGER NOT NULL,
    auc REAL,
    wss95 REAL,
    active INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX model_versions_active ON model_versions(active) WHERE active = 1;
-- A model's probability that a work is relevant, stored by scoring (the queue never runs
-- the model), and what moved it (JSON list of {kind, term, weight}) for the works that
-- are or may become candidates.
CREATE TABLE work_model_scores (
    work_id INTEGER PRIMARY KEY REFERENCES works(id),
    model_id INTEGER NOT NULL REFERENCES model_versions(id),
    probability REAL NOT NULL,
    explanation TEXT,
    scored_at TEXT NOT NULL
);
CREATE INDEX work_model_scores_model ON work_model_scores(model_id);
-- The queue's view of it: each candidate's probability, and whether the model let it in
-- (its profile scores are under every threshold). candidates.score becomes the rank score.
ALTER TABLE candidates ADD COLUMN model_score REAL;
ALTER TABLE candidates ADD COLUMN let_in_by_model INTEGER NOT NULL DEFAULT 0;
-- `queue list --order uncertain`: closest to 0.5 first (without a probability: last),
-- paged through the index.
CREATE INDEX candidates_uncertain ON candidates(coalesce(abs(model_score - 0.5), 1), id)
"""

_V17_AUDIT_LABELS = """
-- candidate_audit.by is the authenticated identity (a token's name, a signed-in editor);
-- the name a worker gave itself in its request, which no one checked, is kept beside it.
ALTER TABLE candidate_audit ADD COLUMN label TEXT
"""


_V18_NO_FEED_URL_SECRETS = """
-- Feeds: the configured URL, which may carry a password or a token, leaves the table
-- (db/feed_state.py). SQL cannot compute its scrypt fingerprint, so each feed's is NULL
-- until its next poll, which starts the feed again from its configured URL (its
-- validators and a remembered redirect are dropped; failures and backoff are kept).
-- Deleted content is overwritten with zeros (SQLite builds differ in the default), so the
-- old URLs do not stay in the file's free space.
PRAGMA secure_delete = ON;
ALTER TABLE feeds DROP COLUMN config_url;
ALTER TABLE feeds ADD COLUMN config_fingerprint TEXT;
-- A stored URL with user-info or a query may hold a secret: until that next poll stores
-- the configured URL redacted, it is shown as its scheme, host and path, with the
-- user-info and the whole query hidden (the host: after the LAST "@", as urlsplit reads it).
UPDATE feeds SET url = parts.scheme
    || CASE WHEN instr(parts.authority, '@') THEN '***@' ELSE '' END
    || substr(parts.authority,
              length(rtrim(parts.authority, replace(parts.authority, '@', ''))) + 1)
    || substr(parts.rest, length(parts.authority) + 1)
    || CASE WHEN parts.query THEN '?***' ELSE '' END
FROM (
    SELECT name, scheme, rest, query,  -- rest: after the scheme, before the query
        substr(rest, 1, instr(rest || '/', '/') - 1) AS authority
    FROM (
        SELECT name, instr(url, '?') AS query,
            substr(url, 1, instr(url, '://') + 2) AS scheme,
            substr(CASE WHEN instr(url, '?') THEN substr(url, 1, instr(url, '?') - 1) ELSE url END,
                   instr(url, '://') + 3) AS rest
        FROM feeds WHERE url LIKE '%@%' OR url LIKE '%?%'
    )
) AS parts
WHERE feeds.name = parts.name
"""

# Each entry upgrades the schema by one version; append, never edit a shipped one.
MIGRATIONS: list[str] = [
    _V1,
    _V2_FEED_CONFIG_URL,
    _V3_PUBMED_LOOKUPS,
    _V4_NO_TITLE_KEY_COLUMN,
    _V5_EVENTS_AND_RUN_OWNERS,
    _V6_RUN_WARNINGS_AND_NO_FUTURE_CHECKPOINTS,
    _V7_SCORES,
    _V8_QUEUE,
    _V9_WORK_LINKS,
    _V10_SERVICE,
    _V11_SEARCH_AND_ACCOUNTS,
    _V12_BOUNDED_BLOCKS,
    _V13_SEARCH_INDEXED_AFTER_STORING,
    _V14_BLOCK_ENTRY_KINDS,
    _V15_DRAFTS_AND_PUBLICATIONS,
    _V16_LEARNING,
    _V17_AUDIT_LABELS,
    _V18_NO_FEED_URL_SECRETS,
]


# ALTER TABLE ... DROP COLUMN (migration 4) needs SQLite 3.35.
MIN_SQLITE = (3, 35, 0)


class SchemaError(UsageError):
    """The database cannot be used by this litmon: the message says why in one line."""


def migrate(db: sqlite_utils.Database, path: Path | None = None) -> int:
    """Apply pending migrations, each in one transaction; returns the schema version.

    A database whose schema is newer than this code is refused. Before upgrading a
    database that holds data, a copy is written beside it (``<file>.v<N>.bak``, SQLite's
    backup API, taken under the write lock, by the one process that upgrades).
    """
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        wanted = ".".join(map(str, MIN_SQLITE))
        raise SchemaError(f"SQLite {sqlite3.sqlite_version} is too old: litmon needs {wanted}+")
    conn = db.conn
    if _version(conn, path) == len(MIGRATIONS):
        return len(MIGRATIONS)  # up to date: no write lock (a read-only file stays usable)
    with write_transaction(conn):  # the version read and the upgrade are one transaction
        version = _version(conn, path)
        if version < len(MIGRATIONS) and path is not None and _has_data(conn):
            _backup(path, version)
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
    return len(MIGRATIONS)


def _version(conn: sqlite3.Connection, path: Path | None) -> int:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise SchemaError(
            f"{path or 'the database'} has schema version {version}, newer than this"
            f" litmon ({VERSION}) knows ({len(MIGRATIONS)}): upgrade litmon"
        )
    return version


def _statements(script: str) -> list[str]:
    """The statements of a migration script, to run one by one inside one transaction
    (``executescript`` would commit first)."""
    statements, current = [], ""
    for line in (script + ";\n").splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip() and not current.strip().startswith("--"):
        statements.append(current.strip())
    return [s for s in statements if s.strip(" ;\n")]


def _has_data(conn: sqlite3.Connection) -> bool:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return "works" in tables and conn.execute("SELECT 1 FROM works LIMIT 1").fetchone() is not None


def _backup(path: Path, version: int) -> None:
    """Copy the database as it is before the upgrade. Called while this process holds the
    write lock, so nothing changes meanwhile; through a connection of its own, since SQLite
    cannot back up from the connection that holds it (WAL lets that one read)."""
    target = path.with_name(f"{path.name}.v{version}.bak")
    source = sqlite3.connect(path)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()


PAGE_SIZE = 16384
BUSY_TIMEOUT = 30.0  # seconds a write waits for another's write lock (database.busy_timeout)
CACHE_KIB = 16 * 1024


def _use_wal(conn: sqlite3.Connection, patience: float = 30.0) -> None:
    """Switch the file to WAL (it stays so). The switch needs an exclusive lock, and SQLite
    does not wait for it through the busy timeout: processes opening a new or pre-WAL file
    together (cron and the daemon at the same minute) retry here for up to ``patience`` s."""
    deadline = time.monotonic() + patience
    while conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        if time.monotonic() > deadline:
            raise SchemaError("cannot switch the database to WAL: another process holds it")
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.05)


def open_db(path: str | Path, *, busy_timeout: float = BUSY_TIMEOUT) -> sqlite_utils.Database:
    """Open (creating if needed) a litmon database: WAL journal, foreign keys on, migrated.
    A file that is not a database, or a place where none can be made, is a
    :class:`SchemaError` naming the file."""
    path = Path(path)
    try:
        return _open(path, busy_timeout)
    except (sqlite3.Error, OSError) as exc:
        # a full disk, a read-only file system, a lock held too long: said as such
        error = as_error(exc, path)
        if error is not None:
            raise error from exc
        if isinstance(exc, OSError):
            raise SchemaError(f"{path}: cannot create the database: {exc.strerror or exc}") from exc
        raise SchemaError(f"{path}: cannot use it as a litmon database: {exc}") from exc


def open_existing(path: str | Path, *, busy_timeout: float = BUSY_TIMEOUT) -> sqlite_utils.Database:
    """Open a litmon database that must exist already, as :func:`open_db` does; a file
    that is not there is :class:`NoDatabase` (exit 2), and nothing (no file, no folder) is
    created: for every command that does not exist to create data, where a missing file
    is a mistyped ``--db`` or ``LITMON_DB`` (and a database created by root here would
    lock the service's own user out of it)."""
    path = Path(path)
    if not path.exists():
        raise NoDatabase(
            f"no database at {path}: nothing has run yet, or --db, LITMON_DB or"
            " database.path is wrong"
        )
    return open_db(path, busy_timeout=busy_timeout)


def _open(path: Path, busy_timeout: float) -> sqlite_utils.Database:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(path)
    # First, so that every statement below waits for another process instead of failing
    # with "database is locked" (until ``busy_timeout`` seconds have passed).
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    # A works row or a sighting is ~3 KB (an abstract, as a column and inside the JSON
    # record): a 4 KB page holds one, a 16 KB page five. The file is a third smaller and
    # ingest faster. SQLite applies this only while the file is still empty.
    db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    _use_wal(db.conn)
    _tune(db)
    migrate(db, path)
    index_new_works(db.conn)
    backfill_blocks(db.conn)
    return db


def _tune(db: sqlite_utils.Database) -> None:
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA synchronous = NORMAL")
    # SQLite's default page cache is 2 MB. Dedup lookups during a large ingest reach all
    # over the identifier and block indexes; with 16 MB the per-record cost stays flat
    # instead of growing with the file (bench/ingest_bench.py).
    db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")


def connect(path: str | Path, *, busy_timeout: float = BUSY_TIMEOUT) -> sqlite_utils.Database:
    """Another connection to a database :func:`open_db` has opened (and so migrated) in
    this process: the same settings, without the migration's write transaction. For a
    server's pool: one request at a time uses it, from whichever thread serves it."""
    path = Path(path)
    db = sqlite_utils.Database(sqlite3.connect(path, check_same_thread=False))
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    _tune(db)
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version != len(MIGRATIONS):
        raise SchemaError(f"{path}: schema version {version}, expected {len(MIGRATIONS)}")
    return db
