"""Telling an HTML page (an error page, a login wall, a bot challenge) from the XML asked for."""

from __future__ import annotations

import re

_LEADING_JUNK = re.compile(rb"^(?:\s|<\?xml[^>]*?\?>|<!--.*?-->)*", re.DOTALL)
_HTML_START = re.compile(rb"^<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.IGNORECASE)


def html_page_title(data: bytes) -> str | None:
    """The <title> of an HTML page ('' when it has none); None when ``data`` is not HTML."""
    head = data[:4096]
    if not _HTML_START.match(head[_LEADING_JUNK.match(head).end() :]):
        return None
    # imported only for an HTML page: every PubMed reader and CLI start would pay for it
    from bs4 import BeautifulSoup

    title = BeautifulSoup(data[:65536], "html.parser").title
    return " ".join(title.get_text().split()) if title else ""
