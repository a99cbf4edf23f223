"""``litmon serve``: the editors' review page and the summarizers' HTTP API."""

from __future__ import annotations

import socket

import click

from litmon.app import App, pass_app
from litmon.core.errors import UsageError
from litmon.db import accounts
from litmon.health import assess


@click.command("serve")
@click.option("--host", help="Address to listen on (default: [web] host, 127.0.0.1).")
@click.option("--port", type=int, help="Port (default: [web] port, 8080; 0: any free one).")
@pass_app
def serve(app: App, host: str | None, port: int | None) -> None:
    """Serve the review page and the queue's JSON API until stopped (Ctrl-C).

    Editors sign in with accounts made by `litmon users add`; workers send a token from
    `litmon tokens create` (Authorization: Bearer ...). The API is described at
    /api/openapi.json. It listens on loopback: for other hosts put a
    reverse proxy with TLS in front (docs/deploy.md) and set [web] secure_cookies.

    \b
      litmon users add maria --role admin
      litmon serve            # then open http://127.0.0.1:8080/
    """
    # the web stack is imported here, not with the CLI: every cron job starts the CLI
    import uvicorn

    from litmon.web.app import create_app

    config = app.config
    settings = config.web
    db = app.database()
    web = create_app(
        config.db_path,
        queue_settings=config.queue,
        profiles=list(config.profiles.values()),
        secure_cookies=settings.secure_cookies,
        status=lambda db: assess(config, db).as_dict(),
        busy_timeout=config.busy_timeout,
        allowed_hosts=settings.allowed_hosts,
        trusted_proxies=settings.trusted_proxies,
    )
    if not accounts.list_users(db.conn):
        click.echo("no accounts yet: create one with `litmon users add NAME`", err=True)
    address = (host or settings.host, settings.port if port is None else port)
    listening = _listen(*address)
    bound_host, bound_port = listening.getsockname()[:2]
    server = uvicorn.Server(
        uvicorn.Config(
            # the app believes forwarded headers from [web] trusted_proxies only
            web,
            log_level="warning",
            proxy_headers=False,
            server_header=False,
            lifespan="off",
        )
    )
    click.echo(f"serving {config.db_path} at http://{bound_host}:{bound_port}/ (Ctrl-C stops)")
    server.run(sockets=[listening])


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a port in use or an address this host
    does not have is one line, before anything starts."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listening = socket.socket(family, socket.SOCK_STREAM)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host, port))
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    listening.listen(128)
    listening.set_inheritable(True)
    return listening
