"""``litmon users`` (editors who sign in to ``litmon serve``) and ``litmon tokens`` (the
bearer tokens of summarizer workers using the HTTP API)."""

from __future__ import annotations

import sys

import click

from litmon import exits
from litmon.app import App, pass_app
from litmon.core.errors import UsageError
from litmon.db import accounts
from litmon.output import Column, echo, listing_options, output_rows, table
from litmon.web import auth


def _password(from_stdin: bool) -> str:
    """A new password: the first line of stdin (for scripts), else asked twice, hidden."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password on: use --password-stdin")
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


_STDIN = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)


@click.group()
def users() -> None:
    """Editors' accounts for the review page (`litmon serve`).

    \b
      litmon users add maria --role admin     (asks for the password twice)
      echo "$PASSWORD" | litmon users add jo --password-stdin
      litmon users role jo admin
    """


@users.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(auth.ROLES),
    default="editor",
    show_default=True,
    help="An admin may also retry or discard dead letters and record takedowns on the review page.",
)
@_STDIN
@pass_app
def users_add(app: App, name: str, role: str, password_stdin: bool) -> None:
    """Create an account NAME (letters, digits, . _ @ -); its decisions are recorded under
    that name. Passwords are stored as argon2 hashes, at least 10 characters. The first
    account may be added before anything was crawled: it creates the database."""
    db = app.database(create=True)
    auth.add_user(db, name, _password(password_stdin), role)
    click.echo(f"added {role} {name}")


@users.command("remove")
@click.argument("name")
@pass_app
def users_remove(app: App, name: str) -> None:
    """Delete account NAME and end its sessions; its past decisions keep its name."""
    auth.remove_user(app.database(), name)
    click.echo(f"removed {name}")


@users.command("passwd")
@click.argument("name")
@_STDIN
@pass_app
def users_passwd(app: App, name: str, password_stdin: bool) -> None:
    """Set a new password for NAME; it is signed out everywhere."""
    db = app.database()
    auth.change_password(db, name, _password(password_stdin))
    click.echo(f"password changed for {name}; its sessions ended")


@users.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(auth.ROLES))
@pass_app
def users_role(app: App, name: str, role: str) -> None:
    """Make account NAME an editor or an admin; its open sessions get the new role at
    their next request. Exit 3 when it had that role already."""
    if not auth.set_role(app.database(), name, role):
        echo(f"{name} is an {role} already")
        sys.exit(exits.NOTHING_TO_DO)
    echo(f"{name} is now an {role}")


@users.command("list")
@listing_options
@pass_app
def users_list(app: App, as_json: bool, nl: bool) -> None:
    """The accounts, with their roles."""
    rows = accounts.list_users(app.database().conn)
    if as_json or nl:
        output_rows(rows, nl=nl)
        return
    if not rows:
        echo("no accounts yet: litmon users add NAME")
        return
    for line in table(rows, _USER_COLUMNS):
        echo(line)


_USER_COLUMNS = (
    Column("NAME", lambda row: row["name"]),
    Column("ROLE", lambda row: row["role"]),
    Column("SINCE", lambda row: row["created_at"]),
)


@click.group()
def tokens() -> None:
    """Bearer tokens for summarizer workers: they may claim, finish, fail and extend
    candidates through the HTTP API, nothing else.

    \b
      litmon tokens create summarizer-1    (prints the token once: keep it secret)
      curl -H "Authorization: Bearer lm_..." http://127.0.0.1:8080/api/claim -X POST
    """


@tokens.command("create")
@click.argument("name")
@pass_app
def tokens_create(app: App, name: str) -> None:
    """Make a token NAME for a worker and print it. Only its hash is stored: it cannot be
    shown again (revoke it and make another if it is lost)."""
    secret = auth.create_token(app.database(), name)
    click.echo(secret)
    click.echo(f"token {name!r} created; it is shown only this once", err=True)


@tokens.command("revoke")
@click.argument("name")
@pass_app
def tokens_revoke(app: App, name: str) -> None:
    """Stop token NAME from working, at once."""
    auth.revoke_token(app.database(), name)
    click.echo(f"revoked {name}")


@tokens.command("list")
@listing_options
@pass_app
def tokens_list(app: App, as_json: bool, nl: bool) -> None:
    """The tokens (never their secrets): scope, created, last used, revoked."""
    rows = accounts.list_tokens(app.database().conn)
    if as_json or nl:
        output_rows(rows, nl=nl)
        return
    if not rows:
        echo("no tokens yet: litmon tokens create NAME")
        return
    for line in table(rows, _TOKEN_COLUMNS):
        echo(line)


_TOKEN_COLUMNS = (
    Column("NAME", lambda row: row["name"]),
    Column("SCOPE", lambda row: row["scope"]),
    Column("STATE", lambda row: f"revoked {row['revoked_at']}" if row["revoked_at"] else "live"),
    Column("CREATED", lambda row: row["created_at"]),
    Column("LAST USED", lambda row: row["last_used_at"] or "never"),
)
