"""`litmon users` and `litmon tokens`: accounts with argon2 hashes and worker tokens whose
secret is shown once and never stored."""

import json

from click.testing import CliRunner

from litmon.cli import cli
from litmon.db.schema import open_db
from litmon.web import auth


def run(db_path, *args, stdin=None):
    return CliRunner().invoke(cli, ["--db", str(db_path), *args], input=stdin)


def test_users_add_list_passwd_remove(tmp_path):
    db_path = tmp_path / "a.db"
    added = run(db_path, "users", "add", "maria", "--role", "admin", "--password-stdin",
                stdin="correct horse battery\n")  # fmt: skip
    assert added.exit_code == 0 and "added admin maria" in added.output
    stored = open_db(db_path).execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    listed = json.loads(run(db_path, "users", "list", "--json").output)
    assert [(row["name"], row["role"]) for row in listed] == [("maria", "admin")]
    twice = run(db_path, "users", "add", "maria", "--password-stdin", stdin="another password\n")
    assert twice.exit_code == 4 and "exists already" in twice.output
    short = run(db_path, "users", "add", "jo", "--password-stdin", stdin="short\n")
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    changed = run(db_path, "users", "passwd", "maria", "--password-stdin",
                  stdin="a new long password\n")  # fmt: skip
    assert changed.exit_code == 0
    db = open_db(db_path)
    assert auth.sign_in(db, "maria", "a new long password", "test")[1].role == "admin"
    assert run(db_path, "users", "remove", "maria").exit_code == 0
    gone = run(db_path, "users", "remove", "maria")
    assert gone.exit_code == 2 and "no account named 'maria'" in gone.output


def test_without_a_terminal_the_password_must_come_from_stdin(tmp_path):
    """cron, ssh without -t, a script: no prompt that hangs or warns, one line instead."""
    result = run(tmp_path / "a.db", "users", "add", "jo", stdin="typed ahead\n")
    assert result.exit_code == 2
    assert result.output.strip() == (
        "litmon: no terminal to ask for the password on: use --password-stdin"
    )


def test_a_token_is_shown_once_and_stored_as_a_hash(tmp_path):
    db_path = tmp_path / "t.db"
    open_db(db_path)  # a token is for a deployment that has a database already
    created = CliRunner().invoke(cli, ["--db", str(db_path), "tokens", "create", "worker-1"])
    assert created.exit_code == 0
    secret = created.stdout.strip()
    assert secret.startswith("lm_") and len(secret) > 40
    db = open_db(db_path)
    assert secret not in json.dumps(list(db.query("SELECT * FROM api_tokens")))
    assert auth.token_for(db, secret)["name"] == "worker-1"
    listed = run(db_path, "tokens", "list").output
    assert "worker-1  handoff  live" in listed and secret not in listed
    assert run(db_path, "tokens", "revoke", "worker-1").exit_code == 0
    assert auth.token_for(db, secret) is None
    assert "revoked" in run(db_path, "tokens", "list").output


def test_users_role_promotes_and_demotes_a_signed_in_editor(tmp_path):
    db_path = tmp_path / "a.db"
    run(db_path, "users", "add", "jo", "--password-stdin", stdin="correct horse battery\n")
    db = open_db(db_path)
    session_id, session = auth.sign_in(db, "jo", "correct horse battery", "127.0.0.1")
    assert session.role == "editor"
    promoted = run(db_path, "users", "role", "jo", "admin")
    assert promoted.exit_code == 0 and "jo is now an admin" in promoted.output
    assert auth.session_user(db, session_id).role == "admin"  # no new sign-in needed
    assert run(db_path, "users", "role", "jo", "admin").exit_code == 3  # nothing to do
    assert run(db_path, "users", "role", "jo", "editor").exit_code == 0
    assert auth.session_user(db, session_id).role == "editor"
    assert run(db_path, "users", "role", "nobody", "admin").exit_code == 2
    assert run(db_path, "users", "role", "jo", "root").exit_code == 2
