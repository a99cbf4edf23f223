"""The SQL of editors' accounts, their sign-in sessions, workers' bearer tokens and failed
sign-ins (``users``, ``web_sessions``, ``api_tokens``, ``login_failures``).

Plain reads and writes: hashing, expiry and limits are decided by ``litmon.web.auth``.
"""

from __future__ import annotations

import sqlite3

_USER = "SELECT id, name, role, password_hash, created_at, updated_at FROM users"


def _dict(cursor: sqlite3.Cursor) -> dict | None:
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([column[0] for column in cursor.description], row, strict=True))


def user_by_name(conn: sqlite3.Connection, name: str) -> dict | None:
    return _dict(conn.execute(_USER + " WHERE name = ?", (name,)))


def list_users(conn: sqlite3.Connection) -> list[dict]:
    cursor = conn.execute("SELECT id, name, role, created_at FROM users ORDER BY name")
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def insert_user(conn: sqlite3.Connection, name: str, role: str, password_hash: str, at: str) -> int:
    cursor = conn.execute(
        "INSERT INTO users (name, role, password_hash, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (name, role, password_hash, at, at),
    )
    return cursor.lastrowid


def set_password_hash(conn: sqlite3.Connection, user_id: int, password_hash: str, at: str) -> None:
    conn.execute(
        "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
        (password_hash, at, user_id),
    )


def set_role(conn: sqlite3.Connection, user_id: int, role: str, at: str) -> None:
    conn.execute("UPDATE users SET role = ?, updated_at = ? WHERE id = ?", (role, at, user_id))


def delete_user(conn: sqlite3.Connection, user_id: int) -> None:
    conn.execute("DELETE FROM web_sessions WHERE user_id = ?", (user_id,))
    conn.execute("DELETE FROM users WHERE id = ?", (user_id,))


def insert_session(
    conn: sqlite3.Connection, id_hash: str, user_id: int, csrf: str, at: str, expires: str
) -> None:
    conn.execute(
        "INSERT INTO web_sessions (id_hash, user_id, csrf_token, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (id_hash, user_id, csrf, at, expires),
    )


def session(conn: sqlite3.Connection, id_hash: str, at: str) -> dict | None:
    """The signed-in user of an unexpired session, with the session's CSRF token."""
    return _dict(
        conn.execute(
            "SELECT u.id, u.name, u.role, s.csrf_token, s.expires_at FROM web_sessions s"
            " JOIN users u ON u.id = s.user_id WHERE s.id_hash = ? AND s.expires_at > ?",
            (id_hash, at),
        )
    )


def delete_session(conn: sqlite3.Connection, id_hash: str) -> None:
    conn.execute("DELETE FROM web_sessions WHERE id_hash = ?", (id_hash,))


def delete_sessions_of(conn: sqlite3.Connection, user_id: int) -> None:
    conn.execute("DELETE FROM web_sessions WHERE user_id = ?", (user_id,))


def delete_expired_sessions(conn: sqlite3.Connection, at: str) -> None:
    conn.execute("DELETE FROM web_sessions WHERE expires_at <= ?", (at,))


def insert_token(conn: sqlite3.Connection, name: str, token_hash: str, scope: str, at: str) -> int:
    cursor = conn.execute(
        "INSERT INTO api_tokens (name, token_hash, scope, created_at) VALUES (?, ?, ?, ?)",
        (name, token_hash, scope, at),
    )
    return cursor.lastrowid


def token_by_hash(conn: sqlite3.Connection, token_hash: str) -> dict | None:
    """A token that is not revoked."""
    return _dict(
        conn.execute(
            "SELECT id, name, scope, created_at, last_used_at FROM api_tokens"
            " WHERE token_hash = ? AND revoked_at IS NULL",
            (token_hash,),
        )
    )


def touch_token(conn: sqlite3.Connection, token_id: int, at: str) -> None:
    conn.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (at, token_id))


def revoke_token(conn: sqlite3.Connection, name: str, at: str) -> bool:
    cursor = conn.execute(
        "UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (at, name)
    )
    return cursor.rowcount > 0


def list_tokens(conn: sqlite3.Connection) -> list[dict]:
    cursor = conn.execute(
        "SELECT name, scope, created_at, revoked_at, last_used_at FROM api_tokens ORDER BY name"
    )
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def token_name_taken(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM api_tokens WHERE name = ?", (name,)).fetchone() is not None


def add_failure(conn: sqlite3.Connection, key: str, at: str) -> int:
    return conn.execute("INSERT INTO login_failures (key, at) VALUES (?, ?)", (key, at)).lastrowid


def forget_attempt(conn: sqlite3.Connection, rowids: list[int]) -> None:
    """The failures counted for an attempt that succeeded."""
    conn.executemany("DELETE FROM login_failures WHERE rowid = ?", [(r,) for r in rowids])


def failures_since(conn: sqlite3.Connection, key: str, since: str) -> int:
    return conn.execute(
        "SELECT count(*) FROM login_failures WHERE key = ? AND at > ?", (key, since)
    ).fetchone()[0]


def clear_failures(conn: sqlite3.Connection, key: str) -> None:
    conn.execute("DELETE FROM login_failures WHERE key = ?", (key,))


def forget_failures_before(conn: sqlite3.Connection, before: str) -> None:
    conn.execute("DELETE FROM login_failures WHERE at <= ?", (before,))
