"""litmon's one version string, from the installed distribution's metadata."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("litmon")
except PackageNotFoundError:  # a source tree that was never installed
    VERSION = "0+unknown"


def user_agent(contact: str = "", tool: str = "") -> str:
    """The User-Agent of every HTTP request litmon sends: ``litmon/VERSION (tool; +mailto:…)``,
    so a publisher or NCBI can tell who is calling and whom to tell."""
    notes = [note for note in (tool, f"+mailto:{contact}" if contact else "") if note]
    return f"litmon/{VERSION} ({'; '.join(notes)})" if notes else f"litmon/{VERSION}"
