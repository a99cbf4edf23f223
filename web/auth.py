"""Who may use ``litmon serve``: editors' accounts (argon2 password hashes), their sign-in
sessions, rate-limited sign-in, and workers' bearer tokens scoped to the hand-off.

Secrets are never stored: a session id and a token are random, and only their SHA-256
is kept (they carry 256 bits, so a fast hash is enough; passwords get argon2).
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from litmon.core.clock import now, stamp
from litmon.core.errors import Conflict, UsageError
from litmon.db import accounts as sql
from litmon.db.transactions import write_transaction

__all__ = [
    "HANDOFF",
    "ROLES",
    "Session",
    "SignInRefused",
    "add_user",
    "change_password",
    "create_token",
    "remove_user",
    "revoke_token",
    "session_user",
    "set_role",
    "sign_in",
    "sign_out",
    "token_for",
]

ROLES = ("editor", "admin")
HANDOFF = "handoff"  # the one token scope: claim, done, fail, extend, lookups
SESSION_LIFETIME = timedelta(hours=12)
# Sign-in attempts refused after this many failures in the window: per account and client
# address (guessing one password: a stranger's guesses lock the account from the stranger's
# address only, never its owner elsewhere), per client address (trying many names; an
# office behind one address shares that count, hence higher), and per account from all
# addresses together (guessing from many addresses: it takes a stranger 20 of them to
# lock an owner out).
MAX_FAILURES = 5
MAX_CLIENT_FAILURES = 20
MAX_ACCOUNT_FAILURES = 100
FAILURE_WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 10
TOUCH_EVERY = timedelta(minutes=1)  # how fresh a token's last_used_at is kept

_hasher = PasswordHasher()
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


class SignInRefused(Exception):
    """Wrong name or password, or too many failures: the message is safe to show."""


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in editor; ``csrf`` must come back with every form the session submits."""

    user_id: int
    name: str
    role: str
    csrf: str


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the account does not exist, so that a wrong name costs as much
    time as a wrong password and does not tell which accounts exist. Made at the first
    sign-in, not at import: every `litmon users ...` command imports this module."""
    return _hasher.hash(secrets.token_urlsafe(16))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise UsageError(
            f"{name!r} is not a valid name: letters, digits and . _ @ -, at most 64,"
            " starting with a letter or digit"
        )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")


def add_user(db: sqlite_utils.Database, name: str, password: str, role: str = "editor") -> int:
    """Create an account; :class:`Conflict` if the name is taken."""
    _check_name(name)
    _check_password(password)
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    password_hash = _hasher.hash(password)
    with write_transaction(db.conn):
        if sql.user_by_name(db.conn, name) is not None:
            raise Conflict(f"an account named {name!r} exists already")
        return sql.insert_user(db.conn, name, role, password_hash, now())


def remove_user(db: sqlite_utils.Database, name: str) -> None:
    """Delete an account and sign it out everywhere (its decisions stay in the audit
    trail under its name)."""
    with write_transaction(db.conn):
        user = sql.user_by_name(db.conn, name)
        if user is None:
            raise UsageError(f"no account named {name!r}")
        sql.delete_user(db.conn, user["id"])


def change_password(db: sqlite_utils.Database, name: str, password: str) -> None:
    """Set a new password and end the account's sessions."""
    _check_password(password)
    password_hash = _hasher.hash(password)
    with write_transaction(db.conn):
        user = sql.user_by_name(db.conn, name)
        if user is None:
            raise UsageError(f"no account named {name!r}")
        sql.set_password_hash(db.conn, user["id"], password_hash, now())
        sql.delete_sessions_of(db.conn, user["id"])


def set_role(db: sqlite_utils.Database, name: str, role: str) -> bool:
    """Give account NAME the role ``role`` (from its next request on: sessions read the
    role afresh); False when it had that role already."""
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    with write_transaction(db.conn):
        user = sql.user_by_name(db.conn, name)
        if user is None:
            raise UsageError(f"no account named {name!r}")
        if user["role"] == role:
            return False
        sql.set_role(db.conn, user["id"], role, now())
        return True


def sign_in(
    db: sqlite_utils.Database, name: str, password: str, client: str
) -> tuple[str, Session]:
    """Check the password and open a session: returns the session id (for the cookie) and
    the session. Refused, even with the right password, after MAX_FAILURES failures within
    FAILURE_WINDOW for the account from this client address, MAX_CLIENT_FAILURES for the
    address, or MAX_ACCOUNT_FAILURES for the account."""
    moment = datetime.now(UTC)
    at, since = stamp(moment), stamp(moment - FAILURE_WINDOW)
    account = name.lower()
    keys = (f"user:{account} client:{client}", f"client:{client}", f"user:{account}")
    ceilings = (MAX_FAILURES, MAX_CLIENT_FAILURES, MAX_ACCOUNT_FAILURES)
    # The attempt counts as a failure from before the password is checked, in the same
    # transaction as the limit check: guesses sent all at once are counted one by one.
    with write_transaction(db.conn):
        sql.forget_failures_before(db.conn, since)
        limits = zip(keys, ceilings, strict=True)
        if any(sql.failures_since(db.conn, key, since) >= limit for key, limit in limits):
            minutes = int(FAILURE_WINDOW.total_seconds() // 60)
            raise SignInRefused(f"too many failed sign-ins: try again in {minutes} minutes")
        attempt = [sql.add_failure(db.conn, key, at) for key in keys]
        user = sql.user_by_name(db.conn, name)
    if not _verify(user, password):
        raise SignInRefused("wrong name or password")
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with write_transaction(db.conn):
        sql.clear_failures(db.conn, keys[0])
        sql.forget_attempt(db.conn, attempt)
        sql.delete_expired_sessions(db.conn, at)
        sql.insert_session(
            db.conn, _digest(session_id), user["id"], csrf, at, stamp(moment + SESSION_LIFETIME)
        )
        if _hasher.check_needs_rehash(user["password_hash"]):
            sql.set_password_hash(db.conn, user["id"], _hasher.hash(password), at)
    return session_id, Session(user["id"], user["name"], user["role"], csrf)


def _verify(user: dict | None, password: str) -> bool:
    try:
        return _hasher.verify(user["password_hash"] if user else _dummy_hash(), password) and (
            user is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def session_user(db: sqlite_utils.Database, session_id: str) -> Session | None:
    """The editor of a live session, or None (unknown, expired, or the account is gone)."""
    row = sql.session(db.conn, _digest(session_id), now())
    if row is None:
        return None
    return Session(row["id"], row["name"], row["role"], row["csrf_token"])


def sign_out(db: sqlite_utils.Database, session_id: str) -> None:
    with write_transaction(db.conn):
        sql.delete_session(db.conn, _digest(session_id))


def create_token(db: sqlite_utils.Database, name: str, scope: str = HANDOFF) -> str:
    """A new bearer token for a worker; the secret is returned once and never stored."""
    _check_name(name)
    if scope != HANDOFF:
        raise UsageError(f"unknown token scope {scope!r} (only {HANDOFF!r})")
    secret = "lm_" + secrets.token_urlsafe(32)
    with write_transaction(db.conn):
        if sql.token_name_taken(db.conn, name):
            raise Conflict(f"a token named {name!r} exists already (revoked ones keep their name)")
        sql.insert_token(db.conn, name, _digest(secret), scope, now())
    return secret


def revoke_token(db: sqlite_utils.Database, name: str) -> None:
    with write_transaction(db.conn):
        if not sql.revoke_token(db.conn, name, now()):
            raise UsageError(f"no live token named {name!r}")


def token_for(db: sqlite_utils.Database, secret: str) -> dict | None:
    """The live token a bearer secret belongs to (name, scope), or None."""
    token = sql.token_by_hash(db.conn, _digest(secret))
    if token is None:
        return None
    moment = datetime.now(UTC)
    # a write per request would queue every worker's call behind a crawl's write lock
    if token["last_used_at"] is None or token["last_used_at"] < stamp(moment - TOUCH_EVERY):
        with write_transaction(db.conn):
            sql.touch_token(db.conn, token["id"], stamp(moment))
    return token
