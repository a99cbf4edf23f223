"""``litmon serve``: the editors' review page and the summarizers' HTTP API."""

from __future__ import annotations

import click
import uvicorn

from litmon.app import App, pass_app
from litmon.db import accounts
from litmon.health import assess
from litmon.web.app import QueueRules, create_app


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
    config = app.config
    settings = config.web
    web = create_app(
        config.db_path,
        rules=QueueRules(
            config.queue.reject_reasons, config.queue.max_attempts, config.queue.lease_seconds
        ),
        profiles=list(config.profiles.values()),
        secure_cookies=settings.secure_cookies,
        status=lambda db: assess(config, db).as_dict(),
    )
    if not accounts.list_users(app.database().conn):
        click.echo("no accounts yet: create one with `litmon users add NAME`", err=True)
    server = uvicorn.Server(
        uvicorn.Config(
            web,
            host=host or settings.host,
            port=settings.port if port is None else port,
            log_level="warning",
            proxy_headers=True,
            server_header=False,
        )
    )
    click.echo(f"serving {config.db_path} (Ctrl-C stops)")
    server.run()
