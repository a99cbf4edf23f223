"""Stored relevance models (``model_versions``) and the probabilities scoring gave works with
them (``work_model_scores``). A model is kept as JSON text and read back as plain data
(dicts, lists, numbers, strings): nothing read here can run code.

Only the newest few versions keep their model data (and the labels they learnt): a version
is tens of megabytes, and one is trained after every few dozen decisions. An older version
keeps its row (when, on how many labels, how well) with ``data`` set to the empty string,
the pruned marker; SQLite reuses the pages it freed for the next version."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import orjson

from litmon.core.errors import UsageError

__all__ = [
    "ModelDataError",
    "ModelVersion",
    "active_version",
    "activate",
    "add_version",
    "drop_probabilities",
    "prune",
    "store_probabilities",
    "trained_labels",
    "unscored_works",
    "versions",
]


class ModelDataError(UsageError):
    """A stored model that is not plain JSON model data: the message names its version and
    what to do. Like a database of an unknown schema, a database that cannot be used as
    it is (exit 2), until the model is trained again or rolled back."""


@dataclass(frozen=True, slots=True)
class ModelVersion:
    id: int
    trained_at: str
    relevant: int
    irrelevant: int
    auc: float | None
    wss95: float | None
    active: bool
    pruned: bool  # its model data was dropped: it cannot be made active again

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "trained_at": self.trained_at,
            "relevant": self.relevant,
            "irrelevant": self.irrelevant,
            "auc": self.auc,
            "wss95": self.wss95,
            "active": self.active,
            "pruned": self.pruned,
        }


_PRUNED = ""  # the data of a version whose model was dropped
_COLUMNS = f"id, trained_at, relevant, irrelevant, auc, wss95, active, data = '{_PRUNED}'"


def _version(row: tuple) -> ModelVersion:
    model_id, trained_at, relevant, irrelevant, auc, wss95, active, pruned = row
    return ModelVersion(
        model_id, trained_at, relevant, irrelevant, auc, wss95, bool(active), bool(pruned)
    )


def trained_labels(conn: sqlite3.Connection, model_id: int) -> dict[int, int]:
    """The labels a version learnt, work id -> 1 or 0 (none: a pruned version's)."""
    row = conn.execute("SELECT labels FROM model_versions WHERE id = ?", (model_id,)).fetchone()
    return {int(k): int(v) for k, v in orjson.loads(row[0]).items()} if row else {}


def add_version(
    conn: sqlite3.Connection,
    data: dict,
    *,
    trained_at: str,
    labels: dict[int, int],
    auc: float | None,
    wss95: float | None,
) -> int:
    """Store a trained model's data and the labels it learnt (work id -> 1 or 0), and make
    it the active one; returns its id."""
    relevant = sum(labels.values())
    cursor = conn.execute(
        "INSERT INTO model_versions"
        " (data, trained_at, labels, relevant, irrelevant, auc, wss95)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            orjson.dumps(data).decode(),
            trained_at,
            orjson.dumps({str(k): v for k, v in labels.items()}).decode(),
            relevant,
            len(labels) - relevant,
            auc,
            wss95,
        ),
    )
    model_id = int(cursor.lastrowid)
    activate(conn, model_id)
    return model_id


def activate(conn: sqlite3.Connection, model_id: int | None) -> None:
    """Make ``model_id`` the active model (None: none, the profiles alone rank)."""
    conn.execute("UPDATE model_versions SET active = 0 WHERE active = 1")
    if model_id is not None:
        conn.execute("UPDATE model_versions SET active = 1 WHERE id = ?", (model_id,))


def prune(conn: sqlite3.Connection, keep: int, spare: Collection[int] = ()) -> int:
    """Drop the model data and learnt labels of every version but the newest ``keep``, the
    active one and those in ``spare``; their rows stay. Returns how many were pruned now."""
    kept = sorted({int(model_id) for model_id in spare})
    cursor = conn.execute(
        "UPDATE model_versions SET data = ?, labels = '{}' WHERE data != ? AND active = 0"
        " AND id NOT IN (SELECT id FROM model_versions ORDER BY id DESC LIMIT ?)"
        f" AND id NOT IN ({', '.join('?' * len(kept))})",
        (_PRUNED, _PRUNED, keep, *kept),
    )
    return cursor.rowcount


def versions(conn: sqlite3.Connection) -> list[ModelVersion]:
    """Every stored version, newest first."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM model_versions ORDER BY id DESC").fetchall()
    return [_version(row) for row in rows]


def active_version(conn: sqlite3.Connection) -> tuple[ModelVersion, dict] | None:
    """The active version and its data, decoded as JSON only; a row whose data is not a
    JSON object (a pickle, say) is a :class:`ModelDataError`."""
    row = conn.execute(f"SELECT {_COLUMNS}, data FROM model_versions WHERE active = 1").fetchone()
    if row is None:
        return None
    version = _version(row[:-1])
    try:
        data = orjson.loads(row[-1])
    except (orjson.JSONDecodeError, TypeError):
        data = None
    if not isinstance(data, dict):
        raise ModelDataError(
            f"model version {version.id} in the database is not plain JSON model data:"
            " refused (train again with `litmon model train`, or `litmon model rollback`)"
        )
    return version, data


def store_probabilities(
    conn: sqlite3.Connection,
    model_id: int,
    rows: Iterable[tuple[int, float, list | None]],
    at: str,
) -> None:
    """Keep (work id, probability, explanation or None) given by model ``model_id``."""
    conn.executemany(
        "INSERT OR REPLACE INTO work_model_scores"
        " (work_id, model_id, probability, explanation, scored_at) VALUES (?, ?, ?, ?, ?)",
        [
            (
                work_id,
                model_id,
                probability,
                None if why is None else orjson.dumps(why).decode(),
                at,
            )
            for work_id, probability, why in rows
        ],
    )


def drop_probabilities(conn: sqlite3.Connection, keep_model: int | None) -> int:
    """Drop probabilities given by any model but ``keep_model`` (None: all of them)."""
    before = conn.total_changes
    if keep_model is None:
        conn.execute("DELETE FROM work_model_scores")
    else:
        conn.execute("DELETE FROM work_model_scores WHERE model_id != ?", (keep_model,))
    return conn.total_changes - before


def unscored_works(conn: sqlite3.Connection, model_id: int, after: int, limit: int) -> list[int]:
    """Live works after id ``after`` without a probability from ``model_id``, in id order."""
    rows = conn.execute(
        "SELECT w.id FROM works w WHERE w.id > ? AND w.merged_into IS NULL"
        " AND w.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM work_model_scores m"
        " WHERE m.work_id = w.id AND m.model_id = ?) ORDER BY w.id LIMIT ?",
        (after, model_id, limit),
    ).fetchall()
    return [row[0] for row in rows]
