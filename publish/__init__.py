"""Publishing, the last stage: the pieces editors published as a static site (an index,
a page per piece and per topic, Atom and JSON feeds), written incrementally."""

from litmon.core.lazy import on_first_use

# name: its module. Loaded on first use: the config reads the site's defaults with every
# command, and the renderer brings jinja2 and feedgen (tests/test_startup.py).
_EXPORTS = {
    "CAVEAT": "pages",
    "DEFAULT_DESCRIPTION": "pages",
    "DEFAULT_TITLE": "pages",
    "SiteSettings": "pages",
    "Piece": "pieces",
    "PublishResult": "site",
    "publish": "site",
    "write_site": "site",
}


__getattr__ = on_first_use(__name__, _EXPORTS)


__all__ = [
    "CAVEAT",
    "DEFAULT_DESCRIPTION",
    "DEFAULT_TITLE",
    "Piece",
    "PublishResult",
    "SiteSettings",
    "publish",
    "write_site",
]
