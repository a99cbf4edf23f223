"""Writing the site's files: atomically (a temporary file renamed over the old one), only
when their content changed, and remembering in a manifest what each page was made from, so
that a page whose inputs did not change is not even rendered again."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from litmon.core.errors import UsageError

# Beside the pages, never one of them: the manifest and the publish lock.
STATE_DIR = ".litmon-publish"
_MANIFEST = "manifest.json"
_FORMAT = 1


@dataclass(slots=True)
class Manifest:
    """Page path -> the hash of what it was made from; piece id -> its page's path (a
    piece keeps its URL when its finding is edited)."""

    pages: dict[str, str] = field(default_factory=dict)
    paths: dict[int, str] = field(default_factory=dict)

    def as_json(self) -> bytes:
        data = {
            "format": _FORMAT,
            "pages": self.pages,
            "paths": {str(k): v for k, v in self.paths.items()},
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(slots=True)
class Counts:
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)


def state_dir(directory: Path) -> Path:
    return directory / STATE_DIR


def check_directory(directory: Path) -> None:
    """Refuse a directory with other files in it and no manifest: it is not a site this
    command wrote, and its files would be overwritten. A path through a file is refused too."""
    existing = next(path for path in (directory, *directory.absolute().parents) if path.exists())
    if not existing.is_dir():
        raise UsageError(f"cannot publish into {directory}: {existing} is not a directory")
    if existing != directory or (state_dir(directory) / _MANIFEST).exists():
        return
    if any(path.name != STATE_DIR for path in directory.iterdir()):
        raise UsageError(
            f"{directory} is not empty and no site was published there (no"
            f" {STATE_DIR}/{_MANIFEST}); publish into a new or empty directory"
        )


def read_manifest(directory: Path) -> Manifest:
    """The manifest of the last publish into ``directory`` (empty for a new directory)."""
    path = state_dir(directory) / _MANIFEST
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return Manifest()
    except ValueError:
        # a damaged manifest costs one full render; the files are compared before writing
        return Manifest()
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        return Manifest()
    return Manifest(
        pages=dict(data.get("pages", {})),
        paths={int(k): v for k, v in data.get("paths", {}).items()},
    )


def write_manifest(directory: Path, manifest: Manifest, old: Manifest) -> None:
    """Write the manifest unless it is ``old`` (read at the start): nothing changed."""
    if manifest.pages != old.pages or manifest.paths != old.paths or not old.pages:
        write_if_changed(state_dir(directory) / _MANIFEST, manifest.as_json())


def write_if_changed(path: Path, content: bytes) -> bool:
    """Write ``content`` to ``path`` atomically unless it already holds exactly that;
    True when it wrote."""
    try:
        if path.stat().st_size == len(content) and path.read_bytes() == content:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(content)
        temporary.chmod(0o644)  # a web server reads it, whatever this process's umask
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    return True


def sync_pages(
    directory: Path,
    old: Manifest,
    pages: dict[str, str],
    render: Callable[[str], bytes],
) -> Counts:
    """Bring ``directory`` to ``pages`` (path -> hash of its inputs): render and write the
    pages whose hash changed or whose file is missing, delete the pages of ``old`` that are
    no longer published, leave every other file alone."""
    counts = Counts()
    present = _files(directory)
    for path, digest in pages.items():
        if old.pages.get(path) == digest and path in present:
            counts.unchanged += 1
        elif write_if_changed(directory / path, render(path)):
            counts.written.append(path)
        else:
            counts.unchanged += 1
    for path in sorted(set(old.pages) - set(pages)):
        target = directory / path
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
            counts.removed.append(path)
        _prune_empty(target.parent, directory)
    return counts


def _files(directory: Path) -> set[str]:
    """Every file under ``directory``, as a path relative to it (one walk, not a stat a
    page: a publish of 10,000 unchanged pages checks they are all still there)."""
    found = set()
    for folder, _, names in os.walk(directory):
        relative = os.path.relpath(folder, directory)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        found.update(prefix + name for name in names)
    return found


def _prune_empty(folder: Path, top: Path) -> None:
    """Remove folders left empty by removed pages (a topic with no pieces any more)."""
    while folder != top and folder.is_relative_to(top):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
