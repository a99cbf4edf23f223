"""``litmon publish [DIR]``: the published pieces as the public static site."""

from __future__ import annotations

from pathlib import Path

import click

from litmon.app import App, pass_app
from litmon.jobs import publish_job
from litmon.output import echo, output_object, plural
from litmon.publish import PublishResult


@click.command("publish")
@click.argument(
    "directory", metavar="[DIR]", required=False, type=click.Path(file_okay=False, path_type=Path)
)
@click.option(
    "--base-url",
    help="The address the site is served from, for the feeds' links (default: [publish] base_url).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what it did as one JSON object.")
@pass_app
def publish_command(app: App, directory: Path | None, base_url: str | None, as_json: bool) -> None:
    """Write the pieces editors published into DIR as a static site (default: [publish]
    dir of the config): an index of the pieces, newest first; a page per piece with its
    four parts, the study's citation and links, and the site's caveat; a page per topic;
    an Atom feed (feed.atom) and a JSON Feed (feed.json). Plain HTML and CSS: copy DIR to
    any web server, or open DIR/index.html.

    Only what changed is written: a second publish with nothing new writes nothing, a new
    piece rewrites its page, the list pages it is on and the feeds. A piece whose study
    was retracted or withdrawn since leaves the lists and feeds, its page becomes a short
    notice, and the takedown is recorded in the candidate's trail (by "publish").

    DIR must be new, empty or an earlier publish's. Two publishes of one DIR never run at
    once: the second exits 75.

    \b
    Exit codes: 0 done · 2 no DIR, or a DIR of other files · 75 a publish of DIR is running.
    Example:  litmon publish ./site && xdg-open ./site/index.html
    """
    if base_url is not None and base_url and not base_url.startswith(("http://", "https://")):
        raise click.BadParameter(f"{base_url!r} is not an http(s) URL", param_hint="--base-url")
    result = publish_job(app.config, directory, base_url=base_url)
    if as_json:
        output_object(result.as_dict())
    else:
        echo(_line(result))


def _line(result: PublishResult) -> str:
    line = (
        f"{result.directory}: {plural(result.listed, 'piece')} listed;"
        f" {plural(len(result.written), 'file')} written, {result.unchanged} unchanged,"
        f" {len(result.removed)} removed"
    )
    if result.taken_down:
        line += f"; took down {', '.join(map(str, result.taken_down))}"
    return line
