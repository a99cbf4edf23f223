"""The ``litmon schedule`` daemon's heartbeat: written by the daemon while it runs, read by
``litmon check`` and ``litmon status`` to tell a live daemon from a dead or hung one."""

from __future__ import annotations

import sqlite_utils

from litmon.core.clock import now
from litmon.db.transactions import write_transaction

# The daemon's states: 'idle' between jobs, 'running JOB' during one, 'stopped' after a
# clean shutdown (SIGTERM / SIGINT).
DAEMON = "schedule"


def beat(
    db: sqlite_utils.Database, pid: int, host: str, started_at: str, state: str, name: str = DAEMON
) -> None:
    """Record that the daemon ``name`` is alive now, in ``state``."""
    with write_transaction(db.conn):
        db.conn.execute(
            "INSERT INTO scheduler_heartbeat (name, pid, host, started_at, beat_at, state)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET pid = excluded.pid,"
            " host = excluded.host, started_at = excluded.started_at,"
            " beat_at = excluded.beat_at, state = excluded.state",
            (name, pid, host, started_at, now(), state),
        )


def read_heartbeat(db: sqlite_utils.Database, name: str = DAEMON) -> dict | None:
    """The last heartbeat (name, pid, host, started_at, beat_at, state), or None if the
    daemon never ran against this database."""
    rows = list(db.query("SELECT * FROM scheduler_heartbeat WHERE name = ?", [name]))
    return rows[0] if rows else None
