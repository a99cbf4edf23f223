"""``litmon drafts``: editors' review of the summarizers' drafts (list, show, publish,
edit, return, unpublish), and ``litmon export summaries``."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import click

from litmon.app import App, pass_app
from litmon.core.errors import UsageError
from litmon.output import (
    Column,
    echo,
    listing_options,
    output_object,
    output_rows,
    plural,
    row_limit,
    table,
    text,
)
from litmon.review import awaiting, edit, publish, send_back, show, unpublish
from litmon.review.drafts import LABELS, parts_from_text, render
from litmon.review.export import iter_summaries, write_jsonl, write_summaries_csv
from litmon.review.guards import PARTS
from litmon.review.queue import default_editor

_BY = click.option("--by", help="Who (default: $LITMON_EDITOR, else the login name).")
_JSON = click.option("--json", "as_json", is_flag=True, help="The outcome as one JSON object.")
_VERSION = click.option(
    "--version",
    "version",
    type=click.IntRange(min=1),
    help="The draft version you reviewed: refused (exit 4) if a newer one exists.",
)


def _id(value: str) -> int:
    if not value.isdigit():
        raise UsageError(f"{value}: a candidate id is a number")
    return int(value)


def draft_status(draft: dict | None) -> str:
    """A draft's checks in a few words: passed, which failed, or never ran (free text)."""
    if draft is None:
        return "no draft"
    if not draft["checked"]:
        return "UNCHECKED (free text)"
    if draft["failed"]:
        return "FAILED: " + ", ".join(draft["failed"])
    return "checks passed"


@click.group("drafts")
def drafts() -> None:
    """Drafts awaiting review: every draft is reviewed by an editor before it is published.

    \b
    litmon drafts list                       # drafts awaiting review, longest waiting first
    litmon drafts show 12                    # the draft, its checks and versions
    litmon drafts show 12 --text > d.txt     # the four parts, to edit
    litmon drafts edit 12 --file d.txt       # a new version, checked again
    litmon drafts publish 12 --version 2     # publish the version you reviewed
    litmon drafts return 12 --note "say who was studied"   # back to the summarizers

    A draft whose checks failed is published only with --force; free text (unchecked)
    is edited into the four parts first. docs/summaries.md: "Drafts and review".
    """


_COLUMNS = (
    Column("ID", lambda row: row["id"], right=True),
    Column("DRAFT", lambda row: f"v{row['draft']['version']}" if row["draft"] else "-"),
    Column("CHECKS", lambda row: draft_status(row["draft"]), width=40),
    Column("TITLE", lambda row: row["title"], width=80),
)


@drafts.command("list")
@click.option("-n", "limit", type=click.IntRange(min=1), help="At most this many (text: 50).")
@listing_options
@pass_app
def drafts_list(app: App, limit: int | None, as_json: bool, nl: bool) -> None:
    """Drafts awaiting review (summarized candidates), longest waiting first, with their
    latest version and whether its checks passed, failed or never ran (free text)."""
    shown = row_limit(limit, 50, as_json, nl)
    rows = awaiting(
        app.database(), limit=shown or 1_000_000, max_attempts=app.config.queue.max_attempts
    )
    if as_json or nl:
        output_rows(rows, nl=nl)
        return
    if not rows:
        echo("no drafts awaiting review")
        return
    for line in table(rows, _COLUMNS):
        echo(line)


@drafts.command("show")
@click.argument("candidate")
@click.option("--text", "as_text", is_flag=True, help="Only the four parts, as `edit` reads them.")
@click.option("--json", "as_json", is_flag=True, help="The candidate, its drafts, as JSON.")
@pass_app
def drafts_show(app: App, candidate: str, as_text: bool, as_json: bool) -> None:
    """A candidate's latest draft: the four parts (or the free text, marked unchecked),
    each check with its reason, and every version."""
    shown = show(app.database(), candidate, max_attempts=app.config.queue.max_attempts)
    versions = shown["drafts"]
    latest = versions[-1] if versions else None
    if as_json:
        output_object(
            {
                "candidate": {k: v for k, v in shown.items() if k != "drafts"},
                "draft": latest,
                "versions": versions,
            }
        )
        return
    if latest is None:
        raise UsageError(f"candidate {shown['id']}: no draft of it was written")
    if as_text:
        parts = latest["parts"] or {part: "" for part in PARTS}
        if latest["parts"] is None:
            parts["finding"] = latest["text"]
        click.echo(text(render(parts), lines=True))
        return
    echo(f"candidate {shown['id']} ({shown['state']}): {text(shown['title'])}")
    echo(
        f"draft v{latest['version']} by {text(latest['by'])} ({latest['origin']}),"
        f" {latest['created_at']}: {draft_status(latest)}"
    )
    echo()
    if latest["parts"] is None:
        echo("UNCHECKED free text, as received:")
        echo(text(latest["text"], lines=True))
    else:
        for part in PARTS:
            echo(LABELS[part])
            echo(text(latest["parts"][part], lines=True))
            echo()
        for check in latest["checks"]:
            mark = "ok  " if check["ok"] else "FAIL"
            echo(f"{mark} {check['name']}: {text(check['reason'])}")
    if shown["publication"]:
        publication = shown["publication"]
        echo(
            f"published: v{publication['version']} by {text(publication['published_by'])},"
            f" {publication['published_at']}"
        )
    if len(versions) > 1:
        echo()
        for draft in versions:
            echo(
                f"v{draft['version']}  {draft['created_at']}  {text(draft['by'])}"
                f" ({draft['origin']})  {draft_status(draft)}"
            )


def _done(outcome: dict, as_json: bool, line: str) -> None:
    if as_json:
        output_object(outcome)
    else:
        echo(line)


@drafts.command("publish")
@click.argument("candidate")
@_VERSION
@click.option("--force", is_flag=True, help="Publish even though the draft failed its checks.")
@_BY
@_JSON
@pass_app
def drafts_publish(
    app: App, candidate: str, version: int | None, force: bool, by: str | None, as_json: bool
) -> None:
    """Publish a candidate's latest draft: `litmon publish DIR` then puts it on the site.

    Only a draft with the four parts can be published; one whose checks failed needs
    --force (the audit trail says so)."""
    outcome = publish(
        app.database(),
        _id(candidate),
        by or default_editor(),
        version,
        force=force,
        max_attempts=app.config.queue.max_attempts,
    )
    draft = outcome["draft"]
    _done(outcome, as_json, f"candidate {outcome['id']}: published draft v{draft['version']}")


@drafts.command("edit")
@click.argument("candidate")
@click.option(
    "--file",
    "path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The four parts: as `drafts show ID --text` prints them, or a JSON object.",
)
@_VERSION
@_BY
@_JSON
@pass_app
def drafts_edit(
    app: App, candidate: str, path: Path, version: int | None, by: str | None, as_json: bool
) -> None:
    """Store a new version of the draft from a file; the checks run on it and are shown.
    It is stored even when they fail (publishing it then needs --force)."""
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it: {exc}") from None
    try:
        parts = parts_from_text(content)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None
    draft = edit(
        app.database(),
        _id(candidate),
        parts,
        by or default_editor(),
        version=version,
        settings=app.config.queue.guards,
        max_attempts=app.config.queue.max_attempts,
    )
    if as_json:
        output_object(draft)
        return
    if draft["unchanged"]:
        echo(f"candidate {candidate}: draft v{draft['version']} already says this; nothing changed")
        return
    echo(f"candidate {candidate}: draft v{draft['version']}, {draft_status(draft)}")
    for check in draft["checks"]:
        if not check["ok"]:
            echo(f"FAIL {check['name']}: {text(check['reason'])}")


@drafts.command("return")
@click.argument("candidate")
@click.option("--note", required=True, help="What to change: the next summarizer sees it.")
@_VERSION
@_BY
@_JSON
@pass_app
def drafts_return(
    app: App, candidate: str, note: str, version: int | None, by: str | None, as_json: bool
) -> None:
    """Send a draft back to the summarizers with a note: the candidate is approved again,
    and the next worker's packet carries the note and this draft."""
    outcome = send_back(
        app.database(),
        _id(candidate),
        note,
        by or default_editor(),
        version=version,
        max_attempts=app.config.queue.max_attempts,
    )
    _done(outcome, as_json, f"candidate {outcome['id']}: sent back (approved)")


@drafts.command("unpublish")
@click.argument("candidate")
@click.option("--note", help="Why (kept in the trail).")
@_BY
@_JSON
@pass_app
def drafts_unpublish(
    app: App, candidate: str, note: str | None, by: str | None, as_json: bool
) -> None:
    """Take a published piece back to review, to edit it; the next `litmon publish` takes
    its page down."""
    outcome = unpublish(
        app.database(),
        _id(candidate),
        by or default_editor(),
        note=note,
        max_attempts=app.config.queue.max_attempts,
    )
    _done(outcome, as_json, f"candidate {outcome['id']}: unpublished (awaiting review)")


@click.command("summaries")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option("--all", "every", is_flag=True, help="Also pieces taken down since (listed: false).")
@click.option(
    "-o", "--output", type=click.File("w", encoding="utf-8"), default="-", help="Default: stdout."
)
@pass_app
def export_summaries(app: App, fmt: str, every: bool, output: TextIO) -> None:
    """Write the published lay summaries, newest first: the four parts, the work (title,
    journal, date, PMID, DOI and their links, topics), who published which draft version
    and when. CSV cells that a spreadsheet would run as a formula are made text."""
    writer = {"jsonl": write_jsonl, "csv": write_summaries_csv}[fmt]
    count = writer(iter_summaries(app.database(), every=every), output)
    echo(plural(count, "summary|summaries"), err=True)
