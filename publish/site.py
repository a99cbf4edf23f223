"""``litmon publish DIR``: the published pieces as a static site, written incrementally,
with the pieces whose work was retracted or withdrawn taken down and the takedown recorded
in the candidate's trail."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from litmon.core.clock import now
from litmon.core.locks import file_lock
from litmon.publish.output import (
    Manifest,
    check_directory,
    read_manifest,
    state_dir,
    sync_pages,
    write_manifest,
)
from litmon.publish.pages import SiteSettings, plan_site
from litmon.publish.pieces import Piece
from litmon.publish.published import load_pieces
from litmon.publish.render import Renderer
from litmon.review import ack_takedown
from litmon.review.queue import refresh

# Who the takedowns this command records are by.
BY = "publish"


@dataclass(slots=True)
class PublishResult:
    """What one publish did: the files written, left as they were, and removed; the pieces
    listed; the takedowns it recorded (candidate ids)."""

    directory: str
    at: str
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    listed: int = 0
    taken_down: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "directory": self.directory,
            "at": self.at,
            "written": len(self.written),
            "unchanged": self.unchanged,
            "removed": len(self.removed),
            "listed": self.listed,
            "taken_down": self.taken_down,
            "written_files": self.written,
            "removed_files": self.removed,
        }


def write_site(directory: Path, pieces: Iterable[Piece], settings: SiteSettings) -> PublishResult:
    """Bring the files in ``directory`` to the site of ``pieces``: only pages whose inputs
    changed are made and written, pages no longer on the site are removed. No lock, no
    database: :func:`publish` is the command's whole job."""
    at = now()
    check_directory(directory)
    directory.mkdir(parents=True, exist_ok=True)
    old = read_manifest(directory)
    renderer = Renderer(settings)
    plan = plan_site(pieces, settings, old.paths)
    digests = {path: page.digest(renderer.fingerprint) for path, page in plan.pages.items()}
    counts = sync_pages(directory, old, digests, lambda path: renderer.render(plan.pages[path]))
    write_manifest(directory, Manifest(digests, plan.paths), old)
    pieces_listed = sum(1 for page in plan.pages.values() if page.kind == "piece.html")
    return PublishResult(
        directory=str(directory),
        at=at,
        written=counts.written,
        unchanged=counts.unchanged,
        removed=counts.removed,
        listed=pieces_listed,
    )


def publish(
    db: sqlite_utils.Database, directory: Path, settings: SiteSettings, *, by: str = BY
) -> PublishResult:
    """Publish the pieces editors published into ``directory``, one publish of a directory
    at a time (another is refused: :class:`~litmon.core.locks.Locked`).

    The queue catches up with the works first (as before any read of it): candidates of
    works retracted or deleted since are withdrawn, of works merged are merged, so their
    pieces come down in this publish; then each taken-down piece whose takedown is not yet
    recorded gets an ``ack_takedown`` in its trail, by ``by``, naming this publish."""
    check_directory(directory)
    lock = state_dir(directory) / "lock"
    with file_lock(lock, what="the publish lock", holder=f"litmon publish {directory}"):
        refresh(db)  # the queue catches up: merges, deletions and retractions since
        pieces = load_pieces(db.conn)
        result = write_site(directory, pieces, settings)
        pending = [
            piece.candidate_id for piece in pieces if piece.withdrawn and not piece.acknowledged
        ]
        note = f"page taken down by the publish of {directory.absolute()} at {result.at}"
        for candidate_id in pending:
            ack_takedown(db, str(candidate_id), by=by, note=note)
        result.taken_down = pending
    return result
