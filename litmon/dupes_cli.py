"""``litmon dupes``: the pairs the dedup was unsure about (list, merge, split) and a
recheck of its earlier automatic merges."""

from __future__ import annotations

import sys

import click

from litmon import exits
from litmon.app import App, pass_app
from litmon.db import merge, recheck
from litmon.output import echo, listing_options, output_rows, text


@click.group()
def dupes() -> None:
    """Possible duplicates the dedup was not sure about: list, merge, split; recheck its
    earlier automatic merges after an upgrade."""


@dupes.command("list")
@click.option(
    "--status",
    type=click.Choice(["open", "merged", "distinct"]),
    default="open",
    show_default=True,
)
@listing_options
@pass_app
def dupes_list(app: App, status: str, as_json: bool, nl: bool) -> None:
    """Pairs of works that may be one article, most similar first."""
    pairs = merge.list_possible_duplicates(app.database(), status)
    if as_json or nl:
        output_rows(pairs, nl=nl)
        return
    if not pairs:
        echo(f"no {status} possible duplicates")
    for pair in pairs:
        echo(
            f"works {pair['work_id']} and {pair['other_id']}: similarity {pair['score']:.2f}"
            f" ({text(pair['reason'])})"
        )
        echo(f"    {text(pair['work_title'], width=100)}")
        echo(f"    {text(pair['other_title'], width=100)}")


@dupes.command("merge")
@click.argument("kept_id", type=int)
@click.argument("merged_id", type=int)
@click.option("--reason", default="editor", show_default=True, help="Noted with the merge.")
@pass_app
def dupes_merge(app: App, kept_id: int, merged_id: int, reason: str) -> None:
    """Merge work MERGED_ID into KEPT_ID (undo with `litmon dupes split`)."""
    merge_id = merge.merge_works(app.database(), kept_id, merged_id, reason)
    echo(f"merged work {merged_id} into {kept_id} (merge #{merge_id})")


@dupes.command("split")
@click.argument("work_id", type=int)
@click.argument("other_id", type=int)
@pass_app
def dupes_split(app: App, work_id: int, other_id: int) -> None:
    """Mark two works as different papers; if they were merged, undo the merge."""
    merge_id = merge.split_works(app.database(), work_id, other_id)
    if merge_id is None:
        echo(f"works {work_id} and {other_id} marked as different papers")
    else:
        echo(f"undid merge #{merge_id}: works {work_id} and {other_id} are apart")


@dupes.command("recheck")
@click.option("--dry-run", is_flag=True, help="Report the merges it would undo; undo none.")
@listing_options
@pass_app
def dupes_recheck(app: App, dry_run: bool, as_json: bool, nl: bool) -> None:
    """Judge the dedup's earlier automatic merges by today's rules; undo those it no longer makes.

    After an upgrade that changed the dedup rules (for example: different issue numbers
    now keep the issues of a recurring column apart), the merges an earlier version made on
    its own are judged again, newest first. Each one the rules no longer make is undone like
    `litmon dupes split` (its sightings go back to the merged work, the pair is marked
    distinct) and reported: merge id, both works and titles, and why. An editor's merges are
    never revisited. Exit 3 when no merge needs undoing, 1 when one could not be undone.
    """
    found = recheck.recheck_merges(app.database(), dry_run=dry_run)
    if as_json or nl:
        output_rows((item.to_dict() for item in found), nl=nl)
    elif not found:
        echo("no automatic merge needs undoing")
    else:
        for item in found:
            _print_recheck(item, dry_run)
    if not found:
        sys.exit(exits.NOTHING_TO_DO)
    if any(item.note for item in found):
        sys.exit(exits.FAILED)


def _print_recheck(item: recheck.Rechecked, dry_run: bool) -> None:
    action = "would undo" if dry_run else "undid" if item.undone else "could not undo"
    echo(
        f"{action} merge #{item.merge_id} (work {item.merged_id} into {item.kept_id}):"
        f" {text(item.why)}{f' ({text(item.note)})' if item.note else ''}"
    )
    echo(f"    {item.kept_id}: {text(item.kept_title, width=100)}")
    echo(f"    {item.merged_id}: {text(item.merged_title, width=100)}")
